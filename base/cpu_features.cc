#include "base/cpu_features.h"

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace edgebench {

namespace {

#if defined(__x86_64__) || defined(__i386__)

struct CpuidRegs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegs Cpuid(uint32_t leaf, uint32_t subleaf) {
  CpuidRegs r;
  // __get_cpuid_count checks the maximum leaf and leaves zeros when the leaf
  // does not exist, which reads as "feature absent".
  __get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx);
  return r;
}

// XCR0: which register state the OS saves on context switches. Inline asm
// rather than _xgetbv(), which needs the file compiled with -mxsave.
uint64_t Xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

bool Bit(uint32_t word, int bit) { return (word >> bit) & 1; }

void DetectX86(CpuFeatures* f) {
  const CpuidRegs l1 = Cpuid(1, 0);
  const bool osxsave = Bit(l1.ecx, 27);
  const bool avx = Bit(l1.ecx, 28);
  if (!osxsave || !avx) return;  // no VEX encoding usable at all
  const uint64_t xcr0 = Xgetbv0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;  // SSE + AVX state
  // Opmask, upper halves of ZMM0-15, ZMM16-31.
  const bool zmm_state = ymm_state && (xcr0 & 0xe0) == 0xe0;
  if (!ymm_state) return;

  const CpuidRegs l7 = Cpuid(7, 0);
  const CpuidRegs l7s1 = Cpuid(7, 1);
  f->fma = Bit(l1.ecx, 12);
  f->f16c = Bit(l1.ecx, 29);
  f->avx2 = Bit(l7.ebx, 5);
  f->avxvnni = Bit(l7s1.eax, 4);
  if (zmm_state) {
    f->avx512f = Bit(l7.ebx, 16);
    f->avx512bw = Bit(l7.ebx, 30);
    f->avx512vl = Bit(l7.ebx, 31);
    f->avx512vnni = Bit(l7.ecx, 11);
    f->avx512bf16 = Bit(l7s1.eax, 5);
  }
}

#elif defined(__aarch64__) && defined(__linux__)

// Bit positions from the kernel's uapi asm/hwcap.h, spelled out so the file
// builds against older headers too.
constexpr unsigned long kHwcapAsimd = 1UL << 1;
constexpr unsigned long kHwcapFphp = 1UL << 9;
constexpr unsigned long kHwcapAsimdhp = 1UL << 10;
constexpr unsigned long kHwcapAsimddp = 1UL << 20;
constexpr unsigned long kHwcapSve = 1UL << 22;
constexpr unsigned long kHwcap2I8mm = 1UL << 13;

void DetectAarch64(CpuFeatures* f) {
  const unsigned long hwcap = getauxval(AT_HWCAP);
  const unsigned long hwcap2 = getauxval(AT_HWCAP2);
  f->asimd = hwcap & kHwcapAsimd;
  f->fphp = hwcap & kHwcapFphp;
  f->asimdhp = hwcap & kHwcapAsimdhp;
  f->asimddp = hwcap & kHwcapAsimddp;
  f->sve = hwcap & kHwcapSve;
  f->i8mm = hwcap2 & kHwcap2I8mm;
}

#endif

}  // namespace

CpuFeatures DetectCpuFeatures() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  DetectX86(&f);
#elif defined(__aarch64__) && defined(__linux__)
  DetectAarch64(&f);
#endif
  return f;
}

const CpuFeatures& GetCpuFeatures() {
  static const CpuFeatures features = DetectCpuFeatures();
  return features;
}

std::string CpuFeaturesString(const CpuFeatures& f) {
  const struct {
    bool present;
    const char* name;
  } kNames[] = {
      {f.avx2, "avx2"},
      {f.fma, "fma"},
      {f.f16c, "f16c"},
      {f.avx512f, "avx512f"},
      {f.avx512bw, "avx512bw"},
      {f.avx512vl, "avx512vl"},
      {f.avx512vnni, "avx512vnni"},
      {f.avx512bf16, "avx512bf16"},
      {f.avxvnni, "avxvnni"},
      {f.asimd, "asimd"},
      {f.asimddp, "asimddp"},
      {f.i8mm, "i8mm"},
      {f.fphp, "fphp"},
      {f.asimdhp, "asimdhp"},
      {f.sve, "sve"},
  };
  std::string out;
  for (const auto& n : kNames) {
    if (!n.present) continue;
    if (!out.empty()) out += ' ';
    out += n.name;
  }
  return out;
}

}  // namespace edgebench
