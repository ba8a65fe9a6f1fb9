// Differential test of the template engine (template.h, commit_message.h)
// against template-ref, Go's text/template with Sprig's hermetic functions
// over Flux's template data (shared/tools/template-ref). The binary's path
// comes from the TEMPLATE_REF environment variable; without it the test is
// skipped.
//
// Templates come from two sources: a hand-written list of real Flux
// templates (Flux's docs and the shapes users write), and a generator
// (fixed seed) mixing the language (if/else, with, range with break and
// continue, variables, define/template/block, trim markers, comments,
// parenthesised pipelines, literals of every kind) with Sprig's functions,
// their arguments sometimes of the wrong type so errors are exercised too.
// Each is rendered by both over the same data: outputs must be equal byte
// for byte, and where one fails the other must fail too (error texts are
// not compared: the reference's Go type names differ from Flux's).
//
// What the generator leaves out, because Flux itself is not deterministic
// there or the reference differs from Flux on purpose: the order of
// .Changed.Changes and of `keys`/`values` (Go map order; only their length
// or sorted forms are used), printing an ObjectIdentifier whole (Flux's is
// nested structs, the reference's flat), range over an integer and `else
// with` (newer than the reference's Go 1.19).
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "services/automation/commit_message.h"
#include "services/automation/template.h"
#include "tests/automation/template_generator.h"

namespace ia::automation {
namespace {

struct DataSet {
  CommitMessageData data;
  std::string json;  // The same, as template-ref reads it.
};

Change Record(std::string file, std::string kind, std::string name,
              std::string ns, std::string setter, std::string old_value,
              std::string new_value) {
  Change c;
  c.file = file;
  c.file_in_path = std::move(file);
  c.object = {"apps/v1", std::move(kind), std::move(name), std::move(ns)};
  c.setter = std::move(setter);
  c.old_value = std::move(old_value);
  c.new_value = std::move(new_value);
  return c;
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// template-ref's JSON for `data`: files -> objects -> changes.
std::string ToJson(const CommitMessageData& data) {
  std::map<std::string, std::map<ObjectId, std::vector<const Change*>>> files;
  for (const Change& c : data.changes) {
    files[c.file_in_path][c.object].push_back(&c);
  }
  std::vector<std::string> file_parts;
  for (const auto& [file, objects] : files) {
    std::vector<std::string> objs;
    for (const auto& [id, changes] : objects) {
      std::vector<std::string> chs;
      for (const Change* c : changes) {
        chs.push_back(absl::StrCat("{\"OldValue\":", Quote(c->old_value),
                                   ",\"NewValue\":", Quote(c->new_value),
                                   ",\"Setter\":", Quote(c->setter), "}"));
      }
      objs.push_back(absl::StrCat(
          "{\"Object\":{\"APIVersion\":", Quote(id.api_version),
          ",\"Kind\":", Quote(id.kind), ",\"Name\":", Quote(id.name),
          ",\"Namespace\":", Quote(id.ns), "},\"Changes\":[",
          absl::StrJoin(chs, ","), "]}"));
    }
    file_parts.push_back(
        absl::StrCat(Quote(file), ":[", absl::StrJoin(objs, ","), "]"));
  }
  std::vector<std::string> values;
  for (const auto& [k, v] : data.values) {
    values.push_back(absl::StrCat(Quote(k), ":", Quote(v)));
  }
  return absl::StrCat(
      "{\"AutomationObject\":{\"Namespace\":", Quote(data.automation_namespace),
      ",\"Name\":", Quote(data.automation_name), "},\"Values\":{",
      absl::StrJoin(values, ","), "},\"Files\":{",
      absl::StrJoin(file_parts, ","), "}}");
}

std::vector<DataSet> DataSets() {
  std::vector<DataSet> sets(2);
  CommitMessageData& one = sets[0].data;
  one.automation_namespace = "flux-system";
  one.automation_name = "my-app-automation";
  one.values = {{"env", "prod"}, {"team", "Platform Team"}};
  one.changes = {Record("apps/my-app/deploy.yaml", "Deployment", "my-app",
                        "my-app", "flux-system:my-app",
                        "ghcr.io/org/my-app:5.0.2",
                        "ghcr.io/org/my-app:5.0.3")};
  CommitMessageData& two = sets[1].data;
  two.automation_namespace = "apps";
  two.automation_name = "auto";
  two.values = {{"env", "staging"}, {"ticket", "OPS-42"}, {"empty", ""}};
  two.changes = {
      Record("a/deploy.yaml", "Deployment", "api", "api", "apps:api",
             "reg.io/api:1.2.3", "reg.io/api:1.3.0"),
      Record("a/deploy.yaml", "Deployment", "api", "api", "apps:proxy",
             "reg.io/proxy:0.9", "reg.io/proxy:0.10"),
      Record("b/cron.yaml", "CronJob", "backup", "ops", "apps:backup:tag",
             "v2025.01.02", "v2025.07.03"),
  };
  for (DataSet& s : sets) s.json = ToJson(s.data);
  return sets;
}

// The real-world templates: Flux's docs and what users write with Sprig.
std::vector<std::string> FluxTemplates() {
  return {
      // Flux's documented default-style template.
      "Automated image update\n\nAutomation name: {{ .AutomationObject }}\n\n"
      "Files:\n{{ range $filename, $_ := .Changed.FileChanges -}}\n"
      "- {{ $filename }}\n{{ end -}}\n\nObjects:\n"
      "{{ range $resource, $changes := .Changed.Objects -}}\n"
      "- {{ $resource.Kind | lower }} {{ $resource.Name }}\n  Changes:\n"
      "{{- range $_, $change := $changes }}\n"
      "    - {{ $change.OldValue }} -> {{ $change.NewValue }}\n"
      "{{ end -}}\n{{ end -}}\n",
      // Flux's docs: contains on the new value.
      "{{ range $resource, $changes := .Changed.Objects -}}"
      "{{ range $changes }}{{ if contains \"5.0.3\" .NewValue }}"
      "Bump to 5.0.3{{ else }}Bump {{ .NewValue }}{{ end }}\n{{ end }}"
      "{{ end }}",
      "[ci skip] {{ .Values.env | upper }}: update {{ len .Changed.Changes }}"
      " image(s)",
      "{{ define \"change\" }}{{ .OldValue | trimPrefix \"reg.io/\" }} -> "
      "{{ .NewValue | splitList \":\" | last }}{{ end -}}\n"
      "{{ range $o, $cs := .Changed.Objects }}{{ range $cs }}"
      "{{ template \"change\" . }}\n{{ end }}{{ end }}",
      "{{ $ticket := .Values.ticket | default \"NO-TICKET\" }}"
      "{{ $ticket }}: {{ .AutomationObject.Name | title }}",
      "{{- range $file, $objs := .Changed.FileChanges }}\n"
      "{{ $file | base }} ({{ $file | dir }}):"
      "{{ range $id, $chs := $objs }} {{ $id.Kind | kebabcase }}/"
      "{{ $id.Name }}={{ len $chs }}{{ end }}{{ end }}",
      "{{ block \"subject\" . }}chore(deps): {{ .AutomationObject.Namespace "
      "}}{{ end }}\n\n{{ .Values | toJson }}",
      "Images:\n{{ range $id, $chs := .Changed.Objects -}}\n{{ range $chs -}}\n"
      "{{ .NewValue | regexReplaceAll \"^.*:\" \"\" | printf \"%-10s|\" }}"
      "{{ .Setter | quote | indent 2 }}\n{{ end }}{{ end }}",
      "{{ with .Values.missing }}has{{ else }}none{{ end }} "
      "{{ .Values.missing }} {{ index .Values \"missing\" | empty }}",
      "{{ $list := list }}{{ range $id, $chs := .Changed.Objects }}"
      "{{ $list = append $list $id.Name }}{{ end }}"
      "{{ $list | uniq | sortAlpha | join \", \" }}",
  };
}

// --- Running both ----------------------------------------------------------

struct Outcome {
  bool ok = false;
  std::string text;  // The output, or the error.
};

Outcome RunReference(const std::string& ref, const std::string& tmpl_file,
                     const std::string& data_file, const std::string& tmpl) {
  {
    std::ofstream f(tmpl_file, std::ios::trunc | std::ios::binary);
    f << tmpl;
  }
  const std::string cmd =
      absl::StrCat("'", ref, "' '", tmpl_file, "' '", data_file, "' 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {false, "<popen failed>"};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) && WEXITSTATUS(status) == 0, out};
}

Outcome RunOurs(const std::string& tmpl, const CommitMessageData& data) {
  absl::StatusOr<Template> t = Template::Parse("commit message", tmpl);
  if (!t.ok()) return {false, std::string(t.status().message())};
  absl::StatusOr<std::string> out = t->Execute(BuildCommitTemplateData(data));
  if (!out.ok()) return {false, std::string(out.status().message())};
  return {true, *out};
}

class TemplateDifferentialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* ref = std::getenv("TEMPLATE_REF");
    if (ref == nullptr || *ref == '\0') {
      GTEST_SKIP() << "TEMPLATE_REF is not set (tools/test.sh builds it)";
    }
    ref_ = ref;
    // A folder of its own: ctest runs the two tests of this suite at once.
    std::string pattern = absl::StrCat(::testing::TempDir(), "/tdiffXXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    dir_ = pattern;
    sets_ = DataSets();
    for (size_t i = 0; i < sets_.size(); ++i) {
      std::ofstream f(DataFile(i), std::ios::trunc);
      f << sets_[i].json;
    }
  }

  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string DataFile(size_t i) const {
    return absl::StrCat(dir_, "/template_diff_data", i, ".json");
  }

  // Renders `tmpl` with both over every data set; a description of each
  // disagreement.
  void Compare(const std::string& tmpl, std::vector<std::string>* failures) {
    for (size_t i = 0; i < sets_.size(); ++i) {
      const Outcome ref = RunReference(
          ref_, absl::StrCat(dir_, "/template_diff.tmpl"), DataFile(i), tmpl);
      const Outcome ours = RunOurs(tmpl, sets_[i].data);
      if (ref.ok == ours.ok && (!ref.ok || ref.text == ours.text)) continue;
      failures->push_back(absl::StrCat(
          "template (data set ", i, "):\n", tmpl, "\n--- reference (",
          ref.ok ? "ok" : "error", "):\n", ref.text, "\n--- ours (",
          ours.ok ? "ok" : "error", "):\n", ours.text, "\n"));
    }
  }

  std::string ref_;
  std::string dir_;
  std::vector<DataSet> sets_;
};

void Report(const std::vector<std::string>& failures, size_t cases) {
  std::string shown;
  for (size_t i = 0; i < failures.size() && i < 25; ++i) {
    absl::StrAppend(&shown, "\n===== ", failures[i]);
  }
  EXPECT_TRUE(failures.empty())
      << failures.size() << " disagreements over " << cases
      << " renderings; the first ones:" << shown;
}

TEST_F(TemplateDifferentialTest, FluxTemplatesRenderAsFlux) {
  std::vector<std::string> failures;
  const std::vector<std::string> templates = FluxTemplates();
  for (const std::string& t : templates) Compare(t, &failures);
  Report(failures, templates.size() * sets_.size());
}

TEST_F(TemplateDifferentialTest, GeneratedTemplatesRenderAsFlux) {
  int cases = 1500;
  if (const char* n = std::getenv("TEMPLATE_DIFF_CASES")) cases = std::atoi(n);
  uint32_t seed = 20260612;
  if (const char* s = std::getenv("TEMPLATE_DIFF_SEED")) {
    seed = static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  }
  testing::Generator gen(seed);
  std::vector<std::string> failures;
  for (int i = 0; i < cases; ++i) Compare(gen.Template(), &failures);
  Report(failures, static_cast<size_t>(cases) * sets_.size());
}

}  // namespace
}  // namespace ia::automation
