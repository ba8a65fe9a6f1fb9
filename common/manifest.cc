// Manifests in: YAML into the proto objects. Reading walks the YAML node
// tree and the message descriptors side by side, matching YAML keys to fields
// by their JSON names, so there is one reader for every field of the four
// kinds. A short table says what to do with what Kubernetes or Flux may put
// in a manifest that our messages do not hold (or that the manifest must not
// set). Writing is manifest_write.cc, files manifest_files.cc.
//
// Over 600 lines on purpose: the reader is one walk (the Reader class and the
// per-type conversions it calls) whose parts share its state; splitting it
// would spread one algorithm over files.
#include "common/manifest.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace ia {
namespace {

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF): what JSON, protobuf strings and Kubernetes allow.
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    int extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

namespace pb = ::google::protobuf;

// ---------------------------------------------------------------------------
// Kinds and versions.

struct KindInfo {
  absl::string_view kind;
  absl::string_view group;
  std::vector<absl::string_view> versions;
};

const std::vector<KindInfo>& Kinds() {
  static const auto* const kKinds = new std::vector<KindInfo>{
      {"ImageRepository", kImageApiGroup, {"v1", "v1beta2", "v1beta1"}},
      {"ImagePolicy", kImageApiGroup, {"v1", "v1beta2", "v1beta1"}},
      {"ImageUpdateAutomation", kImageApiGroup, {"v1", "v1beta2", "v1beta1"}},
      {"GitRepository", kSourceApiGroup, {"v1", "v1beta2"}},
  };
  return *kKinds;
}

const KindInfo* FindKind(absl::string_view kind) {
  for (const KindInfo& info : Kinds()) {
    if (info.kind == kind) return &info;
  }
  return nullptr;
}

std::string SupportedKinds() {
  return "supported: ImageRepository, ImagePolicy, ImageUpdateAutomation "
         "(image.toolkit.fluxcd.io/v1, v1beta2, v1beta1) and GitRepository "
         "(source.toolkit.fluxcd.io/v1, v1beta2)";
}

AnyObject NewObject(absl::string_view kind) {
  if (kind == "ImagePolicy") return v1::ImagePolicy();
  if (kind == "ImageUpdateAutomation") return v1::ImageUpdateAutomation();
  if (kind == "GitRepository") return v1::GitRepository();
  return v1::ImageRepository();
}

pb::Message* MessageOf(AnyObject* object) {
  return std::visit([](auto& o) -> pb::Message* { return &o; }, *object);
}

// ---------------------------------------------------------------------------
// Fields a manifest may hold that are not read as ordinary fields.

enum class Rule {
  // Written by the Kubernetes API server (resourceVersion, uid, ...): ignored
  // silently in a manifest; read back by ObjectFromYaml when we model it.
  kServerField,
  // A Flux field we do not implement: ignored with a warning.
  kUnsupported,
  // A field we store but do not act on: read, with a warning.
  kUnused,
};

struct FieldRule {
  absl::string_view kind;  // Empty: every kind.
  absl::string_view path;  // Dotted, without list indices.
  Rule rule;
  absl::string_view warning;  // For kUnsupported and kUnused.
};

constexpr FieldRule kFieldRules[] = {
    {"", "metadata.resourceVersion", Rule::kServerField, ""},
    {"", "metadata.uid", Rule::kServerField, ""},
    {"", "metadata.creationTimestamp", Rule::kServerField, ""},
    {"", "metadata.generation", Rule::kServerField, ""},
    {"", "metadata.managedFields", Rule::kServerField, ""},
    {"", "metadata.selfLink", Rule::kServerField, ""},
    {"", "metadata.finalizers", Rule::kServerField, ""},
    {"", "metadata.ownerReferences", Rule::kServerField, ""},
    {"", "metadata.deletionTimestamp", Rule::kServerField, ""},
    {"", "metadata.deletionGracePeriodSeconds", Rule::kServerField, ""},
    {"", "metadata.generateName", Rule::kUnsupported,
     "is not supported and is ignored (set metadata.name)"},
    {"ImageRepository", "spec.serviceAccountName", Rule::kUnused,
     "is stored but not used (there are no service accounts to read pull "
     "secrets from)"},
    {"ImageRepository", "spec.accessFrom", Rule::kUnused,
     "is stored but not used (cross-namespace references are always "
     "allowed)"},
    {"GitRepository", "spec.verify", Rule::kUnsupported,
     "is not supported and is ignored"},
    {"GitRepository", "spec.ignore", Rule::kUnsupported,
     "is not supported and is ignored"},
    {"GitRepository", "spec.include", Rule::kUnsupported,
     "is not supported and is ignored"},
    {"GitRepository", "spec.recurseSubmodules", Rule::kUnsupported,
     "is not supported and is ignored"},
    {"GitRepository", "spec.sparseCheckout", Rule::kUnsupported,
     "is not supported and is ignored"},
    {"GitRepository", "spec.serviceAccountName", Rule::kUnsupported,
     "is not supported and is ignored"},
    {"GitRepository", "spec.accessFrom", Rule::kUnsupported,
     "is not supported and is ignored"},
    {"GitRepository", "spec.gitImplementation", Rule::kUnsupported,
     "is not supported and is ignored (libgit2 is always used)"},
};

const FieldRule* FindRule(absl::string_view kind, absl::string_view path) {
  for (const FieldRule& rule : kFieldRules) {
    if ((rule.kind.empty() || rule.kind == kind) && rule.path == path) {
      return &rule;
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------------------
// Reading.

enum class Mode {
  kManifest,  // Apply: status and server fields ignored, warnings collected.
  kReadBack,  // Our own output: everything we model is read.
};

absl::string_view NodeKind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "null";
    default:
      return "nothing";
  }
}

int LineOfNode(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

// The scalar at `key` of a mapping, or "".
std::string ScalarAt(const YAML::Node& map, const char* key) {
  if (!map.IsDefined() || !map.IsMap()) return "";
  const YAML::Node value = map[key];
  if (!value.IsDefined() || !value.IsScalar()) return "";
  return value.Scalar();
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      const bool same =
          absl::ascii_tolower(static_cast<unsigned char>(a[i - 1])) ==
          absl::ascii_tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] =
          std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// Reads one object's YAML into its message.
class Reader {
 public:
  Reader(Mode mode, absl::string_view kind, std::string source,
         std::string object_name)
      : mode_(mode),
        kind_(kind),
        source_(std::move(source)),
        object_name_(std::move(object_name)) {}

  // Reads the mapping `root` into `msg`. INVALID_ARGUMENT on the first
  // problem of shape, naming source, line, object and field.
  absl::Status ReadObject(const YAML::Node& root, pb::Message* msg) {
    return ReadMessage(root, msg, "", "");
  }

  std::vector<std::string> TakeWarnings() { return std::move(warnings_); }

  // The line of the field at `path`, or of its closest parent read; 0 when
  // none is known.
  int LineOf(std::string path) const {
    while (!path.empty()) {
      const auto it = lines_.find(path);
      if (it != lines_.end()) return it->second;
      if (path.back() == ']') {
        path.erase(path.rfind('['));
      } else {
        const size_t dot = path.rfind('.');
        path.erase(dot == std::string::npos ? 0 : dot);
      }
    }
    return 0;
  }

 private:
  absl::Status Error(const YAML::Node& at, absl::string_view path,
                     absl::string_view problem) const {
    const int line = LineOfNode(at);
    std::string where;
    if (source_.empty()) {
      where = absl::StrCat("line ", line, ": ");
    } else {
      where = absl::StrCat(source_, ":", line, ": ");
    }
    return absl::InvalidArgumentError(
        absl::StrCat(where, object_name_, ": ", path, ": ", problem));
  }

  static std::string Join(absl::string_view path, absl::string_view name) {
    return path.empty() ? std::string(name) : absl::StrCat(path, ".", name);
  }

  std::string UnknownField(const pb::Descriptor* descriptor,
                           absl::string_view name) const {
    std::string best;
    size_t best_distance = 3;
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const std::string& candidate = descriptor->field(i)->json_name();
      const size_t d = EditDistance(name, candidate);
      if (d < best_distance && d < candidate.size()) {
        best_distance = d;
        best = candidate;
      }
    }
    if (best.empty()) return "unknown field";
    return absl::StrCat("unknown field (did you mean \"", best, "\"?)");
  }

  // `schema_path` is `path` without list indices or map keys: the key of
  // kFieldRules.
  absl::Status ReadMessage(const YAML::Node& node, pb::Message* msg,
                           const std::string& path,
                           const std::string& schema_path) {
    if (!node.IsMap()) {
      return Error(node, path.empty() ? "(object)" : path,
                   absl::StrCat("expected a mapping, got ", NodeKind(node)));
    }
    const pb::Descriptor* descriptor = msg->GetDescriptor();
    std::set<std::string> seen;
    // yaml-cpp's iterators yield pairs by value: copy the nodes (cheap
    // handles) rather than bind references into a temporary.
    for (const auto& pair : node) {
      const YAML::Node key = pair.first;
      const YAML::Node value = pair.second;
      if (!key.IsScalar()) {
        return Error(key, path.empty() ? "(object)" : path,
                     "field names must be strings");
      }
      const std::string name = key.Scalar();
      const std::string field_path = Join(path, name);
      const std::string field_schema_path = Join(schema_path, name);
      if (!seen.insert(name).second) {
        return Error(key, field_path, "duplicate field");
      }
      lines_[field_path] = LineOfNode(key);
      if (path.empty() && name == "status" && mode_ == Mode::kManifest) {
        continue;  // Written by the services, never applied.
      }
      const pb::FieldDescriptor* field = nullptr;
      for (int i = 0; i < descriptor->field_count(); ++i) {
        if (descriptor->field(i)->json_name() == name) {
          field = descriptor->field(i);
        }
      }
      if (const FieldRule* rule = FindRule(kind_, field_schema_path)) {
        switch (rule->rule) {
          case Rule::kServerField:
            if (mode_ == Mode::kManifest || field == nullptr) continue;
            break;
          case Rule::kUnsupported:
            if (mode_ == Mode::kManifest) {
              warnings_.push_back(absl::StrCat(field_path, " ", rule->warning));
            }
            continue;
          case Rule::kUnused:
            if (mode_ == Mode::kManifest) {
              warnings_.push_back(absl::StrCat(field_path, " ", rule->warning));
            }
            break;
        }
      }
      if (field == nullptr) {
        return Error(key, field_path, UnknownField(descriptor, name));
      }
      RETURN_IF_ERROR(
          ReadField(value, msg, field, field_path, field_schema_path));
    }
    return absl::OkStatus();
  }

  absl::Status ReadField(const YAML::Node& value, pb::Message* msg,
                         const pb::FieldDescriptor* field,
                         const std::string& path,
                         const std::string& schema_path) {
    // As in Kubernetes, null means "not set".
    if (value.IsNull()) return absl::OkStatus();
    const pb::Reflection* reflection = msg->GetReflection();
    if (field->is_map()) {
      if (!value.IsMap()) {
        return Error(value, path,
                     absl::StrCat("expected a mapping, got ", NodeKind(value)));
      }
      const pb::FieldDescriptor* key_field = field->message_type()->map_key();
      const pb::FieldDescriptor* value_field =
          field->message_type()->map_value();
      std::set<std::string> seen;
      for (const auto& pair : value) {
        const YAML::Node key_node = pair.first;
        const YAML::Node value_node = pair.second;
        if (!key_node.IsScalar()) {
          return Error(key_node, path, "keys must be strings");
        }
        const std::string key = key_node.Scalar();
        if (!IsValidUtf8(key)) {
          return Error(key_node, path, "a key is not valid UTF-8");
        }
        const std::string entry_path = absl::StrCat(path, ".", key);
        if (!seen.insert(key).second) {
          return Error(key_node, entry_path, "duplicate key");
        }
        lines_[entry_path] = LineOfNode(key_node);
        pb::Message* entry = reflection->AddMessage(msg, field);
        entry->GetReflection()->SetString(entry, key_field, key);
        if (value_field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
          if (value_node.IsNull()) continue;
          RETURN_IF_ERROR(ReadMessage(
              value_node,
              entry->GetReflection()->MutableMessage(entry, value_field),
              entry_path, absl::StrCat(schema_path, ".*")));
        } else {
          if (value_node.IsNull()) continue;  // An empty value.
          RETURN_IF_ERROR(
              ReadScalar(value_node, entry, value_field, entry_path));
        }
      }
      return absl::OkStatus();
    }
    if (field->is_repeated()) {
      if (!value.IsSequence()) {
        return Error(value, path,
                     absl::StrCat("expected a list, got ", NodeKind(value)));
      }
      for (size_t i = 0; i < value.size(); ++i) {
        const YAML::Node item = value[i];
        const std::string item_path = absl::StrCat(path, "[", i, "]");
        lines_[item_path] = LineOfNode(item);
        if (item.IsNull()) {
          return Error(item, item_path, "must not be null");
        }
        if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
            field->message_type() != pb::Timestamp::descriptor()) {
          RETURN_IF_ERROR(ReadMessage(item, reflection->AddMessage(msg, field),
                                      item_path, schema_path));
        } else {
          RETURN_IF_ERROR(ReadScalar(item, msg, field, item_path));
        }
      }
      return absl::OkStatus();
    }
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
        field->message_type() != pb::Timestamp::descriptor()) {
      return ReadMessage(value, reflection->MutableMessage(msg, field), path,
                         schema_path);
    }
    return ReadScalar(value, msg, field, path);
  }

  // Reads a scalar into `field` of `msg` (set, or added when repeated).
  absl::Status ReadScalar(const YAML::Node& value, pb::Message* msg,
                          const pb::FieldDescriptor* field,
                          const std::string& path) {
    const pb::Reflection* reflection = msg->GetReflection();
    const bool repeated = field->is_repeated();
    if (!value.IsScalar()) {
      absl::string_view expected = "a string";
      switch (field->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_BOOL:
          expected = "true or false";
          break;
        case pb::FieldDescriptor::CPPTYPE_STRING:
        case pb::FieldDescriptor::CPPTYPE_MESSAGE:
          break;
        default:
          expected = "a number";
      }
      return Error(
          value, path,
          absl::StrCat("expected ", expected, ", got ", NodeKind(value)));
    }
    const std::string text = value.Scalar();
    // Plain (unquoted) scalars have the tag "?"; quoted ones "!".
    const bool plain = value.Tag() == "?";
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        if (!IsValidUtf8(text)) return Error(value, path, "not valid UTF-8");
        // Whatever YAML would type the scalar as (1.2, true), a string field
        // takes its text.
        if (repeated) {
          reflection->AddString(msg, field, text);
        } else {
          reflection->SetString(msg, field, text);
        }
        return absl::OkStatus();
      case pb::FieldDescriptor::CPPTYPE_BOOL: {
        bool b;
        if (plain && (text == "true" || text == "True" || text == "TRUE")) {
          b = true;
        } else if (plain &&
                   (text == "false" || text == "False" || text == "FALSE")) {
          b = false;
        } else {
          return Error(
              value, path,
              absl::StrCat("expected true or false, got ",
                           plain ? "" : "the string ", "\"", text, "\""));
        }
        if (repeated) {
          reflection->AddBool(msg, field, b);
        } else {
          reflection->SetBool(msg, field, b);
        }
        return absl::OkStatus();
      }
      case pb::FieldDescriptor::CPPTYPE_INT64:
      case pb::FieldDescriptor::CPPTYPE_INT32: {
        int64_t n;
        if (!absl::SimpleAtoi(text, &n) ||
            (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT32 &&
             (n < INT32_MIN || n > INT32_MAX))) {
          return Error(value, path,
                       absl::StrCat("expected an integer, got \"", text, "\""));
        }
        if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT32) {
          if (repeated) {
            reflection->AddInt32(msg, field, static_cast<int32_t>(n));
          } else {
            reflection->SetInt32(msg, field, static_cast<int32_t>(n));
          }
        } else if (repeated) {
          reflection->AddInt64(msg, field, n);
        } else {
          reflection->SetInt64(msg, field, n);
        }
        return absl::OkStatus();
      }
      case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
        // google.protobuf.Timestamp: an RFC 3339 time.
        pb::Timestamp ts;
        if (!pb::util::TimeUtil::FromString(text, &ts)) {
          return Error(value, path,
                       absl::StrCat("expected an RFC 3339 time (e.g. "
                                    "\"2024-05-01T12:00:00Z\"), got \"",
                                    text, "\""));
        }
        pb::Message* target = repeated ? reflection->AddMessage(msg, field)
                                       : reflection->MutableMessage(msg, field);
        target->CopyFrom(ts);
        return absl::OkStatus();
      }
      default:
        return Error(value, path, "field type not supported in manifests");
    }
  }

  const Mode mode_;
  const std::string kind_;
  const std::string source_;
  const std::string object_name_;
  std::vector<std::string> warnings_;
  std::map<std::string, int> lines_;
};

// "ImageRepository flux-system/app" from the raw YAML (before reading), or
// just the kind when there is no name.
std::string ObjectNameOf(absl::string_view kind, const YAML::Node& root) {
  const YAML::Node metadata = root.IsMap() ? root["metadata"] : YAML::Node();
  const std::string name = ScalarAt(metadata, "name");
  if (name.empty()) return std::string(kind);
  v1::ObjectMeta meta;
  meta.set_name(name);
  const std::string ns = ScalarAt(metadata, "namespace");
  meta.set_namespace_(ns.empty() ? std::string(kDefaultNamespace) : ns);
  return DisplayName(kind, meta);
}

// Parses one document (or one item of a List) into `set`.
void ParseDocument(const YAML::Node& doc, absl::string_view source_name,
                   const ObjectCheck& check, ManifestSet* set) {
  const int line = LineOfNode(doc);
  const std::string source = absl::StrCat(source_name, ":", line);
  auto fail = [&](absl::string_view message) {
    set->errors.push_back(
        absl::InvalidArgumentError(absl::StrCat(source, ": ", message)));
  };
  if (!doc.IsMap()) {
    fail(
        absl::StrCat("expected an object (a mapping with apiVersion and "
                     "kind), got ",
                     NodeKind(doc)));
    return;
  }
  const std::string kind = ScalarAt(doc, "kind");
  const std::string api_version = ScalarAt(doc, "apiVersion");
  if (kind.empty()) {
    fail(absl::StrCat("missing kind (", SupportedKinds(), ")"));
    return;
  }
  if (kind == "List") {
    // What `kubectl get -o yaml` prints for several objects.
    const YAML::Node items = doc["items"];
    if (!items.IsDefined() || items.IsNull()) return;
    if (!items.IsSequence()) {
      fail(absl::StrCat("List: items: expected a list, got ", NodeKind(items)));
      return;
    }
    for (size_t i = 0; i < items.size(); ++i) {
      ParseDocument(items[i], source_name, check, set);
    }
    return;
  }
  const KindInfo* info = FindKind(kind);
  if (info == nullptr) {
    fail(absl::StrCat("unsupported kind \"", kind, "\"",
                      api_version.empty()
                          ? ""
                          : absl::StrCat(" (apiVersion ", api_version, ")"),
                      "; ", SupportedKinds()));
    return;
  }
  if (api_version.empty()) {
    fail(absl::StrCat(kind, ": missing apiVersion (use ", info->group, "/v1)"));
    return;
  }
  bool version_ok = false;
  for (absl::string_view v : info->versions) {
    version_ok = version_ok || api_version == absl::StrCat(info->group, "/", v);
  }
  if (!version_ok) {
    fail(absl::StrCat(kind, ": unsupported apiVersion \"", api_version,
                      "\" (use ", info->group, "/",
                      absl::StrJoin(info->versions, ", "), "); ",
                      SupportedKinds()));
    return;
  }

  AnyObject object = NewObject(kind);
  Reader reader(Mode::kManifest, kind, std::string(source_name),
                ObjectNameOf(kind, doc));
  absl::Status status = reader.ReadObject(doc, MessageOf(&object));
  if (!status.ok()) {
    set->errors.push_back(std::move(status));
    return;
  }
  status = ValidateAndDefault(&object);
  if (status.ok() && check) {
    status = check(object);
    if (!status.ok()) {
      // The check names the field; the object is named here, as Apply does.
      absl::Status named = absl::InvalidArgumentError(
          absl::StrCat(ObjectNameOf(kind, doc), ": ", status.message()));
      named.SetPayload(kFieldPathPayload, absl::Cord(FieldPathOf(status)));
      status = std::move(named);
    }
  }
  if (!status.ok()) {
    const int field_line = reader.LineOf(FieldPathOf(status));
    set->errors.push_back(absl::InvalidArgumentError(
        absl::StrCat(source_name, ":", field_line > 0 ? field_line : line, ": ",
                     status.message())));
    return;
  }
  set->objects.push_back(
      ManifestObject{std::move(object), source, reader.TakeWarnings()});
}

// Records where each document starts; ignores the rest.
class DocumentStarts : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { last = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  YAML::Mark last = YAML::Mark::null_mark();
};

// Loads every document of `yaml`, turning yaml-cpp's exceptions into a
// status that names the position.
absl::StatusOr<std::vector<YAML::Node>> LoadDocuments(
    absl::string_view yaml, absl::string_view source_name) {
  try {
    // yaml-cpp 0.7 never gets past a stray token after a flow collection
    // ("{},"): LoadAll would collect empty documents until memory runs out.
    // A first pass over the events stops where a document starts where the
    // previous one did.
    std::istringstream stream{std::string(yaml)};
    YAML::Parser parser(stream);
    DocumentStarts starts;
    int previous = -1;
    while (parser.HandleNextDocument(starts)) {
      if (starts.last.pos <= previous) {
        throw YAML::ParserException(
            starts.last, "unexpected content after the end of a document");
      }
      previous = starts.last.pos;
    }
    return YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    const std::string where =
        source_name.empty() ? absl::StrCat("line ", e.mark.line + 1)
                            : absl::StrCat(source_name, ":", e.mark.line + 1);
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": invalid YAML: ", e.msg));
  }
}

}  // namespace

ManifestSet ParseManifests(absl::string_view yaml,
                           absl::string_view source_name,
                           const ObjectCheck& check) {
  ManifestSet set;
  absl::StatusOr<std::vector<YAML::Node>> docs =
      LoadDocuments(yaml, source_name);
  if (!docs.ok()) {
    set.errors.push_back(docs.status());
    return set;
  }
  for (const YAML::Node& doc : *docs) {
    if (!doc.IsDefined() || doc.IsNull()) continue;
    try {
      ParseDocument(doc, source_name, check, &set);
    } catch (const YAML::Exception& e) {
      // Not expected: reading never throws on a loaded tree. Reported, not
      // thrown.
      set.errors.push_back(absl::InvalidArgumentError(
          absl::StrCat(source_name, ":", e.mark.line + 1, ": ", e.msg)));
    }
  }
  return set;
}

absl::StatusOr<AnyObject> ObjectFromYaml(absl::string_view yaml) {
  ASSIGN_OR_RETURN(std::vector<YAML::Node> docs, LoadDocuments(yaml, ""));
  std::vector<YAML::Node> objects;
  for (const YAML::Node& doc : docs) {
    if (doc.IsDefined() && !doc.IsNull()) objects.push_back(doc);
  }
  if (objects.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected exactly one object, got ", objects.size()));
  }
  const YAML::Node& root = objects[0];
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat("line ", LineOfNode(root),
                                                   ": expected an object, got ",
                                                   NodeKind(root)));
  }
  const std::string kind = ScalarAt(root, "kind");
  if (FindKind(kind) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", LineOfNode(root), ": ",
        kind.empty() ? std::string("missing kind")
                     : absl::StrCat("unsupported kind \"", kind, "\""),
        "; ", SupportedKinds()));
  }
  AnyObject object = NewObject(kind);
  Reader reader(Mode::kReadBack, kind, "", ObjectNameOf(kind, root));
  try {
    RETURN_IF_ERROR(reader.ReadObject(root, MessageOf(&object)));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", e.mark.line + 1, ": ", e.msg));
  }
  return object;
}

}  // namespace ia
