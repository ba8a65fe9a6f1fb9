// Fuzz target: the commit message template engine
// (services/automation/template.h): parse, then execute with generated
// data, both as an automation renders its commit message
// (RenderCommitMessage over Flux's TemplateData) and directly against a
// generated value of every kind. Input: TEMPLATE \0 DATA, where DATA's
// bytes choose the changes, the values and the generated value's shape.
//
// Properties: CheckCommitMessageTemplate agrees with whether the template
// parses; execution stays within TemplateOptions (a hostile template ends
// in an error, never a crash, a hang or more output than allowed);
// executing twice gives the same result.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/automation/commit_message.h"
#include "services/automation/setters.h"
#include "services/automation/template.h"
#include "services/automation/template_value.h"
#include "tests/fuzz/fuzz_input.h"

namespace automation = ia::automation;
using automation::TemplateValue;

namespace {

// A short string from the input: up to 8 bytes, or a familiar word.
std::string Word(ia::fuzz::FuzzInput& in) {
  static constexpr const char* kWords[] = {
      "",    "app", "1.3.0", "flux-system",         "deploy/app.yaml",
      "a b", "%d",  "<nil>", "ghcr.io/org/app:1.0", "\xC3\xA9",
      "{{",  "\n"};
  const uint8_t b = in.Byte();
  if (b < 200) return kWords[b % (sizeof(kWords) / sizeof(kWords[0]))];
  std::string s;
  for (int n = b % 8; n > 0 && !in.empty(); --n)
    s += static_cast<char>(in.Byte());
  return s;
}

// A value of any kind, at most `depth` deep.
TemplateValue Generate(ia::fuzz::FuzzInput& in, int depth) {
  const uint8_t b = in.Byte();
  const int count = (b >> 3) % 4;
  switch (depth <= 0 ? b % 4 : b % 8) {
    case 0:
      return TemplateValue();
    case 1:
      return TemplateValue::Bool(b & 0x80);
    case 2:
      return TemplateValue::Int(static_cast<int8_t>(in.Byte()) *
                                (b & 0x80 ? 1'000'000'007LL : 1));
    case 3:
      return TemplateValue::String(Word(in));
    case 4: {
      std::vector<TemplateValue> items;
      for (int i = 0; i < count; ++i) items.push_back(Generate(in, depth - 1));
      return TemplateValue::List(std::move(items));
    }
    case 5: {
      std::vector<std::pair<TemplateValue, TemplateValue>> entries;
      for (int i = 0; i < count; ++i) {
        TemplateValue key = (in.Byte() & 1) ? TemplateValue::Int(in.Byte())
                                            : TemplateValue::String(Word(in));
        entries.emplace_back(std::move(key), Generate(in, depth - 1));
      }
      return TemplateValue::Map(std::move(entries), TemplateValue::String(""),
                                "map[interface {}]interface {}");
    }
    case 6: {
      std::map<std::string, std::string> m;
      for (int i = 0; i < count; ++i) m[Word(in)] = Word(in);
      return TemplateValue::StringMap(m);
    }
    default: {
      static constexpr const char* kFields[] = {"Name",  "Age",  "Admin",
                                                "Attrs", "Tags", "Empty"};
      std::vector<automation::TemplateField> fields;
      for (int i = 0; i < count + 1; ++i) {
        automation::TemplateField field;
        field.name = kFields[(in.Byte() + i) % 6];
        field.value = Generate(in, depth - 1);
        field.embedded = field.value.kind() == TemplateValue::Kind::kStruct &&
                         (in.Byte() & 1);
        field.method = !field.embedded && (in.Byte() & 1);
        fields.push_back(std::move(field));
      }
      std::optional<std::string> string_form;
      if (b & 0x80) string_form = Word(in);
      return TemplateValue::Struct("fuzz.T", std::move(fields),
                                   std::move(string_form));
    }
  }
}

automation::CommitMessageData CommitData(ia::fuzz::FuzzInput& in) {
  automation::CommitMessageData data;
  data.automation_namespace = "flux-system";
  data.automation_name = Word(in);
  for (int n = in.Byte() % 5; n > 0; --n) {
    automation::Change change;
    change.file = Word(in);
    change.file_in_path = change.file;
    change.line = in.Byte();
    change.object = {"apps/v1", "Deployment", Word(in), Word(in)};
    change.setter = "flux-system:app";
    change.old_value = Word(in);
    change.new_value = Word(in);
    data.changes.push_back(std::move(change));
  }
  for (int n = in.Byte() % 3; n > 0; --n) data.values[Word(in)] = Word(in);
  return data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ia::fuzz::FuzzInput input(data, size);
  const absl::string_view text = input.Next();
  const automation::TemplateOptions options{.max_output_bytes = 4096,
                                            .max_steps = 20'000};

  absl::StatusOr<automation::Template> parsed =
      automation::Template::Parse("fuzz", text);
  IA_FUZZ_CHECK(
      "CheckCommitMessageTemplate agrees with Parse",
      text.empty() ||
          automation::CheckCommitMessageTemplate(text).ok() == parsed.ok());

  const automation::CommitMessageData commit = CommitData(input);
  absl::StatusOr<std::string> message =
      automation::RenderCommitMessage(text, commit, options);
  if (message.ok()) {
    IA_FUZZ_CHECK("a message is within max_output_bytes",
                  message->size() <= options.max_output_bytes);
  }

  if (!parsed.ok()) return 0;
  const TemplateValue value = Generate(input, 4);
  absl::StatusOr<std::string> once = parsed->Execute(value, options);
  absl::StatusOr<std::string> twice = parsed->Execute(value, options);
  IA_FUZZ_CHECK_EQ("execution is repeatable",
                   once.ok() ? *once : once.status().ToString(),
                   twice.ok() ? *twice : twice.status().ToString());
  if (once.ok()) {
    IA_FUZZ_CHECK("output is within max_output_bytes",
                  once->size() <= options.max_output_bytes);
  }
  return 0;
}
