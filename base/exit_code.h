// base/exit_code.h — process exit codes shared by every edgebench binary.
// Scripts and CI gates depend on these values; never renumber them.
#pragma once

namespace edgebench {

enum ExitCode : int {
  kExitOk = 0,          // success
  kExitFailure = 1,     // an error: the message on stderr names what and where
  kExitUsage = 2,       // bad usage: unknown flag, missing argument
  kExitRegression = 3,  // `compare` found a significant regression
};

}  // namespace edgebench
