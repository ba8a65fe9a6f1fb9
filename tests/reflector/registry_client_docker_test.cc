// The registry client against Debian's real docker-registry (distribution
// 2.8) on loopback: anonymous listing, htpasswd Basic auth through a docker
// config, digests of pushed images, TLS with HTTP/2 and client
// certificates.
#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/reflector/registry_client.h"
#include "tests/support/docker_registry.h"

namespace ia::reflector {
namespace {

using ::ia::testing::DockerRegistry;
using ::ia::testing::DockerRegistryOptions;
using ::ia::testing::PushImage;
using ::ia::testing::PushImageTags;
using ::ia::testing::PushOptions;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

ImageReference ImageOn(const DockerRegistry& registry,
                       const std::string& path) {
  ImageReference image;
  image.domain = registry.host();
  image.path = path;
  return image;
}

std::unique_ptr<RegistryClient> Client() {
  RegistryClientConfig config;
  config.requests_per_second = 0;
  return MakeRegistryClient(config);
}

TEST(DockerRegistryClientTest, ListsManyTagsAnonymously) {
  DockerRegistry registry;
  ASSERT_TRUE(registry.Start().ok());
  std::vector<std::string> pushed;
  for (int i = 0; i < 50; ++i) pushed.push_back(absl::StrCat("1.", i, ".0"));
  auto digest = PushImageTags(registry.url(), "team/app", pushed);
  ASSERT_TRUE(digest.ok()) << digest.status();
  RegistryOptions options;
  options.insecure = true;
  options.page_size = 10;
  ScanStats stats;
  auto tags =
      Client()->ListTags(ImageOn(registry, "team/app"), options, &stats);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, UnorderedElementsAreArray(pushed));
  // Debian's distribution 2.8.2 ignores ?n= and sends one page (pagination
  // is tested against FakeRegistry); a build that pages must still give
  // every tag.
  EXPECT_GE(stats.pages, 1);
  EXPECT_LE(stats.pages, 6);
  RecordProperty("pages", stats.pages);
}

TEST(DockerRegistryClientTest, MissingRepositoryAndTagAreNotFound) {
  DockerRegistry registry;
  ASSERT_TRUE(registry.Start().ok());
  ASSERT_TRUE(PushImage(registry.url(), "app", "1.0.0").ok());
  RegistryOptions options;
  options.insecure = true;
  auto client = Client();
  auto tags = client->ListTags(ImageOn(registry, "nope"), options, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kNotFound) << tags.status();
  EXPECT_THAT(std::string(tags.status().message()),
              HasSubstr(absl::StrCat(registry.host(), "/nope")));
  EXPECT_EQ(client->Digest(ImageOn(registry, "app"), "9.9.9", options)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST(DockerRegistryClientTest, DigestEqualsThePushedManifestDigest) {
  DockerRegistry registry;
  ASSERT_TRUE(registry.Start().ok());
  PushOptions oci;
  oci.variant = "one";
  auto oci_digest = PushImage(registry.url(), "app", "1.0.0", oci);
  ASSERT_TRUE(oci_digest.ok()) << oci_digest.status();
  PushOptions docker;
  docker.variant = "two";
  docker.oci = false;
  auto docker_digest = PushImage(registry.url(), "app", "2.0.0", docker);
  ASSERT_TRUE(docker_digest.ok()) << docker_digest.status();
  ASSERT_NE(*oci_digest, *docker_digest);

  RegistryOptions options;
  options.insecure = true;
  auto client = Client();
  auto got = client->Digest(ImageOn(registry, "app"), "1.0.0", options);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, *oci_digest);
  got = client->Digest(ImageOn(registry, "app"), "2.0.0", options);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, *docker_digest);
}

TEST(DockerRegistryClientTest, HtpasswdBasicAuthThroughADockerConfig) {
  DockerRegistryOptions registry_options;
  registry_options.user = {{"ci", "Corr3ct-horse"}};
  DockerRegistry registry(registry_options);
  ASSERT_TRUE(registry.Start().ok());
  PushOptions push;
  push.user = registry_options.user;
  auto digest = PushImage(registry.url(), "app", "1.0.0", push);
  ASSERT_TRUE(digest.ok()) << digest.status();

  const std::string config =
      absl::StrCat(R"({"auths":{"http://)", registry.host(), R"(/":{"auth":")",
                   absl::Base64Escape("ci:Corr3ct-horse"), R"("}}})");
  auto credentials = CredentialsFromDockerConfig(config, registry.host());
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  ASSERT_TRUE(credentials->has_value());

  RegistryOptions options;
  options.insecure = true;
  options.credentials = **credentials;
  auto client = Client();
  auto tags = client->ListTags(ImageOn(registry, "app"), options, nullptr);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ::testing::ElementsAre("1.0.0"));
  auto got = client->Digest(ImageOn(registry, "app"), "1.0.0", options);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, *digest);

  options.credentials->password = "Wr0ng-horse";
  tags = client->ListTags(ImageOn(registry, "app"), options, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(tags.status().message()),
              HasSubstr(absl::StrCat("authentication failed for ",
                                     registry.host(), "/app")));
  EXPECT_THAT(std::string(tags.status().message()),
              Not(HasSubstr("Wr0ng-horse")));

  options.credentials.reset();
  EXPECT_EQ(Client()
                ->ListTags(ImageOn(registry, "app"), options, nullptr)
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(DockerRegistryClientTest, TlsWithTheGivenCaSpeaksHttp2) {
  DockerRegistryOptions registry_options;
  registry_options.tls = true;
  DockerRegistry registry(registry_options);
  ASSERT_TRUE(registry.Start().ok());
  PushOptions push;
  push.ca_pem = registry.ca_pem();
  ASSERT_TRUE(PushImage(registry.url(), "app", "1.0.0", push).ok());

  RegistryOptions options;  // https
  auto untrusted =
      Client()->ListTags(ImageOn(registry, "app"), options, nullptr);
  EXPECT_EQ(untrusted.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(untrusted.status().message()),
              HasSubstr("not trusted"));

  options.ca_pem = registry.ca_pem();
  auto tags = Client()->ListTags(ImageOn(registry, "app"), options, nullptr);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ::testing::ElementsAre("1.0.0"));
  // The registry's access log names the protocol of each request.
  EXPECT_THAT(registry.Log(),
              HasSubstr("\"GET /v2/app/tags/list?n=1000 HTTP/2.0\""));
}

TEST(DockerRegistryClientTest, ClientCertificateWhenTheRegistryRequiresOne) {
  DockerRegistryOptions registry_options;
  registry_options.tls = true;
  registry_options.require_client_cert = true;
  DockerRegistry registry(registry_options);
  ASSERT_TRUE(registry.Start().ok());
  PushOptions push;
  push.ca_pem = registry.ca_pem();
  push.client_cert_pem = registry.client_cert_pem();
  push.client_key_pem = registry.client_key_pem();
  auto digest = PushImage(registry.url(), "app", "1.0.0", push);
  ASSERT_TRUE(digest.ok()) << digest.status();

  RegistryOptions options;
  options.ca_pem = registry.ca_pem();
  auto refused = Client()->ListTags(ImageOn(registry, "app"), options, nullptr);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);

  options.client_cert_pem = registry.client_cert_pem();
  options.client_key_pem = registry.client_key_pem();
  auto got = Client()->Digest(ImageOn(registry, "app"), "1.0.0", options);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, *digest);

  options.client_key_pem =
      "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
  EXPECT_EQ(Client()
                ->ListTags(ImageOn(registry, "app"), options, nullptr)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ia::reflector
