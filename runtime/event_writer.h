// runtime/event_writer.h — writes protocol events as JSON Lines to a file
// descriptor (stdout), one write(2) per event so each line reaches the host
// when it is written: nothing finished waits in a buffer a crash would lose.
//
// Thread-safety: Write may be called from several threads.
#pragma once

#include <atomic>
#include <mutex>

#include <nlohmann/json.hpp>

namespace edgebench::runtime {

class EventWriter {
 public:
  explicit EventWriter(int fd) : fd_(fd) {}

  // Writes `event` and a newline. When the reader is gone (EPIPE) or the
  // descriptor fails, later writes are dropped and broken() turns true:
  // nobody is listening, so the runtime should stop.
  void Write(const nlohmann::json& event);
  bool broken() const { return broken_.load(); }

 private:
  int fd_;
  std::mutex mu_;
  std::atomic<bool> broken_{false};
};

}  // namespace edgebench::runtime
