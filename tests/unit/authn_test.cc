// The gRPC edge of authorization without a network: the identity of a
// client certificate, and the gate's decisions on a call's metadata
// (common/authn.h). The real listener is covered by
// tests/integration/authz_test.cc.
#include "common/authn.h"

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpc/grpc_security_constants.h"
#include "gtest/gtest.h"

namespace ia {
namespace {

using ::testing::HasSubstr;

// AuthPropertyIterator's constructor is protected; an empty one will do.
class NoProperties : public grpc::AuthPropertyIterator {
 public:
  NoProperties() = default;
};

// An AuthContext holding the properties a TLS handshake would set.
using Properties = std::multimap<std::string, std::string>;

class FakeAuthContext final : public grpc::AuthContext {
 public:
  explicit FakeAuthContext(std::multimap<std::string, std::string> properties)
      : properties_(std::move(properties)) {}
  bool IsPeerAuthenticated() const override { return !properties_.empty(); }
  std::vector<grpc::string_ref> GetPeerIdentity() const override { return {}; }
  std::string GetPeerIdentityPropertyName() const override { return ""; }
  std::vector<grpc::string_ref> FindPropertyValues(
      const std::string& name) const override {
    std::vector<grpc::string_ref> values;
    auto [begin, end] = properties_.equal_range(name);
    for (auto it = begin; it != end; ++it) values.emplace_back(it->second);
    return values;
  }
  grpc::AuthPropertyIterator begin() const override { return NoProperties(); }
  grpc::AuthPropertyIterator end() const override { return NoProperties(); }
  void AddProperty(const std::string& key,
                   const grpc::string_ref& value) override {
    properties_.emplace(key, std::string(value.data(), value.size()));
  }
  bool SetPeerIdentityPropertyName(const std::string&) override {
    return false;
  }

 private:
  std::multimap<std::string, std::string> properties_;
};

TEST(IdentityFromCertificate, UriThenDnsThenCommonName) {
  EXPECT_EQ(IdentityFromCertificate(FakeAuthContext(Properties{
                {GRPC_X509_CN_PROPERTY_NAME, "cn"},
                {GRPC_PEER_DNS_PROPERTY_NAME, "dns.example"},
                {GRPC_PEER_URI_PROPERTY_NAME, "spiffe://td/sa/one"},
                {GRPC_PEER_URI_PROPERTY_NAME, "spiffe://td/sa/two"}})),
            "spiffe://td/sa/one");
  EXPECT_EQ(IdentityFromCertificate(FakeAuthContext(
                Properties{{GRPC_X509_CN_PROPERTY_NAME, "cn"},
                           {GRPC_PEER_DNS_PROPERTY_NAME, "dns.example"}})),
            "dns.example");
  EXPECT_EQ(IdentityFromCertificate(FakeAuthContext(
                Properties{{GRPC_X509_CN_PROPERTY_NAME, "cn"}})),
            "cn");
  // No certificate (TLS without one, or a plaintext connection).
  EXPECT_EQ(IdentityFromCertificate(FakeAuthContext(Properties{
                {GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME, "ssl"}})),
            "");
}

class Gate : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = ::testing::TempDir() + "/authn_test_tokens";
    std::ofstream(path, std::ios::trunc)
        << "writer-token-0123456789 writer\nreader-token-0123456789 reader\n";
    auto tokens = TokenFile::Open(path);
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    auto policy = AuthzPolicy::Parse(R"(
rules:
  - identities: [writer, cert-writer]
    verbs: [read, write]
  - identities: [reader]
    verbs: [read]
    namespaces: [team-a]
)",
                                     "policy.yaml");
    ASSERT_TRUE(policy.ok()) << policy.status();
    gate_ = std::make_unique<AuthGate>(
        "reflector", std::make_shared<const AuthzPolicy>(*std::move(policy)),
        std::shared_ptr<TokenFile>(*std::move(tokens)));
  }

  grpc::Status Call(const std::string& method, const std::string& token,
                    std::multimap<std::string, std::string> certificate = {}) {
    // InputMetadata holds string_refs: keep the strings alive.
    std::multimap<grpc::string_ref, grpc::string_ref> metadata;
    const std::string bearer = "Bearer " + token;
    metadata.emplace(":path", method);
    if (!token.empty()) metadata.emplace("authorization", bearer);
    FakeAuthContext context(std::move(certificate));
    grpc::AuthMetadataProcessor::OutputMetadata consumed, response;
    return gate_->Process(metadata, &context, &consumed, &response);
  }

  static constexpr char kApply[] =
      "/imageautomation.v1.Reflector/ApplyImageRepository";
  static constexpr char kList[] =
      "/imageautomation.v1.Reflector/ListImageRepositories";
  std::unique_ptr<AuthGate> gate_;
};

TEST_F(Gate, AllowsWhatThePolicyGrants) {
  EXPECT_TRUE(Call(kApply, "writer-token-0123456789").ok());
  // A namespace-limited grant passes the gate; the handler checks the
  // namespace.
  EXPECT_TRUE(Call(kList, "reader-token-0123456789").ok());
  EXPECT_TRUE(
      Call(kApply, "", {{GRPC_X509_CN_PROPERTY_NAME, "cert-writer"}}).ok());
  // Health needs no identity.
  EXPECT_TRUE(Call("/grpc.health.v1.Health/Check", "").ok());
}

TEST_F(Gate, RefusesNamingTheIdentityAndTheVerb) {
  grpc::Status denied = Call(kApply, "reader-token-0123456789");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_message(),
            "identity \"reader\" may not write "
            "(/imageautomation.v1.Reflector/ApplyImageRepository)");

  // A token wins over the certificate: a bad one is not excused by it.
  grpc::Status unknown = Call(kList, "nobody-token-0123456789",
                              {{GRPC_X509_CN_PROPERTY_NAME, "cert-writer"}});
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(unknown.error_message(), HasSubstr("not known"));
  EXPECT_THAT(unknown.error_message(),
              ::testing::Not(HasSubstr("nobody-token")));

  grpc::Status anonymous = Call(kList, "");
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(anonymous.error_message(), HasSubstr("to read"));

  grpc::Status stranger =
      Call(kList, "", {{GRPC_X509_CN_PROPERTY_NAME, "stranger"}});
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // A method missing from the table is refused to everyone.
  grpc::Status unmapped =
      Call("/imageautomation.v1.Reflector/Drop", "writer-token-0123456789");
  EXPECT_EQ(unmapped.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(unmapped.error_message(), HasSubstr("not in the method table"));
}

}  // namespace
}  // namespace ia
