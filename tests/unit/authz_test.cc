// Authorization: the method table covers every RPC the protos define, the
// policy file's rules and errors, the tokens file and the secure-by-default
// check (common/authz.h, common/auth_tokens.h).
#include "common/authz.h"

#include <chrono>
#include <fstream>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "common/auth_tokens.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/automation.pb.h"
#include "imageautomation/v1/policy.pb.h"
#include "imageautomation/v1/reflector.pb.h"

namespace ia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Every method of every service in the protos the services serve.
std::set<std::string> ProtoMethods() {
  // Touch one message of each file so that its descriptor is linked in.
  (void)imageautomation::v1::ListTagsRequest::descriptor();
  (void)imageautomation::v1::EvaluateRequest::descriptor();
  (void)imageautomation::v1::SelectionList::descriptor();
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  std::set<std::string> methods;
  for (const char* file :
       {"imageautomation/v1/reflector.proto", "imageautomation/v1/policy.proto",
        "imageautomation/v1/automation.proto", "grpc/health/v1/health.proto"}) {
    const google::protobuf::FileDescriptor* fd = pool->FindFileByName(file);
    EXPECT_NE(fd, nullptr) << file;
    if (fd == nullptr) continue;
    for (int s = 0; s < fd->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = fd->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        methods.insert("/" + service->full_name() + "/" +
                       service->method(m)->name());
      }
    }
  }
  return methods;
}

TEST(MethodTable, MapsEveryMethodOfEveryServiceToAVerb) {
  const std::set<std::string> methods = ProtoMethods();
  ASSERT_GE(methods.size(), 29u);
  for (const std::string& method : methods) {
    EXPECT_TRUE(VerbOfMethod(method).has_value())
        << method << " is not in MethodVerbs(): it would be denied to all";
  }
  // And the table names no method that does not exist (but reflection,
  // which grpc++_reflection serves from its own proto).
  for (const MethodVerb& row : MethodVerbs()) {
    if (row.method ==
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo") {
      continue;
    }
    EXPECT_EQ(methods.count(std::string(row.method)), 1u) << row.method;
  }
}

TEST(MethodTable, VerbsFollowTheNamingRules) {
  for (const MethodVerb& row : MethodVerbs()) {
    const absl::string_view name = row.method.substr(row.method.rfind('/') + 1);
    Verb want = Verb::kRead;
    if (absl::StartsWith(name, "Apply") || absl::StartsWith(name, "Delete")) {
      want = Verb::kWrite;
    } else if (absl::StartsWith(name, "Reconcile")) {
      want = Verb::kReconcile;
    } else if (name == "WatchTagSets" || name == "GetTagDigest" ||
               name == "PublishSelections") {
      want = Verb::kPeer;
    } else if (absl::StartsWith(row.method, "/grpc.health.v1.")) {
      want = Verb::kHealth;
    }
    EXPECT_EQ(VerbName(row.verb), VerbName(want)) << row.method;
  }
  EXPECT_FALSE(VerbOfMethod("/imageautomation.v1.Reflector/Nope"));
  EXPECT_FALSE(VerbOfMethod(""));
}

constexpr char kPolicy[] = R"(
rules:
  - identities: ["spiffe://cluster.local/ns/flux-system/sa/policy"]
    verbs: [peer]
  - identities: [alice]
    verbs: [read, write]
    namespaces: [team-a, team-b]
  - identities: [alice]
    verbs: [reconcile]
    namespaces: [team-a]
  - identities: ["*"]
    verbs: [read]
    namespaces: [public]
  - identities: [admin]
    verbs: [read, write, reconcile]
)";

TEST(AuthzPolicy, GrantsWhatTheRulesSay) {
  absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::Parse(kPolicy, "p.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();

  Grant peer = policy->GrantFor(
      "spiffe://cluster.local/ns/flux-system/sa/policy", Verb::kPeer);
  EXPECT_TRUE(peer.allowed && peer.every_namespace);
  EXPECT_FALSE(policy
                   ->GrantFor("spiffe://cluster.local/ns/flux-system/sa/policy",
                              Verb::kWrite)
                   .allowed);

  Grant write = policy->GrantFor("alice", Verb::kWrite);
  EXPECT_TRUE(write.allowed);
  EXPECT_FALSE(write.every_namespace);
  EXPECT_THAT(write.namespaces, ElementsAre("team-a", "team-b"));
  EXPECT_TRUE(GrantCovers(write, "team-b"));
  EXPECT_FALSE(GrantCovers(write, "team-c"));
  EXPECT_FALSE(GrantCovers(write, ""));  // a List of every namespace

  // Rules add up: alice reads team-a, team-b and (as anyone) public.
  EXPECT_THAT(policy->GrantFor("alice", Verb::kRead).namespaces,
              ElementsAre("team-a", "team-b", "public"));
  EXPECT_THAT(policy->GrantFor("alice", Verb::kReconcile).namespaces,
              ElementsAre("team-a"));
  EXPECT_FALSE(policy->GrantFor("alice", Verb::kPeer).allowed);

  Grant admin = policy->GrantFor("admin", Verb::kWrite);
  EXPECT_TRUE(admin.allowed && admin.every_namespace);
  EXPECT_TRUE(GrantCovers(admin, ""));

  EXPECT_FALSE(policy->GrantFor("mallory", Verb::kWrite).allowed);
  EXPECT_THAT(policy->GrantFor("mallory", Verb::kRead).namespaces,
              ElementsAre("public"));
  // No identity: nothing but health.
  EXPECT_FALSE(policy->GrantFor("", Verb::kRead).allowed);
  EXPECT_TRUE(policy->GrantFor("", Verb::kHealth).allowed);
}

TEST(AuthzPolicy, ErrorsNameTheFileAndTheField) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"rules: [", "p.yaml: not YAML"},
      {"- a", "p.yaml: (top level): must be a mapping"},
      {"rule: []", "p.yaml: rule: unknown field"},
      {"{}", "p.yaml: rules: is required"},
      {"rules: {}", "p.yaml: rules: must be a list"},
      {"rules: [x]", "p.yaml: rules[0]: must be a mapping"},
      {"rules: [{verbs: [read]}]", "p.yaml: rules[0].identities: is required"},
      {"rules: [{identities: [a]}]", "p.yaml: rules[0].verbs: is required"},
      {"rules: [{identities: [a], verbs: [read]}, "
       "{identities: [b], verbs: [read, writ]}]",
       "p.yaml: rules[1].verbs[1]: unknown verb \"writ\" (use read, write, "
       "reconcile or peer)"},
      {"rules: [{identities: [], verbs: [read]}]",
       "p.yaml: rules[0].identities: must not be empty"},
      {"rules: [{identities: a, verbs: [read]}]",
       "p.yaml: rules[0].identities: must be a list of strings"},
      {"rules: [{identities: [a], verbs: [read], namespaces: [[x]]}]",
       "p.yaml: rules[0].namespaces[0]: must be a non-empty string"},
      {"rules: [{identities: [a], verbs: [read], verb: [write]}]",
       "p.yaml: rules[0].verb: unknown field"},
      {"rules: [{identities: [a], verbs: [health]}]",
       "p.yaml: rules[0].verbs[0]: unknown verb \"health\""},
  };
  for (const Case& c : cases) {
    absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::Parse(c.text, "p.yaml");
    ASSERT_FALSE(policy.ok()) << c.text;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(policy.status().message()), HasSubstr(c.error))
        << c.text;
  }
}

TEST(Exposure, LoopbackServesAsBeforeElsewhereTlsAndPolicyOrTheOptOut) {
  for (const char* loopback :
       {"127.0.0.1:50051", "127.0.0.5:1", "localhost:50051", "[::1]:50051",
        "unix:/run/x.sock"}) {
    EXPECT_TRUE(IsLoopbackAddress(loopback)) << loopback;
    EXPECT_TRUE(CheckExposure(loopback, false, false, false).ok()) << loopback;
  }
  for (const char* exposed : {"0.0.0.0:50051", "[::]:50051", "10.1.2.3:1",
                              "example.com:443", ":50051"}) {
    EXPECT_FALSE(IsLoopbackAddress(exposed)) << exposed;
    EXPECT_TRUE(CheckExposure(exposed, true, true, false).ok());
    EXPECT_TRUE(CheckExposure(exposed, false, false, true).ok());
  }
  absl::Status none = CheckExposure("0.0.0.0:50051", false, false, false);
  EXPECT_EQ(none.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(none.message()),
              HasSubstr("Add --tls-cert and --tls-key (and --tls-ca) and "
                        "--authz-policy, or --insecure-allow-anonymous"));
  absl::Status no_policy = CheckExposure("0.0.0.0:50051", true, false, false);
  EXPECT_THAT(std::string(no_policy.message()),
              HasSubstr("Add --authz-policy,"));
  absl::Status no_tls = CheckExposure("0.0.0.0:50051", false, true, false);
  EXPECT_THAT(std::string(no_tls.message()),
              HasSubstr("Add --tls-cert and --tls-key (and --tls-ca), or"));
}

TEST(Tokens, ParsesTokenAndIdentityPerLine) {
  absl::StatusOr<std::vector<TokenEntry>> entries = ParseTokens(
      "# comment\n\n  0123456789abcdef  ci-deployer \n"
      "fedcba9876543210\talice\n",
      "tokens");
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].token, "0123456789abcdef");
  EXPECT_EQ((*entries)[0].identity, "ci-deployer");
  EXPECT_EQ((*entries)[1].identity, "alice");
}

TEST(Tokens, ErrorsNameTheLineAndNeverTheToken) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"0123456789abcdef\n",
       "tokens: line 1: want TOKEN IDENTITY (two "
       "fields), found 1"},
      {"# x\n0123456789abcdef a b\n", "tokens: line 2: want TOKEN IDENTITY"},
      {"short alice\n",
       "tokens: line 1: the token of alice is shorter than 16"},
      {"0123456789abcdef alice\n0123456789abcdef bob\n",
       "tokens: line 2: the token of bob is also the token of alice"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<TokenEntry>> entries =
        ParseTokens(c.text, "tokens");
    ASSERT_FALSE(entries.ok()) << c.text;
    EXPECT_THAT(std::string(entries.status().message()), HasSubstr(c.error));
    EXPECT_THAT(std::string(entries.status().message()),
                Not(HasSubstr("0123456789abcdef")));
    EXPECT_THAT(std::string(entries.status().message()),
                Not(HasSubstr("short ")));
  }
}

TEST(Tokens, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", std::string("abc\0", 4)));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

TEST(Tokens, FileIsReadAgainWhenItChanges) {
  const std::string path =
      ::testing::TempDir() + "/authz_test_tokens_" +
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  Write(path, "0123456789abcdef alice\n");
  absl::StatusOr<std::unique_ptr<TokenFile>> file =
      TokenFile::Open(path, std::chrono::seconds(0));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->IdentityOf("0123456789abcdef"), "alice");
  EXPECT_EQ((*file)->IdentityOf("0123456789abcdeX"), std::nullopt);
  EXPECT_EQ((*file)->IdentityOf(""), std::nullopt);

  // Rotated: a different size, so the change is seen whatever the mtime
  // granularity.
  Write(path, "# rotated\nabcdefabcdefabcdef00 bob\n");
  EXPECT_EQ((*file)->IdentityOf("0123456789abcdef"), std::nullopt);
  EXPECT_EQ((*file)->IdentityOf("abcdefabcdefabcdef00"), "bob");

  // A broken file keeps the last good tokens.
  Write(path, "broken\n");
  EXPECT_EQ((*file)->IdentityOf("abcdefabcdefabcdef00"), "bob");

  // Without a recheck interval elapsed, the file is not looked at.
  Write(path, "0123456789abcdef carol\n");
  absl::StatusOr<std::unique_ptr<TokenFile>> slow =
      TokenFile::Open(path, std::chrono::hours(1));
  ASSERT_TRUE(slow.ok());
  Write(path, "# a longer file now\nabcdefabcdefabcdef00 dave\n");
  EXPECT_EQ((*slow)->IdentityOf("0123456789abcdef"), "carol");
  std::remove(path.c_str());
}

TEST(Tokens, OpenFailsOnAMissingOrInvalidFile) {
  absl::StatusOr<std::unique_ptr<TokenFile>> missing =
      TokenFile::Open("/nonexistent/tokens");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("--auth-tokens-file: cannot read /nonexistent/tokens"));
  const std::string path = ::testing::TempDir() + "/authz_test_bad_tokens";
  Write(path, "tooshort alice\n");
  absl::StatusOr<std::unique_ptr<TokenFile>> bad = TokenFile::Open(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("line 1"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ia
