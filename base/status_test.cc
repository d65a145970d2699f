#include "base/status.h"

#include <cerrno>
#include <set>

#include <gtest/gtest.h>

#include "base/build_info.h"

namespace edgebench {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgumentError("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x));
  return Status::Ok();
}

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(Status, CarriesCodeAndMessage) {
  Status s = NotFoundError("x.gguf: no such file");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "not_found: x.gguf: no such file");
  Status c = s.WithContext("loading model");
  EXPECT_EQ(c.code(), StatusCode::kNotFound);
  EXPECT_EQ(c.message(), "loading model: x.gguf: no such file");
}

TEST(Result, ValueOrStatus) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);  // 6/2 = 3 is odd
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd: 3");
  EXPECT_EQ(r.value_or(-1), -1);
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).code(), StatusCode::kInvalidArgument);
}

Status StatusOfTemporary(int x) {
  // .status() of a temporary Result: the macro must not keep a reference
  // into it (ASan reports stack-use-after-scope if it does).
  RETURN_IF_ERROR(Half(x).status());
  return Status::Ok();
}

TEST(Result, StatusOfATemporaryOutlivesIt) {
  Status s = StatusOfTemporary(7);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd: 7");
  EXPECT_TRUE(StatusOfTemporary(8).ok());
}

TEST(Status, ErrnoMapsToSpecificCodes) {
  EXPECT_EQ(ErrnoToStatus(ENOENT, "a").code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoToStatus(EACCES, "a").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoToStatus(ENOSPC, "a").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatus(ECONNRESET, "a").code(), StatusCode::kUnavailable);
  EXPECT_EQ(ErrnoToStatus(ENOENT, "/x").message(), "/x: No such file or directory");
}

TEST(StatusCode, NamesAreDistinct) {
  std::set<std::string_view> names;
  for (int c = 0; c <= static_cast<int>(StatusCode::kInternal); ++c)
    names.insert(StatusCodeName(static_cast<StatusCode>(c)));
  EXPECT_EQ(names.size(), static_cast<size_t>(StatusCode::kInternal) + 1);
}

TEST(BuildInfo, WarnsForDebugAndSanitizedBuilds) {
  BuildInfo release{"1", "abc", "Release", "GNU", "-O3", "x86_64", "", false};
  EXPECT_EQ(BuildWarning(release), "");
  BuildInfo debug = release;
  debug.build_type = "Debug";
  debug.asserts = true;
  EXPECT_NE(BuildWarning(debug).find("Debug build, asserts enabled"), std::string::npos);
  BuildInfo asan = release;
  asan.sanitizers = "address";
  EXPECT_NE(BuildWarning(asan).find("sanitizers (address)"), std::string::npos);
  // The real build's facts are filled in.
  EXPECT_FALSE(GetBuildInfo().version.empty());
  EXPECT_FALSE(GetBuildInfo().git_commit.empty());
}

}  // namespace
}  // namespace edgebench
