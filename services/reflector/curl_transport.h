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

#include "services/reflector/http_transport.h"

namespace ia::reflector {

// A new libcurl transport (initialising libcurl once per process).
std::unique_ptr<HttpTransport> MakeCurlTransport();

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_CURL_TRANSPORT_H_
