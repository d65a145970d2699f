#include "runtime/event_writer.h"

#include <unistd.h>

#include <cerrno>
#include <string>

namespace edgebench::runtime {

void EventWriter::Write(const nlohmann::json& event) {
  // Invalid UTF-8 in a string (a model's token piece) is replaced rather
  // than thrown: an event must always be written.
  std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  if (broken_) return;
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      broken_ = true;
      return;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace edgebench::runtime
