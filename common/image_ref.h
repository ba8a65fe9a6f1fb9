// ImageReference: a container image reference parsed by the grammar of the
// distribution project (docker/distribution reference package), with
// docker's defaults made explicit:
//
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [ domain "/" ] path-component [ "/" path-component ]*
//   domain    := host [ ":" port ]      (the first component is a domain when
//                                        it holds "." or ":" or is "localhost")
//   path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//   digest    := algorithm ":" hex      (sha256 with 64 hex digits, ...)
//
// Without a domain the image is on Docker Hub ("docker.io"), whose one-part
// names live under "library/" (nginx -> docker.io/library/nginx);
// "index.docker.io" and "registry-1.docker.io" are Docker Hub too.
//
// Pure functions; thread-safe.
#ifndef COMMON_IMAGE_REF_H_
#define COMMON_IMAGE_REF_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ia {

struct ImageReference {
  // "docker.io", "ghcr.io", "localhost:5000", "[::1]:5000".
  std::string domain;
  // "library/nginx", "org/team/app".
  std::string path;
  std::string tag;     // empty when absent
  std::string digest;  // empty when absent

  // "docker.io/library/nginx" (the familiar name with defaults explicit).
  std::string Name() const { return domain + "/" + path; }
  // The name as Flux's status.canonicalImageName shows it: Docker Hub
  // images under "index.docker.io", others as Name().
  std::string CanonicalName() const;
  // The host to send registry API requests to: "registry-1.docker.io" for
  // Docker Hub, else the domain.
  std::string RegistryHost() const;
};

// Parses `text`. INVALID_ARGUMENT quoting the text and saying which part is
// wrong: `"ghcr.io/Org/app" is not a valid image name: "Org" must be lower
// case letters and digits separated by '.', '_', '__' or '-'`.
absl::StatusOr<ImageReference> ParseImageReference(absl::string_view text);

// Whether `tag` is a tag by the grammar above (the one place that says so:
// references, push notifications and digest lookups all ask here).
bool IsValidTag(absl::string_view tag);

}  // namespace ia

#endif  // COMMON_IMAGE_REF_H_
