#include "tests/support/test_certificates.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace ia::testing {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TestCertificates::TestCertificates(const TempDir& dir) : dir_(dir) {
  Run({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
       "/CN=test-ca", "-keyout", Path("ca.key"), "-out", Path("ca.crt")});
  dir.WriteFile("server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  Issue("server", "/CN=127.0.0.1", Path("server.ext"));
  Issue("client", "/CN=imagectl", "");
}

std::vector<std::string> TestCertificates::ServiceFlags() const {
  return {"--tls-cert=" + Path("server.crt"), "--tls-key=" + Path("server.key"),
          "--tls-ca=" + Path("ca.crt")};
}

std::shared_ptr<grpc::ChannelCredentials> TestCertificates::Client(
    bool with_certificate) const {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = Read(Path("ca.crt"));
  if (with_certificate) {
    options.pem_cert_chain = Read(Path("client.crt"));
    options.pem_private_key = Read(Path("client.key"));
  }
  return grpc::SslCredentials(options);
}

void TestCertificates::IssueCertificate(const std::string& name,
                                        const std::string& subject,
                                        const std::string& san) {
  std::string extfile;
  if (!san.empty()) {
    extfile = dir_.WriteFile(name + ".ext", "subjectAltName=" + san + "\n");
  }
  Issue(name, subject, extfile);
}

std::shared_ptr<grpc::ChannelCredentials> TestCertificates::ClientAs(
    const std::string& name) const {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = Read(Path("ca.crt"));
  options.pem_cert_chain = Read(Path(name + ".crt"));
  options.pem_private_key = Read(Path(name + ".key"));
  return grpc::SslCredentials(options);
}

void TestCertificates::Issue(const std::string& name,
                             const std::string& subject,
                             const std::string& extfile) {
  Run({"req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout",
       Path(name + ".key"), "-out", Path(name + ".csr")});
  std::vector<std::string> args = {"x509",
                                   "-req",
                                   "-in",
                                   Path(name + ".csr"),
                                   "-CA",
                                   Path("ca.crt"),
                                   "-CAkey",
                                   Path("ca.key"),
                                   "-CAcreateserial",
                                   "-days",
                                   "1",
                                   "-out",
                                   Path(name + ".crt")};
  if (!extfile.empty()) args.insert(args.end(), {"-extfile", extfile});
  Run(args);
}

void TestCertificates::Run(const std::vector<std::string>& args) {
  CommandResult r = RunCommand("/usr/bin/openssl", args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace ia::testing
