// backends/native/kernels/internal/tables.h — the per-ISA kernel tables that
// kernels.cc composes, and the block-layout constants the kernels share.
// Private to the kernels library and its tests.
//
// Each ISA file (generic/, x86/, arm/) is compiled with its own target flags
// and defines one table. Files with target flags must not define or call
// inline functions or templates with external linkage that other files also
// use: the linker keeps one copy of such a function, and it may be the copy
// compiled for the wider ISA (a SIGILL on a CPU without it). Their helpers
// live in anonymous namespaces for that reason.
//
// Thread-safety: tables are constant once built (function-local statics).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "backends/native/gguf/ggml_types.h"
#include "backends/native/kernels/kernels.h"

namespace edgebench::native::kernels::internal {

// Byte offsets inside the blocks of ggml_types.h. Kernels read blocks through
// byte pointers (a Q4_0 block is 18 bytes, so blocks of an mmap'd row are not
// aligned for their uint16_t and float fields).
inline constexpr size_t kQ4_0Bytes = sizeof(gguf::BlockQ4_0);
inline constexpr size_t kQ4_0Qs = offsetof(gguf::BlockQ4_0, qs);
inline constexpr size_t kQ8_0Bytes = sizeof(gguf::BlockQ8_0);
inline constexpr size_t kQ8_0Qs = offsetof(gguf::BlockQ8_0, qs);
inline constexpr size_t kQ4_KBytes = sizeof(gguf::BlockQ4_K);
inline constexpr size_t kQ4_KDmin = offsetof(gguf::BlockQ4_K, dmin);
inline constexpr size_t kQ4_KScales = offsetof(gguf::BlockQ4_K, scales);
inline constexpr size_t kQ4_KQs = offsetof(gguf::BlockQ4_K, qs);
inline constexpr size_t kQ6_KBytes = sizeof(gguf::BlockQ6_K);
inline constexpr size_t kQ6_KQh = offsetof(gguf::BlockQ6_K, qh);
inline constexpr size_t kQ6_KScales = offsetof(gguf::BlockQ6_K, scales);
inline constexpr size_t kQ6_KD = offsetof(gguf::BlockQ6_K, d);
inline constexpr size_t kQ8_KBytes = sizeof(gguf::BlockQ8_K);
inline constexpr size_t kQ8_KQs = offsetof(gguf::BlockQ8_K, qs);
inline constexpr size_t kQ8_KBsums = offsetof(gguf::BlockQ8_K, bsums);

// Integer dot products rely on activations in [-127, 127], which is what
// quantize_q8_0/q8_k produce (and ggml's quantizers too): the x86 kernels
// move the weight's sign onto the activation, and -(-128) does not fit.

const KernelTable& GenericKernels();

#if defined(EDGEBENCH_KERNELS_X86)
const KernelTable& Avx2Kernels();
// AVX-512 F/BW/VL only: the table GetKernels(kAvx512) serves on a CPU
// without AVX512-VNNI. Tests use it to cover that path on any AVX-512 CPU.
const KernelTable& Avx512Kernels();
// Replaces the integer dot products of an AVX-512 table with the VNNI ones
// (x86/avx512_vnni.cc). REQUIRES: the CPU has avx512vnni.
void UseAvx512VnniDots(KernelTable* table);
#endif

#if defined(EDGEBENCH_KERNELS_ARM)
const KernelTable& NeonKernels();
// Replaces the integer dot products of a NEON table with the SDOT ones
// (arm/neon_dotprod.cc). REQUIRES: the CPU has asimddp.
void UseNeonDotprodDots(KernelTable* table);
#endif

// Every table this build and CPU can run, named, for tests and benchmarks:
// AvailableIsas() plus the AVX-512 table without VNNI (which GetKernels
// serves only on CPUs lacking VNNI, so it is covered here on any AVX-512 CPU).
struct NamedTable {
  std::string name;
  const KernelTable* table;
};
std::vector<NamedTable> AllTables();

}  // namespace edgebench::native::kernels::internal
