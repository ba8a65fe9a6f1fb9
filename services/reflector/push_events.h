// Push notifications posted to the reflector's `POST /v1/registry-events`:
// what a registry (or CI) tells us was pushed, so that the tag reaches the
// tag set at once instead of at the next scan.
//
// Two bodies are accepted:
//  - Docker distribution's notification envelope
//    (application/vnd.docker.distribution.events.v1+json):
//      {"events": [{"action": "push",
//                   "target": {"repository": "team/app", "tag": "1.3.0", ...},
//                   "request": {"host": "registry.local:5000", ...}}, ...]}
//    Events other than pushes, and pushes without a tag (blob uploads,
//    pushes by digest), are ignored.
//  - A generic form: {"image": "registry.local:5000/team/app", "tag": "1.3.0"}
//    (or a JSON array of those).
//
// MatchPush says what a parsed push means for one ImageRepository.
// Pure functions; thread-compatible.
#ifndef SERVICES_REFLECTOR_PUSH_EVENTS_H_
#define SERVICES_REFLECTOR_PUSH_EVENTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "imageautomation/v1/objects.pb.h"

namespace ia::reflector {

struct PushedTag {
  // The registry host as the sender names it ("registry.local:5000"); empty
  // when the sender did not say (then only `path` is matched).
  std::string host;
  // The repository path on the registry: "team/app", "library/nginx".
  std::string path;
  std::string tag;
};

// The tag pushes in `body`. INVALID_ARGUMENT saying what is wrong (not JSON,
// neither form, a field of the wrong type, an invalid tag or image) and
// where ("events[2].target.tag"). When `envelope` is not null, it says
// whether the body was a registry's notification envelope.
absl::StatusOr<std::vector<PushedTag>> ParsePushEvents(
    absl::string_view body, bool* envelope = nullptr);

// What a push means for one repository.
enum class PushMatch {
  // Not its image, or the repository is suspended.
  kNone,
  // Its path on another host, which may be another registry: only a scan
  // can tell.
  kScanOnly,
  // Its image, but the tag is excluded (or the exclusion list is invalid).
  kExcluded,
  // Its image: the tag belongs in its set.
  kAddTag,
};

PushMatch MatchPush(const ::imageautomation::v1::ImageRepository& repository,
                    const PushedTag& push);

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_PUSH_EVENTS_H_
