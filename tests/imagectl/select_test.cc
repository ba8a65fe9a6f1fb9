// `imagectl select`: flags, stdin, output and exit codes, through the real
// command line (Run) with std::cin redirected, and RunSelect directly.
#include "tools/imagectl/select.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

#include "tools/imagectl/cli.h"

namespace ia::imagectl {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class SelectCliTest : public ::testing::Test {
 protected:
  // Runs imagectl with `args` and `input` on std::cin; returns the exit code.
  int Run(const std::vector<std::string>& args, const std::string& input) {
    out_.str("");
    err_.str("");
    std::istringstream in(input);
    std::streambuf* saved = std::cin.rdbuf(in.rdbuf());
    RunEnvironment env;
    env.getenv = [](const std::string&) { return std::nullopt; };
    env.make_client = [](const ClientOptions&)
        -> absl::StatusOr<std::unique_ptr<ObjectClient>> {
      ADD_FAILURE() << "select must not make a client";
      return absl::InternalError("no client");
    };
    const int code = imagectl::Run(args, env, out_, err_);
    std::cin.rdbuf(saved);
    return code;
  }

  std::ostringstream out_;
  std::ostringstream err_;
};

constexpr char kTags[] = "1.0.0\nv1.10.0\r\n1.9.0\n\n2.0.0-rc.1\nlatest\n";

TEST_F(SelectCliTest, SemverPrintsTheOriginalTag) {
  EXPECT_EQ(Run({"select", "--select-semver=>=1.0.0 <2.0.0"}, kTags), 0);
  EXPECT_EQ(out_.str(), "v1.10.0\n");
  EXPECT_THAT(err_.str(), IsEmpty());
  EXPECT_EQ(Run({"select", "--select-semver", ">=2.0.0-0"}, kTags), 0);
  EXPECT_EQ(out_.str(), "2.0.0-rc.1\n");
}

TEST_F(SelectCliTest, AlphaAndNumeric) {
  EXPECT_EQ(Run({"select", "--select-alpha=asc"}, kTags), 0);
  EXPECT_EQ(out_.str(), "v1.10.0\n");
  EXPECT_EQ(Run({"select", "--select-alpha=desc"}, kTags), 0);
  EXPECT_EQ(out_.str(), "1.0.0\n");
  EXPECT_EQ(Run({"select", "--select-numeric=asc"}, "5\n40\n300\n"), 0);
  EXPECT_EQ(out_.str(), "300\n");
  EXPECT_EQ(Run({"select", "--select-numeric=desc"}, "5\n40\n300\n"), 0);
  EXPECT_EQ(out_.str(), "5\n");
}

TEST_F(SelectCliTest, FilterAndExtract) {
  EXPECT_EQ(Run({"select", "--select-numeric=asc",
                 "--filter-regex=^main-[a-f0-9]+-(?P<ts>[0-9]+)",
                 "--filter-extract=$ts"},
                "main-abc-20\nmain-def-100\ndev-aaa-999\n"),
            0);
  EXPECT_EQ(out_.str(), "main-def-100\n");
}

TEST_F(SelectCliTest, NoneQualifiesExitsOne) {
  EXPECT_EQ(Run({"select", "--select-semver=>=3.0.0"}, kTags), 1);
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_THAT(err_.str(), HasSubstr("no tag satisfies semver range"));
  EXPECT_EQ(Run({"select", "--select-alpha=asc", "--filter-regex=^x"}, kTags),
            1);
  EXPECT_THAT(err_.str(), HasSubstr("no tag matched the filter"));
  EXPECT_EQ(Run({"select", "--select-alpha=asc"}, ""), 1);
  EXPECT_EQ(Run({"select", "--select-numeric=asc"}, "1\nabc\n"), 1);
  EXPECT_THAT(err_.str(), HasSubstr("tag \"abc\" is not a number"));
}

TEST_F(SelectCliTest, BadInputExitsTwo) {
  EXPECT_EQ(Run({"select"}, kTags), 2);
  EXPECT_THAT(err_.str(), HasSubstr("exactly one of --select-semver"));
  EXPECT_EQ(Run({"select", "--select-semver=*", "--select-alpha=asc"}, kTags),
            2);
  EXPECT_EQ(Run({"select", "--select-semver=>=1.0 <"}, kTags), 2);
  EXPECT_THAT(err_.str(), HasSubstr("\">=1.0 <\""));
  EXPECT_EQ(Run({"select", "--select-alpha=up"}, kTags), 2);
  EXPECT_EQ(Run({"select", "--select-alpha=asc", "--filter-regex=(a"}, kTags),
            2);
  EXPECT_THAT(err_.str(), HasSubstr("invalid regular expression"));
  EXPECT_EQ(Run({"select", "--select-alpha=asc", "--filter-extract=$1"}, kTags),
            2);
  EXPECT_THAT(err_.str(), HasSubstr("--filter-extract needs --filter-regex"));
  EXPECT_EQ(Run({"select", "--select-alpha=asc", "--bogus"}, kTags), 2);
}

TEST(RunSelectTest, ReadsTagsFromTheGivenStream) {
  std::istringstream in("b\na\n");
  std::ostringstream out;
  std::ostringstream err;
  SelectFlags flags;
  flags.select_alpha = "asc";
  EXPECT_EQ(RunSelect(flags, in, Io{out, err}), 0);
  EXPECT_EQ(out.str(), "b\n");
}

TEST(ReadTagsTest, DropsCarriageReturnsAndEmptyLines) {
  std::istringstream in("a\r\n\nb\nc");
  EXPECT_EQ(ReadTags(in), (std::vector<std::string>{"a", "b", "c"}));
}

// What ReadTags did line by line with std::getline before it read in blocks;
// the block reader must split exactly as it did.
std::vector<std::string> GetlineTags(const std::string& input) {
  std::istringstream in(input);
  std::vector<std::string> tags;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) tags.push_back(std::move(line));
  }
  return tags;
}

TEST(ReadTagsTest, SplitsAsGetlineDid) {
  const std::vector<std::string> inputs = {"",
                                           "\n",
                                           "\r",
                                           "\r\n",
                                           "a",
                                           "a\r",
                                           "a\r\r\n",
                                           "\r\r\n\r",
                                           "a\n\n\nb",
                                           "x\ry\n",
                                           "a\nb\r\nc\r",
                                           std::string("n\0ul\nz", 7),
                                           "trailing\n\n"};
  for (const std::string& input : inputs) {
    std::istringstream in(input);
    EXPECT_EQ(ReadTags(in), GetlineTags(input))
        << testing::PrintToString(input);
  }
}

TEST(ReadTagsTest, ReadsInputLargerThanOneBlock) {
  // Over 4 MiB of tags of varied length, some longer than the 15 bytes that
  // fit in a string without allocating, so the blocks and lines straddle.
  std::string input;
  for (int i = 0; input.size() < (size_t{4} << 20); ++i) {
    input += std::string(static_cast<size_t>(i % 40), 'a' + i % 26);
    input += (i % 7 == 0) ? "\r\n" : "\n";
  }
  std::istringstream in(input);
  const std::vector<std::string> tags = ReadTags(in);
  EXPECT_EQ(tags, GetlineTags(input));
  std::istringstream again(input);
  EXPECT_EQ(ReadAll(again), input);
}

}  // namespace
}  // namespace ia::imagectl
