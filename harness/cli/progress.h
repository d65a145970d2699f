// harness/cli/progress.h — how a running sweep shows itself on stderr.
//
// On a terminal: one live line per device, redrawn in place (configs
// done/total, the configuration running, ETA, the last decode tok/s), with
// notable events (a configuration done or failed, a retry) printed above
// the live block. Otherwise (CI logs, a pipe): plain timestamped lines, one
// per phase change and per event, never a control character.
//
// Thread-safety: Update and Event may be called from any thread.
#pragma once

#include <cstdio>
#include <memory>

#include "harness/executor/executor.h"

namespace edgebench::cli {

// `live` true: the terminal form. `out` is where it writes (stderr).
std::unique_ptr<harness::ProgressSink> NewProgress(bool live, std::FILE* out);

// "2026-11-22T10:04:05Z", UTC, for log lines.
std::string UtcTimestamp();

}  // namespace edgebench::cli
