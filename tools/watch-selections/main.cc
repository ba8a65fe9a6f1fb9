// watch-selections: an example of another tool (a CD system, a dashboard)
// following the policy service's selections over gRPC. It subscribes to
// imageautomation.v1.Policy/WatchSelections and prints each event as one
// JSON line on stdout (protobuf's JSON mapping: lowerCamelCase fields, enum
// names, 64-bit integers as strings), for example
//   {"type":"SNAPSHOT","selection":{"policy":{"namespace":"flux-system",
//    "name":"my-app"},"latestRef":{"name":"...","tag":"1.3.0"},...},"sequence":"1"}
//
// How to consume the stream: a connection starts with one SNAPSHOT event per
// policy that has a selection and one SNAPSHOT_END; then UPDATED and DELETED
// events follow. When the stream breaks (the service restarts, the network
// drops), this client reconnects with capped, jittered backoff and gets a
// new snapshot: a consumer replaces what it knew with each snapshot (a
// policy missing from it has no selection any more). Messages about the
// connection go to stderr, never to stdout.
//
//   watch-selections [--policy ADDR] [--namespace NS] [--until-snapshot-end]
//                    [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]
//
// ADDR defaults to $IMAGECTL_POLICY, else 127.0.0.1:50052. Exit codes: 0
// after SNAPSHOT_END with --until-snapshot-end, 1 when the service refuses
// the call for good (unauthenticated, not a policy service, ...), 2 on a
// usage error. Otherwise it runs until killed.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "imageautomation/v1/policy.grpc.pb.h"

namespace {

namespace v1 = ::imageautomation::v1;

constexpr char kUsage[] =
    "usage: watch-selections [--policy ADDR] [--namespace NS] "
    "[--until-snapshot-end] [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]\n"
    "Prints each WatchSelections event of the policy service as one JSON "
    "line.\n"
    "ADDR defaults to $IMAGECTL_POLICY, else 127.0.0.1:50052.\n";

struct Options {
  std::string policy;
  std::string ns;
  bool until_snapshot_end = false;
  std::string tls_ca, tls_cert, tls_key;
};

// Accepts "--name value" and "--name=value".
bool ParseArgs(int argc, char** argv, Options* options) {
  const char* env = std::getenv("IMAGECTL_POLICY");
  options->policy = env != nullptr && *env ? env : "127.0.0.1:50052";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (arg == "--until-snapshot-end") {
      if (has_value) return false;
      options->until_snapshot_end = true;
      continue;
    }
    std::string* target = nullptr;
    if (arg == "--policy") target = &options->policy;
    if (arg == "--namespace" || arg == "-n") target = &options->ns;
    if (arg == "--tls-ca") target = &options->tls_ca;
    if (arg == "--tls-cert") target = &options->tls_cert;
    if (arg == "--tls-key") target = &options->tls_key;
    if (target == nullptr) {
      std::cerr << "watch-selections: unknown argument " << arg << "\n";
      return false;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        std::cerr << "watch-selections: " << arg << " needs a value\n";
        return false;
      }
      value = argv[++i];
    }
    *target = value;
  }
  if (options->tls_cert.empty() != options->tls_key.empty()) {
    std::cerr << "watch-selections: --tls-cert and --tls-key go together\n";
    return false;
  }
  return true;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

// Codes after which calling again cannot help.
bool Permanent(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNIMPLEMENTED ||
         code == grpc::StatusCode::INVALID_ARGUMENT ||
         code == grpc::StatusCode::UNAUTHENTICATED ||
         code == grpc::StatusCode::PERMISSION_DENIED;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseArgs(argc, argv, &options)) {
    std::cerr << kUsage;
    return 2;
  }

  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (!options.tls_ca.empty() || !options.tls_cert.empty()) {
    grpc::SslCredentialsOptions ssl;
    if ((!options.tls_ca.empty() &&
         !ReadFile(options.tls_ca, &ssl.pem_root_certs)) ||
        (!options.tls_cert.empty() &&
         (!ReadFile(options.tls_cert, &ssl.pem_cert_chain) ||
          !ReadFile(options.tls_key, &ssl.pem_private_key)))) {
      std::cerr << "watch-selections: cannot read a --tls-* file\n";
      return 2;
    }
    credentials = grpc::SslCredentials(ssl);
  }
  auto stub =
      v1::Policy::NewStub(grpc::CreateChannel(options.policy, credentials));

  google::protobuf::util::JsonPrintOptions json;
  json.add_whitespace = false;
  std::mt19937 random(std::random_device{}());
  std::chrono::milliseconds backoff(250);
  const std::chrono::milliseconds max_backoff(30000);

  v1::WatchSelectionsRequest request;
  request.set_namespace_(options.ns);
  while (true) {
    grpc::ClientContext context;
    // Waits for the service instead of failing while it is down.
    context.set_wait_for_ready(true);
    std::unique_ptr<grpc::ClientReader<v1::SelectionEvent>> stream =
        stub->WatchSelections(&context, request);
    v1::SelectionEvent event;
    while (stream->Read(&event)) {
      backoff = std::chrono::milliseconds(250);  // connected: start over
      std::string line;
      if (!google::protobuf::util::MessageToJsonString(event, &line, json)
               .ok()) {
        std::cerr << "watch-selections: an event does not convert to JSON\n";
        continue;
      }
      std::cout << line << std::endl;  // one line per event, flushed
      if (options.until_snapshot_end &&
          event.type() == v1::SelectionEvent::SNAPSHOT_END) {
        context.TryCancel();
        return 0;
      }
    }
    const grpc::Status status = stream->Finish();
    if (Permanent(status.error_code())) {
      std::cerr << "watch-selections: " << options.policy
                << " refused WatchSelections: " << status.error_message()
                << "\n";
      return 1;
    }
    // Jitter of +-20% so that many clients do not come back together.
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    const auto wait = std::chrono::milliseconds(static_cast<int64_t>(
        static_cast<double>(backoff.count()) * jitter(random)));
    std::cerr << "watch-selections: stream from " << options.policy
              << " ended ("
              << (status.ok() ? std::string("closed by the service")
                              : status.error_message())
              << "); reconnecting in " << wait.count() << " ms\n";
    std::this_thread::sleep_for(wait);
    backoff = std::min(backoff * 2, max_backoff);
  }
}
