// backends/native/native_backend.h — the native GGUF engine behind the
// runtime's Backend interface.
// Thread-safety: as backends::Backend.
#pragma once

#include <memory>

#include "backends/api/backend.h"

namespace edgebench::native {

std::unique_ptr<backends::Backend> NewNativeBackend();

// isa: the kernel variant chosen for this CPU ("avx512_vnni", "neon_dotprod").
backends::EngineBuild NativeBuild();

}  // namespace edgebench::native
