#include "common/files.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ia {
namespace {

using ::testing::HasSubstr;

TEST(ReadFileToStringTest, ReadsEveryByte) {
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / "files_test_bytes")
          .string();
  const std::string bytes("a\0b\r\n\xff", 6);
  std::ofstream(path, std::ios::binary) << bytes;
  absl::StatusOr<std::string> read = ReadFileToString(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, bytes);
  std::filesystem::remove(path);
}

TEST(ReadFileToStringTest, MissingFileIsNotFoundNamingThePathAndReason) {
  absl::StatusOr<std::string> read = ReadFileToString("/nonexistent/file");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(read.status().message(),
              HasSubstr("cannot read /nonexistent/file: No such file"));
}

TEST(ReadFileToStringTest, FolderIsAnError) {
  absl::StatusOr<std::string> read = ReadFileToString(::testing::TempDir());
  EXPECT_FALSE(read.ok());
  EXPECT_THAT(read.status().message(), HasSubstr("cannot read "));
}

}  // namespace
}  // namespace ia
