// Flux objects as the tests apply them: in namespace flux-system, with the
// API version and kind set, and only what a test needs in the spec (it sets
// the rest on the returned object).
#ifndef TESTS_SUPPORT_OBJECTS_H_
#define TESTS_SUPPORT_OBJECTS_H_

#include <string>

#include "imageautomation/v1/objects.pb.h"

namespace ia::testing {

// ImageRepository flux-system/<name> scanning `image` every `interval`.
imageautomation::v1::ImageRepository TestRepository(
    const std::string& name, const std::string& image,
    const std::string& interval);

// ImagePolicy flux-system/<name> selecting by semver `range` from the
// ImageRepository flux-system/<repository>.
imageautomation::v1::ImagePolicy SemverPolicy(const std::string& name,
                                              const std::string& repository,
                                              const std::string& range);

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_OBJECTS_H_
