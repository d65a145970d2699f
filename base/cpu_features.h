// base/cpu_features.h — what the CPU this process runs on
// can execute, as far as the engines care (the native kernels choose their
// variant by it; the llamacpp backend checks that ggml was built for it).
//
// x86: cpuid for the instruction sets plus xgetbv for the OS side (a CPU
// with AVX-512 under a kernel that does not save ZMM state cannot use it).
// aarch64: the kernel's HWCAP/HWCAP2 auxiliary vector, which is also what
// qemu-user reports for its `-cpu` model. Other architectures report nothing.
//
// Thread-safety: GetCpuFeatures() detects once (a function-local static) and
// is safe from any thread; the rest are pure functions.
#pragma once

#include <string>

namespace edgebench {

struct CpuFeatures {
  // x86 (each true only when the OS also enables the register state).
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;
  bool avxvnni = false;  // VEX-encoded VNNI (Alder Lake, Zen 5)

  // aarch64 (names as /proc/cpuinfo spells them).
  bool asimd = false;    // Advanced SIMD (NEON)
  bool asimddp = false;  // SDOT/UDOT (armv8.2-a dotprod)
  bool i8mm = false;     // SMMLA/USDOT (armv8.6-a)
  bool fphp = false;     // scalar half precision arithmetic
  bool asimdhp = false;  // vector half precision arithmetic
  bool sve = false;
};

// Detects the features of the CPU this process runs on.
CpuFeatures DetectCpuFeatures();

// DetectCpuFeatures() of the first call, cached.
const CpuFeatures& GetCpuFeatures();

// The features that are present, space separated in a fixed order:
// "avx2 fma f16c avx512f avx512bw avx512vl avx512vnni", "asimd asimddp";
// "" when none. The runtime reports this in its hello event.
std::string CpuFeaturesString(const CpuFeatures& features);

}  // namespace edgebench
