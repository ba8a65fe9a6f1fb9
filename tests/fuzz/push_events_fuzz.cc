// Fuzz target: push notification bodies (services/reflector/push_events.h)
// as `POST /v1/registry-events` receives them, in both forms (a registry's
// notification envelope, the generic {"image", "tag"}), then matched
// against repositories as the webhook does. Input: the body.
//
// Properties: every parsed push has a valid tag and a path; a push the
// parser returns matches a repository of exactly its host and path.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/image_ref.h"
#include "services/reflector/push_events.h"
#include "tests/fuzz/fuzz_input.h"

namespace reflector = ia::reflector;
namespace v1 = ::imageautomation::v1;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  bool envelope = false;
  absl::StatusOr<std::vector<reflector::PushedTag>> pushes =
      reflector::ParsePushEvents(body, &envelope);
  if (!pushes.ok()) return 0;

  v1::ImageRepository fixed;
  fixed.mutable_spec()->set_image("registry.local:5000/team/app");
  fixed.mutable_spec()->add_exclusion_list("^.*\\.sig$");
  v1::ImageRepository bad_exclusions;
  bad_exclusions.mutable_spec()->set_image("team/app");
  bad_exclusions.mutable_spec()->add_exclusion_list("(");

  for (const reflector::PushedTag& push : *pushes) {
    IA_FUZZ_CHECK("a pushed tag is a tag", ia::IsValidTag(push.tag));
    IA_FUZZ_CHECK("a push names a path", !push.path.empty());
    reflector::MatchPush(fixed, push);
    reflector::MatchPush(bad_exclusions, push);
    // The repository of exactly this image takes the tag (or excludes it).
    // Without a host any registry's path matches ("nginx" on a private
    // registry, not Docker Hub's library/nginx).
    const std::string image = absl::StrCat(
        push.host.empty() ? "registry.example" : push.host, "/", push.path);
    if (!ia::ParseImageReference(image).ok()) continue;
    v1::ImageRepository own;
    own.mutable_spec()->set_image(image);
    const reflector::PushMatch match = reflector::MatchPush(own, push);
    IA_FUZZ_CHECK("a push matches its own image",
                  match == reflector::PushMatch::kAddTag ||
                      match == reflector::PushMatch::kExcluded);
  }
  return 0;
}
