// The libcurl HttpTransport: the production way of the registry client onto
// the network. Connections are reused (a pool of easy handles per origin),
// HTTP/2 is used where the server offers it over TLS, the DNS cache and TLS
// sessions are shared between handles, replies are decompressed, redirects
// are not followed, and a body over max_reply_bytes is refused (before it
// arrives when Content-Length declares it). Every request is counted in
// ia_registry_requests_total.
//
// Thread-safe.
#ifndef SERVICES_REFLECTOR_CURL_TRANSPORT_H_
#define SERVICES_REFLECTOR_CURL_TRANSPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "services/reflector/http_transport.h"

namespace ia::reflector {

// Settings of the transport.
struct CurlTransportOptions {
  // Count requests in ia_registry_requests_total (off for the transport of
  // the cloud logins, whose calls go to clouds, not registries).
  bool count_as_registry_requests = true;

  // CURLOPT_CONNECT_TO entries, "HOST:PORT:CONNECT-HOST:CONNECT-PORT": a
  // request for HOST:PORT connects to CONNECT-HOST:CONNECT-PORT instead,
  // keeping its URL, Host header and TLS name. Lets tests reach a cloud
  // registry's real host name (123456789012.dkr.ecr.us-east-1.amazonaws.com)
  // on loopback. Never set in production: main.cc fills it only from the
  // environment variable IA_TEST_CONNECT_TO (TestConnectToFromEnvironment).
  std::vector<std::string> test_connect_to;
};

// A new libcurl transport (initialising libcurl once per process).
std::unique_ptr<HttpTransport> MakeCurlTransport(
    CurlTransportOptions options = {});

// The entries of IA_TEST_CONNECT_TO (comma-separated), empty when unset.
std::vector<std::string> TestConnectToFromEnvironment();

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_CURL_TRANSPORT_H_
