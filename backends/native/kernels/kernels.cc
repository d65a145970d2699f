#include "backends/native/kernels/kernels.h"

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/cpu_features.h"
#include "backends/native/kernels/internal/tables.h"

namespace edgebench::native::kernels {

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kGeneric:
      return "generic";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kNeon:
      return "neon";
    case Isa::kNeonDotprod:
      return "neon_dotprod";
  }
  return "unknown";
}

std::optional<Isa> ParseIsa(std::string_view name) {
  for (Isa isa : {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512, Isa::kNeon, Isa::kNeonDotprod})
    if (IsaName(isa) == name) return isa;
  return std::nullopt;
}

TensorType VecDotType(TensorType weight_type) {
  switch (weight_type) {
    case TensorType::kQ4_0:
    case TensorType::kQ8_0:
      return TensorType::kQ8_0;
    case TensorType::kQ4_K:
    case TensorType::kQ6_K:
      return TensorType::kQ8_K;
    default:
      return TensorType::kF32;
  }
}

int64_t ActivationBytes(TensorType weight_type, int64_t n) {
  return gguf::RowBytes(VecDotType(weight_type), n);
}

bool HasKernel(TensorType weight_type) {
  switch (weight_type) {
    case TensorType::kF32:
    case TensorType::kF16:
    case TensorType::kBF16:
    case TensorType::kQ8_0:
    case TensorType::kQ4_0:
    case TensorType::kQ4_K:
    case TensorType::kQ6_K:
      return true;
    default:
      return false;
  }
}

KernelTable::VecDotFn KernelTable::VecDot(TensorType weight_type) const {
  switch (weight_type) {
    case TensorType::kF32:
      return vec_dot_f32;
    case TensorType::kF16:
      return vec_dot_f16;
    case TensorType::kBF16:
      return vec_dot_bf16;
    case TensorType::kQ8_0:
      return vec_dot_q8_0;
    case TensorType::kQ4_0:
      return vec_dot_q4_0;
    case TensorType::kQ4_K:
      return vec_dot_q4_k;
    case TensorType::kQ6_K:
      return vec_dot_q6_k;
    default:
      assert(false && "VecDot: no kernel for this type");
      return nullptr;
  }
}

void KernelTable::QuantizeActivations(TensorType weight_type, const float* x, void* out,
                                      int64_t n) const {
  switch (VecDotType(weight_type)) {
    case TensorType::kQ8_0:
      return quantize_q8_0(x, out, n);
    case TensorType::kQ8_K:
      return quantize_q8_k(x, out, n);
    default:
      std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float));
      return;
  }
}

namespace {

bool CpuCanRun(Isa isa) {
  const CpuFeatures& f = GetCpuFeatures();
  switch (isa) {
    case Isa::kGeneric:
      return true;
    case Isa::kAvx2:
      return f.avx2 && f.fma && f.f16c;
    case Isa::kAvx512:
      // The AVX-512 file also uses AVX2/FMA/F16C instructions.
      return f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512vl;
    case Isa::kNeon:
      return f.asimd;
    case Isa::kNeonDotprod:
      return f.asimd && f.asimddp;
  }
  return false;
}

bool BuiltWith(Isa isa) {
  switch (isa) {
    case Isa::kGeneric:
      return true;
    case Isa::kAvx2:
    case Isa::kAvx512:
#if defined(EDGEBENCH_KERNELS_X86)
      return true;
#else
      return false;
#endif
    case Isa::kNeon:
    case Isa::kNeonDotprod:
#if defined(EDGEBENCH_KERNELS_ARM)
      return true;
#else
      return false;
#endif
  }
  return false;
}

}  // namespace

bool IsaAvailable(Isa isa) { return BuiltWith(isa) && CpuCanRun(isa); }

std::span<const Isa> AvailableIsas() {
  static const std::vector<Isa> isas = [] {
    std::vector<Isa> v;
    // Ordered from the most portable to the best, so back() is the best.
    for (Isa isa :
         {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512, Isa::kNeon, Isa::kNeonDotprod})
      if (IsaAvailable(isa)) v.push_back(isa);
    return v;
  }();
  return isas;
}

const KernelTable& GetKernels(Isa isa) {
  assert(IsaAvailable(isa));
  switch (isa) {
#if defined(EDGEBENCH_KERNELS_X86)
    case Isa::kAvx2:
      return internal::Avx2Kernels();
    case Isa::kAvx512: {
      // One kAvx512 table per process: with VNNI dot products when the CPU
      // has them (the only integer difference is vpdpbusd versus
      // vpmaddubsw + vpmaddwd, both exact), without them otherwise.
      static const KernelTable table = [] {
        KernelTable t = internal::Avx512Kernels();
        if (GetCpuFeatures().avx512vnni) internal::UseAvx512VnniDots(&t);
        return t;
      }();
      return table;
    }
#endif
#if defined(EDGEBENCH_KERNELS_ARM)
    case Isa::kNeon:
      return internal::NeonKernels();
    case Isa::kNeonDotprod: {
      static const KernelTable table = [] {
        KernelTable t = internal::NeonKernels();
        t.isa = Isa::kNeonDotprod;
        internal::UseNeonDotprodDots(&t);
        return t;
      }();
      return table;
    }
#endif
    default:
      return internal::GenericKernels();
  }
}

const KernelTable& BestKernels() {
  static const KernelTable* const best = [] {
    const Isa best_available = AvailableIsas().back();
    const char* env = std::getenv("EDGEBENCH_ISA");
    if (env == nullptr || *env == '\0') return &GetKernels(best_available);
    const std::optional<Isa> wanted = ParseIsa(env);
    if (wanted && IsaAvailable(*wanted)) return &GetKernels(*wanted);
    // Stderr is for humans; a silent fallback would mislabel a comparison.
    std::fprintf(stderr, "edgebench: EDGEBENCH_ISA=%s is %s here; using %s\n", env,
                 wanted ? "not available" : "not a known ISA",
                 std::string(IsaName(best_available)).c_str());
    return &GetKernels(best_available);
  }();
  return *best;
}

namespace internal {

std::vector<NamedTable> AllTables() {
  std::vector<NamedTable> v;
  for (Isa isa : AvailableIsas()) v.push_back({std::string(IsaName(isa)), &GetKernels(isa)});
#if defined(EDGEBENCH_KERNELS_X86)
  if (IsaAvailable(Isa::kAvx512) && GetCpuFeatures().avx512vnni)
    v.push_back({"avx512_without_vnni", &Avx512Kernels()});
#endif
  return v;
}

}  // namespace internal

}  // namespace edgebench::native::kernels
