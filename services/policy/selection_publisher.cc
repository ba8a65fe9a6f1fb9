#include "services/policy/selection_publisher.h"

#include <utility>

#include "common/feed_stream.h"
#include "common/log.h"
#include "grpcpp/grpcpp.h"
#include "imageautomation/v1/automation.grpc.pb.h"

namespace ia::policy {

namespace v1 = ::imageautomation::v1;

SelectionPublisher::SelectionPublisher(
    std::string address, std::shared_ptr<grpc::ChannelCredentials> credentials,
    Feed* feed)
    : address_(std::move(address)),
      credentials_(std::move(credentials)),
      feed_(feed) {}

SelectionPublisher::~SelectionPublisher() { Stop(); }

void SelectionPublisher::Start() {
  if (address_.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void SelectionPublisher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void SelectionPublisher::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void SelectionPublisher::Run() {
  while (true) {
    bool acked = false;
    const End end = PublishOnce(&acked);
    if (end == End::kStopping) return;
    if (end == End::kFeedClosed) {
      log::Info("selection feed closed; publisher done")
          .With("automation", address_);
      return;
    }
    if (acked) backoff_.Reset();
    const absl::Duration delay = backoff_.Next();
    log::Warn(acked ? "selection stream ended; reconnecting"
                    : "cannot publish selections; retrying")
        .With("automation", address_)
        .With("retry_in", absl::FormatDuration(delay));
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
    if (stopping_) return;
  }
}

SelectionPublisher::End SelectionPublisher::PublishOnce(bool* acked) {
  // One channel for all attempts: gRPC reconnects it.
  if (!channel_)
    channel_ = grpc::CreateCustomChannel(address_, credentials_,
                                         PeerChannelArguments());
  auto stub = v1::Automation::NewStub(channel_);

  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return End::kStopping;
    context_ = &context;
    woken_ = false;
    broken_ = false;
    last_ack_ = 0;
  }
  auto stream = stub->PublishSelections(&context);
  std::thread reader([this, &stream] {
    v1::PublishSelectionsAck ack;
    while (stream->Read(&ack)) {
      absl::MutexLock lock(&mu_);
      last_ack_ = ack.sequence();
    }
    absl::MutexLock lock(&mu_);
    broken_ = true;
  });

  std::unique_ptr<Feed::Subscription> subscription =
      feed_->Subscribe(nullptr, [this] { Wake(); });
  uint64_t sequence = 0;
  End end = End::kBroken;
  bool write_failed = false;
  while (!write_failed) {
    std::optional<FeedEvent> event = subscription->Next();
    if (!event.has_value()) {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return woken_ || broken_ || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) {
        end = End::kStopping;
        break;
      }
      if (broken_) break;
      woken_ = false;
      continue;
    }
    if (event->type == FeedEvent::Type::kClosed) {
      end = End::kFeedClosed;
      break;
    }
    v1::SelectionEvent out =
        ToStreamEvent(*event, &v1::SelectionEvent::mutable_selection,
                      &v1::Selection::mutable_policy);
    out.set_sequence(++sequence);
    if (!stream->Write(out)) write_failed = true;
  }
  subscription->Cancel();

  if (end == End::kFeedClosed) {
    stream->WritesDone();
  } else {
    context.TryCancel();
  }
  reader.join();
  grpc::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    context_ = nullptr;
    *acked = last_ack_ > 0;
    if (stopping_ && end != End::kFeedClosed) end = End::kStopping;
  }
  if (end == End::kBroken && !status.ok()) {
    log::Warn("selection stream failed")
        .With("automation", address_)
        .With("code", static_cast<int>(status.error_code()))
        .With("error", status.error_message());
  }
  return end;
}

}  // namespace ia::policy
