// The setters: libyaml's event walk over a file, the markers in its
// comments and their resolution against the policies, the byte splices, and
// the walk over a checkout. The scalar tokens themselves (where they are,
// what they read as, how a new value is written) are in setters_scalar.cc.
#include "services/automation/setters.h"

#include <yaml.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "services/automation/safe_files.h"
#include "services/automation/setters_scalar.h"

namespace ia::automation {
namespace {

constexpr absl::string_view kMarkerKey = "$imagepolicy";
// Flux screens files for the key with its quotes.
constexpr absl::string_view kScreenToken = "\"$imagepolicy\"";

using setters_internal::DecodeToken;
using setters_internal::IsSpace;
using setters_internal::LocateToken;
using setters_internal::Render;
using setters_internal::Scalar;

// Byte offsets of libyaml's marks, which count characters (a CRLF as two)
// from after any byte-order mark.
class CharToByte {
 public:
  explicit CharToByte(absl::string_view content) : content_(content) {
    if (absl::StartsWith(content, "\xEF\xBB\xBF")) bom_ = 3;
    ascii_ = std::all_of(content.begin(), content.end(),
                         [](char c) { return (c & 0x80) == 0; });
    byte_ = bom_;
  }

  size_t operator()(size_t index) {
    if (ascii_) return bom_ + index;
    if (index < char_) {  // marks come in order; rewind when not
      char_ = 0;
      byte_ = bom_;
    }
    while (char_ < index && byte_ < content_.size()) {
      const auto lead = static_cast<unsigned char>(content_[byte_]);
      byte_ += lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
      ++char_;
    }
    return std::min(byte_, content_.size());
  }

 private:
  absl::string_view content_;
  size_t bom_ = 0;
  bool ascii_ = true;
  size_t char_ = 0;
  size_t byte_ = 0;
};

// Owns a libyaml parser reading `content` (which must outlive it).
class EventParser {
 public:
  explicit EventParser(absl::string_view content) {
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(
        &parser_, reinterpret_cast<const unsigned char*>(content.data()),
        content.size());
  }
  ~EventParser() {
    if (has_event_) yaml_event_delete(&event_);
    yaml_parser_delete(&parser_);
  }
  EventParser(const EventParser&) = delete;
  EventParser& operator=(const EventParser&) = delete;

  // The next event; nullptr on a parse error (see Error()).
  const yaml_event_t* Next() {
    if (has_event_) yaml_event_delete(&event_);
    has_event_ = yaml_parser_parse(&parser_, &event_) != 0;
    return has_event_ ? &event_ : nullptr;
  }

  // The parse error in libyaml's words (which go-yaml keeps) and its
  // 1-based line.
  std::pair<int, std::string> Error() const {
    std::string reason =
        parser_.problem != nullptr ? parser_.problem : "cannot parse the YAML";
    if (parser_.context != nullptr) {
      reason = absl::StrCat(parser_.context, ": ", reason);
    }
    return {static_cast<int>(parser_.problem_mark.line) + 1, reason};
  }

 private:
  yaml_parser_t parser_;
  yaml_event_t event_;
  bool has_event_ = false;
};

// Walks a file's events and collects the scalars a marker may change (values
// of mappings and items of sequences, not keys) and each document's object.
class Collector {
 public:
  explicit Collector(absl::string_view content)
      : content_(content), to_byte_(content) {}

  // Every event of the stream; false on a parse error (see `parser`).
  bool Run(EventParser& parser) {
    for (;;) {
      const yaml_event_t* event = parser.Next();
      if (event == nullptr) return false;
      switch (event->type) {
        case YAML_STREAM_END_EVENT:
          return true;
        case YAML_DOCUMENT_START_EVENT:
          objects_.emplace_back();
          stack_.clear();
          break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
          Frame frame;
          frame.mapping = event->type == YAML_MAPPING_START_EVENT;
          frame.flow = frame.mapping ? event->data.mapping_start.style ==
                                           YAML_FLOW_MAPPING_STYLE
                                     : event->data.sequence_start.style ==
                                           YAML_FLOW_SEQUENCE_STYLE;
          if (!stack_.empty()) {
            frame.flow = frame.flow || stack_.back().flow;
            frame.in_metadata = stack_.size() == 1 && stack_.back().mapping &&
                                !stack_.back().at_key &&
                                stack_.back().key == "metadata";
          }
          Consume();
          stack_.push_back(std::move(frame));
          break;
        }
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
          stack_.pop_back();
          break;
        case YAML_ALIAS_EVENT:
          Consume();
          break;
        case YAML_SCALAR_EVENT:
          OnScalar(*event);
          break;
        default:
          break;
      }
    }
  }

  std::vector<ObjectId> TakeObjects() { return std::move(objects_); }
  std::vector<Scalar> TakeScalars() { return std::move(scalars_); }

 private:
  struct Frame {
    bool mapping = false;
    bool flow = false;
    bool at_key = true;        // a mapping's next node is a key
    bool in_metadata = false;  // the document's metadata mapping
    std::string key;           // a mapping's current key, when a scalar
  };

  // The node at the top's current position is done (a mapping moves between
  // key and value).
  void Consume() {
    if (stack_.empty() || !stack_.back().mapping) return;
    Frame& top = stack_.back();
    if (top.at_key) top.key.clear();
    top.at_key = !top.at_key;
  }

  void OnScalar(const yaml_event_t& event) {
    if (stack_.empty()) return;  // a document that is one scalar
    Frame& top = stack_.back();
    const absl::string_view value(
        reinterpret_cast<const char*>(event.data.scalar.value),
        event.data.scalar.length);
    if (top.mapping && top.at_key) {
      Consume();
      top.key = std::string(value);
      return;
    }
    const std::string& key = top.key;  // "" in a sequence; kept by Consume()
    Consume();
    if (top.mapping && stack_.size() == 1) {
      if (key == "apiVersion") objects_.back().api_version = std::string(value);
      if (key == "kind") objects_.back().kind = std::string(value);
    } else if (top.mapping && top.in_metadata) {
      if (key == "name") objects_.back().name = std::string(value);
      if (key == "namespace") objects_.back().ns = std::string(value);
    }
    if (event.data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
        event.data.scalar.style == YAML_FOLDED_SCALAR_STYLE) {
      return;  // never on one line
    }
    const size_t pos = to_byte_(event.start_mark.index);
    std::optional<Scalar> s = LocateToken(content_, pos, top.flow);
    if (!s.has_value() || s->end != to_byte_(event.end_mark.index)) return;
    std::optional<std::string> decoded =
        DecodeToken(content_.substr(s->start, s->end - s->start), s->style);
    // Anything we do not read exactly as the parser did is left alone.
    if (!decoded.has_value() || *decoded != value) return;
    s->value = *std::move(decoded);
    s->line = static_cast<int>(event.end_mark.line) + 1;
    s->document = objects_.size() - 1;
    scalars_.push_back(*std::move(s));
  }

  absl::string_view content_;
  CharToByte to_byte_;
  std::vector<Frame> stack_;
  std::vector<ObjectId> objects_;
  std::vector<Scalar> scalars_;
};

// The comment text after the scalar ending at `end` on its line, when the
// rest of the line is only closing flow indicators and a comment.
std::optional<absl::string_view> TrailingComment(absl::string_view content,
                                                 size_t end) {
  size_t eol = content.find('\n', end);
  if (eol == absl::string_view::npos) eol = content.size();
  if (eol > end && content[eol - 1] == '\r') --eol;
  size_t i = end;
  while (i < eol && absl::string_view(" \t,]}").find(content[i]) !=
                        absl::string_view::npos) {
    ++i;
  }
  if (i >= eol || content[i] != '#' || i == end || !IsSpace(content[i - 1])) {
    return std::nullopt;
  }
  return content.substr(i + 1, eol - i - 1);
}

// The setter named by a marker comment, or why it is malformed; nullopt
// when the comment is not a marker at all.
struct Marker {
  std::string setter;
  std::string error;  // non-empty: malformed
};
std::optional<Marker> ParseMarker(absl::string_view comment) {
  if (!absl::StrContains(comment, kMarkerKey)) return std::nullopt;
  const absl::string_view text = absl::StripAsciiWhitespace(comment);
  const nlohmann::json json = nlohmann::json::parse(
      text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  Marker marker;
  if (json.is_discarded() || !json.is_object()) {
    marker.setter = std::string(text);
    marker.error = "malformed marker: not a JSON object";
    return marker;
  }
  const auto it = json.find(std::string(kMarkerKey));
  if (it == json.end() || !it->is_string()) {
    marker.setter = std::string(text);
    marker.error = "malformed marker: \"$imagepolicy\" is not a string";
    return marker;
  }
  marker.setter = it->get<std::string>();
  return marker;
}

// The new value for `setter`, or why the marker is left alone.
struct Resolution {
  std::optional<std::string> value;
  std::string reason;
};
Resolution Resolve(absl::string_view setter, const PolicyMap& policies,
                   const SetterOptions& options) {
  std::vector<absl::string_view> parts = absl::StrSplit(setter, ':');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() ||
      parts[1].empty()) {
    return {std::nullopt,
            "malformed marker: want NS:NAME or NS:NAME:tag|name|digest"};
  }
  if (!options.automation_namespace.empty() &&
      parts[0] != options.automation_namespace) {
    return {std::nullopt,
            absl::StrCat("policy namespace \"", parts[0],
                         "\" is not the automation's namespace \"",
                         options.automation_namespace, "\"")};
  }
  const auto it = policies.find(absl::StrCat(parts[0], ":", parts[1]));
  if (it == policies.end()) {
    return {std::nullopt, absl::StrCat("policy ", parts[0], ":", parts[1],
                                       " has no selected image")};
  }
  const ImageRef& ref = it->second;
  if (parts.size() == 2) return {ref.Full(), ""};
  if (parts[2] == "tag") {
    if (ref.tag.empty()) return {std::nullopt, "the selected image has no tag"};
    return {ref.tag, ""};
  }
  if (parts[2] == "name") return {ref.name, ""};
  if (parts[2] == "digest") {
    if (ref.digest.empty()) {
      return {std::nullopt, "no digest known for the selected image"};
    }
    return {ref.digest, ""};
  }
  return {std::nullopt,
          absl::StrCat("malformed marker: unknown field \"", parts[2], "\"")};
}

}  // namespace

std::string ImageRef::Full() const {
  std::string out = name;
  if (!tag.empty()) absl::StrAppend(&out, ":", tag);
  if (!digest.empty()) absl::StrAppend(&out, "@", digest);
  return out;
}

bool IsSetterCandidateName(absl::string_view name) {
  return absl::EndsWith(name, ".yaml") || absl::EndsWith(name, ".yml") ||
         name == "Kustomization";
}

ContentResult ApplySettersToContent(absl::string_view file,
                                    absl::string_view content,
                                    const PolicyMap& policies,
                                    const SetterOptions& options) {
  ContentResult result;
  result.content = std::string(content);
  Collector collector(content);
  {
    EventParser parser(content);
    if (!collector.Run(parser)) {
      result.skipped = true;
      const auto [line, reason] = parser.Error();
      result.skip = {std::string(file), line, reason, false};
      return result;
    }
  }
  const std::vector<ObjectId> objects = collector.TakeObjects();
  std::vector<Scalar> scalars = collector.TakeScalars();
  std::sort(scalars.begin(), scalars.end(),
            [](const Scalar& a, const Scalar& b) { return a.end < b.end; });

  // The last scalar ending on each line owns that line's comment.
  struct Edit {
    size_t start;
    size_t end;
    std::string text;
  };
  std::vector<Edit> edits;
  for (size_t k = 0; k < scalars.size(); ++k) {
    const Scalar& s = scalars[k];
    if (k + 1 < scalars.size()) {
      const size_t next_end = scalars[k + 1].end;
      const size_t eol = content.find('\n', s.end);
      if (eol == absl::string_view::npos || next_end <= eol) continue;
    }
    std::optional<absl::string_view> comment = TrailingComment(content, s.end);
    if (!comment.has_value()) continue;
    std::optional<Marker> marker = ParseMarker(*comment);
    if (!marker.has_value()) continue;
    if (!marker->error.empty()) {
      result.ignored.push_back(
          {std::string(file), s.line, marker->setter, marker->error});
      continue;
    }
    Resolution resolution = Resolve(marker->setter, policies, options);
    if (!resolution.value.has_value()) {
      result.ignored.push_back(
          {std::string(file), s.line, marker->setter, resolution.reason});
      continue;
    }
    if (*resolution.value == s.value) continue;
    // An empty value ("key: # marker") starts right after its indicator or
    // anchor; one that does not (the implicit value of a flow key, "{a b}")
    // has no bytes of its own to replace.
    const char before = s.start > 0 ? content[s.start - 1] : '\n';
    if (s.start == s.end && before != ':' && before != '-' &&
        !IsSpace(before)) {
      result.ignored.push_back({std::string(file), s.line, marker->setter,
                                "the marked value is empty and has no place "
                                "of its own in the file"});
      continue;
    }
    Change change;
    change.file = std::string(file);
    change.file_in_path = std::string(file);
    change.line = s.line;
    change.object = objects[s.document];
    change.setter = marker->setter;
    change.old_value = s.value;
    change.new_value = *resolution.value;
    result.changes.push_back(std::move(change));
    std::string text = Render(s, *resolution.value);
    // After ':' or '-' the value needs a space to stay apart from it.
    if (s.start == s.end && !IsSpace(before)) text.insert(0, " ");
    edits.push_back({s.start, s.end, std::move(text)});
  }
  if (edits.empty()) return result;
  std::string out;
  out.reserve(content.size() + 64);
  size_t at = 0;
  for (const Edit& e : edits) {  // sorted by position, never overlapping
    out.append(content.data() + at, e.start - at);
    out.append(e.text);
    at = e.end;
  }
  out.append(content.data() + at, content.size() - at);
  result.content = std::move(out);
  result.changed = true;
  return result;
}

absl::StatusOr<SetterResult> ComputeSetterUpdates(
    absl::string_view root, absl::string_view update_path,
    const PolicyMap& policies, const SetterOptions& options) {
  SetterResult result;
  auto visit = [&](const std::string& file,
                   const absl::StatusOr<absl::string_view>& content) {
    if (!content.ok()) {
      result.skipped.push_back(
          {file, 0, std::string(content.status().message()), false});
      return;
    }
    if (!absl::StrContains(*content, kScreenToken)) return;
    ContentResult one =
        ApplySettersToContent(file, *content, policies, options);
    if (one.skipped) {
      result.skipped.push_back(std::move(one.skip));
      return;
    }
    for (Change& change : one.changes) {
      change.file_in_path = file;  // made relative to the path below
      result.changes.push_back(std::move(change));
    }
    for (IgnoredMarker& ignored : one.ignored) {
      result.ignored.push_back(std::move(ignored));
    }
    if (one.changed) {
      result.updates.push_back({file, std::move(one.content)});
    }
  };
  ASSIGN_OR_RETURN(
      WalkResult walk,
      WalkUnderRoot(
          root, update_path,
          [](absl::string_view n) { return IsSetterCandidateName(n); }, visit));
  // Files under the walked folder, as Flux's template keys name them.
  const std::string prefix = walk.start == "." ? "" : walk.start + "/";
  for (Change& change : result.changes) {
    if (absl::StartsWith(change.file_in_path, prefix)) {
      change.file_in_path.erase(0, prefix.size());
    }
  }
  for (const std::string& link : walk.symlinks) {
    result.skipped.push_back({link, 0, "symlink, not followed", true});
  }
  // The walk goes folder by folder; every list is by file (then position).
  auto by_file = [](const auto& a, const auto& b) { return a.file < b.file; };
  std::sort(result.updates.begin(), result.updates.end(), by_file);
  std::stable_sort(result.changes.begin(), result.changes.end(), by_file);
  std::stable_sort(result.ignored.begin(), result.ignored.end(), by_file);
  std::stable_sort(result.skipped.begin(), result.skipped.end(), by_file);
  return result;
}

absl::Status WriteSetterUpdates(absl::string_view root,
                                const std::vector<FileUpdate>& updates,
                                Durability durability) {
  return WriteFilesUnderRoot(root, updates, durability);
}

}  // namespace ia::automation
