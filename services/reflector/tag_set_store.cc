#include "services/reflector/tag_set_store.h"

#include <zlib.h>

#include "common/status_macros.h"

namespace ia::reflector {
namespace {

// The first bytes of the stored form: no serialized message starts with a
// NUL (field number 0 does not exist); 1 is zlib over the serialized set.
constexpr char kMagic = '\0';
constexpr char kZlibFormat = 1;
// Fast: a first scan writes every set once; a rescan of an unchanged set
// writes nothing.
constexpr int kLevel = Z_BEST_SPEED;

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

std::string EncodeTagSet(const ::imageautomation::v1::TagSet& tag_set) {
  const std::string plain = tag_set.SerializeAsString();
  std::string out;
  uLongf size = compressBound(plain.size());
  out.resize(2 + size);
  out[0] = kMagic;
  out[1] = kZlibFormat;
  if (compress2(reinterpret_cast<Bytef*>(&out[2]), &size,
                reinterpret_cast<const Bytef*>(plain.data()), plain.size(),
                kLevel) != Z_OK) {
    return plain;  // out of memory: the bare form is read back as well
  }
  out.resize(2 + size);
  out.shrink_to_fit();
  return out;
}

bool DecodeTagSet(absl::string_view bytes,
                  ::imageautomation::v1::TagSet* tag_set) {
  if (bytes.empty() || bytes[0] != kMagic) {
    return tag_set->ParseFromArray(bytes.data(),
                                   static_cast<int>(bytes.size()));
  }
  if (bytes.size() < 2 || bytes[1] != kZlibFormat) return false;
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return false;
  stream.next_in =
      reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + 2));
  stream.avail_in = static_cast<uInt>(bytes.size() - 2);
  std::string plain;
  plain.resize(bytes.size() * 4 + 64);
  int rc = Z_OK;
  size_t written = 0;
  while (rc == Z_OK) {
    if (written == plain.size()) plain.resize(plain.size() * 2);
    stream.next_out = reinterpret_cast<Bytef*>(&plain[written]);
    stream.avail_out = static_cast<uInt>(plain.size() - written);
    rc = inflate(&stream, Z_NO_FLUSH);
    written = plain.size() - stream.avail_out;
    if (rc == Z_BUF_ERROR && stream.avail_in > 0) rc = Z_OK;
  }
  inflateEnd(&stream);
  if (rc != Z_STREAM_END || stream.avail_in != 0) return false;
  return tag_set->ParseFromArray(plain.data(), static_cast<int>(written));
}

std::unique_ptr<TagSetStore> MakeStoreTagSetStore(Store* store) {
  return std::make_unique<StoreTagSetStore>(store);
}

}  // namespace ia::reflector
