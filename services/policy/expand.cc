#include "services/policy/expand.h"

#include "absl/strings/str_cat.h"

namespace ia::policy {
namespace {

// The name after '$' in a template: the longest run of Unicode letters,
// digits (Nd) and '_', as Go's regexp.extract reads it.
const RE2& NameRun() {
  static const RE2* const kName = new RE2("(?:\\pL|\\p{Nd}|_)+");
  return *kName;
}

size_t NameLength(absl::string_view s) {
  re2::StringPiece match;
  if (!NameRun().Match(re2::StringPiece(s.data(), s.size()), 0, s.size(),
                       RE2::ANCHOR_START, &match, 1)) {
    return 0;
  }
  return match.size();
}

// Reads a reference after '$' from `s` (Go's regexp.extract): on success sets
// the name and the length read (braces included) and returns true.
bool ExtractReference(absl::string_view s, absl::string_view* name,
                      size_t* length) {
  if (s.empty()) return false;
  const bool brace = s[0] == '{';
  if (brace) s.remove_prefix(1);
  const size_t n = NameLength(s);
  if (n == 0) return false;
  *name = s.substr(0, n);
  size_t end = n;
  if (brace) {
    if (end >= s.size() || s[end] != '}') return false;
    end += 2;  // both braces
  }
  *length = end;
  return true;
}

// A group number as Go reads it: digits only, below 1e8 while reading, and
// no leading zero; -1 otherwise.
int GroupNumber(absl::string_view name) {
  int num = 0;
  for (char c : name) {
    if (c < '0' || c > '9' || num >= 100000000) return -1;
    num = num * 10 + (c - '0');
  }
  if (name.size() > 1 && name[0] == '0') return -1;
  return num;
}

}  // namespace

void ParseTemplate(
    absl::string_view tmpl, absl::FunctionRef<void(absl::string_view)> literal,
    absl::FunctionRef<void(const TemplateReference&)> reference) {
  while (!tmpl.empty()) {
    const size_t dollar = tmpl.find('$');
    if (dollar == absl::string_view::npos) break;
    if (dollar > 0) literal(tmpl.substr(0, dollar));
    const absl::string_view at = tmpl.substr(dollar);
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      literal("$");
      tmpl.remove_prefix(1);
      continue;
    }
    TemplateReference ref;
    size_t length = 0;
    if (!ExtractReference(tmpl, &ref.name, &length)) {
      literal("$");  // malformed: the '$' is text
      continue;
    }
    ref.text = at.substr(0, length + 1);
    ref.number = GroupNumber(ref.name);
    reference(ref);
    tmpl.remove_prefix(length);
  }
  if (!tmpl.empty()) literal(tmpl);
}

int GroupOf(const RE2& re, const TemplateReference& ref) {
  if (ref.number >= 0) {
    return ref.number <= re.NumberOfCapturingGroups() ? ref.number : -1;
  }
  const auto& names = re.NamedCapturingGroups();
  const auto it = names.find(std::string(ref.name));
  return it == names.end() ? -1 : it->second;
}

absl::Status CheckTemplateReferences(const RE2& re, absl::string_view tmpl) {
  absl::Status problem;
  ParseTemplate(
      tmpl, [](absl::string_view) {},
      [&](const TemplateReference& ref) {
        if (!problem.ok() || GroupOf(re, ref) >= 0) return;
        problem = absl::InvalidArgumentError(
            absl::StrCat("\"", ref.text, "\" refers to group \"", ref.name,
                         "\", which the pattern does not define"));
      });
  return problem;
}

void ExpandTemplate(const RE2& re, absl::string_view tmpl,
                    const std::vector<re2::StringPiece>& groups,
                    std::string* out) {
  ParseTemplate(
      tmpl,
      [out](absl::string_view text) { out->append(text.data(), text.size()); },
      [&](const TemplateReference& ref) {
        const int group = GroupOf(re, ref);
        if (group >= 0 && static_cast<size_t>(group) < groups.size() &&
            groups[group].data() != nullptr) {
          out->append(groups[group].data(), groups[group].size());
        }
      });
}

}  // namespace ia::policy
