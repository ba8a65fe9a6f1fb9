// TLS and mTLS on a real service: certificates made by the openssl CLI for
// a throwaway CA; a client without a certificate, or without TLS, is refused.
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "tests/support/harness.h"

namespace ia::testing {
namespace {

using ::testing::HasSubstr;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A CA, a server certificate for 127.0.0.1 and a client certificate.
class Certificates {
 public:
  explicit Certificates(const TempDir& dir) : dir_(dir) {
    Run({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=test-ca", "-keyout", Path("ca.key"), "-out", Path("ca.crt")});
    dir.WriteFile("server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    Issue("server", "/CN=127.0.0.1", Path("server.ext"));
    Issue("client", "/CN=imagectl", "");
  }
  std::string Path(const std::string& name) const { return dir_.Join(name); }

  std::shared_ptr<grpc::ChannelCredentials> Client(bool with_certificate) const {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read(Path("ca.crt"));
    if (with_certificate) {
      options.pem_cert_chain = Read(Path("client.crt"));
      options.pem_private_key = Read(Path("client.key"));
    }
    return grpc::SslCredentials(options);
  }

 private:
  void Issue(const std::string& name, const std::string& subject,
             const std::string& extfile) {
    Run({"req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout",
         Path(name + ".key"), "-out", Path(name + ".csr")});
    std::vector<std::string> args = {"x509", "-req", "-in", Path(name + ".csr"),
                                     "-CA", Path("ca.crt"), "-CAkey", Path("ca.key"),
                                     "-CAcreateserial", "-days", "1", "-out",
                                     Path(name + ".crt")};
    if (!extfile.empty()) args.insert(args.end(), {"-extfile", extfile});
    Run(args);
  }
  void Run(const std::vector<std::string>& args) {
    CommandResult r = RunCommand("/usr/bin/openssl", args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const TempDir& dir_;
};

TEST(Tls, MutualTlsAcceptsOnlyClientsWithACertificate) {
  TempDir dir;
  Certificates certs(dir);
  Service service(ServiceOptions{IA_REFLECTOR_BIN, dir.Join("data"),
                                 {"--tls-cert=" + certs.Path("server.crt"),
                                  "--tls-key=" + certs.Path("server.key"),
                                  "--tls-ca=" + certs.Path("ca.crt")},
                                 certs.Client(true)},
                  dir.Join("reflector.log"));
  ASSERT_TRUE(service.Start().ok()) << service.Log();
  EXPECT_THAT(service.Log(), HasSubstr("\"mtls\":true"));

  auto list = [&](std::shared_ptr<grpc::ChannelCredentials> credentials) {
    auto stub = imageautomation::v1::Reflector::NewStub(
        grpc::CreateChannel(service.address(), credentials));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
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
       "--tls-cert=" + certs.Path("client.crt"), "--tls-key=" + certs.Path("client.key"),
       "get", "image", "repository"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunCommand(IA_IMAGECTL_BIN, {"--reflector=" + service.address(), "get", "image",
                                   "repository"});
  EXPECT_NE(r.exit_code, 0);
}

TEST(Tls, IncompleteTlsFlagsStopTheServiceWithAMessage) {
  TempDir dir;
  Certificates certs(dir);
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
  EXPECT_THAT(process.Log(), HasSubstr("--tls-cert and --tls-key must be given together"));
}

}  // namespace
}  // namespace ia::testing
