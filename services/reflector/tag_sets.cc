#include "services/reflector/tag_sets.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/objects.h"

namespace ia::reflector {
namespace {

// First-seen times are kept to the second: nanoseconds would cost ~6 bytes
// per tag in the store and the feed (6 MB per million tags) and minAge
// needs no more.
google::protobuf::Timestamp FirstSeenTime(absl::Time t) {
  return ToProtoTime(absl::FromUnixSeconds(absl::ToUnixSeconds(t)));
}

}  // namespace

absl::StatusOr<Exclusions> Exclusions::Compile(
    const std::vector<std::string>& patterns) {
  Exclusions exclusions;
  RE2::Options options;
  options.set_log_errors(false);
  for (size_t i = 0; i < patterns.size(); ++i) {
    auto re = std::make_shared<const RE2>(patterns[i], options);
    if (!re->ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "spec.exclusionList[", i, "]: invalid regular expression \"",
          patterns[i], "\": ", re->error()));
    }
    exclusions.patterns_.push_back(std::move(re));
  }
  return exclusions;
}

absl::StatusOr<Exclusions> Exclusions::Of(
    const v1::ImageRepository& repository) {
  return Compile(
      std::vector<std::string>(repository.spec().exclusion_list().begin(),
                               repository.spec().exclusion_list().end()));
}

bool Exclusions::Excludes(const std::string& tag) const {
  for (const auto& re : patterns_) {
    if (RE2::PartialMatch(tag, *re)) return true;
  }
  return false;
}

std::vector<std::string> ListedNames(std::vector<std::string> scanned,
                                     const Exclusions& exclusions) {
  if (!std::is_sorted(scanned.begin(), scanned.end())) {
    std::sort(scanned.begin(), scanned.end());
  }
  scanned.erase(std::unique(scanned.begin(), scanned.end()), scanned.end());
  if (exclusions.empty()) return scanned;
  scanned.erase(std::remove_if(scanned.begin(), scanned.end(),
                               [&](const std::string& name) {
                                 return exclusions.Excludes(name);
                               }),
                scanned.end());
  return scanned;
}

v1::TagSet MergeScan(const v1::TagSet* previous,
                     std::vector<std::string> scanned,
                     const Exclusions& exclusions, absl::Time keep_since,
                     absl::Time now) {
  return MergeListed(previous, ListedNames(std::move(scanned), exclusions),
                     keep_since, now);
}

v1::TagSet MergeListed(const v1::TagSet* previous,
                       std::vector<std::string> scanned, absl::Time keep_since,
                       absl::Time now) {
  v1::TagSet result;
  if (previous != nullptr) {
    *result.mutable_repository() = previous->repository();
    result.set_image(previous->image());
    result.set_canonical_image_name(previous->canonical_image_name());
  }
  result.mutable_tags()->Reserve(static_cast<int>(scanned.size()));
  const google::protobuf::Timestamp now_proto = FirstSeenTime(now);

  // Both lists are sorted: walk them together.
  static const v1::TagSet kEmpty;
  const auto& old_tags = previous != nullptr ? previous->tags() : kEmpty.tags();
  auto old_it = old_tags.begin();
  // First-seen times are whole seconds: a push in keep_since's second
  // counts as after it.
  const absl::Time since =
      absl::FromUnixSeconds(absl::ToUnixSeconds(keep_since));
  auto keep_pushed = [&](const v1::Tag& tag) {
    if (FromProtoTime(tag.first_seen()) >= since) *result.add_tags() = tag;
  };
  for (std::string& name : scanned) {
    while (old_it != old_tags.end() && old_it->name() < name)
      keep_pushed(*old_it++);
    v1::Tag* tag = result.add_tags();
    if (old_it != old_tags.end() && old_it->name() == name) {
      *tag->mutable_first_seen() = old_it->first_seen();
      ++old_it;
    } else {
      *tag->mutable_first_seen() = now_proto;
    }
    tag->set_name(std::move(name));
  }
  while (old_it != old_tags.end()) keep_pushed(*old_it++);
  SetRevision(&result);
  return result;
}

bool AddTag(v1::TagSet* tag_set, const std::string& tag, absl::Time now) {
  auto* tags = tag_set->mutable_tags();
  auto it = std::lower_bound(
      tags->begin(), tags->end(), tag,
      [](const v1::Tag& a, const std::string& b) { return a.name() < b; });
  if (it != tags->end() && it->name() == tag) return false;
  const int index = static_cast<int>(it - tags->begin());
  v1::Tag* added = tags->Add();
  added->set_name(tag);
  *added->mutable_first_seen() = FirstSeenTime(now);
  // Bubble the new last element into place.
  for (int i = tags->size() - 1; i > index; --i) tags->SwapElements(i, i - 1);
  return true;
}

namespace {

// FNV-1a over the names, each followed by a NUL (no tag holds one), in two
// lanes with different offsets for 128 bits.
class RevisionHash {
 public:
  void Add(absl::string_view name) {
    for (unsigned char c : name) Mix(c);
    Mix(0);
  }
  std::string Hex() const { return absl::StrFormat("%016x%016x", a_, b_); }

 private:
  void Mix(unsigned char c) {
    constexpr uint64_t kPrime = 0x100000001b3ULL;
    a_ = (a_ ^ c) * kPrime;
    b_ = (b_ ^ static_cast<unsigned char>(c + 0x5b)) * kPrime;
  }
  uint64_t a_ = 0xcbf29ce484222325ULL;
  uint64_t b_ = 0x6c62272e07bb0142ULL;
};

}  // namespace

void SetRevision(v1::TagSet* tag_set) {
  RevisionHash hash;
  for (const v1::Tag& tag : tag_set->tags()) hash.Add(tag.name());
  tag_set->set_revision(hash.Hex());
}

std::string RevisionOf(const std::vector<std::string>& sorted_names) {
  RevisionHash hash;
  for (const std::string& name : sorted_names) hash.Add(name);
  return hash.Hex();
}

std::vector<std::string> LatestTags(const v1::TagSet& tag_set, int n) {
  std::vector<std::string> latest;
  const int size = tag_set.tags_size();
  for (int i = size - 1; i >= 0 && static_cast<int>(latest.size()) < n; --i) {
    latest.push_back(tag_set.tags(i).name());
  }
  return latest;
}

std::vector<std::string> LatestTags(
    const std::vector<std::string>& sorted_names, int n) {
  std::vector<std::string> latest;
  for (auto it = sorted_names.rbegin();
       it != sorted_names.rend() && static_cast<int>(latest.size()) < n; ++it) {
    latest.push_back(*it);
  }
  return latest;
}

}  // namespace ia::reflector
