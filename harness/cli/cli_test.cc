// Runs the real `edgebench` binary and checks its output and exit codes.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/store.h"
#include "tests/testing/testing.h"

namespace edgebench {
namespace {

using testing::ProgramResult;
using testing::TempDir;

ProgramResult Edgebench(std::vector<std::string> args) {
  args.insert(args.begin(), testing::BinDir() + "/edgebench");
  return testing::RunProgram(args);
}

// Runs edgebench as user nobody when we are root (root ignores file modes).
ProgramResult EdgebenchAsNobody(std::vector<std::string> args) {
  args.insert(args.begin(), testing::BinDir() + "/edgebench");
  if (::geteuid() == 0)
    args.insert(args.begin(), {"setpriv", "--reuid=65534", "--regid=65534",
                               "--clear-groups", "--"});
  return testing::RunProgram(args);
}

int Lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

TEST(Cli, VersionNamesCommitAndBuild) {
  ProgramResult r = Edgebench({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("edgebench 0.", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("commit:"), std::string::npos);
  EXPECT_NE(r.out.find("build:"), std::string::npos);
  EXPECT_NE(r.out.find("sanitizers:"), std::string::npos);
}

TEST(Cli, BadUsageExitsTwo) {
  EXPECT_EQ(Edgebench({}).exit_code, 2);
  EXPECT_EQ(Edgebench({"--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(Edgebench({"db"}).exit_code, 2);
  EXPECT_EQ(Edgebench({"db", "frobnicate"}).exit_code, 2);
  EXPECT_EQ(Edgebench({"db", "init", "--db"}).exit_code, 2);
  EXPECT_EQ(Edgebench({"--help"}).exit_code, 0);
}

TEST(Cli, DbInitInfoMigrateVacuum) {
  TempDir dir;
  const std::string db = dir.File("results/eb.db");
  ProgramResult r = Edgebench({"db", "init", "--db", db});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "created " + db + " (schema v" +
                       std::to_string(store::LatestSchemaVersion()) + ")\n");
  r = Edgebench({"db", "init", "--db", db});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("already initialised"), std::string::npos);

  r = Edgebench({"db", "info", "--db", db, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema_version"], store::LatestSchemaVersion());
  EXPECT_EQ(j["journal_mode"], "wal");
  EXPECT_EQ(j["tables"]["reps"], 0);

  r = Edgebench({"db", "info", "--db", db});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("(latest)"), std::string::npos) << r.out;

  r = Edgebench({"db", "migrate", "--db", db});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("already at schema"), std::string::npos);
  r = Edgebench({"db", "vacuum", "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("vacuumed"), std::string::npos);
}

TEST(Cli, MigrateFromEmptyFile) {
  TempDir dir;
  const std::string db = dir.File("old.db");
  testing::WriteFile(db, "");
  ProgramResult r = Edgebench({"db", "info", "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("v0, needs migration"), std::string::npos) << r.out;
  r = Edgebench({"db", "migrate", "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, db + ": migrated from schema v0 to v" +
                       std::to_string(store::LatestSchemaVersion()) + "\n");
}

// Each bad store path gives exactly one line naming the path and the cause,
// exit 1, and nothing on stdout.
void ExpectOneLineError(const ProgramResult& r, const std::string& line) {
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err, "edgebench: " + line + "\n");
}

TEST(Cli, StorePathIsADirectory) {
  TempDir dir;
  for (const char* cmd : {"init", "info", "migrate", "vacuum"})
    ExpectOneLineError(Edgebench({"db", cmd, "--db", dir.path()}),
                       dir.path() + ": is a directory, expected a SQLite file");
}

TEST(Cli, StoreIsNotSqlite) {
  TempDir dir;
  const std::string path = dir.File("model.gguf");
  testing::WriteFile(path, "GGUF" + std::string(1000, '\x01'));
  for (const char* cmd : {"init", "info", "migrate", "vacuum"})
    ExpectOneLineError(Edgebench({"db", cmd, "--db", path}),
                       path + ": not a SQLite database");
}

TEST(Cli, StoreIsUnwritable) {
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  const std::string path = dir.File("ro.db");
  ASSERT_EQ(Edgebench({"db", "init", "--db", path}).exit_code, 0);
  ::chmod(path.c_str(), 0444);
  ExpectOneLineError(EdgebenchAsNobody({"db", "init", "--db", path}),
                     path + ": cannot write: Permission denied");
  ExpectOneLineError(EdgebenchAsNobody({"db", "init", "--db", dir.File("new.db")}),
                     dir.File("new.db") + ": folder " + dir.path() +
                         " is not writable: Permission denied");
}

TEST(Cli, MissingStoreForInfo) {
  TempDir dir;
  ExpectOneLineError(Edgebench({"db", "info", "--db", dir.File("none.db")}),
                     dir.File("none.db") + ": no such store (run `edgebench db init`)");
}

TEST(Cli, ModelSynthAndInspect) {
  TempDir dir;
  const std::string path = dir.File("tiny.gguf");
  ProgramResult r = Edgebench({"model", "synth", "--preset", "tiny", "--type", "q4_0",
                               "--seed", "3", "-o", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote " + path + ": llama tiny q4_0, 15.19M parameters"),
            std::string::npos)
      << r.out;
  r = Edgebench({"model", "inspect", path, "--json", "--tensors"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["n_params"], 15191712);
  EXPECT_EQ(j["tokenizer"]["model"], "llama");
  EXPECT_EQ(j["tokenizer"]["n_vocab"], 32000);
  EXPECT_EQ(j["metadata"]["llama.embedding_length"], 288);
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.tokens"]["size"], 32000);
  EXPECT_EQ(j["types"]["Q4_0"]["tensors"], 43);
  EXPECT_EQ(j["tensors"].size(), 56u);
  r = Edgebench({"model", "inspect", path});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("parameters:   15.19M"), std::string::npos) << r.out;

  // Same seed, same bytes; another seed, other weights.
  ASSERT_EQ(Edgebench({"model", "synth", "--preset", "tiny", "--type", "q4_0", "--seed", "3",
                       "--threads", "1", "-o", dir.File("again.gguf")})
                .exit_code,
            0);
  EXPECT_EQ(testing::ReadFile(path), testing::ReadFile(dir.File("again.gguf")));
  ASSERT_EQ(Edgebench({"model", "synth", "--preset", "tiny", "--type", "q4_0", "--seed", "4",
                       "-o", dir.File("other.gguf")})
                .exit_code,
            0);
  EXPECT_NE(testing::ReadFile(path), testing::ReadFile(dir.File("other.gguf")));
}

TEST(Cli, ModelSynthRejectsBadArguments) {
  TempDir dir;
  EXPECT_EQ(Edgebench({"model", "synth", "--preset", "huge", "-o", dir.File("x")}).exit_code, 2);
  EXPECT_EQ(Edgebench({"model", "synth", "--type", "q3_k", "-o", dir.File("x")}).exit_code, 2);
  EXPECT_EQ(Edgebench({"model", "synth"}).exit_code, 2);  // -o is required
  ProgramResult r = Edgebench({"model", "synth", "-o", dir.File("no/such/dir/x.gguf")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("no/such/dir/x.gguf.tmp: No such file or directory"), std::string::npos)
      << r.err;
}

TEST(Cli, ModelInspectBrokenFile) {
  TempDir dir;
  const std::string path = dir.File("broken.gguf");
  testing::WriteFile(path, std::string("GGUF\x03\0\0\0", 8));  // magic, version, no counts
  ProgramResult r = Edgebench({"model", "inspect", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "edgebench: " + path +
                       ": at byte 0: file ends inside header (needs 24 bytes, 8 left; "
                       "truncated?)\n");
}

}  // namespace
}  // namespace edgebench
