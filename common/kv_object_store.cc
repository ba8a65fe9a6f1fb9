#include "common/kv_object_store.h"

#include <random>

#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/message_differencer.h"

namespace ia::object_store_internal {

std::string Serialize(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

std::string MergeForApply(const google::protobuf::Message* existing_spec,
                          const v1::ObjectMeta* existing_meta,
                          const google::protobuf::Message& new_spec,
                          v1::ObjectMeta* meta, absl::Time now) {
  if (existing_meta == nullptr) {
    meta->set_generation(1);
    // Kubernetes times (metav1.Time) have whole seconds.
    *meta->mutable_creation_timestamp() = ToProtoTime(WholeSeconds(now));
    meta->set_uid(NewUid());
    return "created";
  }
  const bool spec_changed = !google::protobuf::util::MessageDifferencer::Equals(
      *existing_spec, new_spec);
  meta->set_generation(existing_meta->generation() + (spec_changed ? 1 : 0));
  *meta->mutable_creation_timestamp() = existing_meta->creation_timestamp();
  meta->set_uid(existing_meta->uid());
  const bool meta_changed = !google::protobuf::util::MessageDifferencer::Equals(
      *existing_meta, *meta);
  return spec_changed || meta_changed ? "configured" : "unchanged";
}

std::string NewUid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t a = rng(), b = rng();
  // A version 4 UUID, as Kubernetes gives objects.
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32,
                         (a >> 16) & 0xffff, a & 0xfff,
                         ((b >> 48) & 0x3fff) | 0x8000, b & 0xffffffffffffULL);
}

absl::Status NotFound(absl::string_view kind, absl::string_view ns,
                      absl::string_view name) {
  return absl::NotFoundError(
      absl::StrCat(kind, " ", ns, "/", name, " not found"));
}

}  // namespace ia::object_store_internal
