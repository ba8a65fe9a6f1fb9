// Table tests of the selection decision (decide.h): synced hold,
// DependencyNotReady, InvalidPolicy, Failure, minAge, the no-downgrade rule,
// digest reuse and lookup, requeues and the exact status messages. No
// server, no clock: `now` is an input.
#include "services/policy/decide.h"

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "common/conditions.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ia::policy {
namespace {

// 2023-11-14T22:13:20Z.
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);
constexpr char kImage[] = "registry.example/app";

struct TestTag {
  std::string name;
  // How long before kNow the reflector first saw it.
  absl::Duration age = absl::Hours(24);
};

v1::ImageRef Ref(const std::string& tag, const std::string& digest = "",
                 const std::string& image = kImage) {
  v1::ImageRef ref;
  ref.set_name(image);
  ref.set_tag(tag);
  ref.set_digest(digest);
  return ref;
}

// ImagePolicy flux-system/app, generation 2, selecting by semver `range`
// from ImageRepository flux-system/app.
v1::ImagePolicy Policy(const std::string& range) {
  v1::ImagePolicy policy;
  policy.mutable_metadata()->set_namespace_("flux-system");
  policy.mutable_metadata()->set_name("app");
  policy.mutable_metadata()->set_generation(2);
  policy.mutable_spec()->mutable_image_repository_ref()->set_name("app");
  policy.mutable_spec()->mutable_policy()->mutable_semver()->set_range(range);
  policy.mutable_spec()->set_digest_reflection_policy("Never");
  return policy;
}

v1::TagSet TagSet(const std::vector<TestTag>& tags) {
  v1::TagSet set;
  set.mutable_repository()->set_namespace_("flux-system");
  set.mutable_repository()->set_name("app");
  set.set_image(kImage);
  set.set_revision("rev-1");
  for (const TestTag& t : tags) {
    v1::Tag* tag = set.add_tags();
    tag->set_name(t.name);
    *tag->mutable_first_seen() = ToProtoTime(kNow - t.age);
  }
  return set;
}

enum class Kind { kHold, kNotReady, kSelected };

struct Want {
  Kind kind = Kind::kSelected;
  // NotReady.
  absl::string_view reason;
  bool stalled = false;
  // Both.
  std::string message;
  absl::Duration requeue_after = absl::ZeroDuration();
  // Selected.
  std::string tag;
  DigestStep digest = DigestStep::kNone;
  std::string digest_value;
  DowngradeRule downgrade = DowngradeRule::kNotApplied;
};

struct Case {
  std::string name;
  std::string range = ">=1.0.0";
  // Changes to the policy (spec, status) on top of Policy(range).
  std::function<void(v1::ImagePolicy*)> edit;
  // nullopt: no tag set known.
  std::optional<std::vector<TestTag>> tags;
  bool synced = true;
  // The latest_ref of the published selection; nullopt: none published.
  std::optional<v1::ImageRef> published;
  int64_t published_generation = 2;
  Want want;
};

void SetStatus(v1::ImagePolicy* p, const v1::ImageRef& latest,
               int64_t observed_generation = 2) {
  *p->mutable_status()->mutable_latest_ref() = latest;
  p->mutable_status()->set_observed_generation(observed_generation);
}

std::vector<Case> Cases() {
  const std::string resolved =
      absl::StrCat("Latest image tag for ", kImage, " resolved to ");
  return {
      // Synced hold and DependencyNotReady.
      {.name = "just started, status holds this generation: hold",
       .edit = [](v1::ImagePolicy* p) { SetStatus(p, Ref("1.0.0")); },
       .synced = false,
       .want = {.kind = Kind::kHold}},
      {.name = "synced and no tag set: waiting",
       .edit = [](v1::ImagePolicy* p) { SetStatus(p, Ref("1.0.0")); },
       .synced = true,
       .want = {.kind = Kind::kNotReady,
                .reason = reason::kDependencyNotReady,
                .message = "waiting for ImageRepository flux-system/app tags"}},
      {.name = "just started but the spec changed since: waiting",
       .edit = [](v1::ImagePolicy* p) { SetStatus(p, Ref("1.0.0"), 1); },
       .synced = false,
       .want = {.kind = Kind::kNotReady,
                .reason = reason::kDependencyNotReady,
                .message = "waiting for ImageRepository flux-system/app tags"}},
      {.name = "just started, never selected: waiting",
       .synced = false,
       .want = {.kind = Kind::kNotReady,
                .reason = reason::kDependencyNotReady,
                .message = "waiting for ImageRepository flux-system/app tags"}},
      {.name = "empty tag set",
       .tags = std::vector<TestTag>{},
       .want = {.kind = Kind::kNotReady,
                .reason = reason::kDependencyNotReady,
                .message = "ImageRepository flux-system/app has no tags"}},
      {.name = "repository in another namespace",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->mutable_image_repository_ref()->set_namespace_(
                 "images");
           },
       .want = {.kind = Kind::kNotReady,
                .reason = reason::kDependencyNotReady,
                .message = "waiting for ImageRepository images/app tags"}},

      // InvalidPolicy (stalled) comes first, even before the hold.
      {.name = "invalid spec: stalled",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->mutable_filter_tags()->set_pattern("^v(\\d+)$");
             p->mutable_spec()->mutable_filter_tags()->set_extract("$2");
             SetStatus(p, Ref("1.0.0"));
           },
       .synced = false,
       .want = {.kind = Kind::kNotReady,
                .reason = reason::kInvalidPolicy,
                .stalled = true,
                .message = "invalid policy: spec.filterTags.extract: \"$2\" "
                           "refers to group \"2\", which the pattern does not "
                           "define"}},

      // Failure.
      {.name = "nothing in range: Failure",
       .range = ">=3.0.0",
       .tags = std::vector<TestTag>{{"1.0.0"}, {"2.0.0"}},
       .want = {.kind = Kind::kNotReady,
                .reason = reason::kFailure,
                .message = "no tag satisfies semver range \">=3.0.0\" (2 "
                           "candidates, 2 of them versions)"}},
      {.name = "nothing old enough: Failure, requeued when it matures",
       .edit = [](v1::ImagePolicy* p) { p->mutable_spec()->set_min_age("1h"); },
       .tags = std::vector<TestTag>{{"1.0.0", absl::Minutes(50)}},
       .want = {.kind = Kind::kNotReady,
                .reason = reason::kFailure,
                .message = "no tag is older than spec.minAge 1h; 1 tag held "
                           "back by minAge, 1.0.0 until 2023-11-14T22:23:20Z",
                .requeue_after = absl::Minutes(10)}},

      // Selections and their messages.
      {.name = "first selection",
       .tags = std::vector<TestTag>{{"1.0.0"}, {"1.2.3"}},
       .want = {.message = resolved + "1.2.3", .tag = "1.2.3"}},
      {.name = "a new tag: (previously ...)",
       .edit = [](v1::ImagePolicy* p) { SetStatus(p, Ref("1.2.3")); },
       .tags = std::vector<TestTag>{{"1.2.3"}, {"1.3.0"}},
       .published = Ref("1.2.3"),
       .want = {.message =
                    resolved + "1.3.0 (previously registry.example/app:1.2.3)",
                .tag = "1.3.0"}},
      {.name = "the same selection keeps its (previously ...)",
       .edit =
           [](v1::ImagePolicy* p) {
             SetStatus(p, Ref("1.3.0"));
             *p->mutable_status()->mutable_observed_previous_ref() =
                 Ref("1.2.3");
           },
       .tags = std::vector<TestTag>{{"1.2.3"}, {"1.3.0"}},
       .published = Ref("1.3.0"),
       .want = {.message =
                    resolved + "1.3.0 (previously registry.example/app:1.2.3)",
                .tag = "1.3.0"}},
      {.name = "minAge: a young tag is held back, requeued when it matures",
       .range = ">=1.0.0 <2.0.0",
       .edit = [](v1::ImagePolicy* p) { p->mutable_spec()->set_min_age("1h"); },
       .tags = std::vector<TestTag>{{"1.2.3", absl::Hours(2)},
                                    {"1.3.0", absl::Minutes(30)},
                                    {"2.0.0", absl::Hours(3)}},
       .want = {.message = resolved +
                           "1.2.3; 1.3.0 held back by minAge 1h until "
                           "2023-11-14T22:43:20Z",
                .requeue_after = absl::Minutes(30),
                .tag = "1.2.3"}},

      // Ties: Flux's policies see its stored order, descending bytes; the
      // tag set is ascending.
      {.name = "ties: semver keeps the first in descending byte order",
       .tags = std::vector<TestTag>{{"1.2.4"}, {"1.2.4+b"}, {"v1.2.4"}},
       .want = {.message = resolved + "v1.2.4", .tag = "v1.2.4"}},
      {.name = "ties: a tag set out of order is read in Flux's order too",
       .tags = std::vector<TestTag>{{"v1.2.4"}, {"0.1.0"}, {"1.2.4"}},
       .want = {.message = resolved + "v1.2.4", .tag = "v1.2.4"}},
      {.name = "ties: numerical keeps the last in descending byte order",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->mutable_policy()->clear_semver();
             p->mutable_spec()
                 ->mutable_policy()
                 ->mutable_numerical()
                 ->set_order("asc");
           },
       .tags = std::vector<TestTag>{{"15"}, {"15.0"}, {"9"}},
       .want = {.message = resolved + "15", .tag = "15"}},
      {.name = "ties: an equal version is not a downgrade",
       .edit = [](v1::ImagePolicy* p) { SetStatus(p, Ref("1.2.4")); },
       .tags = std::vector<TestTag>{{"1.2.4"}, {"v1.2.4"}},
       .published = Ref("1.2.4"),
       .want = {.message =
                    resolved + "v1.2.4 (previously registry.example/app:1.2.4)",
                .tag = "v1.2.4"}},

      // No downgrade.
      {.name = "no downgrade: the previous tag is kept over a lower one",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->set_min_age("1h");
             SetStatus(p, Ref("1.3.0"));
           },
       // 1.3.0 is young again (e.g. the reflector forgot when it saw it).
       .tags = std::vector<TestTag>{{"1.2.3", absl::Hours(2)},
                                    {"1.3.0", absl::Minutes(10)}},
       .published = Ref("1.3.0"),
       .want = {.message = resolved + "1.3.0; kept 1.3.0 over lower 1.2.3",
                .requeue_after = absl::Minutes(50),
                .tag = "1.3.0",
                .downgrade = DowngradeRule::kKeptPrevious}},
      {.name = "no downgrade: stepped down because the spec changed",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->set_min_age("1h");
             SetStatus(p, Ref("1.3.0"), 1);
           },
       .tags = std::vector<TestTag>{{"1.2.3", absl::Hours(2)},
                                    {"1.3.0", absl::Minutes(10)}},
       .published = Ref("1.3.0"),
       .published_generation = 1,
       .want = {.message = resolved +
                           "1.2.3 (previously registry.example/app:1.3.0); "
                           "stepped down from 1.3.0: the spec changed; 1.3.0 "
                           "held back by minAge 1h until 2023-11-14T23:03:20Z",
                .requeue_after = absl::Minutes(50),
                .tag = "1.2.3",
                .downgrade = DowngradeRule::kSteppedDownSpecChanged}},
      {.name = "no downgrade: a spec edit that kept the selection keeps the "
               "rule",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->set_min_age("1h");
             // Generation 2 was reconciled and kept 1.3.0 (published at 1:
             // an unchanged selection is not published again).
             SetStatus(p, Ref("1.3.0"));
             SetCondition(p->mutable_status()->mutable_conditions(), kReady,
                          kTrue, "Succeeded", "...", 2, absl::UnixEpoch());
           },
       .tags = std::vector<TestTag>{{"1.2.3", absl::Hours(2)},
                                    {"1.3.0", absl::Minutes(10)}},
       .published = Ref("1.3.0"),
       .published_generation = 1,
       .want = {.message = resolved + "1.3.0; kept 1.3.0 over lower 1.2.3",
                .requeue_after = absl::Minutes(50),
                .tag = "1.3.0",
                .downgrade = DowngradeRule::kKeptPrevious}},
      {.name = "no downgrade: a spec edit whose reconcile failed is a change",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->set_min_age("1h");
             SetStatus(p, Ref("1.3.0"));
             SetCondition(p->mutable_status()->mutable_conditions(), kReady,
                          kFalse, "Failure", "...", 2, absl::UnixEpoch());
           },
       .tags = std::vector<TestTag>{{"1.2.3", absl::Hours(2)},
                                    {"1.3.0", absl::Minutes(10)}},
       .published = Ref("1.3.0"),
       .published_generation = 1,
       .want = {.message = resolved +
                           "1.2.3 (previously registry.example/app:1.3.0); "
                           "stepped down from 1.3.0: the spec changed; 1.3.0 "
                           "held back by minAge 1h until 2023-11-14T23:03:20Z",
                .requeue_after = absl::Minutes(50),
                .tag = "1.2.3",
                .downgrade = DowngradeRule::kSteppedDownSpecChanged}},
      {.name = "no downgrade: nothing published counts as a spec change",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->set_min_age("1h");
             SetStatus(p, Ref("1.3.0"));
           },
       .tags = std::vector<TestTag>{{"1.2.3", absl::Hours(2)},
                                    {"1.3.0", absl::Minutes(10)}},
       .want = {.message = resolved +
                           "1.2.3 (previously registry.example/app:1.3.0); "
                           "stepped down from 1.3.0: the spec changed; 1.3.0 "
                           "held back by minAge 1h until 2023-11-14T23:03:20Z",
                .requeue_after = absl::Minutes(50),
                .tag = "1.2.3",
                .downgrade = DowngradeRule::kSteppedDownSpecChanged}},
      {.name = "no downgrade: stepped down because the previous tag is gone",
       .edit = [](v1::ImagePolicy* p) { SetStatus(p, Ref("1.3.0")); },
       .tags = std::vector<TestTag>{{"1.2.3"}},
       .published = Ref("1.3.0"),
       .want = {.message = resolved +
                           "1.2.3 (previously registry.example/app:1.3.0); "
                           "stepped down from 1.3.0: it is no longer in the "
                           "tag set",
                .tag = "1.2.3",
                .downgrade = DowngradeRule::kSteppedDownPreviousGone}},
      {.name = "no downgrade: another image is not compared",
       .edit =
           [](v1::ImagePolicy* p) {
             SetStatus(p, Ref("1.3.0", "", "registry.example/old"));
           },
       .tags = std::vector<TestTag>{{"1.2.3"}},
       .published = Ref("1.3.0", "", "registry.example/old"),
       .want = {.message =
                    resolved + "1.2.3 (previously registry.example/old:1.3.0)",
                .tag = "1.2.3"}},

      // Digests.
      {.name = "IfNotPresent, same tag: the digest is reused",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->set_digest_reflection_policy("IfNotPresent");
             SetStatus(p, Ref("1.2.3", "sha256:aaa"));
           },
       .tags = std::vector<TestTag>{{"1.2.3"}},
       .published = Ref("1.2.3", "sha256:aaa"),
       .want = {.message = resolved + "1.2.3",
                .tag = "1.2.3",
                .digest = DigestStep::kReuse,
                .digest_value = "sha256:aaa"}},
      {.name = "IfNotPresent, a new tag: looked up",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->set_digest_reflection_policy("IfNotPresent");
           },
       .tags = std::vector<TestTag>{{"1.2.3"}, {"1.3.0"}},
       .published = Ref("1.2.3", "sha256:aaa"),
       .want = {.message = resolved + "1.3.0",
                .tag = "1.3.0",
                .digest = DigestStep::kLookUp}},
      {.name = "IfNotPresent, no digest before: looked up",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->set_digest_reflection_policy("IfNotPresent");
           },
       .tags = std::vector<TestTag>{{"1.2.3"}},
       .published = Ref("1.2.3"),
       .want = {.message = resolved + "1.2.3",
                .tag = "1.2.3",
                .digest = DigestStep::kLookUp}},
      {.name = "Always: looked up every time, requeued after the interval",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->set_digest_reflection_policy("Always");
             p->mutable_spec()->set_interval("10m");
           },
       .tags = std::vector<TestTag>{{"1.2.3"}},
       .published = Ref("1.2.3", "sha256:aaa"),
       .want = {.message = resolved + "1.2.3",
                .requeue_after = absl::Minutes(10),
                .tag = "1.2.3",
                .digest = DigestStep::kLookUp}},
      {.name = "Always: the minAge wait when shorter than the interval",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->set_digest_reflection_policy("Always");
             p->mutable_spec()->set_interval("10m");
             p->mutable_spec()->set_min_age("1h");
           },
       .tags = std::vector<TestTag>{{"1.2.3", absl::Hours(2)},
                                    {"1.3.0", absl::Minutes(55)}},
       .want = {.message = resolved +
                           "1.2.3; 1.3.0 held back by minAge 1h until "
                           "2023-11-14T22:18:20Z",
                .requeue_after = absl::Minutes(5),
                .tag = "1.2.3",
                .digest = DigestStep::kLookUp}},
      {.name = "Always: the interval when shorter than the minAge wait",
       .edit =
           [](v1::ImagePolicy* p) {
             p->mutable_spec()->set_digest_reflection_policy("Always");
             p->mutable_spec()->set_interval("1m");
             p->mutable_spec()->set_min_age("1h");
           },
       .tags = std::vector<TestTag>{{"1.2.3", absl::Hours(2)},
                                    {"1.3.0", absl::Minutes(30)}},
       .want = {.message = resolved +
                           "1.2.3; 1.3.0 held back by minAge 1h until "
                           "2023-11-14T22:43:20Z",
                .requeue_after = absl::Minutes(1),
                .tag = "1.2.3",
                .digest = DigestStep::kLookUp}},
  };
}

TEST(DecideSelectionTest, Table) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    v1::ImagePolicy policy = Policy(c.range);
    if (c.edit) c.edit(&policy);
    const absl::StatusOr<CompiledPolicy> compiled =
        CompiledPolicy::Compile(policy.spec());
    std::optional<v1::TagSet> tag_set;
    if (c.tags) tag_set = TagSet(*c.tags);
    std::optional<v1::Selection> published;
    if (c.published) {
      published.emplace();
      *published->mutable_latest_ref() = *c.published;
      published->set_policy_generation(c.published_generation);
    }
    absl::StatusOr<SelectionDecision> decision =
        DecideSelection({.policy = &policy,
                         .compiled = &compiled,
                         .tag_set = tag_set ? &*tag_set : nullptr,
                         .synced = c.synced,
                         .published = published ? &*published : nullptr,
                         .now = kNow});
    ASSERT_TRUE(decision.ok()) << decision.status();
    switch (c.want.kind) {
      case Kind::kHold:
        EXPECT_TRUE(std::holds_alternative<HoldSelection>(*decision));
        break;
      case Kind::kNotReady: {
        const auto* not_ready = std::get_if<NotReady>(&*decision);
        ASSERT_NE(not_ready, nullptr);
        EXPECT_EQ(not_ready->reason, c.want.reason);
        EXPECT_EQ(not_ready->message, c.want.message);
        EXPECT_EQ(not_ready->stalled, c.want.stalled);
        EXPECT_EQ(not_ready->requeue_after, c.want.requeue_after);
        break;
      }
      case Kind::kSelected: {
        const auto* selected = std::get_if<Selected>(&*decision);
        const auto* not_ready = std::get_if<NotReady>(&*decision);
        ASSERT_NE(selected, nullptr)
            << (not_ready != nullptr ? not_ready->message : "");
        EXPECT_EQ(selected->latest.name(), kImage);
        EXPECT_EQ(selected->latest.tag(), c.want.tag);
        EXPECT_EQ(selected->latest.digest(), c.want.digest_value);
        EXPECT_EQ(selected->digest, c.want.digest);
        EXPECT_EQ(selected->downgrade, c.want.downgrade);
        EXPECT_EQ(selected->message, c.want.message);
        EXPECT_EQ(selected->requeue_after, c.want.requeue_after);
        break;
      }
    }
  }
}

TEST(DecideSelectionTest, AlwaysWithABadIntervalIsAnError) {
  v1::ImagePolicy policy = Policy(">=1.0.0");
  policy.mutable_spec()->set_digest_reflection_policy("Always");
  policy.mutable_spec()->set_interval("soon");
  const absl::StatusOr<CompiledPolicy> compiled =
      CompiledPolicy::Compile(policy.spec());
  const v1::TagSet tag_set = TagSet({{"1.0.0"}});
  EXPECT_FALSE(DecideSelection({.policy = &policy,
                                .compiled = &compiled,
                                .tag_set = &tag_set,
                                .synced = true,
                                .now = kNow})
                   .ok());
}

// A looked-up digest completes the decision: the message compares the whole
// reference, digest included, with the status.
TEST(DecideSelectionTest, CompleteWithDigestAndLookupFailure) {
  v1::ImagePolicy policy = Policy(">=1.0.0");
  policy.mutable_spec()->set_digest_reflection_policy("Always");
  policy.mutable_spec()->set_interval("10m");
  SetStatus(&policy, Ref("1.2.3", "sha256:old"));
  const absl::StatusOr<CompiledPolicy> compiled =
      CompiledPolicy::Compile(policy.spec());
  const v1::TagSet tag_set = TagSet({{"1.2.3"}});
  absl::StatusOr<SelectionDecision> decision =
      DecideSelection({.policy = &policy,
                       .compiled = &compiled,
                       .tag_set = &tag_set,
                       .synced = true,
                       .now = kNow});
  ASSERT_TRUE(decision.ok());
  const Selected selected = std::get<Selected>(*decision);

  Selected same = selected;
  CompleteWithDigest(&same, "sha256:old", policy.status());
  EXPECT_EQ(same.message,
            "Latest image tag for registry.example/app resolved to 1.2.3");
  Selected repushed = selected;
  CompleteWithDigest(&repushed, "sha256:new", policy.status());
  EXPECT_EQ(repushed.latest.digest(), "sha256:new");
  EXPECT_EQ(repushed.message,
            "Latest image tag for registry.example/app resolved to 1.2.3 "
            "(previously registry.example/app:1.2.3)");

  const NotReady failed =
      DigestLookupFailed(selected, absl::UnavailableError("unreachable"));
  EXPECT_EQ(failed.reason, reason::kDigestLookupFailed);
  EXPECT_FALSE(failed.stalled);
  EXPECT_EQ(failed.message,
            "cannot get the digest of registry.example/app:1.2.3 from the "
            "reflector: unreachable");
}

TEST(RecordSelectionTest, KeepsThePreviousReference) {
  v1::ImagePolicyStatus status;
  RecordSelection(&status, Ref("1.0.0"));
  EXPECT_FALSE(status.has_observed_previous_ref());
  EXPECT_EQ(status.latest_ref().tag(), "1.0.0");
  RecordSelection(&status, Ref("1.1.0"));
  EXPECT_EQ(status.observed_previous_ref().tag(), "1.0.0");
  // The same selection again changes nothing.
  RecordSelection(&status, Ref("1.1.0"));
  EXPECT_EQ(status.observed_previous_ref().tag(), "1.0.0");
  EXPECT_EQ(status.latest_ref().tag(), "1.1.0");
}

}  // namespace
}  // namespace ia::policy
