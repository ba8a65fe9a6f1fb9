#include "services/automation/commit_message.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ia::automation {
namespace {

constexpr absl::string_view kTemplateName = "commit message";
constexpr absl::string_view kChangeList = "[]update.Change";
constexpr absl::string_view kObjectChanges = "update.ObjectChanges";

TemplateValue Str(const std::string& s) { return TemplateValue::String(s); }

// update.ObjectIdentifier{yaml.ResourceIdentifier{yaml.TypeMeta,
// yaml.NameMeta}}, so that fields are promoted, %v prints as Go does and the
// map order is Go's (fields in declaration order).
TemplateValue ObjectIdentifier(const ObjectId& o) {
  TemplateValue type_meta = TemplateValue::Struct(
      "yaml.TypeMeta",
      {{"APIVersion", Str(o.api_version)}, {"Kind", Str(o.kind)}});
  TemplateValue name_meta = TemplateValue::Struct(
      "yaml.NameMeta", {{"Name", Str(o.name)}, {"Namespace", Str(o.ns)}});
  TemplateValue resource = TemplateValue::Struct(
      "yaml.ResourceIdentifier",
      {{"TypeMeta", std::move(type_meta), /*embedded=*/true},
       {"NameMeta", std::move(name_meta), /*embedded=*/true}});
  return TemplateValue::Struct(
      "update.ObjectIdentifier",
      {{"ResourceIdentifier", std::move(resource), /*embedded=*/true}});
}

TemplateValue ChangeValue(const Change& c) {
  return TemplateValue::Struct("update.Change", {{"OldValue", Str(c.old_value)},
                                                 {"NewValue", Str(c.new_value)},
                                                 {"Setter", Str(c.setter)}});
}

// An ObjectChanges map from object -> records, in object order.
TemplateValue ObjectChanges(
    const std::map<ObjectId, std::vector<const Change*>>& objects) {
  std::vector<std::pair<TemplateValue, TemplateValue>> entries;
  for (const auto& [key, records] : objects) {
    std::vector<TemplateValue> changes;
    for (const Change* r : records) changes.push_back(ChangeValue(*r));
    entries.emplace_back(
        ObjectIdentifier(records.front()->object),
        TemplateValue::List(std::move(changes), std::string(kChangeList)));
  }
  return TemplateValue::Map(std::move(entries),
                            TemplateValue::List({}, std::string(kChangeList)),
                            std::string(kObjectChanges));
}

// Parses `message_template` (kDefaultCommitMessage when empty).
absl::StatusOr<Template> ParseCommitMessageTemplate(
    absl::string_view message_template) {
  if (message_template.empty()) message_template = kDefaultCommitMessage;
  absl::StatusOr<Template> parsed =
      Template::Parse(kTemplateName, message_template);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unable to create commit message template from spec: ",
                     parsed.status().message()));
  }
  return parsed;
}

}  // namespace

absl::Status CheckCommitMessageTemplate(absl::string_view message_template) {
  return ParseCommitMessageTemplate(message_template).status();
}

TemplateValue BuildCommitTemplateData(const CommitMessageData& data) {
  // file -> object -> changes, and object -> changes across files.
  std::map<std::string, std::map<ObjectId, std::vector<const Change*>>> by_file;
  for (const Change& c : data.changes) {
    by_file[c.file_in_path][c.object].push_back(&c);
  }
  std::map<ObjectId, std::vector<const Change*>> by_object;
  std::vector<TemplateValue> all_changes;
  std::vector<std::tuple<std::string, std::string, std::string>> seen;
  std::vector<std::pair<TemplateValue, TemplateValue>> file_entries;
  for (const auto& [file, objects] : by_file) {
    file_entries.emplace_back(Str(file), ObjectChanges(objects));
    for (const auto& [key, records] : objects) {
      auto& merged = by_object[key];
      merged.insert(merged.end(), records.begin(), records.end());
      for (const Change* r : records) {
        // Result.Changes() drops duplicates (equal old, new and setter).
        auto id = std::make_tuple(r->old_value, r->new_value, r->setter);
        if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
        seen.push_back(std::move(id));
        all_changes.push_back(ChangeValue(*r));
      }
    }
  }
  TemplateValue file_changes = TemplateValue::Map(
      std::move(file_entries),
      TemplateValue::Map({}, TemplateValue(), std::string(kObjectChanges)),
      "map[string]update.ObjectChanges");
  TemplateValue result = TemplateValue::Struct(
      "update.Result",
      {{"FileChanges", std::move(file_changes)},
       {"Objects", ObjectChanges(by_object), false, /*method=*/true},
       {"Changes",
        TemplateValue::List(std::move(all_changes), std::string(kChangeList)),
        false, /*method=*/true}});
  TemplateValue automation = TemplateValue::Struct(
      "types.NamespacedName",
      {{"Namespace", Str(data.automation_namespace)},
       {"Name", Str(data.automation_name)}},
      absl::StrCat(data.automation_namespace, "/", data.automation_name));
  return TemplateValue::Struct(
      "source.TemplateData",
      {{"AutomationObject", std::move(automation)},
       {"Changed", std::move(result)},
       {"Values", TemplateValue::StringMap(data.values)}});
}

absl::StatusOr<std::string> RenderCommitMessage(
    absl::string_view message_template, const CommitMessageData& data,
    const TemplateOptions& options) {
  absl::StatusOr<Template> parsed =
      ParseCommitMessageTemplate(message_template);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<std::string> out =
      parsed->Execute(BuildCommitTemplateData(data), options);
  if (!out.ok()) {
    const absl::string_view msg = out.status().message();
    constexpr absl::string_view kSee =
        " See: https://fluxcd.io/flux/components/image/"
        "imageupdateautomations/#message-template";
    // Fields Flux removed in v1, recognised by the field, not the text.
    const std::optional<MissingField> missing = MissingFieldOf(out.status());
    if (missing.has_value() && missing->type == "source.TemplateData" &&
        missing->field == "Updated") {
      return absl::InvalidArgumentError(absl::StrCat(
          "the commit message template reads .Updated, which Flux no longer "
          "provides; read .Changed instead.",
          kSee));
    }
    if (missing.has_value() && missing->type == "update.Result" &&
        missing->field == "ImageResult") {
      return absl::InvalidArgumentError(absl::StrCat(
          "the commit message template reads .Changed.ImageResult, which "
          "Flux no longer provides; read .Changed.FileChanges or "
          ".Changed.Objects instead.",
          kSee));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("failed to run template from spec: ", msg));
  }
  return out;
}

}  // namespace ia::automation
