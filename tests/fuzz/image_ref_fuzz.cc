// Fuzz target: image references (common/image_ref.h), as an
// ImageRepository's spec.image and a push notification's image arrive.
// Input: the reference text.
//
// Properties: a parsed reference printed back (name[:tag][@digest]) parses
// to the same reference; its tag passes IsValidTag.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/image_ref.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  ia::IsValidTag(text);
  absl::StatusOr<ia::ImageReference> ref = ia::ParseImageReference(text);
  if (!ref.ok()) return 0;
  IA_FUZZ_CHECK("a parsed tag is a tag",
                ref->tag.empty() || ia::IsValidTag(ref->tag));
  ref->CanonicalName();
  ref->RegistryHost();
  std::string printed = ref->Name();
  if (!ref->tag.empty()) absl::StrAppend(&printed, ":", ref->tag);
  if (!ref->digest.empty()) absl::StrAppend(&printed, "@", ref->digest);
  absl::StatusOr<ia::ImageReference> again = ia::ParseImageReference(printed);
  IA_FUZZ_CHECK_EQ("a printed reference parses", again.status().ToString(),
                   std::string("OK"));
  IA_FUZZ_CHECK_EQ("the domain survives printing", again->domain, ref->domain);
  IA_FUZZ_CHECK_EQ("the path survives printing", again->path, ref->path);
  IA_FUZZ_CHECK_EQ("the tag survives printing", again->tag, ref->tag);
  IA_FUZZ_CHECK_EQ("the digest survives printing", again->digest, ref->digest);
  return 0;
}
