// TagSetSource: where the policy reconciler reads the latest tag set of each
// ImageRepository (TagSetWatcher in the service, a map in tests).
//
// Implementations are thread-safe.
#ifndef SERVICES_POLICY_TAG_SET_SOURCE_H_
#define SERVICES_POLICY_TAG_SET_SOURCE_H_

#include <memory>
#include <string>

#include "imageautomation/v1/reflector.pb.h"

namespace ia::policy {

class TagSetSource {
 public:
  virtual ~TagSetSource() = default;

  // The latest tag set of `repository_key` ("namespace/name"), or null when
  // none is known.
  virtual std::shared_ptr<const imageautomation::v1::TagSet> Get(
      const std::string& repository_key) const = 0;

  // True once a first snapshot has been received: from then on a missing
  // tag set means the reflector has none (and not that it is unknown yet).
  virtual bool synced() const = 0;
};

}  // namespace ia::policy

#endif  // SERVICES_POLICY_TAG_SET_SOURCE_H_
