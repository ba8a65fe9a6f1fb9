#include "services/reflector/scan_options.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/harness.h"

namespace ia::reflector {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ScanOptionsTest : public ::testing::Test {
 protected:
  ScanOptionsTest() : secrets_(dir_.Join("secrets")) {
    repository_.mutable_metadata()->set_namespace_("apps");
    repository_.mutable_metadata()->set_name("app");
    repository_.mutable_spec()->set_image("registry.local:5000/team/app");
    repository_.mutable_spec()->set_interval("5m");
    image_ = *ParseImageReference(repository_.spec().image());
  }
  absl::StatusOr<RegistryOptions> Options() {
    return RegistryOptionsFor(repository_, image_, secrets_,
                              ScanLimits{100, 50, 1024});
  }

  testing::TempDir dir_;
  Secrets secrets_;
  v1::ImageRepository repository_;
  ImageReference image_;
};

TEST_F(ScanOptionsTest, DefaultsFromSpecAndLimits) {
  auto options = Options();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->timeout,
            absl::Minutes(5));  // timeout defaults to interval
  EXPECT_EQ(options->page_size, 100);
  EXPECT_EQ(options->max_tags, 50);
  EXPECT_EQ(options->max_reply_bytes, 1024);
  EXPECT_FALSE(options->credentials.has_value());
  EXPECT_FALSE(options->insecure);
  repository_.mutable_spec()->set_timeout("30s");
  repository_.mutable_spec()->set_insecure(true);
  options = Options();
  EXPECT_EQ(options->timeout, absl::Seconds(30));
  EXPECT_TRUE(options->insecure);
}

TEST_F(ScanOptionsTest, DockerConfigSecret) {
  repository_.mutable_spec()->mutable_secret_ref()->set_name("regcred");
  auto missing = Options();
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(missing.status()));
  EXPECT_THAT(missing.status().message(),
              HasSubstr("spec.secretRef: secret apps/regcred"));

  dir_.WriteFile("secrets/apps/regcred/other", "x");
  auto no_key = Options();
  EXPECT_THAT(no_key.status().message(), HasSubstr("no .dockerconfigjson"));

  dir_.WriteFile(
      "secrets/apps/regcred/.dockerconfigjson",
      R"({"auths":{"registry.local:5000":{"username":"bot","password":"hunter2"}}})");
  auto options = Options();
  ASSERT_TRUE(options.ok()) << options.status();
  ASSERT_TRUE(options->credentials.has_value());
  EXPECT_EQ(options->credentials->username, "bot");
  EXPECT_EQ(options->credentials->password, "hunter2");

  dir_.WriteFile(
      "secrets/apps/regcred/.dockerconfigjson",
      R"({"auths":{"registry.local:5000":{"auth":"!!notbase64","password":"hunter2"}}})");
  auto bad = Options();
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(bad.status()));
  EXPECT_THAT(bad.status().message(), Not(HasSubstr("hunter2")));
}

TEST_F(ScanOptionsTest, CertAndProxySecrets) {
  repository_.mutable_spec()->mutable_cert_secret_ref()->set_name("tls");
  dir_.WriteFile("secrets/apps/tls/tls.crt", "CERT");
  auto half = Options();
  ASSERT_FALSE(half.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(half.status()));
  EXPECT_THAT(half.status().message(), HasSubstr("spec.certSecretRef"));
  dir_.WriteFile("secrets/apps/tls/tls.key", "KEY");
  dir_.WriteFile("secrets/apps/tls/ca.crt", "CA");
  auto options = Options();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->ca_pem, "CA");
  EXPECT_EQ(options->client_cert_pem, "CERT");
  EXPECT_EQ(options->client_key_pem, "KEY");

  repository_.mutable_spec()->mutable_proxy_secret_ref()->set_name("proxy");
  dir_.WriteFile("secrets/apps/proxy/username", "pu");
  auto no_address = Options();
  EXPECT_THAT(no_address.status().message(), HasSubstr("spec.proxySecretRef"));
  dir_.WriteFile("secrets/apps/proxy/address", "http://127.0.0.1:3128");
  dir_.WriteFile("secrets/apps/proxy/password", "pp");
  options = Options();
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->proxy_url, "http://127.0.0.1:3128");
  EXPECT_EQ(options->proxy_username, "pu");
  EXPECT_EQ(options->proxy_password, "pp");
}

}  // namespace
}  // namespace ia::reflector
