// `edgebench report` and `edgebench compare` as CI runs them: on stored
// sweeps, a candidate 10% slower exits 3 and the JUnit and Markdown files
// are well formed; the same build exits 0; every report format is written.
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <tinyxml2.h>

#include "reporters/testing/store_fixture.h"
#include "tests/testing/testing.h"

namespace edgebench {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using reporters::test_store::Around;
using reporters::test_store::StoreFixture;
using testing::ProgramResult;
using testing::ReadFile;
using testing::TempDir;

ProgramResult Edgebench(std::vector<std::string> args) {
  args.insert(args.begin(), testing::BinDir() + "/edgebench");
  return testing::RunProgram(args);
}

class ReportCli : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.File("eb.db");
    StoreFixture f(db_);
    const int64_t base = f.Sweep("base", R"(["ci=main"])", "aaaa1111");
    f.Run(base, 1, Around(100, 1, 8));
    f.Run(base, 4, Around(300, 3, 8));
    const int64_t same = f.Sweep("same", R"(["ci=rerun"])", "aaaa1111");
    f.Run(same, 1, Around(100, 1, 8, 3));
    f.Run(same, 4, Around(300, 3, 8, 4));
    const int64_t slow = f.Sweep("slow", R"(["ci=pr"])", "bbbb2222");
    f.Run(slow, 1, Around(90, 1, 8, 1));  // 10% slower
    f.Run(slow, 4, Around(270, 3, 8, 2));
    uuids_ = {f.uuid(0), f.uuid(1), f.uuid(2)};
  }
  TempDir dir_;
  std::string db_;
  std::vector<std::string> uuids_;
};

TEST_F(ReportCli, ACandidateTenPercentSlowerExitsThree) {
  const std::string junit = dir_.File("out/junit.xml"), md = dir_.File("summary.md");
  std::filesystem::create_directories(dir_.File("out"));
  ProgramResult r = Edgebench({"compare", "--db", db_, "--baseline", "label:ci=main",
                               "--candidate", "commit:bbbb2222", "--junit", junit,
                               "--markdown", md});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.out, HasSubstr("❌ 6 regressions"));
  EXPECT_EQ(ReadFile(md), r.out);
  tinyxml2::XMLDocument doc;
  ASSERT_EQ(doc.LoadFile(junit.c_str()), tinyxml2::XML_SUCCESS);
  const tinyxml2::XMLElement* suite =
      doc.FirstChildElement("testsuites")->FirstChildElement("testsuite");
  ASSERT_NE(suite, nullptr);
  EXPECT_EQ(suite->IntAttribute("tests"), 6);  // 2 configurations x 3 metrics
  EXPECT_EQ(suite->IntAttribute("failures"), 6);
  int failures = 0;
  for (const tinyxml2::XMLElement* c = suite->FirstChildElement("testcase"); c;
       c = c->NextSiblingElement("testcase"))
    failures += c->FirstChildElement("failure") != nullptr;
  EXPECT_EQ(failures, 6);

  // A threshold the drop stays within passes the gate.
  r = Edgebench({"compare", "--db", db_, "--baseline", uuids_[0], "--candidate", uuids_[2],
                 "--threshold", "decode_tps=-12%,prefill_tps=-12%,ttft_ms=+12%"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST_F(ReportCli, TheSameBuildExitsZero) {
  ProgramResult r = Edgebench({"compare", "--db", db_, "--baseline", uuids_[0].substr(0, 8),
                               "--candidate", uuids_[1], "--junit", dir_.File("j.xml")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("✅ no regression"));
  tinyxml2::XMLDocument doc;
  ASSERT_EQ(doc.LoadFile(dir_.File("j.xml").c_str()), tinyxml2::XML_SUCCESS);
  EXPECT_EQ(doc.FirstChildElement("testsuites")->IntAttribute("failures"), 0);
}

TEST_F(ReportCli, BadSelectorsAndThresholdsAreOneLineErrors) {
  ProgramResult r = Edgebench({"compare", "--db", db_, "--baseline", "deadbeef",
                               "--candidate", "last"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no sweep, label or commit \"deadbeef\""));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = Edgebench({"compare", "--db", db_, "--baseline", "last", "--candidate", "last",
                 "--threshold", "speed=-3%"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unknown metric \"speed\""));
  r = Edgebench({"report", "--db", dir_.File("none.db")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("none.db"));
  r = Edgebench({"report", "--db", db_, "--group-by", "colour"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unknown field \"colour\""));
}

TEST_F(ReportCli, EveryFormatIsWritten) {
  ProgramResult r = Edgebench({"report", "--db", db_, "--sweep", uuids_[0]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("| device | model   |"));
  EXPECT_THAT(r.out, HasSubstr("decode_tps (tok/s)"));
  for (const char* fmt : {"csv", "json", "html"}) {
    const std::string out = dir_.File(std::string("report.") + fmt);
    r = Edgebench({"report", "--db", db_, "--label", "ci", "--format", fmt, "-o", out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("wrote " + out));
    const std::string text = ReadFile(out);
    EXPECT_FALSE(text.empty());
    EXPECT_FALSE(std::filesystem::exists(out + ".tmp"));
    if (std::string(fmt) == "json") {
      const auto j = nlohmann::json::parse(text);
      EXPECT_EQ(j["rows"].size(), 2u);
      EXPECT_EQ(j["sweeps"].size(), 3u);
    }
    if (std::string(fmt) == "html") {
      EXPECT_THAT(text, HasSubstr("<svg"));
    }
  }
  r = Edgebench({"report", "--db", db_, "--metrics", "decode_tps", "--group-by", "device",
                 "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);
}

// One sweep that ran both engines: llama.cpp and native at threads 1 and
// 4, native 10% slower at threads 1.
class BackendsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.File("eb.db");
    StoreFixture f(db_);
    const int64_t s = f.Sweep("engines");
    f.RunBackend(s, "native", 1, Around(90, 1, 8));
    f.RunBackend(s, "llamacpp", 1, Around(100, 1, 8, 1));
    f.RunBackend(s, "native", 4, Around(300, 3, 8, 2));
    f.RunBackend(s, "llamacpp", 4, Around(300, 3, 8, 3));
  }
  TempDir dir_;
  std::string db_;
};

TEST_F(BackendsCli, ReportSideBySideInEveryFormat) {
  ProgramResult r = Edgebench({"report", "--db", db_, "--side-by-side", "backend"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("| decode_tps native (tok/s) | decode_tps llamacpp (tok/s) | "
                               "decode_tps native/llamacpp |"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex(R"(\| +0\.9[0-9]+ \[0\.)"));  // t1: 90/100
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 6) << r.out;  // 4 table + 2 note
  r = Edgebench({"report", "--db", db_, "--side-by-side", "backend", "--metrics", "decode_tps",
                 "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(",decode_tps_native_over_llamacpp,"));
  EXPECT_THAT(r.out, Not(HasSubstr("prefill_tps")));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);
  r = Edgebench({"report", "--db", db_, "--side-by-side", "backend", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ratios"][0], "native/llamacpp");
  EXPECT_EQ(j["rows"].size(), 2u);
  const std::string html = dir_.File("sbs.html");
  r = Edgebench({"report", "--db", db_, "--side-by-side", "backend", "--format", "html", "-o",
                 html});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ReadFile(html), HasSubstr("<section id=\"side-by-side\">"));
  // A --group-by keeps the backend, so the sides stay apart.
  r = Edgebench({"report", "--db", db_, "--side-by-side", "backend", "--group-by", "device"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("decode_tps native/llamacpp"));
}

TEST_F(BackendsCli, SideBySideOfAnUnknownFieldIsAUsageError) {
  ProgramResult r = Edgebench({"report", "--db", db_, "--side-by-side", "threads"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown field \"threads\" (accepted: backend)"));
  EXPECT_TRUE(r.out.empty());
}

TEST_F(BackendsCli, CompareGatesOneBackendAgainstTheOther) {
  ProgramResult r = Edgebench({"compare", "--db", db_, "--baseline", "last", "--candidate",
                               "last", "--baseline-backend", "llamacpp", "--candidate-backend",
                               "native"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("Baseline sweep last backend llamacpp, candidate sweep last "
                               "backend native: 2 configurations"));
  EXPECT_THAT(r.out, HasSubstr("| pixel tiny-q4 Q4_0 llamacpp->native t1 pp64 tg16 | "
                               "decode_tps | -3% |"));
  EXPECT_THAT(r.out, HasSubstr("❌ 3 regressions"));
  // Without the flags each backend pairs with itself: the same sweep, no change.
  r = Edgebench({"compare", "--db", db_, "--baseline", "last", "--candidate", "last"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("4 configurations"));
  EXPECT_THAT(r.out, HasSubstr("| pixel tiny-q4 Q4_0 llamacpp t1 pp64 tg16 |"));
  EXPECT_THAT(r.out, Not(HasSubstr("->")));
  // One flag without the other is a usage error.
  r = Edgebench({"compare", "--db", db_, "--baseline", "last", "--candidate", "last",
                 "--baseline-backend", "llamacpp"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--candidate-backend"));
  r = Edgebench({"compare", "--db", db_, "--baseline", "last", "--candidate", "last",
                 "--candidate-backend", "native"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--baseline-backend"));
}

}  // namespace
}  // namespace edgebench
