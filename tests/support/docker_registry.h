// DockerRegistry: Debian's real registry (/usr/bin/docker-registry, Docker
// distribution 2.8) on a free 127.0.0.1 port, configured by a file this
// helper writes into its own TempDir: filesystem storage there, optionally
// htpasswd Basic auth, TLS (certificates made with `openssl` for 127.0.0.1,
// optionally requiring client certificates) and push notifications to
// URLs. PushImage uploads a tiny image over plain HTTP API calls.
//
// Not thread-safe; one test owns one registry.
#ifndef TESTS_SUPPORT_DOCKER_REGISTRY_H_
#define TESTS_SUPPORT_DOCKER_REGISTRY_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/harness.h"

namespace ia::testing {

struct DockerRegistryOptions {
  // htpasswd Basic auth with this one user (bcrypt, as distribution needs).
  std::optional<std::pair<std::string, std::string>> user;
  // Serve HTTPS with a certificate for 127.0.0.1 signed by a CA made for
  // this registry (ca_pem()).
  bool tls = false;
  // With tls: more names the server certificate is for (besides
  // 127.0.0.1), e.g. a cloud registry's host that tests reach on loopback.
  std::vector<std::string> dns_names;
  // With tls: require a client certificate signed by the same CA
  // (client_cert_pem(), client_key_pem()).
  bool require_client_cert = false;
  // notifications.endpoints: every push is POSTed to each URL as Docker
  // distribution's event envelope.
  std::vector<std::string> notification_urls;
};

class DockerRegistry {
 public:
  explicit DockerRegistry(DockerRegistryOptions options = {});
  ~DockerRegistry();  // Stops the registry.
  DockerRegistry(const DockerRegistry&) = delete;
  DockerRegistry& operator=(const DockerRegistry&) = delete;

  // Writes the configuration (and certificates), starts the registry and
  // waits until GET /v2/ answers (200 or 401). Again after Stop(): the same
  // port and storage, as after an outage.
  absl::Status Start(absl::Duration timeout = absl::Seconds(30));
  void Stop();

  std::string host() const;  // "127.0.0.1:PORT"
  std::string url() const;   // "http://127.0.0.1:PORT" or "https://..."
  // PEM contents; empty without tls.
  const std::string& ca_pem() const { return ca_pem_; }
  const std::string& client_cert_pem() const { return client_cert_pem_; }
  const std::string& client_key_pem() const { return client_key_pem_; }
  // The registry's own log (it logs every request, with its HTTP version).
  std::string Log() const;

 private:
  absl::Status MakeCertificates();
  // ",DNS:a,DNS:b" for options_.dns_names.
  std::string DnsNames() const;

  DockerRegistryOptions options_;
  TempDir dir_;
  int port_ = 0;
  std::string ca_pem_, client_cert_pem_, client_key_pem_;
  std::unique_ptr<Process> process_;
};

// How PushImage reaches the registry.
struct PushOptions {
  std::optional<std::pair<std::string, std::string>> user;  // Basic
  std::string ca_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
  // Different variants make different images (config blobs), so different
  // digests; the same variant pushed under two tags has one digest.
  std::string variant;
  // An OCI image manifest (the default) or a Docker v2 schema 2 one.
  bool oci = true;
};

// Uploads a tiny config blob and layer blob to `repository` of the registry
// at `base_url` (monolithic POST + PUT uploads), then PUTs a manifest under
// `tag`. Returns the manifest's digest ("sha256:..."), computed here and
// checked against the registry's Docker-Content-Digest.
absl::StatusOr<std::string> PushImage(const std::string& base_url,
                                      const std::string& repository,
                                      const std::string& tag,
                                      const PushOptions& options = {});

// PushImage for several tags of one image: the blobs are uploaded once,
// then the manifest is PUT under each tag. Returns the manifest's digest.
absl::StatusOr<std::string> PushImageTags(const std::string& base_url,
                                          const std::string& repository,
                                          const std::vector<std::string>& tags,
                                          const PushOptions& options = {});

// "sha256:<hex>" of `data`.
std::string Sha256Digest(const std::string& data);

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_DOCKER_REGISTRY_H_
