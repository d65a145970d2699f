// backends/llamacpp/llamacpp_backend.h — llama.cpp, linked in, behind the
// runtime's Backend interface, so that one sweep measures it and the native
// engine with the same clock, metric definitions and telemetry.
//
// The engine is llama.cpp's C API (llama.h) over ggml's CPU backend, built
// by scripts/llamacpp.sh at a pinned commit. Weights are read into the
// process's memory by default (llama.cpp's load mode "none"; the native
// engine copies them too), or mapped from the file with use_mmap; in both
// modes llama.cpp repacks the types it has repacked kernels for into
// buffers of its own, as llama-bench does. Threads come from a ggml thread
// pool pinned to ContextOptions::cpus when given. llama.cpp's log goes to
// stderr (for humans); its last error lines become the Status of a failed
// call.
//
// Thread-safety: as backends::Backend. llama.cpp's global state (backend
// registry, log callback) is initialized once per process.
#pragma once

#include <memory>

#include "backends/api/backend.h"

namespace edgebench::llamacpp {

std::unique_ptr<backends::Backend> NewLlamaCppBackend();

// version: llama.cpp's commit (40 hex digits); isa: the CPU features
// ggml-cpu was compiled for ("avx2 fma f16c avx512 ..."); flags: the cmake
// flags of scripts/llamacpp.sh.
backends::EngineBuild LlamaCppBuild();

}  // namespace edgebench::llamacpp
