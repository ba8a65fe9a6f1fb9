#include "services/reflector/cloud_login.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"
#include "services/reflector/aws_login.h"
#include "services/reflector/azure_login.h"
#include "services/reflector/gcp_login.h"

namespace ia::reflector {
namespace {

constexpr size_t kMaxCloudMessage = 300;

metrics::CounterFamily& exchanges_metric =
    metrics::Registry::Default().AddCounter(
        "ia_cloud_login_exchanges_total",
        "Registry login exchanges with a cloud, by provider and result.",
        {"provider", "result"});
metrics::CounterFamily& cache_hits_metric =
    metrics::Registry::Default().AddCounter(
        "ia_cloud_login_cache_hits_total",
        "Cloud registry logins served from the cache, by provider.",
        {"provider"});

}  // namespace

Environment ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Environment EnvironmentOf(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](
             const std::string& name) -> std::optional<std::string> {
    auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

absl::Status ExchangeError(absl::string_view provider, absl::string_view step,
                           absl::string_view code, absl::string_view message) {
  std::string text(message.substr(0, kMaxCloudMessage));
  for (char& c : text) {
    if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) c = ' ';
  }
  std::string out(provider);
  for (absl::string_view part : {step, code, absl::string_view(text)}) {
    if (!part.empty()) absl::StrAppend(&out, ": ", part);
  }
  return absl::UnauthenticatedError(out);
}

absl::Time RefreshTime(absl::Time obtained, absl::Time expires,
                       absl::Duration max_duration) {
  const absl::Duration lifetime =
      std::max(absl::ZeroDuration(), expires - obtained);
  return obtained + std::min(lifetime * 0.8, max_duration);
}

CloudLogins::CloudLogins(std::unique_ptr<HttpTransport> transport,
                         CloudLoginOptions options)
    : transport_(std::move(transport)),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : RealClock()) {}

std::string CloudLogins::Key(RegistryProvider provider,
                             const std::string& host) const {
  const Environment env =
      options_.environment ? options_.environment : ProcessEnvironment();
  std::string identity;
  if (provider == RegistryProvider::kAws) identity = AwsIdentity(env);
  if (provider == RegistryProvider::kGcp) identity = GcpIdentity(env);
  if (provider == RegistryProvider::kAzure) identity = AzureIdentity(env);
  return absl::StrCat(RegistryProviderName(provider), "\n", identity, "\n",
                      host);
}

absl::StatusOr<CloudLogin> CloudLogins::Exchange(RegistryProvider provider,
                                                 const std::string& host,
                                                 bool insecure) {
  const Environment env =
      options_.environment ? options_.environment : ProcessEnvironment();
  const absl::string_view name = RegistryProviderName(provider);
  if (!HostMatchesProvider(provider, host) ||
      provider == RegistryProvider::kGeneric) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.provider: \"", name, "\" does not match the host \"", host,
        "\" (", name, " is for ", ProviderHostPatterns(provider), ")"));
  }
  switch (provider) {
    case RegistryProvider::kAws:
      return EcrLogin(*transport_, env, *ParseEcrHost(host), clock_->Now());
    case RegistryProvider::kGcp:
      return GcpLogin(*transport_, env, clock_->Now());
    case RegistryProvider::kAzure:
      return AcrLogin(*transport_, env, host, insecure, clock_->Now());
    case RegistryProvider::kGeneric:
      break;
  }
  return absl::InvalidArgumentError("no cloud login for provider generic");
}

absl::StatusOr<RegistryCredentials> CloudLogins::Credentials(
    RegistryProvider provider, const std::string& host, bool insecure) {
  const std::string key = Key(provider, host);
  const std::string name(RegistryProviderName(provider));
  std::shared_ptr<Flight> flight;
  {
    absl::MutexLock lock(&mu_);
    for (;;) {
      auto it = entries_.find(key);
      if (it != entries_.end() && clock_->Now() < it->second.refresh) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        cache_hits_metric.WithLabels({name}).Increment();
        return it->second.login.credentials;
      }
      auto flying = flights_.find(key);
      if (flying == flights_.end()) break;
      // Another caller is exchanging: wait for its result and share it.
      std::shared_ptr<Flight> other = flying->second;
      mu_.Await(absl::Condition(&other->done));
      if (!other->result.ok()) return other->result.status();
      return other->result->credentials;
    }
    flight = std::make_shared<Flight>();
    flights_[key] = flight;
  }

  const absl::Time started = clock_->Now();
  absl::StatusOr<CloudLogin> login = Exchange(provider, host, insecure);
  exchanges_metric.WithLabels({name, login.ok() ? "success" : "failure"})
      .Increment();
  if (login.ok()) {
    log::Info("cloud registry login")
        .With("provider", name)
        .With("host", host)
        .With("expires", absl::FormatTime(login->expires));
  } else {
    log::Warn("cloud registry login failed")
        .With("provider", name)
        .With("host", host)
        .With("error", login.status().message());
  }

  absl::MutexLock lock(&mu_);
  if (login.ok()) Store(key, *login, started);
  flight->result = login;
  flight->done = true;
  flights_.erase(key);
  if (!login.ok()) return login.status();
  return login->credentials;
}

void CloudLogins::Store(const std::string& key, const CloudLogin& login,
                        absl::Time now) {
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  lru_.push_front(key);
  entries_[key] =
      Entry{login, RefreshTime(now, login.expires, options_.max_duration),
            lru_.begin()};
  while (static_cast<int>(entries_.size()) >
         std::max(1, options_.max_entries)) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
}

void CloudLogins::Forget(RegistryProvider provider, const std::string& host) {
  const std::string key = Key(provider, host);
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

}  // namespace ia::reflector
