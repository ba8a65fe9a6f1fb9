#include "tools/imagectl/table.h"

#include <gtest/gtest.h>

#include "absl/time/time.h"

namespace ia::imagectl {
namespace {

google::protobuf::Timestamp At(absl::string_view rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error))
      << error;
  return ToProtoTime(t);
}

void SetReady(google::protobuf::RepeatedPtrField<v1::Condition>* conditions,
              absl::string_view status, absl::string_view message) {
  SetCondition(conditions, kReady, status, "Reason", message, 1,
               absl::UnixEpoch());
}

v1::ImageRepository Repository(absl::string_view ns, absl::string_view name) {
  v1::ImageRepository repo;
  repo.mutable_metadata()->set_namespace_(std::string(ns));
  repo.mutable_metadata()->set_name(std::string(name));
  return repo;
}

TEST(FormatTableTest, PadsEachColumnToItsWidestCellPlusThree) {
  EXPECT_EQ(FormatTable({{"NAME", "READY", "MESSAGE"},
                         {"a-long-name", "True", "ok"},
                         {"b", "False", "not ok"}}),
            "NAME          READY   MESSAGE\n"
            "a-long-name   True    ok\n"
            "b             False   not ok\n");
}

TEST(FormatTableTest, ColumnsAreAtLeastSixWideAndTheLastIsNotPadded) {
  EXPECT_EQ(FormatTable({{"A", "B"}, {"x", "yyyyyyyyyy"}}),
            "A     B\n"
            "x     yyyyyyyyyy\n");
}

TEST(FormatTableTest, CountsUtf8CharactersAndFlattensNewlines) {
  EXPECT_EQ(
      FormatTable({{"NAME", "MESSAGE"}, {"\xc3\xa9t\xc3\xa9", "two\nlines"}}),
      "NAME   MESSAGE\n"
      "\xc3\xa9t\xc3\xa9    two lines\n");
}

TEST(ObjectTableTest, ImageRepositories) {
  v1::ImageRepository app = Repository("flux-system", "app");
  *app.mutable_status()->mutable_last_scan_result()->mutable_scan_time() =
      At("2024-05-06T07:08:09Z");
  SetReady(app.mutable_status()->mutable_conditions(), "True",
           "successful scan: found 12 tags");
  v1::ImageRepository waiting = Repository("flux-system", "podinfo-long");
  waiting.mutable_spec()->set_suspend(true);

  EXPECT_EQ(
      FormatObjectTable(Kind::kImageRepository, {app, waiting}, false),
      "NAME           LAST SCAN              SUSPENDED   READY     MESSAGE\n"
      "app            2024-05-06T07:08:09Z   False       True      successful "
      "scan: found 12 tags\n"
      "podinfo-long                          True        Unknown   waiting to "
      "be reconciled\n");
}

TEST(ObjectTableTest, AllNamespacesAddsANamespaceColumnFirst) {
  v1::ImagePolicy policy;
  policy.mutable_metadata()->set_namespace_("apps");
  policy.mutable_metadata()->set_name("web");
  policy.mutable_status()->mutable_latest_ref()->set_name("ghcr.io/org/web");
  policy.mutable_status()->mutable_latest_ref()->set_tag("1.3.0");
  SetReady(policy.mutable_status()->mutable_conditions(), "True",
           "Latest image tag for ghcr.io/org/web resolved to 1.3.0");
  v1::ImagePolicy failing;
  failing.mutable_metadata()->set_namespace_("flux-system");
  failing.mutable_metadata()->set_name("api");
  SetReady(failing.mutable_status()->mutable_conditions(), "False",
           "no tag matches the policy");

  EXPECT_EQ(FormatObjectTable(Kind::kImagePolicy, {policy, failing}, true),
            "NAMESPACE     NAME   LATEST IMAGE            READY   MESSAGE\n"
            "apps          web    ghcr.io/org/web:1.3.0   True    Latest image "
            "tag for ghcr.io/org/web resolved to 1.3.0\n"
            "flux-system   api                            False   no tag "
            "matches the policy\n");
}

TEST(ObjectTableTest, HeadersOfEveryKind) {
  EXPECT_EQ(TableHeader(Kind::kImageRepository, false),
            (Row{"NAME", "LAST SCAN", "SUSPENDED", "READY", "MESSAGE"}));
  EXPECT_EQ(TableHeader(Kind::kImagePolicy, false),
            (Row{"NAME", "LATEST IMAGE", "READY", "MESSAGE"}));
  EXPECT_EQ(TableHeader(Kind::kImageUpdateAutomation, false),
            (Row{"NAME", "LAST RUN", "SUSPENDED", "READY", "MESSAGE"}));
  EXPECT_EQ(
      TableHeader(Kind::kGitRepository, true),
      (Row{"NAMESPACE", "NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"}));
}

TEST(ObjectTableTest, UpdateAndGitRows) {
  v1::ImageUpdateAutomation update;
  update.mutable_metadata()->set_namespace_("flux-system");
  update.mutable_metadata()->set_name("auto");
  *update.mutable_status()->mutable_last_automation_run_time() =
      At("2025-01-02T03:04:05Z");
  SetReady(update.mutable_status()->mutable_conditions(), "True",
           "repository up-to-date");
  EXPECT_EQ(TableRow(update, false),
            (Row{"auto", "2025-01-02T03:04:05Z", "False", "True",
                 "repository up-to-date"}));

  v1::GitRepository git;
  git.mutable_metadata()->set_namespace_("flux-system");
  git.mutable_metadata()->set_name("repo");
  git.mutable_status()->set_observed_revision("main@sha1:0123abcd");
  EXPECT_EQ(TableRow(git, true),
            (Row{"flux-system", "repo", "main@sha1:0123abcd", "False",
                 "Unknown", "waiting to be reconciled"}));
}

TEST(FormatImageRefTest, NameTagAndDigest) {
  v1::ImageRef ref;
  EXPECT_EQ(FormatImageRef(ref), "");
  ref.set_name("nginx");
  ref.set_tag("1.25");
  EXPECT_EQ(FormatImageRef(ref), "nginx:1.25");
  ref.set_digest("sha256:abc");
  EXPECT_EQ(FormatImageRef(ref), "nginx:1.25@sha256:abc");
}

}  // namespace
}  // namespace ia::imagectl
