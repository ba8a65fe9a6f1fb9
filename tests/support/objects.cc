#include "tests/support/objects.h"

namespace ia::testing {

namespace v1 = ::imageautomation::v1;

v1::ImageRepository TestRepository(const std::string& name,
                                   const std::string& image,
                                   const std::string& interval) {
  v1::ImageRepository repository;
  repository.set_api_version("image.toolkit.fluxcd.io/v1");
  repository.set_kind("ImageRepository");
  repository.mutable_metadata()->set_name(name);
  repository.mutable_metadata()->set_namespace_("flux-system");
  repository.mutable_spec()->set_image(image);
  repository.mutable_spec()->set_interval(interval);
  return repository;
}

v1::ImagePolicy SemverPolicy(const std::string& name,
                             const std::string& repository,
                             const std::string& range) {
  v1::ImagePolicy policy;
  policy.set_api_version("image.toolkit.fluxcd.io/v1");
  policy.set_kind("ImagePolicy");
  policy.mutable_metadata()->set_name(name);
  policy.mutable_metadata()->set_namespace_("flux-system");
  policy.mutable_spec()->mutable_image_repository_ref()->set_name(repository);
  policy.mutable_spec()->mutable_policy()->mutable_semver()->set_range(range);
  return policy;
}

}  // namespace ia::testing
