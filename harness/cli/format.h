// harness/cli/format.h — human-readable numbers for terminal output.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

namespace edgebench::cli {

// 1536 -> "1.5 KiB"; bytes below 1 KiB print exactly ("512 B").
std::string HumanBytes(int64_t bytes);
// 15190560 -> "15.19M"; below 1000 print exactly.
std::string HumanCount(int64_t n);

}  // namespace edgebench::cli
