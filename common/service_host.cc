#include "common/service_host.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "common/auth_tokens.h"
#include "common/authn.h"
#include "common/authz.h"
#include "common/files.h"
#include "common/health.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

ABSL_FLAG(std::string, listen, "",
          "gRPC listen address HOST:PORT (default: the service's own port on "
          "127.0.0.1)");
ABSL_FLAG(std::string, http_listen, "",
          "HTTP listen address HOST:PORT for /healthz, /readyz, /metrics "
          "(Prometheus) and webhooks; empty: no HTTP server");
ABSL_FLAG(std::string, data_dir, "",
          "folder of the service's embedded store (default: data/<service> "
          "under the working directory); created if missing");
ABSL_FLAG(std::string, manifests, "",
          "file or folder of Flux YAML manifests applied at start (objects of "
          "other services' kinds are skipped)");
ABSL_FLAG(std::string, secrets_dir, "",
          "folder of secrets laid out as Kubernetes mounts them: "
          "<dir>/<namespace>/<name>/<key>");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate (enables TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls-cert");
ABSL_FLAG(
    std::string, tls_ca, "",
    "PEM CA bundle; with --tls-cert, clients must present a certificate "
    "signed by it (mTLS); also used to verify the services this one calls");
ABSL_FLAG(std::string, auth_tokens_file, "",
          "file of bearer tokens, 'TOKEN IDENTITY' per line ('#' comments); "
          "re-read when it changes; needs TLS");
ABSL_FLAG(std::string, authz_policy, "",
          "YAML file of rules saying which identity may read, write, "
          "reconcile or peer, optionally per namespace (docs/security.md); "
          "needs TLS");
ABSL_FLAG(bool, insecure_allow_anonymous, false,
          "serve a --listen address that is not loopback without TLS or "
          "without --authz-policy (anyone who reaches it may change objects)");
ABSL_FLAG(int, workers, ia::defaults::kWorkers,
          "reconcile workers per controller");
ABSL_FLAG(absl::Duration, shutdown_grace, ia::defaults::kShutdownGrace,
          "how long in-flight RPCs may take to finish on SIGTERM; streams end "
          "at once, and clients that keep an idle connection open are "
          "disconnected when it ends");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error");

namespace ia {
namespace {

// What guards the gRPC listener: the policy and tokens named by the flags.
struct Guard {
  std::shared_ptr<const AuthzPolicy> policy;
  std::shared_ptr<TokenFile> tokens;
};

// Reads --authz-policy and --auth-tokens-file and checks that the listener
// may start as configured (secure by default). Errors name the flag.
absl::StatusOr<Guard> MakeGuard(const ServiceConfig& config) {
  Guard guard;
  if (!config.authz_policy.empty()) {
    absl::StatusOr<std::string> text = ReadFileToString(config.authz_policy);
    if (!text.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--authz-policy: ", text.status().message()));
    }
    absl::StatusOr<AuthzPolicy> policy =
        AuthzPolicy::Parse(*text, config.authz_policy);
    if (!policy.ok()) return policy.status();
    guard.policy = std::make_shared<const AuthzPolicy>(*std::move(policy));
  }
  if (!config.auth_tokens_file.empty()) {
    absl::StatusOr<std::unique_ptr<TokenFile>> tokens =
        TokenFile::Open(config.auth_tokens_file);
    if (!tokens.ok()) return tokens.status();
    guard.tokens = *std::move(tokens);
  }
  const bool tls = !config.tls_cert.empty() || !config.tls_key.empty();
  if ((guard.policy || guard.tokens) && !tls) {
    return absl::FailedPreconditionError(
        "--authz-policy and --auth-tokens-file need TLS (identities and "
        "tokens are trusted only over it): add --tls-cert and --tls-key, "
        "and --tls-ca for client certificates");
  }
  RETURN_IF_ERROR(CheckExposure(config.listen, tls, guard.policy != nullptr,
                                config.insecure_allow_anonymous));
  if (guard.policy && config.tls_ca.empty() && !guard.tokens) {
    log::Warn(
        "--authz-policy without --tls-ca or --auth-tokens-file: no caller "
        "can be identified, so every call but health is refused");
  }
  return guard;
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace

void ParseServiceFlags(int argc, char** argv) {
  // Abseil's flag names cannot hold '-': rewrite "--data-dir=x" as
  // "--data_dir=x" (only the name; values are left alone). Everything after
  // a bare "--" is an argument, not a flag.
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    const size_t name_start = arg.find_first_not_of('-');
    const size_t name_end = std::min(arg.find('='), arg.size());
    if (name_start == std::string::npos || name_start >= name_end) continue;
    std::replace(arg.begin() + name_start, arg.begin() + name_end, '-', '_');
  }
  std::vector<char*> pointers;
  for (std::string& arg : args) pointers.push_back(arg.data());
  absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
}

ServiceConfig ServiceConfigFromFlags(absl::string_view name,
                                     absl::string_view default_listen) {
  ServiceConfig config;
  config.name = std::string(name);
  config.listen = absl::GetFlag(FLAGS_listen);
  if (config.listen.empty()) config.listen = std::string(default_listen);
  config.http_listen = absl::GetFlag(FLAGS_http_listen);
  config.data_dir = absl::GetFlag(FLAGS_data_dir);
  if (config.data_dir.empty()) config.data_dir = absl::StrCat("data/", name);
  config.manifests = absl::GetFlag(FLAGS_manifests);
  config.secrets_dir = absl::GetFlag(FLAGS_secrets_dir);
  config.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  config.tls_key = absl::GetFlag(FLAGS_tls_key);
  config.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  config.auth_tokens_file = absl::GetFlag(FLAGS_auth_tokens_file);
  config.authz_policy = absl::GetFlag(FLAGS_authz_policy);
  config.insecure_allow_anonymous =
      absl::GetFlag(FLAGS_insecure_allow_anonymous);
  config.workers = absl::GetFlag(FLAGS_workers);
  config.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  config.log_level = absl::GetFlag(FLAGS_log_level);
  return config;
}

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int RunService(const ServiceConfig& config, const ModuleFactory& factory) {
  log::Level level = log::Level::kInfo;
  if (!log::ParseLevel(config.log_level, &level)) {
    log::Init(config.name, log::Level::kInfo);
    log::Error("invalid --log-level (use debug, info, warn or error)")
        .With("value", config.log_level);
    return 1;
  }
  log::Init(config.name, level);
  if (config.workers < 1) {
    log::Error("--workers must be at least 1").With("value", config.workers);
    return 1;
  }

  absl::StatusOr<Guard> guard = MakeGuard(config);
  if (!guard.ok()) {
    log::Error("refusing to start").With("error", guard.status());
    return 1;
  }

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    log::Error("cannot create --data-dir")
        .With("path", config.data_dir)
        .With("error", ec.message());
    return 1;
  }
  auto store = Store::Open(
      (std::filesystem::path(config.data_dir) / "state.db").string());
  if (!store.ok()) {
    log::Error("cannot open the store").With("error", store.status());
    return 1;
  }

  const Secrets secrets(config.secrets_dir);
  ServiceContext context{&config, store->get(), RealClock(), &secrets};
  auto module = factory(context);
  if (!module.ok()) {
    log::Error("cannot start").With("error", module.status());
    return 1;
  }

  if (!config.manifests.empty()) {
    ManifestSet set = LoadManifests(config.manifests);
    for (const absl::Status& error : set.errors) {
      log::Error("manifest skipped").With("error", error);
    }
    int applied = 0;
    for (const ManifestObject& m : set.objects) {
      if (!(*module)->Owns(m.object)) continue;
      for (const std::string& warning : m.warnings) {
        log::Warn("manifest warning")
            .With("source", m.source)
            .With("warning", warning);
      }
      absl::Status status = (*module)->ApplyManifest(m.object);
      if (!status.ok()) {
        log::Error("manifest object not applied")
            .With("source", m.source)
            .With("error", status);
        continue;
      }
      ++applied;
    }
    log::Info("manifests applied")
        .With("path", config.manifests)
        .With("objects", applied)
        .With("errors", static_cast<int64_t>(set.errors.size()));
  }

  auto credentials = MakeServerCredentials(
      config.tls_ca, config.tls_cert, config.tls_key,
      /*client_certificate_optional=*/guard->tokens != nullptr);
  if (!credentials.ok()) {
    log::Error("invalid TLS configuration").With("error", credentials.status());
    return 1;
  }
  if (guard->policy || guard->tokens) {
    auto gate =
        std::make_shared<AuthGate>(config.name, guard->policy, guard->tokens);
    AuthGate::Activate(gate);
    (*credentials)->SetAuthMetadataProcessor(gate);
  }

  (*module)->Start();

  HealthService health;
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, *credentials, &port);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(MakeAuditInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  auto services = (*module)->Services();
  for (auto& [service, name] : services) builder.RegisterService(service);
  builder.RegisterService(health.service());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    log::Error("cannot listen for gRPC").With("address", config.listen);
    (*module)->Stop();
    return 1;
  }
  for (auto& [service, name] : services) health.SetServing(name, true);
  health.SetServing("", true);

  // From the termination signal on, /readyz says so (as the gRPC health
  // service turns NOT_SERVING), so no new work is routed here.
  std::atomic<bool> stopping{false};
  HttpServer http;
  if (!config.http_listen.empty()) {
    http.Handle("GET", "/healthz", [](const HttpRequest&) {
      return HttpResponse{200, "text/plain; charset=utf-8", "ok\n"};
    });
    http.Handle("GET", "/readyz", [&stopping](const HttpRequest&) {
      if (stopping.load()) {
        return HttpResponse{503, "text/plain; charset=utf-8", "stopping\n"};
      }
      return HttpResponse{200, "text/plain; charset=utf-8", "ok\n"};
    });
    http.Handle("GET", "/metrics", [](const HttpRequest&) {
      return HttpResponse{200, std::string(metrics::kContentType),
                          metrics::RenderPrometheus()};
    });
    (*module)->RegisterHttp(http);
    absl::Status status = http.Start(config.http_listen);
    if (!status.ok()) {
      log::Error("cannot listen for HTTP").With("error", status);
      health.Shutdown();
      server->Shutdown();
      (*module)->Stop();
      return 1;
    }
  }

  log::Info("serving")
      .With("grpc", config.listen)
      .With("http", config.http_listen)
      .With("data_dir", config.data_dir)
      .With("tls", !config.tls_cert.empty())
      .With("mtls", !config.tls_cert.empty() && !config.tls_ca.empty())
      .With("authz_policy", config.authz_policy)
      .With("tokens", guard->tokens != nullptr);

  const int sig = WaitForTerminationSignal();
  log::Info("stopping").With("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  stopping.store(true);
  health.Shutdown();
  (*module)->Drain();
  server->Shutdown(std::chrono::system_clock::now() +
                   absl::ToChronoMilliseconds(config.shutdown_grace));
  // After the gRPC calls under way have ended (or the grace has passed):
  // until then /readyz keeps saying 503 rather than refusing connections.
  http.Stop();
  (*module)->Stop();
  module->reset();
  store->reset();
  log::Info("stopped");
  return 0;
}

}  // namespace ia
