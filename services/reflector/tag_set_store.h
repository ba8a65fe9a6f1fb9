// TagSetStore: where the reflector keeps each ImageRepository's v1::TagSet,
// in its stored form (EncodeTagSet), under its key "namespace/name". The
// reconciler is its only writer; the RPCs read it. Values stay encoded
// bytes so that a million stored tags are published to WatchTagSets
// without a second copy, and the WatchTagSets feed holds the same bytes.
//
// The stored form is compact: a NUL byte (which no serialized message
// starts with), a format byte, then the serialized v1::TagSet compressed
// with zlib (sorted names that share prefixes and first-seen times that
// repeat shrink ~4x). DecodeTagSet also reads a bare serialized set, the
// form of earlier versions, so an existing store needs no migration.
//
// The first adapter keeps them in the service's Store, bucket "TagSet".
// Implementations are thread-safe.
#ifndef SERVICES_REFLECTOR_TAG_SET_STORE_H_
#define SERVICES_REFLECTOR_TAG_SET_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/store.h"
#include "imageautomation/v1/reflector.pb.h"

namespace ia::reflector {

// Bucket of the store holding one v1::TagSet per repository key.
inline constexpr absl::string_view kTagSetBucket = "TagSet";

class TagSetStore {
 public:
  virtual ~TagSetStore() = default;

  // The serialized set stored under `key`; nullopt when there is none. An
  // error when the store cannot be read.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      const std::string& key) = 0;
  // Stores `serialized` under `key`, replacing any previous set.
  virtual absl::Status Put(const std::string& key,
                           absl::string_view serialized) = 0;
  // Removes the set under `key`, if any.
  virtual absl::Status Delete(const std::string& key) = 0;
  // Every stored set as (key, serialized), sorted by key.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  List() = 0;
};

// `tag_set` in the stored form (see the file comment).
std::string EncodeTagSet(const ::imageautomation::v1::TagSet& tag_set);
// Parses the stored form `bytes` (or a bare serialized set) into `tag_set`.
// Returns false when `bytes` is neither.
bool DecodeTagSet(absl::string_view bytes,
                  ::imageautomation::v1::TagSet* tag_set);

// The adapter over `store`'s bucket kTagSetBucket. `store` must outlive it.
std::unique_ptr<TagSetStore> MakeStoreTagSetStore(Store* store);

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_TAG_SET_STORE_H_
