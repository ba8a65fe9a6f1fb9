// tools/watch-selections against the real services: the snapshot and the
// updates of WatchSelections come out as JSON lines, and the client
// reconnects and resyncs when the policy service restarts.

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/policy.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/support/harness.h"
#include "tests/support/objects.h"

namespace ia::testing {
namespace {

namespace v1 = ::imageautomation::v1;
using nlohmann::json;

grpc::Status ApplyPolicy(v1::Policy::Stub* stub, const std::string& range) {
  v1::ApplyImagePolicyRequest request;
  *request.mutable_object() = SemverPolicy("app", "app", range);
  v1::ApplyImagePolicyResponse response;
  grpc::ClientContext context;
  return stub->ApplyImagePolicy(&context, request, &response);
}

// Polls until the policy's selected tag is `tag` (or 20s pass).
bool WaitForTag(v1::Policy::Stub* stub, const std::string& tag) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    v1::ObjectKey key;
    key.set_namespace_("flux-system");
    key.set_name("app");
    v1::ImagePolicy policy;
    grpc::ClientContext context;
    if (stub->GetImagePolicy(&context, key, &policy).ok() &&
        policy.status().latest_ref().tag() == tag) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

// The JSON lines of `text` (other lines are the client's stderr).
std::vector<json> JsonLines(const std::string& text) {
  std::vector<json> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] != '{') continue;
    out.push_back(json::parse(line));
  }
  return out;
}

int Count(const std::vector<json>& events, const std::string& type) {
  int n = 0;
  for (const json& e : events) n += e.value("type", "") == type;
  return n;
}

class WatchSelections : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        SeedReflectorStore(dir.Join("reflector"), {"1.2.3", "1.3.0", "2.0.0"})
            .ok());
    ASSERT_TRUE(reflector.Start().ok()) << reflector.Log();
    ASSERT_TRUE(policy.Start().ok()) << policy.Log();
    stub = v1::Policy::NewStub(policy.Channel());
    ASSERT_TRUE(ApplyPolicy(stub.get(), ">=1.0.0 <2.0.0").ok());
    ASSERT_TRUE(WaitForTag(stub.get(), "1.3.0")) << policy.Log();
  }

  TempDir dir;
  Service reflector{ServiceOptions{IA_REFLECTOR_BIN, dir.Join("reflector"), {}},
                    dir.Join("reflector.log")};
  Service policy{ServiceOptions{IA_POLICY_BIN,
                                dir.Join("policy"),
                                {"--reflector=" + reflector.address(),
                                 "--automation=127.0.0.1:1"}},
                 dir.Join("policy.log")};
  std::unique_ptr<v1::Policy::Stub> stub;
};

TEST_F(WatchSelections, PrintsTheSnapshotAsJsonLines) {
  CommandResult r =
      RunCommand(IA_WATCH_SELECTIONS_BIN,
                 {"--policy", policy.address(), "--until-snapshot-end"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> events = JsonLines(r.out);
  ASSERT_EQ(events.size(), 2u) << r.out;
  EXPECT_EQ(events[0]["type"], "SNAPSHOT");
  EXPECT_EQ(events[0]["selection"]["policy"]["namespace"], "flux-system");
  EXPECT_EQ(events[0]["selection"]["policy"]["name"], "app");
  EXPECT_EQ(events[0]["selection"]["latestRef"]["name"],
            "registry.example/app");
  EXPECT_EQ(events[0]["selection"]["latestRef"]["tag"], "1.3.0");
  EXPECT_EQ(events[1]["type"], "SNAPSHOT_END");
  // Nothing but JSON on stdout.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;

  // --namespace filters: another namespace has no selection.
  r = RunCommand(IA_WATCH_SELECTIONS_BIN,
                 {"--policy=" + policy.address(), "--namespace", "other",
                  "--until-snapshot-end"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  events = JsonLines(r.out);
  ASSERT_EQ(events.size(), 1u) << r.out;
  EXPECT_EQ(events[0]["type"], "SNAPSHOT_END");
}

TEST_F(WatchSelections, FollowsUpdatesAndResyncsAfterARestart) {
  Process watch(IA_WATCH_SELECTIONS_BIN, {"--policy=" + policy.address()},
                dir.Join("watch.log"));
  auto wait_for = [&](const std::string& type, int count) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      if (Count(JsonLines(watch.Log()), type) >= count) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  };
  ASSERT_TRUE(wait_for("SNAPSHOT_END", 1)) << watch.Log();

  ASSERT_TRUE(ApplyPolicy(stub.get(), ">=2.0.0").ok());
  ASSERT_TRUE(wait_for("UPDATED", 1)) << watch.Log();
  std::vector<json> events = JsonLines(watch.Log());
  EXPECT_EQ(events.back()["selection"]["latestRef"]["tag"], "2.0.0");
  EXPECT_EQ(events.back()["selection"]["previousRef"]["tag"], "1.3.0");

  // The policy service restarts: the client reconnects by itself and gets a
  // new snapshot with the current selection.
  ASSERT_EQ(policy.Terminate(), 0) << policy.Log();
  ASSERT_TRUE(policy.Start().ok()) << policy.Log();
  ASSERT_TRUE(wait_for("SNAPSHOT_END", 2)) << watch.Log();
  events = JsonLines(watch.Log());
  ASSERT_EQ(Count(events, "SNAPSHOT"), 2) << watch.Log();
  EXPECT_EQ(events[events.size() - 2]["type"], "SNAPSHOT");
  EXPECT_EQ(events[events.size() - 2]["selection"]["latestRef"]["tag"],
            "2.0.0");
  EXPECT_TRUE(watch.Running());
}

TEST(WatchSelectionsUsage, RefusesUnknownArguments) {
  CommandResult r =
      RunCommand(IA_WATCH_SELECTIONS_BIN, {"--polcy=127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown argument --polcy"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ia::testing
