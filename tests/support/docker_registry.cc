#include "tests/support/docker_registry.h"

#include <curl/curl.h>
#include <openssl/sha.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace ia::testing {
namespace {

constexpr char kRegistryBinary[] = "/usr/bin/docker-registry";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct HttpResult {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string Header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return "";
  }
};

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t AppendHeader(char* data, size_t size, size_t count, void* user) {
  auto* headers =
      static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
  std::string line(data, size * count);
  const size_t colon = line.find(':');
  if (absl::StartsWith(line, "HTTP/")) headers->clear();
  if (colon != std::string::npos) {
    std::string name = absl::AsciiStrToLower(line.substr(0, colon));
    std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    headers->emplace_back(std::move(name), std::move(value));
  }
  return size * count;
}

// One request with libcurl; transport failures are errors.
absl::StatusOr<HttpResult> Http(const std::string& method,
                                const std::string& url,
                                const std::vector<std::string>& headers,
                                const std::string& body,
                                const PushOptions& options) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  HttpResult result;
  struct curl_slist* list = nullptr;
  for (const std::string& h : headers)
    list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &AppendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  if (method == "POST" || method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.size()));
  }
  if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (options.user.has_value()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, options.user->first.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options.user->second.c_str());
  }
  struct curl_blob ca, cert, key;
  if (!options.ca_pem.empty()) {
    ca = {const_cast<char*>(options.ca_pem.data()), options.ca_pem.size(),
          CURL_BLOB_COPY};
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (!options.client_cert_pem.empty()) {
    cert = {const_cast<char*>(options.client_cert_pem.data()),
            options.client_cert_pem.size(), CURL_BLOB_COPY};
    key = {const_cast<char*>(options.client_key_pem.data()),
           options.client_key_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key);
  }
  const CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_easy_cleanup(curl);
  curl_slist_free_all(list);
  if (code != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat(method, " ", url, ": ", curl_easy_strerror(code)));
  }
  return result;
}

std::string Absolute(const std::string& base_url, const std::string& location) {
  if (absl::StartsWith(location, "http://") ||
      absl::StartsWith(location, "https://")) {
    return location;
  }
  return base_url + location;
}

absl::Status PushBlob(const std::string& base_url,
                      const std::string& repository, const std::string& blob,
                      const PushOptions& options) {
  const std::string digest = Sha256Digest(blob);
  absl::StatusOr<HttpResult> started = Http(
      "POST", absl::StrCat(base_url, "/v2/", repository, "/blobs/uploads/"), {},
      "", options);
  if (!started.ok()) return started.status();
  if (started->status != 202) {
    return absl::InternalError(
        absl::StrCat("starting a blob upload to ", repository, ": HTTP ",
                     started->status, " ", started->body));
  }
  std::string location = Absolute(base_url, started->Header("location"));
  absl::StrAppend(&location, absl::StrContains(location, '?') ? "&" : "?",
                  "digest=", digest);
  absl::StatusOr<HttpResult> put =
      Http("PUT", location, {"Content-Type: application/octet-stream"}, blob,
           options);
  if (!put.ok()) return put.status();
  if (put->status != 201) {
    return absl::InternalError(absl::StrCat("uploading blob ", digest, " to ",
                                            repository, ": HTTP ", put->status,
                                            " ", put->body));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Sha256Digest(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return absl::StrCat(
      "sha256:", absl::BytesToHexString(absl::string_view(
                     reinterpret_cast<const char*>(digest), sizeof(digest))));
}

absl::StatusOr<std::string> PushImage(const std::string& base_url,
                                      const std::string& repository,
                                      const std::string& tag,
                                      const PushOptions& options) {
  return PushImageTags(base_url, repository, {tag}, options);
}

absl::StatusOr<std::string> PushImageTags(const std::string& base_url,
                                          const std::string& repository,
                                          const std::vector<std::string>& tags,
                                          const PushOptions& options) {
  const std::string layer =
      absl::StrCat("layer of ", repository, " ", options.variant);
  const std::string config = absl::StrCat(
      R"({"architecture":"amd64","os":"linux","author":")", options.variant,
      R"(","config":{},"rootfs":{"type":"layers","diff_ids":[")",
      Sha256Digest(layer), R"("]}})");
  if (absl::Status s = PushBlob(base_url, repository, config, options);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = PushBlob(base_url, repository, layer, options);
      !s.ok()) {
    return s;
  }
  const std::string media_type =
      options.oci ? "application/vnd.oci.image.manifest.v1+json"
                  : "application/vnd.docker.distribution.manifest.v2+json";
  const std::string config_type =
      options.oci ? "application/vnd.oci.image.config.v1+json"
                  : "application/vnd.docker.container.image.v1+json";
  const std::string layer_type =
      options.oci ? "application/vnd.oci.image.layer.v1.tar+gzip"
                  : "application/vnd.docker.image.rootfs.diff.tar.gzip";
  const std::string manifest = absl::StrCat(
      R"({"schemaVersion":2,"mediaType":")", media_type,
      R"(","config":{"mediaType":")", config_type, R"(","digest":")",
      Sha256Digest(config), R"(","size":)", config.size(),
      R"(},"layers":[{"mediaType":")", layer_type, R"(","digest":")",
      Sha256Digest(layer), R"(","size":)", layer.size(), "}]}");
  const std::string digest = Sha256Digest(manifest);
  for (const std::string& tag : tags) {
    absl::StatusOr<HttpResult> put = Http(
        "PUT", absl::StrCat(base_url, "/v2/", repository, "/manifests/", tag),
        {absl::StrCat("Content-Type: ", media_type)}, manifest, options);
    if (!put.ok()) return put.status();
    if (put->status != 201) {
      return absl::InternalError(absl::StrCat("putting manifest ", repository,
                                              ":", tag, ": HTTP ", put->status,
                                              " ", put->body));
    }
    if (put->Header("docker-content-digest") != digest) {
      return absl::InternalError(absl::StrCat(
          "the registry says manifest ", repository, ":", tag, " has digest ",
          put->Header("docker-content-digest"), ", computed ", digest));
    }
  }
  return digest;
}

DockerRegistry::DockerRegistry(DockerRegistryOptions options)
    : options_(std::move(options)) {}

DockerRegistry::~DockerRegistry() { Stop(); }

std::string DockerRegistry::host() const {
  return absl::StrCat("127.0.0.1:", port_);
}

std::string DockerRegistry::url() const {
  return absl::StrCat(options_.tls ? "https://" : "http://", host());
}

std::string DockerRegistry::Log() const {
  return ReadFile(dir_.Join("registry.log"));
}

std::string DockerRegistry::DnsNames() const {
  std::string out;
  for (const std::string& name : options_.dns_names) {
    absl::StrAppend(&out, ",DNS:", name);
  }
  return out;
}

absl::Status DockerRegistry::MakeCertificates() {
  const auto openssl =
      [this](const std::vector<std::string>& args) -> absl::Status {
    CommandResult r = RunCommand("/usr/bin/openssl", args);
    if (r.exit_code != 0) {
      return absl::InternalError(
          absl::StrCat("openssl ", absl::StrJoin(args, " "), ": ", r.err));
    }
    return absl::OkStatus();
  };
  const std::vector<std::string> ec = {
      "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
  const auto with = [](std::vector<std::string> a,
                       const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  absl::Status s = openssl(with(
      {"req", "-x509"},
      with(ec, {"-keyout", dir_.Join("ca.key"), "-out", dir_.Join("ca.pem"),
                "-days", "2", "-subj", "/CN=ia-test-ca"})));
  if (!s.ok()) return s;
  for (const auto& [name, ext] :
       std::vector<std::pair<std::string, std::string>>{
           {"server", absl::StrCat("subjectAltName=IP:127.0.0.1", DnsNames(),
                                   "\nextendedKeyUsage=serverAuth\n")},
           {"client", "extendedKeyUsage=clientAuth\n"}}) {
    dir_.WriteFile(name + ".ext", ext);
    s = openssl(with(
        {"req", "-new"},
        with(ec, {"-keyout", dir_.Join(name + ".key"), "-out",
                  dir_.Join(name + ".csr"), "-subj", "/CN=ia-test-" + name})));
    if (!s.ok()) return s;
    s = openssl({"x509", "-req", "-in", dir_.Join(name + ".csr"), "-CA",
                 dir_.Join("ca.pem"), "-CAkey", dir_.Join("ca.key"),
                 "-CAcreateserial", "-out", dir_.Join(name + ".pem"), "-days",
                 "2", "-extfile", dir_.Join(name + ".ext")});
    if (!s.ok()) return s;
  }
  ca_pem_ = ReadFile(dir_.Join("ca.pem"));
  client_cert_pem_ = ReadFile(dir_.Join("client.pem"));
  client_key_pem_ = ReadFile(dir_.Join("client.key"));
  return absl::OkStatus();
}

absl::Status DockerRegistry::Start(absl::Duration timeout) {
  // A restart after Stop() keeps the port (and the storage), as a registry
  // coming back after an outage does.
  if (port_ == 0) port_ = FreePort();
  std::string config = absl::StrCat(
      "version: 0.1\n"
      "log:\n  level: info\n  formatter: text\n"
      "storage:\n  filesystem:\n    rootdirectory: ",
      dir_.Join("storage"), "\n",
      "  delete:\n    enabled: true\n"
      "  maintenance:\n    uploadpurging:\n      enabled: false\n"
      "http:\n  addr: 127.0.0.1:",
      port_, "\n  secret: ia-test-secret\n");
  if (options_.tls) {
    if (absl::Status s = MakeCertificates(); !s.ok()) return s;
    absl::StrAppend(&config,
                    "  tls:\n    certificate: ", dir_.Join("server.pem"),
                    "\n    key: ", dir_.Join("server.key"), "\n");
    if (options_.require_client_cert) {
      absl::StrAppend(&config, "    clientcas:\n      - ", dir_.Join("ca.pem"),
                      "\n");
    }
  }
  if (options_.user.has_value()) {
    CommandResult r =
        RunCommand("/usr/bin/htpasswd",
                   {"-Bbn", options_.user->first, options_.user->second});
    if (r.exit_code != 0) {
      return absl::InternalError(absl::StrCat("htpasswd failed: ", r.err));
    }
    dir_.WriteFile("htpasswd", r.out);
    absl::StrAppend(&config,
                    "auth:\n  htpasswd:\n    realm: ia-test-registry\n"
                    "    path: ",
                    dir_.Join("htpasswd"), "\n");
  }
  if (!options_.notification_urls.empty()) {
    absl::StrAppend(&config, "notifications:\n  endpoints:\n");
    for (size_t i = 0; i < options_.notification_urls.size(); ++i) {
      absl::StrAppend(
          &config, "    - name: endpoint", i,
          "\n      url: ", options_.notification_urls[i],
          "\n      timeout: 2s\n      threshold: 5\n      backoff: 1s\n");
    }
  }
  const std::string config_path = dir_.WriteFile("config.yml", config);
  process_ = std::make_unique<Process>(
      kRegistryBinary, std::vector<std::string>{"serve", config_path},
      dir_.Join("registry.log"));

  PushOptions probe;
  probe.ca_pem = ca_pem_;
  if (options_.require_client_cert) {
    probe.client_cert_pem = client_cert_pem_;
    probe.client_key_pem = client_key_pem_;
  }
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (!process_->Running()) {
      return absl::InternalError(
          absl::StrCat("docker-registry exited at start:\n", Log()));
    }
    absl::StatusOr<HttpResult> r = Http("GET", url() + "/v2/", {}, "", probe);
    if (r.ok() && (r->status == 200 || r->status == 401))
      return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("docker-registry did not answer on ", url(), ":\n", Log()));
}

void DockerRegistry::Stop() {
  if (process_ != nullptr) {
    process_->Terminate(absl::Seconds(10));
    process_.reset();
  }
}

}  // namespace ia::testing
