#include "common/health.h"

#include <map>
#include <set>

#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace ia {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

}  // namespace

class HealthService::Impl : public grpc::health::v1::Health::CallbackService {
 public:
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const HealthCheckRequest* request,
                                  HealthCheckResponse* response) override {
    auto* reactor = context->DefaultReactor();
    absl::MutexLock lock(&mu_);
    auto it = status_.find(request->service());
    if (it == status_.end()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                   "unknown service " + request->service()));
    } else {
      response->set_status(it->second);
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

  grpc::ServerWriteReactor<HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const HealthCheckRequest* request) override {
    auto* watcher = new Watcher(this, request->service());
    watcher->Start();
    return watcher;
  }

  void Set(const std::string& service, HealthCheckResponse::ServingStatus s) {
    std::set<Watcher*> watchers;
    {
      absl::MutexLock lock(&mu_);
      status_[service] = s;
      watchers = watchers_;
    }
    for (Watcher* w : watchers) w->Notify();
  }

  void Shutdown() {
    std::set<Watcher*> watchers;
    {
      absl::MutexLock lock(&mu_);
      shut_down_ = true;
      for (auto& [name, s] : status_) s = HealthCheckResponse::NOT_SERVING;
      watchers = watchers_;
    }
    for (Watcher* w : watchers) w->Notify();
  }

 private:
  // One Watch stream. Writes the status whenever it differs from the last
  // one written; at most one write in flight. Owned by gRPC; deletes itself
  // in OnDone. All state is guarded by the service's mu_, which also keeps
  // Notify() from racing with OnDone().
  class Watcher : public grpc::ServerWriteReactor<HealthCheckResponse> {
   public:
    Watcher(Impl* impl, std::string service)
        : impl_(impl), service_(std::move(service)) {}

    void Start() {
      absl::MutexLock lock(&impl_->mu_);
      impl_->watchers_.insert(this);
      MaybeWriteLocked();
    }

    void Notify() {
      absl::MutexLock lock(&impl_->mu_);
      if (impl_->watchers_.count(this) == 0) return;
      MaybeWriteLocked();
    }

    void OnWriteDone(bool ok) override {
      absl::MutexLock lock(&impl_->mu_);
      writing_ = false;
      if (!ok) {
        FinishLocked(grpc::Status::CANCELLED);
        return;
      }
      MaybeWriteLocked();
    }

    void OnCancel() override {
      absl::MutexLock lock(&impl_->mu_);
      FinishLocked(grpc::Status::CANCELLED);
    }

    void OnDone() override {
      {
        absl::MutexLock lock(&impl_->mu_);
        impl_->watchers_.erase(this);
      }
      delete this;
    }

   private:
    void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl_->mu_) {
      if (finished_ || writing_) return;
      auto it = impl_->status_.find(service_);
      const auto status = it == impl_->status_.end()
                              ? HealthCheckResponse::SERVICE_UNKNOWN
                              : it->second;
      if (status != last_written_) {
        last_written_ = status;
        response_.set_status(status);
        writing_ = true;
        StartWrite(&response_);
        return;
      }
      if (impl_->shut_down_) FinishLocked(grpc::Status::OK);
    }

    void FinishLocked(const grpc::Status& status)
        ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl_->mu_) {
      if (finished_) return;
      finished_ = true;
      Finish(status);
    }

    Impl* const impl_;
    const std::string service_;
    HealthCheckResponse response_;
    bool writing_ = false;
    bool finished_ = false;
    // An impossible value, so that the first status is always written.
    int last_written_ = -1;
  };

  absl::Mutex mu_;
  std::map<std::string, HealthCheckResponse::ServingStatus> status_
      ABSL_GUARDED_BY(mu_) = {{"", HealthCheckResponse::NOT_SERVING}};
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

HealthService::HealthService() : impl_(std::make_unique<Impl>()) {}
HealthService::~HealthService() = default;

void HealthService::SetServing(absl::string_view service, bool serving) {
  impl_->Set(std::string(service), serving ? HealthCheckResponse::SERVING
                                           : HealthCheckResponse::NOT_SERVING);
}

void HealthService::Shutdown() { impl_->Shutdown(); }

grpc::Service* HealthService::service() { return impl_.get(); }

}  // namespace ia
