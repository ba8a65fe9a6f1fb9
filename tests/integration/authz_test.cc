// Authentication and authorization through the real binaries: identities
// from client certificates (SAN URI, DNS SAN, CN) and bearer tokens,
// allowed and denied by an --authz-policy, namespace limits, the policy
// service presenting its own identity to its peers, imagectl with a token,
// and the refusal to serve a non-loopback address unguarded.
#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/automation.grpc.pb.h"
#include "imageautomation/v1/policy.grpc.pb.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "tests/support/harness.h"
#include "tests/support/objects.h"
#include "tests/support/test_certificates.h"

namespace ia::testing {
namespace {

namespace v1 = ::imageautomation::v1;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDeployerToken[] = "deployer-token-0123456789";
constexpr char kViewerToken[] = "viewer-token-0123456789ab";

std::unique_ptr<v1::Reflector::Stub> ReflectorAs(
    const Service& service,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  return v1::Reflector::NewStub(
      grpc::CreateChannel(service.address(), std::move(credentials)));
}

// A context with a deadline and, when given, a bearer token.
std::unique_ptr<grpc::ClientContext> Context(const std::string& token = "") {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(10));
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

grpc::Status Apply(v1::Reflector::Stub* stub, const std::string& ns,
                   const std::string& name, const std::string& token = "") {
  v1::ApplyImageRepositoryRequest request;
  *request.mutable_object() =
      TestRepository(name, "registry.example/" + name, "1h");
  request.mutable_object()->mutable_metadata()->set_namespace_(ns);
  v1::ApplyImageRepositoryResponse response;
  return stub->ApplyImageRepository(Context(token).get(), request, &response);
}

grpc::Status List(v1::Reflector::Stub* stub, const std::string& ns,
                  const std::string& token = "") {
  v1::ListRequest request;
  request.set_namespace_(ns);
  v1::ImageRepositoryList response;
  return stub->ListImageRepositories(Context(token).get(), request, &response);
}

grpc::Status Delete(v1::Reflector::Stub* stub, const std::string& ns,
                    const std::string& name, const std::string& token = "") {
  v1::ObjectKey key;
  key.set_namespace_(ns);
  key.set_name(name);
  v1::DeleteResponse response;
  return stub->DeleteImageRepository(Context(token).get(), key, &response);
}

grpc::Status Reconcile(v1::Reflector::Stub* stub, const std::string& ns,
                       const std::string& name) {
  v1::ObjectKey key;
  key.set_namespace_(ns);
  key.set_name(name);
  v1::ReconcileResponse response;
  return stub->ReconcileImageRepository(Context().get(), key, &response);
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(status.error_code(), " ", status.error_message());
}

class Authz : public ::testing::Test {
 protected:
  void SetUp() override {
    certs.IssueCertificate("reader", "/CN=ignored-reader",
                           "URI:spiffe://test/reader,DNS:reader.example");
    certs.IssueCertificate("ci", "/CN=ignored-ci", "DNS:ci.example");
    certs.IssueCertificate("alice", "/CN=alice", "");
    certs.IssueCertificate("admin", "/CN=admin", "");
  }

  // Flags for TLS, client certificates and `policy` (YAML text).
  std::vector<std::string> GuardFlags(const std::string& policy) {
    std::vector<std::string> flags = certs.ServiceFlags();
    flags.push_back("--authz-policy=" + dir.WriteFile("policy.yaml", policy));
    flags.push_back("--http-listen=127.0.0.1:" + std::to_string(http_port));
    return flags;
  }

  std::string Metrics() { return HttpGet(http_port, "/metrics").body; }

  TempDir dir;
  TestCertificates certs{dir};
  int http_port = FreePort();
};

TEST_F(Authz, ClientCertificatesIdentifyByUriThenDnsThenCommonName) {
  Service reflector(
      ServiceOptions{IA_REFLECTOR_BIN, dir.Join("data"), GuardFlags(R"(
rules:
  - identities: ["spiffe://test/reader"]
    verbs: [read]
  - identities: [ci.example]
    verbs: [read, write, reconcile]
  - identities: [alice]
    verbs: [read, write]
    namespaces: [team-a]
)"),
                     certs.ClientAs("ci")},
      dir.Join("reflector.log"));
  ASSERT_TRUE(reflector.Start().ok()) << reflector.Log();

  // The SAN URI, not the DNS SAN nor the CN, is the reader's identity.
  auto reader = ReflectorAs(reflector, certs.ClientAs("reader"));
  EXPECT_TRUE(List(reader.get(), "").ok());
  grpc::Status denied = Apply(reader.get(), "flux-system", "app");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_message(),
            "identity \"spiffe://test/reader\" may not write "
            "(/imageautomation.v1.Reflector/ApplyImageRepository)");

  // The DNS SAN identifies ci, which may write and reconcile anywhere.
  auto ci = ReflectorAs(reflector, certs.ClientAs("ci"));
  EXPECT_TRUE(Apply(ci.get(), "flux-system", "app").ok());
  EXPECT_TRUE(Reconcile(ci.get(), "flux-system", "app").ok());
  EXPECT_TRUE(Delete(ci.get(), "flux-system", "app").ok());

  // The CN identifies alice, limited to team-a.
  auto alice = ReflectorAs(reflector, certs.ClientAs("alice"));
  EXPECT_TRUE(Apply(alice.get(), "team-a", "app").ok());
  EXPECT_TRUE(List(alice.get(), "team-a").ok());
  grpc::Status other = Apply(alice.get(), "flux-system", "app");
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(other.error_message(),
              HasSubstr("identity \"alice\" may not write in namespace "
                        "\"flux-system\" (allowed: team-a)"));
  grpc::Status every = List(alice.get(), "");
  EXPECT_EQ(every.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << Describe(every);
  EXPECT_THAT(every.error_message(), HasSubstr("may not read every namespace"));
  EXPECT_EQ(Delete(alice.get(), "flux-system", "app").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reconcile(alice.get(), "team-a", "app").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Not in the policy at all.
  auto admin = ReflectorAs(reflector, certs.ClientAs("admin"));
  grpc::Status stranger = List(admin.get(), "");
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(stranger.error_message(),
              HasSubstr("identity \"admin\" may not read"));

  // Counted by service, verb and result.
  const std::string metrics = Metrics();
  EXPECT_THAT(metrics,
              HasSubstr("ia_authz_decisions_total{service=\"reflector\","
                        "verb=\"write\",result=\"denied\"} 1"))
      << metrics;
  EXPECT_THAT(metrics,
              HasSubstr("ia_authz_decisions_total{service=\"reflector\","
                        "verb=\"reconcile\",result=\"allowed\"} 1"));

  // One audit line per write, with identity, verb, object and result.
  const std::string log = reflector.Log();
  EXPECT_THAT(log, HasSubstr("\"msg\":\"audit\",\"identity\":\"ci.example\","
                             "\"verb\":\"write\",\"method\":\"/"
                             "imageautomation.v1.Reflector/"
                             "ApplyImageRepository\",\"object\":"
                             "\"ImageRepository flux-system/app\","
                             "\"result\":\"OK\""));
  EXPECT_THAT(log, HasSubstr("\"identity\":\"ci.example\",\"verb\":"
                             "\"reconcile\""));
  EXPECT_THAT(log, HasSubstr("\"identity\":\"alice\",\"verb\":\"write\","
                             "\"method\":\"/imageautomation.v1.Reflector/"
                             "ApplyImageRepository\",\"object\":"
                             "\"ImageRepository flux-system/app\","
                             "\"result\":\"refused\""));
  EXPECT_THAT(log, HasSubstr("\"identity\":\"spiffe://test/reader\","
                             "\"verb\":\"write\""));
}

// A streaming read (the callback API) is limited to its namespaces too.
TEST_F(Authz, WatchSelectionsKeepsToTheGrantedNamespaces) {
  Service policy(
      ServiceOptions{IA_POLICY_BIN, dir.Join("policy"), GuardFlags(R"(
rules:
  - identities: [alice]
    verbs: [read]
    namespaces: [team-a]
)"),
                     certs.ClientAs("alice")},
      dir.Join("policy.log"));
  ASSERT_TRUE(policy.Start().ok()) << policy.Log();
  auto stub = v1::Policy::NewStub(policy.Channel());
  auto watch = [&](const std::string& ns, v1::SelectionEvent* first) {
    auto context = Context();
    v1::WatchSelectionsRequest request;
    request.set_namespace_(ns);
    auto stream = stub->WatchSelections(context.get(), request);
    if (stream->Read(first)) {
      context->TryCancel();
      while (stream->Read(first)) {
      }
      return grpc::Status::OK;
    }
    return stream->Finish();
  };
  v1::SelectionEvent event;
  EXPECT_TRUE(watch("team-a", &event).ok());
  EXPECT_EQ(event.type(), v1::SelectionEvent::SNAPSHOT_END);
  for (const std::string ns : {"", "team-b"}) {
    grpc::Status denied = watch(ns, &event);
    EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED) << ns;
    EXPECT_THAT(denied.error_message(),
                HasSubstr("identity \"alice\" may not read"));
  }
}

TEST_F(Authz, BearerTokensAllowDenyAndRotate) {
  const std::string tokens = dir.WriteFile(
      "tokens", absl::StrCat("# token identity\n", kDeployerToken,
                             " deployer\n", kViewerToken, " viewer\n"));
  std::vector<std::string> flags = GuardFlags(R"(
rules:
  - identities: [deployer]
    verbs: [read, write]
  - identities: [viewer]
    verbs: [read]
)");
  flags.push_back("--auth-tokens-file=" + tokens);
  Service reflector(ServiceOptions{IA_REFLECTOR_BIN, dir.Join("data"), flags,
                                   certs.Client(false)},
                    dir.Join("reflector.log"));
  ASSERT_TRUE(reflector.Start().ok()) << reflector.Log();
  auto stub = ReflectorAs(reflector, certs.Client(false));

  EXPECT_TRUE(Apply(stub.get(), "flux-system", "app", kDeployerToken).ok());
  EXPECT_TRUE(List(stub.get(), "", kViewerToken).ok());
  grpc::Status viewer = Delete(stub.get(), "flux-system", "app", kViewerToken);
  EXPECT_EQ(viewer.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(viewer.error_message(),
              HasSubstr("identity \"viewer\" may not write"));
  grpc::Status unknown = List(stub.get(), "", "not-a-known-token-0123456789");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status anonymous = List(stub.get(), "");
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << Describe(anonymous);
  EXPECT_THAT(anonymous.error_message(), HasSubstr("no identity"));
  // A client certificate still works next to tokens (ci has no rule).
  certs.IssueCertificate("ci", "/CN=ci", "");
  EXPECT_EQ(
      List(ReflectorAs(reflector, certs.ClientAs("ci")).get(), "").error_code(),
      grpc::StatusCode::PERMISSION_DENIED);

  // imagectl: --token, --token-file and IMAGECTL_TOKEN.
  const std::vector<std::string> base = {"--reflector=" + reflector.address(),
                                         "--tls-ca=" + certs.Path("ca.crt")};
  auto imagectl = [&](std::vector<std::string> args,
                      const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), base.begin(), base.end());
    return RunCommand(IA_IMAGECTL_BIN, args, env);
  };
  CommandResult r = imagectl(
      {std::string("--token=") + kViewerToken, "get", "image", "repository"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("app"));
  r = imagectl({std::string("--token=") + kViewerToken, "delete", "image",
                "repository", "app", "--silent"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("identity \"viewer\" may not write"));
  EXPECT_THAT(r.err, Not(HasSubstr(kViewerToken)));
  r = imagectl({"get", "image", "repository"},
               {std::string("IMAGECTL_TOKEN=") + kViewerToken});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = imagectl({"get", "image", "repository"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("no identity"));
  const std::string token_file =
      dir.WriteFile("deployer.token", std::string(kDeployerToken) + "\n");
  r = imagectl({"--token-file=" + token_file, "delete", "image", "repository",
                "app", "--silent"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Without TLS a token is not sent.
  r = RunCommand(IA_IMAGECTL_BIN, {"--reflector=" + reflector.address(),
                                   std::string("--token=") + kViewerToken,
                                   "get", "image", "repository"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("a token is only sent over TLS"));

  // Rotation: the viewer's token is replaced in the file; the service
  // reads it again without a restart.
  dir.WriteFile("tokens",
                absl::StrCat(kDeployerToken, " deployer\n",
                             "rotated-viewer-token-0123456789 viewer\n"));
  EXPECT_TRUE(Eventually([&] {
    return List(stub.get(), "", kViewerToken).error_code() ==
           grpc::StatusCode::UNAUTHENTICATED;
  })) << reflector.Log();
  EXPECT_TRUE(List(stub.get(), "", "rotated-viewer-token-0123456789").ok());

  // No token ever reaches the log.
  EXPECT_THAT(reflector.Log(), Not(HasSubstr(kViewerToken)));
  EXPECT_THAT(reflector.Log(), Not(HasSubstr(kDeployerToken)));
}

TEST_F(Authz, PolicyServicePresentsItsIdentityToItsPeers) {
  ASSERT_TRUE(
      SeedReflectorStore(dir.Join("reflector"), {"1.2.3", "1.3.0", "2.0.0"})
          .ok());
  // The policy service's own certificate: a SAN URI naming it, and the
  // loopback address so that it can serve with it too.
  certs.IssueCertificate("policy-svc", "/CN=policy",
                         "URI:spiffe://test/policy,IP:127.0.0.1");
  const std::string rules = R"(
rules:
  - identities: ["spiffe://test/policy"]
    verbs: [peer]
  - identities: [admin]
    verbs: [read, write, reconcile]
)";
  std::vector<std::string> reflector_flags = GuardFlags(rules);
  Service reflector(ServiceOptions{IA_REFLECTOR_BIN, dir.Join("reflector"),
                                   reflector_flags, certs.ClientAs("admin")},
                    dir.Join("reflector.log"));
  std::vector<std::string> automation_flags = certs.ServiceFlags();
  automation_flags.push_back("--authz-policy=" + dir.Join("policy.yaml"));
  Service automation(ServiceOptions{IA_AUTOMATION_BIN, dir.Join("automation"),
                                    automation_flags, certs.ClientAs("admin")},
                     dir.Join("automation.log"));
  ASSERT_TRUE(reflector.Start().ok()) << reflector.Log();
  ASSERT_TRUE(automation.Start().ok()) << automation.Log();
  Service policy(ServiceOptions{IA_POLICY_BIN,
                                dir.Join("policy"),
                                {"--reflector=" + reflector.address(),
                                 "--automation=" + automation.address(),
                                 "--tls-cert=" + certs.Path("policy-svc.crt"),
                                 "--tls-key=" + certs.Path("policy-svc.key"),
                                 "--tls-ca=" + certs.Path("ca.crt")},
                                certs.ClientAs("admin")},
                 dir.Join("policy.log"));
  ASSERT_TRUE(policy.Start().ok()) << policy.Log();

  auto policies = v1::Policy::NewStub(policy.Channel());
  v1::ApplyImagePolicyRequest apply;
  *apply.mutable_object() = SemverPolicy("app", "app", ">=1.0.0 <2.0.0");
  v1::ApplyImagePolicyResponse applied;
  ASSERT_TRUE(
      policies->ApplyImagePolicy(Context().get(), apply, &applied).ok());

  // The selection went reflector -> policy -> automation over peer calls.
  auto automations = v1::Automation::NewStub(automation.Channel());
  EXPECT_TRUE(Eventually([&] {
    v1::SelectionList list;
    return automations
               ->ListSelections(Context().get(), v1::ListRequest(), &list)
               .ok() &&
           list.items_size() == 1 &&
           list.items(0).latest_ref().tag() == "1.3.0";
  })) << policy.Log();
  EXPECT_THAT(Metrics(),
              HasSubstr("ia_authz_decisions_total{service=\"reflector\","
                        "verb=\"peer\",result=\"allowed\"}"));

  // The same identity may do nothing else.
  auto as_policy = ReflectorAs(reflector, certs.ClientAs("policy-svc"));
  grpc::Status read = List(as_policy.get(), "");
  EXPECT_EQ(read.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(read.error_message(),
              HasSubstr("identity \"spiffe://test/policy\" may not read"));
  // And the admin, who has no `peer`, may not stream tag sets.
  auto as_admin = ReflectorAs(reflector, certs.ClientAs("admin"));
  auto context = Context();
  auto stream =
      as_admin->WatchTagSets(context.get(), v1::WatchTagSetsRequest());
  v1::TagSetEvent event;
  EXPECT_FALSE(stream->Read(&event));
  grpc::Status watch = stream->Finish();
  EXPECT_EQ(watch.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(watch.error_message(),
              HasSubstr("identity \"admin\" may not peer"));
}

TEST_F(Authz, PolicyServicePresentsItsPeerTokenWhenGivenOne) {
  ASSERT_TRUE(
      SeedReflectorStore(dir.Join("reflector"), {"1.2.3", "1.3.0", "2.0.0"})
          .ok());
  const std::string tokens =
      dir.WriteFile("tokens", "policy-peer-token-0123456789 policy-by-token\n");
  std::vector<std::string> flags = GuardFlags(R"(
rules:
  - identities: [policy-by-token]
    verbs: [peer]
  - identities: [admin]
    verbs: [read, write, reconcile]
)");
  flags.push_back("--auth-tokens-file=" + tokens);
  Service reflector(ServiceOptions{IA_REFLECTOR_BIN, dir.Join("reflector"),
                                   flags, certs.ClientAs("admin")},
                    dir.Join("reflector.log"));
  std::vector<std::string> automation_flags = certs.ServiceFlags();
  automation_flags.push_back("--authz-policy=" + dir.Join("policy.yaml"));
  automation_flags.push_back("--auth-tokens-file=" + tokens);
  Service automation(ServiceOptions{IA_AUTOMATION_BIN, dir.Join("automation"),
                                    automation_flags, certs.ClientAs("admin")},
                     dir.Join("automation.log"));
  ASSERT_TRUE(reflector.Start().ok()) << reflector.Log();
  ASSERT_TRUE(automation.Start().ok()) << automation.Log();
  // No client certificate: --tls-ca verifies the peers, the token names it.
  Service policy(
      ServiceOptions{IA_POLICY_BIN,
                     dir.Join("policy"),
                     {"--reflector=" + reflector.address(),
                      "--automation=" + automation.address(),
                      "--tls-ca=" + certs.Path("ca.crt"),
                      "--peer-token-file=" + dir.WriteFile("peer.token",
                                                           "policy-peer-token-"
                                                           "0123456789\n")}},
      dir.Join("policy.log"));
  ASSERT_TRUE(policy.Start().ok()) << policy.Log();

  auto policies = v1::Policy::NewStub(policy.Channel());
  v1::ApplyImagePolicyRequest apply;
  *apply.mutable_object() = SemverPolicy("app", "app", ">=1.0.0 <2.0.0");
  v1::ApplyImagePolicyResponse applied;
  ASSERT_TRUE(
      policies->ApplyImagePolicy(Context().get(), apply, &applied).ok());
  auto automations = v1::Automation::NewStub(automation.Channel());
  EXPECT_TRUE(Eventually([&] {
    v1::SelectionList list;
    return automations
               ->ListSelections(Context().get(), v1::ListRequest(), &list)
               .ok() &&
           list.items_size() == 1 &&
           list.items(0).latest_ref().tag() == "1.3.0";
  })) << policy.Log();
  EXPECT_THAT(policy.Log(), Not(HasSubstr("policy-peer-token-0123456789")));
  EXPECT_THAT(reflector.Log(), Not(HasSubstr("policy-peer-token-0123456789")));
}

TEST(AuthzExposure, NonLoopbackListenerNeedsTlsAndAPolicyOrTheOptOut) {
  TempDir dir;
  const int port = FreePort();
  auto exits_with = [&](const std::vector<std::string>& flags) {
    std::vector<std::string> args = {"--listen=0.0.0.0:" + std::to_string(port),
                                     "--data-dir=" + dir.Join("data")};
    args.insert(args.end(), flags.begin(), flags.end());
    Process process(IA_REFLECTOR_BIN, args, dir.Join("refused.log"));
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (process.Running() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_FALSE(process.Running());
    return process.Log();
  };
  EXPECT_THAT(exits_with({}),
              HasSubstr("Add --tls-cert and --tls-key (and --tls-ca) and "
                        "--authz-policy, or --insecure-allow-anonymous"));
  TestCertificates certs(dir);
  EXPECT_THAT(exits_with(certs.ServiceFlags()),
              HasSubstr("Add --authz-policy, or --insecure-allow-anonymous"));
  const std::string policy =
      dir.WriteFile("p.yaml", "rules: [{identities: [a], verbs: [reed]}]");
  EXPECT_THAT(exits_with({"--authz-policy=" + policy}),
              HasSubstr("rules[0].verbs[0]: unknown verb \\\"reed\\\""));
  EXPECT_THAT(exits_with({"--authz-policy=" +
                          dir.WriteFile("ok.yaml",
                                        "rules: [{identities: [a], verbs: "
                                        "[read]}]")}),
              HasSubstr("--authz-policy and --auth-tokens-file need TLS"));

  // Opted out: it serves (reached on loopback here).
  Process open(IA_REFLECTOR_BIN,
               {"--listen=0.0.0.0:" + std::to_string(port),
                "--data-dir=" + dir.Join("data"), "--insecure-allow-anonymous"},
               dir.Join("open.log"));
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());
  EXPECT_TRUE(Eventually([&] {
    auto health = HealthCheck(channel, "");
    return health.ok() && *health == 1;
  })) << open.Log();
}

}  // namespace
}  // namespace ia::testing
