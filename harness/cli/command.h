// harness/cli/command.h — how subcommands plug into `edgebench`.
//
// Each Add*Command adds one subcommand (with its options) to the app. When
// the user picks it, CLI11 calls back and the command stores in `*action`
// the function that does the work; main() runs it and exits with its code
// (base/exit_code.h). Commands print results on stdout and errors, one line
// naming what and where, on stderr.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "base/status.h"

namespace edgebench::cli {

using Action = std::function<int()>;

void AddDbCommand(CLI::App& app, Action* action);
void AddModelCommand(CLI::App& app, Action* action);
// `devices [probe ID]` and `deploy DEVICE` (devices_command.cc).
void AddDevicesCommand(CLI::App& app, Action* action);
// `sweep FILE` and `run -d DEVICE -m MODEL ...` (sweep_command.cc).
void AddSweepCommand(CLI::App& app, Action* action);
// `report` and `compare` (report_command.cc).
void AddReportCommand(CLI::App& app, Action* action);

// `--version` output: version, commit, build type, compiler, sanitizers.
std::string VersionText();

// Prints "edgebench: <message>" on stderr and returns kExitFailure.
int ReportError(const Status& status);

// The default store path, relative to the working directory.
inline constexpr const char* kDefaultDbPath = "results/edgebench.db";

}  // namespace edgebench::cli
