#include "services/reflector/push_events.h"

#include "absl/strings/str_cat.h"
#include "common/image_ref.h"
#include "nlohmann/json.hpp"
#include "services/reflector/tag_sets.h"

namespace ia::reflector {
namespace {

using Json = nlohmann::json;

// The string at `object[key]`; "" when absent or null.
absl::StatusOr<std::string> StringField(const Json& object, const char* key,
                                        const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".", key, ": must be a string"));
  }
  return it->get<std::string>();
}

absl::Status CheckTag(const std::string& tag, const std::string& where) {
  if (IsValidTag(tag)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": \"", tag.substr(0, 140),
                   "\" is not a valid tag (letters, digits, '_', '.' and '-', "
                   "at most 128)"));
}

absl::Status ParseEnvelope(const Json& events, std::vector<PushedTag>* out) {
  if (!events.is_array()) {
    return absl::InvalidArgumentError("events: must be an array");
  }
  for (size_t i = 0; i < events.size(); ++i) {
    const std::string where = absl::StrCat("events[", i, "]");
    const Json& event = events[i];
    if (!event.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": must be an object"));
    }
    auto action = StringField(event, "action", where);
    if (!action.ok()) return action.status();
    if (*action != "push") continue;
    auto target = event.find("target");
    if (target == event.end() || !target->is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".target: a push event needs a target object"));
    }
    const std::string target_where = where + ".target";
    auto tag = StringField(*target, "tag", target_where);
    if (!tag.ok()) return tag.status();
    if (tag->empty()) continue;  // a blob, or a manifest pushed by digest
    auto repository = StringField(*target, "repository", target_where);
    if (!repository.ok()) return repository.status();
    if (repository->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(target_where, ".repository: required for a push"));
    }
    absl::Status tag_ok = CheckTag(*tag, target_where + ".tag");
    if (!tag_ok.ok()) return tag_ok;
    std::string host;
    auto request = event.find("request");
    if (request != event.end() && request->is_object()) {
      auto h = StringField(*request, "host", where + ".request");
      if (!h.ok()) return h.status();
      host = *h;
    }
    // Validate the path with the reference grammar; a host makes the
    // first component unambiguous.
    auto ref = ParseImageReference(host.empty() ? *repository
                                                : host + "/" + *repository);
    if (!ref.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(target_where, ".repository: ", ref.status().message()));
    }
    // Without a host, a first component that reads as a registry host
    // ("Team/app", "registry.local/app") left the path it names.
    if (host.empty() && ref->path != *repository &&
        ref->path != absl::StrCat("library/", *repository)) {
      return absl::InvalidArgumentError(
          absl::StrCat(target_where, ".repository: \"", *repository,
                       "\" is not a repository path"));
    }
    out->push_back(PushedTag{host.empty() ? "" : ref->domain,
                             host.empty() ? *repository : ref->path, *tag});
  }
  return absl::OkStatus();
}

absl::Status ParseGeneric(const Json& item, const std::string& where,
                          std::vector<PushedTag>* out) {
  if (!item.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where.empty() ? "body" : where,
        ": expected {\"image\": \"host/repository\", \"tag\": \"...\"} "
        "or a registry notification envelope {\"events\": [...]}"));
  }
  const std::string prefix = where.empty() ? "" : where + ".";
  auto image = StringField(item, "image", where.empty() ? "body" : where);
  if (!image.ok()) return image.status();
  if (image->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, "image: required (e.g. \"registry.local:5000/team/app\")"));
  }
  auto ref = ParseImageReference(*image);
  if (!ref.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "image: ", ref.status().message()));
  }
  auto tag = StringField(item, "tag", where.empty() ? "body" : where);
  if (!tag.ok()) return tag.status();
  std::string value = tag->empty() ? ref->tag : *tag;
  if (value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "tag: required (or a tag in image)"));
  }
  absl::Status tag_ok = CheckTag(value, prefix + "tag");
  if (!tag_ok.ok()) return tag_ok;
  out->push_back(PushedTag{ref->domain, ref->path, std::move(value)});
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<PushedTag>> ParsePushEvents(absl::string_view body,
                                                       bool* envelope) {
  Json json = Json::parse(body.begin(), body.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return absl::InvalidArgumentError("body: not valid JSON");
  }
  std::vector<PushedTag> tags;
  const bool is_envelope = json.is_object() && json.contains("events");
  if (envelope != nullptr) *envelope = is_envelope;
  if (is_envelope) {
    absl::Status status = ParseEnvelope(json["events"], &tags);
    if (!status.ok()) return status;
  } else if (json.is_array()) {
    for (size_t i = 0; i < json.size(); ++i) {
      absl::Status status =
          ParseGeneric(json[i], absl::StrCat("[", i, "]"), &tags);
      if (!status.ok()) return status;
    }
  } else {
    absl::Status status = ParseGeneric(json, "", &tags);
    if (!status.ok()) return status;
  }
  return tags;
}

PushMatch MatchPush(const v1::ImageRepository& repository,
                    const PushedTag& push) {
  if (repository.spec().suspend()) return PushMatch::kNone;
  auto image = ParseImageReference(repository.spec().image());
  if (!image.ok() || image->path != push.path) return PushMatch::kNone;
  if (!push.host.empty() && push.host != image->domain &&
      push.host != image->RegistryHost()) {
    return PushMatch::kScanOnly;
  }
  auto exclusions = Exclusions::Of(repository);
  if (!exclusions.ok() || exclusions->Excludes(push.tag)) {
    return PushMatch::kExcluded;
  }
  return PushMatch::kAddTag;
}

}  // namespace ia::reflector
