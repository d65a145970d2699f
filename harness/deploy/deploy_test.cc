// Deploy through the local transport and through wrappers that count,
// cut off or corrupt transfers. The ssh and adb integration tests
// (harness/devices/devices_integration_test.cc) repeat the essentials over
// real clients.
#include "harness/deploy/deploy.h"

#include <sys/stat.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/testing.h"

namespace edgebench::harness {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::RandomBytes;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

// Wraps a transport: counts pushes and bytes; can fail a push halfway
// (the device vanished: half the file is on the device under the name it
// was sent to) or flip a byte in transit.
class FaultyTransport final : public Transport {
 public:
  explicit FaultyTransport(std::unique_ptr<Transport> inner) : inner_(std::move(inner)) {}
  std::string_view kind() const override { return inner_->kind(); }
  const std::string& name() const override { return inner_->name(); }
  Result<ExecResult> Exec(const std::vector<std::string>& argv,
                          const ExecOptions& options) override {
    return inner_->Exec(argv, options);
  }
  Status Push(const std::string& local, const std::string& remote,
              const ProgressFn& progress) override {
    ++pushes;
    if (cut_push) {
      const std::string bytes = ReadFile(local);
      WriteFile(remote, bytes.substr(0, bytes.size() / 2));
      return UnavailableError(name() + ": device vanished");
    }
    RETURN_IF_ERROR(inner_->Push(local, remote, progress));
    pushed_bytes += fs::file_size(local);
    if (corrupt) {
      std::string bytes = ReadFile(remote);
      bytes[bytes.size() / 3] ^= 1;
      WriteFile(remote, bytes);
    }
    return Status::Ok();
  }
  Status Pull(const std::string& remote, const std::string& local) override {
    return inner_->Pull(remote, local);
  }
  Status KillAll() override { return inner_->KillAll(); }

  int pushes = 0;
  uint64_t pushed_bytes = 0;
  bool cut_push = false;
  bool corrupt = false;

 private:
  std::unique_ptr<Transport> inner_;
};

std::vector<std::string> BlobNames(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir + "/blobs"))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Deploy, Sha256MatchesTheKnownVectors) {
  TempDir dir;
  WriteFile(dir.File("empty"), "");
  WriteFile(dir.File("abc"), "abc");
  EXPECT_EQ(*Sha256File(dir.File("empty")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(*Sha256File(dir.File("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Larger than one read buffer, against the system's sha256sum.
  WriteFile(dir.File("big"), RandomBytes((size_t{3} << 20) + 17, 1));
  const testing::ProgramResult r = testing::RunProgram({"sha256sum", dir.File("big")});
  EXPECT_EQ(*Sha256File(dir.File("big")), r.out.substr(0, 64));
  EXPECT_THAT(Sha256File(dir.File("nope")).status().message(), HasSubstr(dir.File("nope")));
}

TEST(Deploy, ElfMachineOfTheBuiltRuntimes) {
  EXPECT_EQ(*ElfMachine(testing::BinDir() + "/edgebench-rt"), "x86_64");
  TempDir dir;
  WriteFile(dir.File("script"), "#!/bin/sh\n");
  EXPECT_THAT(ElfMachine(dir.File("script")).status().message(), HasSubstr("not an ELF"));
  EXPECT_EQ(*FindRuntime("x86_64", testing::BinDir() + "/edgebench-rt"),
            fs::weakly_canonical(testing::BinDir() + "/edgebench-rt").string());
  const Status wrong = FindRuntime("aarch64", testing::BinDir() + "/edgebench-rt").status();
  EXPECT_THAT(wrong.message(), HasSubstr("is for x86_64, the device is aarch64"));
}

TEST(Deploy, SendsOnceVerifiesAndNamesByContent) {
  TempDir src, dev;
  WriteFile(src.File("model.gguf"), RandomBytes(size_t{2} << 20, 2));
  WriteFile(src.File("edgebench-rt"), RandomBytes(4096, 3));
  WriteFile(src.File("copy.gguf"), ReadFile(src.File("model.gguf")));
  FaultyTransport t(NewLocalTransport());
  auto work = PrepareWorkDir(t, dev.File("work dir; $(x)"), false);
  ASSERT_TRUE(work.ok()) << work.status().ToString();
  EXPECT_EQ(*work, dev.File("work dir; $(x)"));

  const std::vector<DeployFile> files = {{src.File("model.gguf")},
                                         {src.File("edgebench-rt"), true},
                                         {src.File("copy.gguf")}};
  int progress_calls = 0;
  auto r = Deploy(t, *work, files,
                  {.progress = [&](const DeployedFile&, const TransferProgress&) {
                    ++progress_calls;
                  }});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files_sent, 2);  // the copy has the same content
  EXPECT_EQ(t.pushes, 2);
  EXPECT_EQ(r->bytes_sent, (size_t{2} << 20) + 4096);
  EXPECT_GT(progress_calls, 0);
  ASSERT_EQ(r->files.size(), 3u);
  EXPECT_EQ(r->files[0].remote, r->files[2].remote);
  EXPECT_FALSE(r->files[2].sent);
  EXPECT_EQ(ReadFile(r->files[0].remote), ReadFile(src.File("model.gguf")));
  EXPECT_EQ(fs::status(r->files[1].remote).permissions() & fs::perms::owner_exec,
            fs::perms::owner_exec);
  EXPECT_EQ(fs::status(r->files[0].remote).permissions() & fs::perms::owner_exec,
            fs::perms::none);
  EXPECT_EQ(BlobNames(*work).size(), 2u);  // no temporary left

  // Again: nothing is sent.
  auto again = Deploy(t, *work, files);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->files_sent, 0);
  EXPECT_EQ(again->bytes_sent, 0u);
  EXPECT_EQ(t.pushes, 2);
}

TEST(Deploy, ABlobOfTheWrongSizeIsSentAgain) {
  TempDir src, dev;
  WriteFile(src.File("m"), RandomBytes(100000, 4));
  FaultyTransport t(NewLocalTransport());
  const std::string work = *PrepareWorkDir(t, dev.path(), false);
  auto r = Deploy(t, work, {{src.File("m")}});
  ASSERT_TRUE(r.ok());
  WriteFile(r->files[0].remote, "truncated by someone");
  r = Deploy(t, work, {{src.File("m")}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->files_sent, 1);
  EXPECT_EQ(ReadFile(r->files[0].remote), ReadFile(src.File("m")));
}

TEST(Deploy, ACutOffPushLeavesNothingUnderTheFinalName) {
  TempDir src, dev;
  WriteFile(src.File("m"), RandomBytes(size_t{1} << 20, 5));
  FaultyTransport t(NewLocalTransport("flaky"));
  const std::string work = *PrepareWorkDir(t, dev.path(), false);
  t.cut_push = true;
  auto r = Deploy(t, work, {{src.File("m")}});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr(src.File("m")));
  EXPECT_THAT(r.status().message(), HasSubstr("flaky"));
  const std::string sha = *Sha256File(src.File("m"));
  EXPECT_FALSE(fs::exists(work + "/blobs/" + sha));
  // The next deploy sends it whole.
  t.cut_push = false;
  r = Deploy(t, work, {{src.File("m")}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->files_sent, 1);
  EXPECT_EQ(ReadFile(work + "/blobs/" + sha), ReadFile(src.File("m")));
}

TEST(Deploy, AFileChangedInTransitIsRefusedAndNotKept) {
  TempDir src, dev;
  WriteFile(src.File("m"), RandomBytes(300000, 6));
  FaultyTransport t(NewLocalTransport());
  const std::string work = *PrepareWorkDir(t, dev.path(), false);
  t.corrupt = true;
  auto r = Deploy(t, work, {{src.File("m")}});
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("arrived changed"));
  EXPECT_TRUE(BlobNames(work).empty());
}

TEST(Deploy, WorkDirUnderHomeIsExpandedOnTheDevice) {
  TempDir home;
  const char* old = std::getenv("HOME");
  const std::string saved = old ? old : "";
  ::setenv("HOME", home.path().c_str(), 1);
  auto t = NewLocalTransport();
  auto work = PrepareWorkDir(*t, "", false);
  if (old) ::setenv("HOME", saved.c_str(), 1);
  ASSERT_TRUE(work.ok()) << work.status().ToString();
  EXPECT_EQ(*work, home.path() + "/.cache/edgebench");
  EXPECT_TRUE(fs::is_directory(*work + "/blobs"));
}

TEST(Deploy, UnwritableWorkDirNamesTheDeviceAndTheCause) {
  // Not even root can make a folder in /proc.
  auto t = NewLocalTransport();
  auto work = PrepareWorkDir(*t, "/proc/edgebench", false);
  EXPECT_FALSE(work.ok());
  EXPECT_THAT(work.status().message(), HasSubstr("local"));
}

}  // namespace
}  // namespace edgebench::harness
