#include "base/build_info.h"

namespace edgebench {

std::string BuildWarning(const BuildInfo& info) {
  std::string why;
  auto add = [&why](std::string_view s) {
    if (!why.empty()) why += ", ";
    why += s;
  };
  if (info.build_type == "Debug") add("a Debug build");
  if (info.asserts) add("asserts enabled");
  if (!info.sanitizers.empty()) add(std::string("sanitizers (") +
                                    std::string(info.sanitizers) + ")");
  if (why.empty()) return why;
  return "this edgebench was built with " + why +
         ": timings are not representative; use a Release build for results";
}

}  // namespace edgebench
