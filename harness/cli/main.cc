// edgebench — the host program. Parses the command line, runs the chosen
// subcommand, and maps the outcome to base/exit_code.h.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "base/build_info.h"
#include "base/exit_code.h"
#include "harness/cli/command.h"

int main(int argc, char** argv) {
  using namespace edgebench;
  CLI::App app{"edgebench: benchmark language models on the devices they run on",
               "edgebench"};
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  bool show_version = false;
  app.add_flag("--version", show_version, "Print version, commit and build facts");

  cli::Action action;
  cli::AddDbCommand(app, &action);
  cli::AddModelCommand(app, &action);
  cli::AddDevicesCommand(app, &action);
  cli::AddSweepCommand(app, &action);
  cli::AddReportCommand(app, &action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, or the error and a hint
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (show_version) {
    std::fputs(cli::VersionText().c_str(), stdout);
    const std::string warning = BuildWarning(GetBuildInfo());
    if (!warning.empty()) std::fprintf(stderr, "warning: %s\n", warning.c_str());
    return kExitOk;
  }
  if (!action) {
    std::fputs(app.help().c_str(), stderr);
    return kExitUsage;
  }
  try {
    return action();
  } catch (const std::exception& e) {
    // Library exceptions are converted where thrown; this is the last net.
    std::fprintf(stderr, "edgebench: internal error: %s\n", e.what());
    return kExitFailure;
  }
}
