#include "services/reflector/tag_set_store.h"

#include "common/status_macros.h"

namespace ia::reflector {
namespace {

class StoreTagSetStore final : public TagSetStore {
 public:
  explicit StoreTagSetStore(Store* store) : store_(store) {}

  absl::StatusOr<std::optional<std::string>> Get(
      const std::string& key) override {
    return store_->Get(kTagSetBucket, key);
  }
  absl::Status Put(const std::string& key,
                   absl::string_view serialized) override {
    return store_->Put(kTagSetBucket, key, serialized);
  }
  absl::Status Delete(const std::string& key) override {
    return store_->Delete(kTagSetBucket, key).status();
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> List()
      override {
    return store_->List(kTagSetBucket);
  }

 private:
  Store* const store_;
};

}  // namespace

std::unique_ptr<TagSetStore> MakeStoreTagSetStore(Store* store) {
  return std::make_unique<StoreTagSetStore>(store);
}

}  // namespace ia::reflector
