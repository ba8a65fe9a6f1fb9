// Tests of the extract template grammar (Go's Regexp.Expand): expansion,
// the reference parser, and the Apply-time check of spec.filterTags that
// uses it (moved here from common/validation: the code that interprets
// filterTags checks it).
#include "services/policy/expand.h"

#include <re2/re2.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/kv_object_store.h"
#include "common/object_store.h"
#include "common/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/policy/select.h"

namespace ia::policy {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Go's Regexp.Expand, checked against go1.19's output for the same cases.
std::string Expand(const std::string& pattern, const std::string& text,
                   const std::string& tmpl) {
  RE2 re(pattern);
  const int n = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> groups(static_cast<size_t>(n));
  EXPECT_TRUE(
      re.Match(text, 0, text.size(), RE2::UNANCHORED, groups.data(), n));
  std::string out;
  ExpandTemplate(re, tmpl, groups, &out);
  return out;
}

TEST(ExpandTemplateTest, AsGoRegexpExpand) {
  const std::string re = "(?P<a>\\d+)-(\\d+)";
  const std::string text = "x12-34y";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"$1", "12"}, {"${1}", "12"},  {"$a", "12"},         {"${a}", "12"},
      {"$$", "$"},  {"$2x", ""},     {"${2}x", "34x"},     {"$", "$"},
      {"${", "${"}, {"${1", "${1"},  {"$01", ""},          {"$10", ""},
      {"$-", "$-"}, {"$a_", ""},     {"$\xc3\xa4", ""},    {"${}", "${}"},
      {"a$", "a$"}, {"$0", "12-34"}, {"v$1.$2", "v12.34"}, {"$1$2", "1234"},
      {"$$1", "$1"}};
  for (const auto& [tmpl, want] : cases) {
    EXPECT_EQ(Expand(re, text, tmpl), want) << tmpl;
  }
  // A group that did not take part expands to "".
  EXPECT_EQ(Expand("a(x)?(b)", "ab", "[$1][$2]"), "[][b]");
  // A named group may be called "01": then $01 is that group.
  EXPECT_EQ(Expand("(?P<01>x)(y)", "xy", "$01/$1/$2"), "x/x/y");
}

// The parser's pieces, written out: literals as is, references as
// <text|name|number>.
std::string Pieces(absl::string_view tmpl) {
  std::string out;
  ParseTemplate(
      tmpl, [&out](absl::string_view text) { absl::StrAppend(&out, text); },
      [&out](const TemplateReference& ref) {
        absl::StrAppend(&out, "<", ref.text, "|", ref.name, "|", ref.number,
                        ">");
      });
  return out;
}

TEST(ParseTemplateTest, ReadsReferencesAsGoRegexpExtract) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"abc", "abc"},
      {"$1", "<$1|1|1>"},
      {"${12}x", "<${12}|12|12>x"},
      // Leading zero: a name, not group 1.
      {"$01", "<$01|01|-1>"},
      {"$0", "<$0|0|0>"},
      // The longest run of letters, digits and '_'.
      {"$1x", "<$1x|1x|-1>"},
      {"$ts-$2", "<$ts|ts|-1>-<$2|2|2>"},
      {"$a_b.c", "<$a_b|a_b|-1>.c"},
      {"$\xc3\xa4!", "<$\xc3\xa4|\xc3\xa4|-1>!"},
      // Go stops reading a number once it reaches 1e8: more digits make a
      // name.
      {"$99999999", "<$99999999|99999999|99999999>"},
      {"$100000000", "<$100000000|100000000|100000000>"},
      {"$1000000000", "<$1000000000|1000000000|-1>"},
      // $$ is '$'; a '$' without a valid reference is text.
      {"$$1", "$1"},
      {"$", "$"},
      {"a$", "a$"},
      {"$-", "$-"},
      {"${}", "${}"},
      {"${1", "${1"},
      {"${bad-name}", "${bad-name}"},
  };
  for (const auto& [tmpl, want] : cases) {
    EXPECT_EQ(Pieces(tmpl), want) << tmpl;
  }
}

TEST(CheckTemplateReferencesTest, RefusesGroupsThePatternDoesNotDefine) {
  const RE2 re("^main-[a-f0-9]+-(?P<ts>[0-9]+)-([a-z]+)");
  for (const char* ok : {"$ts", "${ts}", "$1", "${2}", "$0", "$$ts", "x$",
                         "${ts}-$2", "$-", "${}", "${bad-name}", ""}) {
    EXPECT_TRUE(CheckTemplateReferences(re, ok).ok()) << ok;
  }
  struct Case {
    std::string tmpl;
    std::string message;
  };
  const std::vector<Case> bad = {
      {"$timestamp",
       "\"$timestamp\" refers to group \"timestamp\", which the pattern does "
       "not define"},
      {"v${3}",
       "\"${3}\" refers to group \"3\", which the pattern does not "
       "define"},
      {"$1x",
       "\"$1x\" refers to group \"1x\", which the pattern does not "
       "define"},
      // Go reads $01 as the name "01", which expands to "": refused.
      {"$01",
       "\"$01\" refers to group \"01\", which the pattern does not "
       "define"},
      // The first bad reference is named.
      {"$ts$9$x",
       "\"$9\" refers to group \"9\", which the pattern does not "
       "define"},
  };
  for (const Case& c : bad) {
    const absl::Status status = CheckTemplateReferences(re, c.tmpl);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.tmpl;
    EXPECT_EQ(status.message(), c.message) << c.tmpl;
  }
}

// filterTags on Apply, as the policy service checks it: common/validation
// first, then the policy engine's ValidatePolicySpec (the store's
// validator), with the messages users see.
class FilterTagsApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    policies_ =
        std::make_unique<KvObjectStore<v1::ImagePolicy>>(store_.get(), &clock_);
    policies_->SetValidator([](const v1::ImagePolicy& policy) {
      return ValidatePolicySpec(policy.spec());
    });
  }

  // The error of applying a valid policy with this filterTags ("" if none).
  std::string ErrorOf(const std::string& pattern, const std::string& extract) {
    v1::ImagePolicy policy;
    policy.mutable_metadata()->set_name("app");
    policy.mutable_spec()->mutable_image_repository_ref()->set_name("app");
    policy.mutable_spec()->mutable_policy()->mutable_semver()->set_range(
        ">=1.0.0");
    policy.mutable_spec()->mutable_filter_tags()->set_pattern(pattern);
    policy.mutable_spec()->mutable_filter_tags()->set_extract(extract);
    auto applied = policies_->Apply(policy);
    if (applied.ok()) return "";
    EXPECT_EQ(applied.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(applied.status().message());
  }

  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ObjectStore<v1::ImagePolicy>> policies_;
};

TEST_F(FilterTagsApplyTest, CompilesThePattern) {
  EXPECT_THAT(
      ErrorOf("^main-(", ""),
      StartsWith("ImagePolicy flux-system/app: spec.filterTags.pattern: "
                 "invalid regular expression \"^main-(\": "));
}

TEST_F(FilterTagsApplyTest, ChecksExtractReferences) {
  const std::string pattern = "^main-[a-f0-9]+-(?P<ts>[0-9]+)-([a-z]+)";
  for (const char* ok : {"$ts", "${ts}", "$1", "${2}", "$0", "$$ts", "x$",
                         "${ts}-$2", "$-", "${}", "${bad-name}", ""}) {
    EXPECT_EQ(ErrorOf(pattern, ok), "") << ok;
  }
  EXPECT_EQ(ErrorOf(pattern, "$timestamp"),
            "ImagePolicy flux-system/app: spec.filterTags.extract: "
            "\"$timestamp\" refers to group \"timestamp\", which the pattern "
            "does not define");
  EXPECT_THAT(ErrorOf(pattern, "v${3}"),
              HasSubstr("\"${3}\" refers to group \"3\""));
  // Go reads "$1x" as the group named "1x".
  EXPECT_THAT(ErrorOf(pattern, "$1x"), HasSubstr("refers to group \"1x\""));
  // An empty pattern matches every tag but has no groups.
  EXPECT_THAT(ErrorOf("", "$1"), HasSubstr("refers to group \"1\""));
  // $01 is the name "01", not group 1 (it used to pass here, then extract ""
  // from every tag).
  EXPECT_EQ(ErrorOf("^v([0-9]+)$", "$01"),
            "ImagePolicy flux-system/app: spec.filterTags.extract: \"$01\" "
            "refers to group \"01\", which the pattern does not define");
  EXPECT_EQ(ErrorOf("^v([0-9]+)$", "$1"), "");
}

}  // namespace
}  // namespace ia::policy
