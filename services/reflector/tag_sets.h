// Tag sets: what a scan or a push notification does to the stored
// v1::TagSet of one ImageRepository. Pure functions over values; the
// reconciler (reflector_reconciler.h) reads and writes the store.
//
// A set is kept sorted in ascending byte order, whatever order the registry
// listed the tags in (across pages) and whenever a push added one. This is
// Flux's order reversed: image-reflector-controller v1.2 sorts the scanned
// tags in descending byte order (for latestTags, in place) and stores that
// list, and its policies break ties by it; the policy service reads our set
// from the end (services/policy/decide.cc). So the order, like the
// revision, is a function of the set of names: a registry that lists the
// same tags in another order changes nothing, and a selection never flaps
// between equal tags.
#ifndef SERVICES_REFLECTOR_TAG_SETS_H_
#define SERVICES_REFLECTOR_TAG_SETS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "imageautomation/v1/objects.pb.h"
#include "imageautomation/v1/reflector.pb.h"
#include "re2/re2.h"

namespace ia::reflector {

namespace v1 = ::imageautomation::v1;

// The compiled spec.exclusionList of one repository.
class Exclusions {
 public:
  // INVALID_ARGUMENT naming `spec.exclusionList[i]` for a bad pattern.
  static absl::StatusOr<Exclusions> Compile(
      const std::vector<std::string>& patterns);
  // Compile of `repository`'s spec.exclusionList.
  static absl::StatusOr<Exclusions> Of(const v1::ImageRepository& repository);
  // True when any pattern matches anywhere in `tag` (unanchored, as Flux).
  bool Excludes(const std::string& tag) const;
  // True when there is no pattern.
  bool empty() const { return patterns_.empty(); }

 private:
  std::vector<std::shared_ptr<const RE2>> patterns_;
};

// The stored set after a scan that returned `scanned` (in any order, maybe
// with duplicates): the tags that no exclusion matches, sorted, each with
// the first_seen it had in `previous` (or `now`, to the second, when new).
// `previous` is the set stored when the scan ends (re-read then, so that
// pushes applied during the scan are in it); it may be null. A tag that is
// in `previous` but not in `scanned` is dropped, except one first seen at
// or after `keep_since` (to the second): the caller passes the earlier of
// the scan's start and the received time of the earliest push not yet
// confirmed, so that a pushed tag stays until a scan due after it has
// looked (the registry's listing may lag the push; dropping it would flap).
v1::TagSet MergeScan(const v1::TagSet* previous,
                     std::vector<std::string> scanned,
                     const Exclusions& exclusions, absl::Time keep_since,
                     absl::Time now);

// The names of a scan's listing `scanned` as a merge keeps them: sorted,
// without duplicates, none that `exclusions` excludes.
std::vector<std::string> ListedNames(std::vector<std::string> scanned,
                                     const Exclusions& exclusions);

// MergeScan over `listed`, which ListedNames made.
v1::TagSet MergeListed(const v1::TagSet* previous,
                       std::vector<std::string> listed, absl::Time keep_since,
                       absl::Time now);

// The revision SetRevision gives a set whose names are `sorted_names`: when
// it equals the stored set's revision, merging that listing changes
// nothing (compare before merge).
std::string RevisionOf(const std::vector<std::string>& sorted_names);

// Adds `tag` (first seen `now`, to the second: for a push, when it was
// received) to `tag_set`, keeping it sorted, unless it is there already.
// Returns whether the set changed. Does not update the revision: call
// SetRevision after.
bool AddTag(v1::TagSet* tag_set, const std::string& tag, absl::Time now);

// Sets tag_set->revision from its tag names: a stable hex hash that changes
// exactly when the set of names does.
void SetRevision(v1::TagSet* tag_set);

// The first `n` tag names in descending byte order (Flux's latestTags).
std::vector<std::string> LatestTags(const v1::TagSet& tag_set, int n = 10);
// The same of `sorted_names` (ascending, as a set keeps them).
std::vector<std::string> LatestTags(
    const std::vector<std::string>& sorted_names, int n = 10);

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_TAG_SETS_H_
