// The engines link alone: this binary links ia::policy_engine, ia::rewrite
// and ia::template (and GoogleTest), nothing of the runtime, the server,
// gRPC, libgit2, gpgme or libcurl. Should an engine come to need one of
// those, this test stops linking. Each test calls into one engine, so its
// archive is really pulled in.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/automation/commit_message.h"
#include "services/automation/setters.h"
#include "services/policy/decide.h"
#include "services/policy/select.h"

namespace ia {
namespace {

TEST(EnginesAloneTest, SelectionEngine) {
  v1::ImagePolicySpec spec;
  spec.mutable_policy()->mutable_semver()->set_range(">=1.0.0 <2.0.0");
  const std::vector<std::string> tags = {"0.9.0", "1.2.3", "2.0.0"};
  absl::StatusOr<std::string> tag = policy::SelectTag(spec, tags);
  ASSERT_TRUE(tag.ok()) << tag.status();
  EXPECT_EQ(*tag, "1.2.3");
}

TEST(EnginesAloneTest, SelectionDecision) {
  // decide.h reads the services' messages (TagSet, Selection): they link
  // with protobuf alone too.
  v1::ImagePolicy policy;
  policy.mutable_spec()->mutable_policy()->mutable_alphabetical();
  const absl::StatusOr<policy::CompiledPolicy> compiled =
      policy::CompiledPolicy::Compile(policy.spec());
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  v1::TagSet tag_set;
  tag_set.set_image("ghcr.io/org/app");
  tag_set.add_tags()->set_name("a");
  tag_set.add_tags()->set_name("b");
  policy::SelectionInputs in;
  in.policy = &policy;
  in.compiled = &compiled;
  in.tag_set = &tag_set;
  in.synced = true;
  in.now = absl::FromUnixSeconds(1'700'000'000);
  absl::StatusOr<policy::SelectionDecision> decision =
      policy::DecideSelection(in);
  ASSERT_TRUE(decision.ok()) << decision.status();
  const auto* selected = std::get_if<policy::Selected>(&*decision);
  ASSERT_NE(selected, nullptr);
  EXPECT_EQ(selected->latest.tag(), "b");
}

TEST(EnginesAloneTest, Setters) {
  automation::PolicyMap policies;
  policies["flux-system:app"].name = "ghcr.io/org/app";
  policies["flux-system:app"].tag = "1.3.0";
  const automation::ContentResult result = automation::ApplySettersToContent(
      "app.yaml",
      "image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": "
      "\"flux-system:app\"}\n",
      policies, {});
  EXPECT_TRUE(result.changed);
  EXPECT_EQ(result.content,
            "image: ghcr.io/org/app:1.3.0 # {\"$imagepolicy\": "
            "\"flux-system:app\"}\n");
}

TEST(EnginesAloneTest, TemplateAndCommitMessage) {
  absl::StatusOr<std::string> message =
      automation::RenderCommitMessage("{{ .AutomationObject }}", {});
  ASSERT_TRUE(message.ok()) << message.status();
}

}  // namespace
}  // namespace ia
