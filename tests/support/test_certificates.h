// TestCertificates: a throwaway CA made with the openssl CLI, a server
// certificate for 127.0.0.1/localhost and a client certificate, in a
// TempDir; for TLS and mTLS between the real services in tests.
#ifndef TESTS_SUPPORT_TEST_CERTIFICATES_H_
#define TESTS_SUPPORT_TEST_CERTIFICATES_H_

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "tests/support/harness.h"

namespace ia::testing {

class TestCertificates {
 public:
  // Makes ca.crt/.key, server.crt/.key and client.crt/.key in `dir`
  // (which must outlive this object). Fails the current test on error.
  explicit TestCertificates(const TempDir& dir);
  std::string Path(const std::string& name) const { return dir_.Join(name); }
  // The service flags for TLS with client certificates required (mTLS);
  // the services present the same certificate when they call each other.
  std::vector<std::string> ServiceFlags() const;
  // Channel credentials trusting the CA, with the client certificate or
  // without one.
  std::shared_ptr<grpc::ChannelCredentials> Client(bool with_certificate) const;

  // Issues <name>.crt/.key signed by the CA, with subject `subject`
  // ("/CN=alice") and, when not empty, the subjectAltName `san`
  // ("URI:spiffe://test/policy,IP:127.0.0.1", "DNS:ci.example").
  void IssueCertificate(const std::string& name, const std::string& subject,
                        const std::string& san);
  // Channel credentials trusting the CA, presenting <name>.crt.
  std::shared_ptr<grpc::ChannelCredentials> ClientAs(
      const std::string& name) const;

 private:
  void Issue(const std::string& name, const std::string& subject,
             const std::string& extfile);
  void Run(const std::vector<std::string>& args);
  const TempDir& dir_;
};

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_TEST_CERTIFICATES_H_
