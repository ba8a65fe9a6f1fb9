#include "common/feed_stream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/feed.h"
#include "grpcpp/grpcpp.h"
#include "imageautomation/v1/reflector.grpc.pb.h"

namespace ia {
namespace {

using ::imageautomation::v1::Reflector;
using ::imageautomation::v1::TagSet;
using ::imageautomation::v1::TagSetEvent;
using ::imageautomation::v1::WatchTagSetsRequest;

TagSetEvent ConvertTagSet(const FeedEvent& event) {
  TagSetEvent out;
  switch (event.type) {
    case FeedEvent::Type::kSnapshot:
      out.set_type(TagSetEvent::SNAPSHOT);
      *out.mutable_tag_set() = *event.As<TagSet>();
      break;
    case FeedEvent::Type::kUpdated:
      out.set_type(TagSetEvent::UPDATED);
      *out.mutable_tag_set() = *event.As<TagSet>();
      break;
    case FeedEvent::Type::kSnapshotEnd:
      out.set_type(TagSetEvent::SNAPSHOT_END);
      break;
    case FeedEvent::Type::kDeleted: {
      out.set_type(TagSetEvent::DELETED);
      const size_t slash = event.key.find('/');
      out.mutable_tag_set()->mutable_repository()->set_namespace_(
          event.key.substr(0, slash));
      out.mutable_tag_set()->mutable_repository()->set_name(
          event.key.substr(slash + 1));
      break;
    }
    case FeedEvent::Type::kClosed:
      break;
  }
  return out;
}

// Serves only WatchTagSets; the other methods stay unimplemented.
class TestReflector final
    : public Reflector::WithCallbackMethod_WatchTagSets<Reflector::Service> {
 public:
  explicit TestReflector(Feed* feed) : feed_(feed) {}

  grpc::ServerWriteReactor<TagSetEvent>* WatchTagSets(
      grpc::CallbackServerContext* context,
      const WatchTagSetsRequest* request) override {
    return ServeFeed<TagSetEvent>(
        *feed_, Feed::NamespaceFilter(request->namespace_()), ConvertTagSet);
  }

 private:
  Feed* const feed_;
};

FeedValue Val(absl::string_view key, absl::string_view revision,
              size_t payload = 0) {
  auto tag_set = std::make_shared<TagSet>();
  const size_t slash = key.find('/');
  tag_set->mutable_repository()->set_namespace_(
      std::string(key.substr(0, slash)));
  tag_set->mutable_repository()->set_name(std::string(key.substr(slash + 1)));
  tag_set->set_revision(std::string(revision));
  tag_set->set_image(std::string(payload, 'x'));
  return tag_set;
}

std::string Str(const TagSetEvent& event) {
  std::string out = TagSetEvent::Type_Name(event.type());
  if (event.has_tag_set()) {
    absl::StrAppend(&out, " ", event.tag_set().repository().namespace_(), "/",
                    event.tag_set().repository().name());
    if (!event.tag_set().revision().empty()) {
      absl::StrAppend(&out, " ", event.tag_set().revision());
    }
  }
  return out;
}

// Waits, with a generous deadline, for an asynchronous effect.
bool WaitFor(const std::function<bool()>& condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

class FeedStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    stub_ = Reflector::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
      server_->Wait();
    }
  }

  // A client stream with a generous deadline, so a bug fails instead of
  // hanging.
  struct Stream {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<TagSetEvent>> reader;

    std::string Read() {
      TagSetEvent event;
      if (!reader->Read(&event)) return "end";
      return Str(event);
    }
  };

  std::unique_ptr<Stream> Watch(absl::string_view ns = "") {
    auto stream = std::make_unique<Stream>();
    stream->context.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::seconds(60));
    WatchTagSetsRequest request;
    request.set_namespace_(std::string(ns));
    stream->reader = stub_->WatchTagSets(&stream->context, request);
    return stream;
  }

  Feed feed_;
  TestReflector service_{&feed_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Reflector::Stub> stub_;
};

TEST_F(FeedStreamTest, SnapshotThenSnapshotEndThenUpdates) {
  feed_.Publish("ns/b", Val("ns/b", "b1"));
  feed_.Publish("ns/a", Val("ns/a", "a1"));
  auto stream = Watch();
  EXPECT_EQ(stream->Read(), "SNAPSHOT ns/a a1");
  EXPECT_EQ(stream->Read(), "SNAPSHOT ns/b b1");
  EXPECT_EQ(stream->Read(), "SNAPSHOT_END");

  feed_.Publish("ns/a", Val("ns/a", "a2"));
  EXPECT_EQ(stream->Read(), "UPDATED ns/a a2");
  feed_.Remove("ns/b");
  EXPECT_EQ(stream->Read(), "DELETED ns/b");
  feed_.Publish("ns/c", Val("ns/c", "c1"));
  EXPECT_EQ(stream->Read(), "UPDATED ns/c c1");

  stream->context.TryCancel();
  EXPECT_EQ(stream->reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([&] { return feed_.subscriber_count() == 0; }));
}

TEST_F(FeedStreamTest, NamespaceFilter) {
  feed_.Publish("ns1/a", Val("ns1/a", "1"));
  feed_.Publish("ns2/b", Val("ns2/b", "1"));
  auto stream = Watch("ns2");
  EXPECT_EQ(stream->Read(), "SNAPSHOT ns2/b 1");
  EXPECT_EQ(stream->Read(), "SNAPSHOT_END");
  feed_.Publish("ns1/a", Val("ns1/a", "2"));
  feed_.Publish("ns2/c", Val("ns2/c", "2"));
  EXPECT_EQ(stream->Read(), "UPDATED ns2/c 2");
  stream->context.TryCancel();
  stream->reader->Finish();
}

// A client that stops reading holds back only its own stream: the publish
// loop finishes (this test would hang otherwise), the stream's events
// coalesce, and the client, once it reads again, reaches the latest value.
TEST_F(FeedStreamTest, SlowClientDoesNotBlockPublisher) {
  constexpr int kPublishes = 10000;
  constexpr size_t kPayload = 20000;  // fills flow-control windows quickly
  auto stream = Watch();
  ASSERT_EQ(stream->Read(), "SNAPSHOT_END");

  for (int i = 0; i < kPublishes; ++i) {
    feed_.Publish("ns/a", Val("ns/a", absl::StrCat("r", i), kPayload));
  }

  const std::string last = absl::StrCat("UPDATED ns/a r", kPublishes - 1);
  int events = 0;
  std::string event;
  do {
    event = stream->Read();
    ++events;
  } while (event != last && event != "end");
  EXPECT_EQ(event, last);
  // 10000 * 20 kB cannot sit in gRPC's buffers: most revisions were skipped.
  EXPECT_LT(events, kPublishes);

  stream->context.TryCancel();
  EXPECT_EQ(stream->reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([&] { return feed_.subscriber_count() == 0; }));
}

TEST_F(FeedStreamTest, ClientCancelUnsubscribes) {
  feed_.Publish("ns/a", Val("ns/a", "1"));
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < 3; ++i) {
    streams.push_back(Watch());
    EXPECT_EQ(streams.back()->Read(), "SNAPSHOT ns/a 1");
  }
  EXPECT_EQ(feed_.subscriber_count(), 3u);
  for (auto& stream : streams) {
    stream->context.TryCancel();
    EXPECT_EQ(stream->reader->Finish().error_code(),
              grpc::StatusCode::CANCELLED);
  }
  EXPECT_TRUE(WaitFor([&] { return feed_.subscriber_count() == 0; }));
}

TEST_F(FeedStreamTest, FeedCloseEndsStreamWithUnavailable) {
  feed_.Publish("ns/a", Val("ns/a", "1"));
  auto idle = Watch();
  auto behind = Watch();
  EXPECT_EQ(idle->Read(), "SNAPSHOT ns/a 1");
  EXPECT_EQ(idle->Read(), "SNAPSHOT_END");
  EXPECT_EQ(behind->Read(), "SNAPSHOT ns/a 1");
  feed_.Publish("ns/a", Val("ns/a", "2"));

  feed_.Close();
  for (Stream* stream : {idle.get(), behind.get()}) {
    std::string event;
    do {
      event = stream->Read();
    } while (event != "end");
    const grpc::Status status = stream->reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(status.error_message(), "server shutting down");
  }
  EXPECT_TRUE(WaitFor([&] { return feed_.subscriber_count() == 0; }));

  // A stream opened after Close() ends at once.
  auto late = Watch();
  EXPECT_EQ(late->Read(), "end");
  EXPECT_EQ(late->reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(FeedStreamTest, ShutdownWithOpenStreamsDoesNotHang) {
  auto idle = Watch();
  auto stalled = Watch();
  ASSERT_EQ(idle->Read(), "SNAPSHOT_END");
  ASSERT_EQ(stalled->Read(), "SNAPSHOT_END");
  for (int i = 0; i < 100; ++i) {
    const std::string key = absl::StrCat("ns/", i);
    feed_.Publish(key, Val(key, "1", 20000));
  }
  // No Feed::Close(): the deadline cancels the open streams.
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(100));
  server_->Wait();
  server_.reset();
  EXPECT_TRUE(WaitFor([&] { return feed_.subscriber_count() == 0; }));
  for (Stream* stream : {idle.get(), stalled.get()}) {
    while (stream->Read() != "end") {
    }
    EXPECT_FALSE(stream->reader->Finish().ok());
  }
}

TEST_F(FeedStreamTest, CloseThenShutdownWithoutDeadline) {
  auto stream = Watch();
  ASSERT_EQ(stream->Read(), "SNAPSHOT_END");
  feed_.Close();
  server_->Shutdown();
  server_->Wait();
  server_.reset();
  EXPECT_EQ(stream->Read(), "end");
  EXPECT_EQ(stream->reader->Finish().error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(feed_.subscriber_count(), 0u);
}

// Streams come and go while publishers run: wake callbacks race with
// OnDone(); nothing may crash or leak a subscription.
TEST_F(FeedStreamTest, StreamsComeAndGoWhilePublishing) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> publishers;
  for (int t = 0; t < 2; ++t) {
    publishers.emplace_back([this, &stop, t] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string key = absl::StrCat("ns/", t, "-", i % 5);
        if (i % 11 == 0) {
          feed_.Remove(key);
        } else {
          feed_.Publish(key, Val(key, absl::StrCat(i)));
        }
      }
    });
  }
  for (int round = 0; round < 20; ++round) {
    std::vector<std::unique_ptr<Stream>> streams;
    for (int i = 0; i < 3; ++i) streams.push_back(Watch());
    for (auto& stream : streams) {
      std::string event;
      do {
        event = stream->Read();
      } while (event != "SNAPSHOT_END" && event != "end");
      ASSERT_EQ(event, "SNAPSHOT_END");
      for (int j = 0; j < round % 4; ++j) {
        ASSERT_NE(stream->Read(), "end");
      }
      stream->context.TryCancel();
    }
    for (auto& stream : streams) stream->reader->Finish();
  }
  stop = true;
  for (auto& thread : publishers) thread.join();
  EXPECT_TRUE(WaitFor([&] { return feed_.subscriber_count() == 0; }));
}

}  // namespace
}  // namespace ia

namespace ia {
namespace {

TEST(ToStreamEvent, MapsEachFeedEventTypeAndTheDeletedKey) {
  auto tag_set = std::make_shared<imageautomation::v1::TagSet>();
  tag_set->set_revision("r1");
  auto convert = [](const FeedEvent& e) {
    return ToStreamEvent(e, &imageautomation::v1::TagSetEvent::mutable_tag_set,
                         &imageautomation::v1::TagSet::mutable_repository);
  };
  FeedEvent snapshot{FeedEvent::Type::kSnapshot, "ns/app", tag_set};
  auto out = convert(snapshot);
  EXPECT_EQ(out.type(), imageautomation::v1::TagSetEvent::SNAPSHOT);
  EXPECT_EQ(out.tag_set().revision(), "r1");

  FeedEvent updated{FeedEvent::Type::kUpdated, "ns/app", tag_set};
  EXPECT_EQ(convert(updated).type(), imageautomation::v1::TagSetEvent::UPDATED);

  FeedEvent end{FeedEvent::Type::kSnapshotEnd, "", nullptr};
  out = convert(end);
  EXPECT_EQ(out.type(), imageautomation::v1::TagSetEvent::SNAPSHOT_END);
  EXPECT_FALSE(out.has_tag_set());

  FeedEvent deleted{FeedEvent::Type::kDeleted, "ns/app", nullptr};
  out = convert(deleted);
  EXPECT_EQ(out.type(), imageautomation::v1::TagSetEvent::DELETED);
  EXPECT_EQ(out.tag_set().repository().namespace_(), "ns");
  EXPECT_EQ(out.tag_set().repository().name(), "app");
  EXPECT_TRUE(out.tag_set().revision().empty());
}

}  // namespace
}  // namespace ia
