// TLS and mTLS on a real service: certificates made by the openssl CLI for
// a throwaway CA; a client without a certificate, or without TLS, is refused.
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "tests/support/harness.h"
#include "tests/support/test_certificates.h"

namespace ia::testing {
namespace {

using ::testing::HasSubstr;

TEST(Tls, MutualTlsAcceptsOnlyClientsWithACertificate) {
  TempDir dir;
  TestCertificates certs(dir);
  Service service(ServiceOptions{IA_REFLECTOR_BIN, dir.Join("data"),
                                 certs.ServiceFlags(), certs.Client(true)},
                  dir.Join("reflector.log"));
  ASSERT_TRUE(service.Start().ok()) << service.Log();
  EXPECT_THAT(service.Log(), HasSubstr("\"mtls\":true"));

  auto list = [&](std::shared_ptr<grpc::ChannelCredentials> credentials) {
    auto stub = imageautomation::v1::Reflector::NewStub(
        grpc::CreateChannel(service.address(), credentials));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    imageautomation::v1::ImageRepositoryList response;
    return stub->ListImageRepositories(&context, {}, &response);
  };
  EXPECT_TRUE(list(certs.Client(true)).ok());
  EXPECT_FALSE(list(certs.Client(false)).ok());
  EXPECT_FALSE(list(grpc::InsecureChannelCredentials()).ok());

  // imagectl speaks mTLS with the same flags.
  CommandResult r = RunCommand(
      IA_IMAGECTL_BIN,
      {"--reflector=" + service.address(), "--tls-ca=" + certs.Path("ca.crt"),
       "--tls-cert=" + certs.Path("client.crt"),
       "--tls-key=" + certs.Path("client.key"), "get", "image", "repository"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunCommand(IA_IMAGECTL_BIN, {"--reflector=" + service.address(), "get",
                                   "image", "repository"});
  EXPECT_NE(r.exit_code, 0);
}

TEST(Tls, IncompleteTlsFlagsStopTheServiceWithAMessage) {
  TempDir dir;
  TestCertificates certs(dir);
  Process process(IA_REFLECTOR_BIN,
                  {"--listen=127.0.0.1:0", "--data-dir=" + dir.Join("data"),
                   "--tls-cert=" + certs.Path("server.crt")},
                  dir.Join("log"));
  // It exits on its own, saying why.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (process.Running() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_FALSE(process.Running());
  EXPECT_THAT(process.Log(),
              HasSubstr("--tls-cert and --tls-key must be given together"));
}

}  // namespace
}  // namespace ia::testing
