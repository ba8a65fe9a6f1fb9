#include "tools/imagectl/output.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/manifest.h"

namespace ia::imagectl {
namespace {

// ToYaml() without a leading document marker and with exactly one trailing
// newline.
std::string BareYaml(const AnyObject& object) {
  std::string yaml = ToYaml(object);
  absl::string_view view(yaml);
  absl::ConsumePrefix(&view, "---\n");
  while (absl::ConsumeSuffix(&view, "\n")) {
  }
  return absl::StrCat(view, "\n");
}

std::string BareJson(const AnyObject& object) {
  std::string json = ToJson(object);
  absl::string_view view(json);
  while (absl::ConsumeSuffix(&view, "\n")) {
  }
  return std::string(view);
}

// The indentation unit of pretty-printed JSON: the leading spaces of its
// second line; two when it is on one line.
std::string IndentUnit(absl::string_view json) {
  const size_t newline = json.find('\n');
  if (newline == absl::string_view::npos) return "  ";
  size_t spaces = 0;
  while (newline + 1 + spaces < json.size() &&
         json[newline + 1 + spaces] == ' ') {
    ++spaces;
  }
  return std::string(spaces == 0 ? 2 : spaces, ' ');
}

}  // namespace

std::string FormatYamlDocuments(const std::vector<AnyObject>& objects) {
  std::string out;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i > 0) out += "---\n";
    out += BareYaml(objects[i]);
  }
  return out;
}

std::string FormatExport(const AnyObject& object) {
  return absl::StrCat("---\n", BareYaml(object));
}

std::string FormatJsonObject(const AnyObject& object) {
  return absl::StrCat(BareJson(object), "\n");
}

std::string FormatJsonList(const std::vector<AnyObject>& objects) {
  std::vector<std::string> items;
  items.reserve(objects.size());
  for (const AnyObject& object : objects) items.push_back(BareJson(object));
  const std::string unit = items.empty() ? "  " : IndentUnit(items.front());
  const std::string item_indent = absl::StrCat(unit, unit);
  std::string out = absl::StrCat("{\n", unit, "\"apiVersion\": \"v1\",\n", unit,
                                 "\"kind\": \"List\",\n", unit, "\"items\": [");
  if (items.empty()) {
    out += "]\n}\n";
    return out;
  }
  out += "\n";
  for (size_t i = 0; i < items.size(); ++i) {
    bool first_line = true;
    for (absl::string_view line : absl::StrSplit(items[i], '\n')) {
      if (!first_line) out += "\n";
      first_line = false;
      absl::StrAppend(&out, item_indent, line);
    }
    out += (i + 1 < items.size()) ? ",\n" : "\n";
  }
  absl::StrAppend(&out, unit, "]\n}\n");
  return out;
}

}  // namespace ia::imagectl
