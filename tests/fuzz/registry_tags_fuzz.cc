// Fuzz target: what a registry answers to a tag listing, through the real
// RegistryClient (services/reflector/registry_client.h) as a scan calls it:
// the tags/list JSON of every page, the Link header that pages it, the
// WWW-Authenticate challenge and the token answer, Retry-After on 429/503.
// The transport is a double that replays the input's replies in order (and
// fails the connection when they run out); the clock jumps instead of
// waiting.
//
// Input: replies separated by NUL, each "STATUS\nname: value\n...\n\nBODY"
// (a missing or bad status reads as 200). The first byte of the input picks
// the credentials (none / user:password) and a small max_tags.
//
// Properties: a successful listing holds at most max_tags tags and sent no
// more requests than the replies there were.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/image_ref.h"
#include "services/reflector/http_transport.h"
#include "services/reflector/registry_client.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/support/jump_clock.h"

namespace reflector = ia::reflector;

namespace {

reflector::HttpResponse ParseReply(absl::string_view text) {
  reflector::HttpResponse reply;
  reply.status = 200;
  const size_t end = text.find("\n\n");
  absl::string_view head = text.substr(0, end);
  if (end != absl::string_view::npos)
    reply.body = std::string(text.substr(end + 2));
  bool first = true;
  for (absl::string_view line : absl::StrSplit(head, '\n')) {
    if (first) {
      first = false;
      int status = 0;
      if (absl::SimpleAtoi(line, &status) && status >= 100 && status <= 599) {
        reply.status = status;
      }
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    reply.headers.emplace_back(
        absl::AsciiStrToLower(
            absl::StripAsciiWhitespace(line.substr(0, colon))),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return reply;
}

// Replays the replies; counts the requests.
class ReplayTransport : public reflector::HttpTransport {
 public:
  ReplayTransport(std::vector<reflector::HttpResponse> replies, int* sent)
      : replies_(std::move(replies)), sent_(sent) {}

  absl::StatusOr<reflector::HttpResponse> Send(
      const reflector::HttpRequest& request) override {
    if (next_ >= replies_.size()) {
      return reflector::HttpFailureStatus(reflector::HttpFailure::kConnection,
                                          "connection refused");
    }
    ++*sent_;
    return replies_[next_++];
  }

 private:
  std::vector<reflector::HttpResponse> replies_;
  size_t next_ = 0;
  int* sent_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ia::fuzz::FuzzInput input(data, size);
  const uint8_t flags = input.Byte();
  std::vector<reflector::HttpResponse> replies;
  while (!input.empty() && replies.size() < 64) {
    replies.push_back(ParseReply(input.Next()));
  }
  const size_t reply_count = replies.size();

  ia::testing::JumpClock clock;
  int sent = 0;
  std::unique_ptr<reflector::RegistryClient> client =
      reflector::MakeRegistryClient(
          {.requests_per_second = 0, .max_retries = 3, .clock = &clock},
          std::make_unique<ReplayTransport>(std::move(replies), &sent));
  ia::ImageReference image;
  image.domain = "registry.example";
  image.path = "org/app";
  reflector::RegistryOptions options;
  options.timeout = absl::Minutes(5);
  if (flags & 1)
    options.credentials = reflector::RegistryCredentials{"alice", "s3cret"};
  if (flags & 2) options.max_tags = 3;
  reflector::ScanStats stats;
  absl::StatusOr<std::vector<std::string>> tags =
      client->ListTags(image, options, &stats);
  IA_FUZZ_CHECK("no more requests than replies",
                static_cast<size_t>(sent) <= reply_count);
  if (tags.ok()) {
    IA_FUZZ_CHECK("at most max_tags tags",
                  static_cast<int64_t>(tags->size()) <= options.max_tags);
  }
  return 0;
}
