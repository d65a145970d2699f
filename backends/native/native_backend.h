// backends/native/native_backend.h — the native GGUF engine behind the
// runtime's Backend interface.
// Thread-safety: as backends::Backend.
#pragma once

#include <memory>

#include "backends/api/backend.h"

namespace edgebench::native {

std::unique_ptr<backends::Backend> NewNativeBackend();

}  // namespace edgebench::native
