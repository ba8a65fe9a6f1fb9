// Manifests out: the objects as Flux-shaped JSON and YAML. Walks the
// messages by reflection into an ordered JSON value (fields in descriptor
// order, which is apiVersion, kind, metadata, spec, status; map keys sorted),
// printed either as JSON or, through yaml-cpp's emitter, as YAML.
#include <string>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/manifest.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"
#include "yaml-cpp/yaml.h"

namespace ia {
namespace {

namespace pb = ::google::protobuf;
using Json = nlohmann::ordered_json;

const pb::Message& MessageOf(const AnyObject& object) {
  return std::visit([](const auto& o) -> const pb::Message& { return o; },
                    object);
}

// ---------------------------------------------------------------------------
// Writing.

// Fields printed even when zero, because Flux prints them (no omitempty).
bool AlwaysPrinted(const pb::FieldDescriptor* field) {
  return field->full_name() == "imageautomation.v1.ScanResult.tag_count";
}

Json ScalarToJson(const pb::Message& msg, const pb::FieldDescriptor* field,
                  int index);

Json MessageToJson(const pb::Message& msg) {
  if (msg.GetDescriptor() == pb::Timestamp::descriptor()) {
    return pb::util::TimeUtil::ToString(static_cast<const pb::Timestamp&>(msg));
  }
  const pb::Descriptor* descriptor = msg.GetDescriptor();
  const pb::Reflection* reflection = msg.GetReflection();
  Json out = Json::object();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const pb::FieldDescriptor* field = descriptor->field(i);
    if (field->is_map()) {
      const int size = reflection->FieldSize(msg, field);
      if (size == 0) continue;
      const pb::FieldDescriptor* key_field = field->message_type()->map_key();
      const pb::FieldDescriptor* value_field =
          field->message_type()->map_value();
      std::map<std::string, Json> sorted;
      for (int j = 0; j < size; ++j) {
        const pb::Message& entry =
            reflection->GetRepeatedMessage(msg, field, j);
        sorted[entry.GetReflection()->GetString(entry, key_field)] =
            ScalarToJson(entry, value_field, -1);
      }
      Json map = Json::object();
      for (auto& [key, value] : sorted) map[key] = std::move(value);
      out[field->json_name()] = std::move(map);
    } else if (field->is_repeated()) {
      const int size = reflection->FieldSize(msg, field);
      if (size == 0) continue;
      Json list = Json::array();
      for (int j = 0; j < size; ++j)
        list.push_back(ScalarToJson(msg, field, j));
      out[field->json_name()] = std::move(list);
    } else if (reflection->HasField(msg, field) || AlwaysPrinted(field)) {
      out[field->json_name()] = ScalarToJson(msg, field, -1);
    }
  }
  return out;
}

// The value of `field` (element `index` when repeated, else -1) as JSON.
Json ScalarToJson(const pb::Message& msg, const pb::FieldDescriptor* field,
                  int index) {
  const pb::Reflection* r = msg.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      return rep ? r->GetRepeatedString(msg, field, index)
                 : r->GetString(msg, field);
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r->GetRepeatedBool(msg, field, index)
                 : r->GetBool(msg, field);
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return rep ? r->GetRepeatedInt64(msg, field, index)
                 : r->GetInt64(msg, field);
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return rep ? r->GetRepeatedInt32(msg, field, index)
                 : r->GetInt32(msg, field);
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return rep ? r->GetRepeatedUInt64(msg, field, index)
                 : r->GetUInt64(msg, field);
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return rep ? r->GetRepeatedUInt32(msg, field, index)
                 : r->GetUInt32(msg, field);
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return rep ? r->GetRepeatedDouble(msg, field, index)
                 : r->GetDouble(msg, field);
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return rep ? r->GetRepeatedFloat(msg, field, index)
                 : r->GetFloat(msg, field);
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return rep ? r->GetRepeatedEnum(msg, field, index)->name()
                 : r->GetEnum(msg, field)->name();
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      return MessageToJson(rep ? r->GetRepeatedMessage(msg, field, index)
                               : r->GetMessage(msg, field));
  }
  return nullptr;
}

// True when `s`, written as a plain YAML scalar, would be read as something
// other than a string by YAML 1.1 or 1.2 readers (kubectl, Helm, PyYAML):
// null, a bool, a number, a timestamp.
bool ReadsAsNonString(absl::string_view s) {
  static const RE2* const kNonString = new RE2(
      "~|null|Null|NULL"
      "|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE"
      "|on|On|ON|off|Off|OFF"
      "|[-+]?(\\.[0-9_]+|[0-9][0-9_]*(\\.[0-9_]*)?)([eE][-+]?[0-9]+)?"
      "|[-+]?0x[0-9a-fA-F_]+|[-+]?0o?[0-7_]+|[-+]?0b[01_]+"
      "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\\.[0-9_]*)?"
      "|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)"
      "|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?");
  return s.empty() ||
         RE2::FullMatch(re2::StringPiece(s.data(), s.size()), *kNonString);
}

// True when `s` can be written as a literal block scalar ("|") and read back
// unchanged: it ends with exactly one line break, its first line is not
// indented, and no line has trailing blanks or control characters.
bool FitsLiteralBlock(absl::string_view s) {
  if (s.size() < 2 || s.back() != '\n' || s[s.size() - 2] == '\n') {
    return false;
  }
  if (s.front() == ' ' || s.front() == '\t' || s.front() == '\n') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') {
      if (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t')) return false;
      continue;
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

bool HasControlCharacters(absl::string_view s) {
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return true;
  }
  return false;
}

// Writes a string scalar so that any YAML reader reads back the same string.
// `key` strings are never written as block scalars.
void EmitString(YAML::Emitter& out, const std::string& s, bool key = false) {
  if (HasControlCharacters(s)) {
    if (!key && FitsLiteralBlock(s)) {
      out << YAML::Literal << s;
    } else {
      out << YAML::DoubleQuoted << s;
    }
  } else if (ReadsAsNonString(s)) {
    out << YAML::DoubleQuoted << s;
  } else {
    out << s;  // yaml-cpp quotes what cannot be plain.
  }
}

void EmitJson(YAML::Emitter& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key;
        EmitString(out, key, /*key=*/true);
        out << YAML::Value;
        EmitJson(out, item);
      }
      out << YAML::EndMap;
      return;
    case Json::value_t::array:
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const Json& item : value) EmitJson(out, item);
      out << YAML::EndSeq;
      return;
    case Json::value_t::string:
      EmitString(out, value.get<std::string>());
      return;
    case Json::value_t::boolean:
      out << value.get<bool>();
      return;
    case Json::value_t::number_integer:
      out << value.get<int64_t>();
      return;
    case Json::value_t::number_unsigned:
      out << value.get<uint64_t>();
      return;
    case Json::value_t::number_float:
      out << value.get<double>();
      return;
    default:
      out << YAML::Null;
      return;
  }
}

}  // namespace

std::string ToJson(const AnyObject& object) {
  return MessageToJson(MessageOf(object)).dump(2);
}

std::string ToYaml(const AnyObject& object) {
  YAML::Emitter out;
  out.SetIndent(2);
  EmitJson(out, MessageToJson(MessageOf(object)));
  return absl::StrCat(out.c_str(), "\n");
}

}  // namespace ia
