// Tests of the text/template subset (template.h) and of commit message
// rendering with Flux's data model (commit_message.h). Expected outputs are
// worked out by hand from Go's text/template rules.
#include "services/automation/template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "services/automation/commit_message.h"

namespace ia::automation {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The messageTemplate of the reference chapter, as the YAML block scalar
// `|` delivers it (indentation removed, final newline kept).
constexpr char kSeedTemplate[] =
    "Automated image update\n"
    "\n"
    "Automation: {{ .AutomationObject }}\n"
    "\n"
    "Files changed:\n"
    "{{ range $filename, $_ := .Changed.FileChanges -}}\n"
    "- {{ $filename }}\n"
    "{{ end -}}\n"
    "\n"
    "Objects changed:\n"
    "{{ range $resource, $changes := .Changed.Objects -}}\n"
    "- {{ $resource.Kind }}/{{ $resource.Name }} ({{ $resource.Namespace }})\n"
    "  {{ range $_, $change := $changes -}}\n"
    "  {{ $change.OldValue }} -> {{ $change.NewValue }}\n"
    "  {{ end -}}\n"
    "{{ end -}}\n";

Change Record(std::string file, std::string api_version, std::string kind,
              std::string name, std::string ns, std::string setter,
              std::string old_value, std::string new_value) {
  Change change;
  change.file = "clusters/my-cluster/" + file;
  change.file_in_path = std::move(file);
  change.object = {std::move(api_version), std::move(kind), std::move(name),
                   std::move(ns)};
  change.setter = std::move(setter);
  change.old_value = std::move(old_value);
  change.new_value = std::move(new_value);
  return change;
}

// Changes in the order a tree walk might find them: not sorted.
CommitMessageData SampleData() {
  CommitMessageData data;
  data.automation_namespace = "flux-system";
  data.automation_name = "my-app-automation";
  data.changes = {
      Record("apps/my-app/deployment.yaml", "apps/v1", "Deployment", "my-app",
             "my-app", "flux-system:my-app", "ghcr.io/org/my-app:1.0.0",
             "ghcr.io/org/my-app:1.0.1"),
      Record("apps/api/deployment.yaml", "apps/v1", "Deployment", "api", "api",
             "flux-system:api", "ghcr.io/org/api:2.3.0",
             "ghcr.io/org/api:2.4.0"),
      Record("apps/api/deployment.yaml", "apps/v1", "Deployment", "api", "api",
             "flux-system:proxy", "ghcr.io/org/proxy:0.9",
             "ghcr.io/org/proxy:0.10"),
  };
  return data;
}

std::string Render(absl::string_view tmpl, const CommitMessageData& data) {
  absl::StatusOr<std::string> out = RenderCommitMessage(tmpl, data);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : "";
}

std::string RenderSample(absl::string_view tmpl) {
  return Render(tmpl, SampleData());
}

absl::Status RenderError(absl::string_view tmpl,
                         const TemplateOptions& options = {}) {
  absl::StatusOr<std::string> out =
      RenderCommitMessage(tmpl, SampleData(), options);
  EXPECT_FALSE(out.ok()) << "rendered: " << *out;
  return out.status();
}

// Executes against a plain value.
std::string Exec(absl::string_view tmpl, const TemplateValue& data) {
  absl::StatusOr<Template> t = Template::Parse("t", tmpl);
  if (!t.ok()) return "PARSE ERROR: " + std::string(t.status().message());
  absl::StatusOr<std::string> out = t->Execute(data);
  if (!out.ok()) return "EXEC ERROR: " + std::string(out.status().message());
  return *out;
}

TemplateValue Strings(std::vector<std::string> items) {
  std::vector<TemplateValue> values;
  for (auto& s : items) values.push_back(TemplateValue::String(s));
  return TemplateValue::List(std::move(values), "[]string");
}

// --- The reference chapter's template -----------------------------------

TEST(CommitMessageTest, SeedTemplateRendersAsFlux) {
  // Go's trimming makes "Objects changed:" follow the file list directly,
  // and leaves the inner range's indentation before the next object.
  EXPECT_EQ(RenderSample(kSeedTemplate),
            "Automated image update\n"
            "\n"
            "Automation: flux-system/my-app-automation\n"
            "\n"
            "Files changed:\n"
            "- apps/api/deployment.yaml\n"
            "- apps/my-app/deployment.yaml\n"
            "Objects changed:\n"
            "- Deployment/api (api)\n"
            "  ghcr.io/org/api:2.3.0 -> ghcr.io/org/api:2.4.0\n"
            "  ghcr.io/org/proxy:0.9 -> ghcr.io/org/proxy:0.10\n"
            "  - Deployment/my-app (my-app)\n"
            "  ghcr.io/org/my-app:1.0.0 -> ghcr.io/org/my-app:1.0.1\n"
            "  ");
}

TEST(CommitMessageTest, EmptyTemplateIsFluxDefault) {
  EXPECT_EQ(RenderSample(""), "Update from image update automation");
  EXPECT_EQ(std::string(kDefaultCommitMessage),
            "Update from image update automation");
}

TEST(CommitMessageTest, ObjectsSortByApiVersionKindNameNamespace) {
  CommitMessageData data;
  data.automation_namespace = "ns";
  data.automation_name = "auto";
  data.changes = {
      Record("b.yaml", "v1", "Pod", "a", "z", "s", "1", "2"),
      Record("a.yaml", "kustomize.config.k8s.io/v1beta1", "Kustomization", "",
             "", "s", "1", "2"),
      Record("c.yaml", "apps/v1", "Deployment", "b", "a", "s", "1", "2"),
      Record("c.yaml", "apps/v1", "Deployment", "a", "b", "s", "1", "2"),
      Record("c.yaml", "apps/v1", "Deployment", "a", "a", "s", "1", "2"),
  };
  EXPECT_EQ(Render("{{ range $o, $_ := .Changed.Objects }}"
                   "{{ $o.APIVersion }} {{ $o.Kind }}/{{ $o.Name }}"
                   " ({{ $o.Namespace }})\n{{ end }}",
                   data),
            "apps/v1 Deployment/a (a)\n"
            "apps/v1 Deployment/a (b)\n"
            "apps/v1 Deployment/b (a)\n"
            "kustomize.config.k8s.io/v1beta1 Kustomization/ ()\n"
            "v1 Pod/a (z)\n");
}

TEST(CommitMessageTest, FileChangesNestObjectsAndPrintLikeGo) {
  EXPECT_EQ(
      RenderSample("{{ range $f, $objs := .Changed.FileChanges }}{{ $f }}:"
                   "{{ range $o, $cs := $objs }} {{ $o }}={{ $cs }}{{ end }}\n"
                   "{{ end }}"),
      "apps/api/deployment.yaml: {{{apps/v1 Deployment} {api api}}}="
      "[{ghcr.io/org/api:2.3.0 ghcr.io/org/api:2.4.0 flux-system:api} "
      "{ghcr.io/org/proxy:0.9 ghcr.io/org/proxy:0.10 flux-system:proxy}]\n"
      "apps/my-app/deployment.yaml: {{{apps/v1 Deployment} {my-app my-app}}}="
      "[{ghcr.io/org/my-app:1.0.0 ghcr.io/org/my-app:1.0.1 "
      "flux-system:my-app}]\n");
}

TEST(CommitMessageTest, ChangesListIsDeduplicatedInFileOrder) {
  CommitMessageData data = SampleData();
  // The same image bumped in a second file: one entry in .Changed.Changes.
  data.changes.push_back(Record("z.yaml", "apps/v1", "Deployment", "copy", "x",
                                "flux-system:api", "ghcr.io/org/api:2.3.0",
                                "ghcr.io/org/api:2.4.0"));
  EXPECT_EQ(Render("{{ range .Changed.Changes }}{{ .Setter }}: {{ .OldValue "
                   "}} -> {{ .NewValue }}\n{{ end }}"
                   "{{ len .Changed.Changes }} {{ len .Changed.FileChanges }} "
                   "{{ len .Changed.Objects }}",
                   data),
            "flux-system:api: ghcr.io/org/api:2.3.0 -> ghcr.io/org/api:2.4.0\n"
            "flux-system:proxy: ghcr.io/org/proxy:0.9 -> "
            "ghcr.io/org/proxy:0.10\n"
            "flux-system:my-app: ghcr.io/org/my-app:1.0.0 -> "
            "ghcr.io/org/my-app:1.0.1\n"
            "3 3 3");
}

TEST(CommitMessageTest, AutomationObjectAndValues) {
  CommitMessageData data = SampleData();
  data.values = {{"env", "prod"}, {"team", "core"}};
  EXPECT_EQ(Render("{{ .AutomationObject.Namespace }}|"
                   "{{ .AutomationObject.Name }}|{{ .Values.env }}|"
                   "{{ .Values.missing }}|{{ index .Values \"missing\" }}|"
                   "{{ index .Values \"team\" }}|{{ .Values }}",
                   data),
            "flux-system|my-app-automation|prod|<no value>||core|"
            "map[env:prod team:core]");
  EXPECT_EQ(RenderSample("{{ .Values }}{{ range .Values }}x{{ else }}none"
                         "{{ end }}"),
            "map[]none");
}

TEST(CommitMessageTest, RemovedFieldsExplainTheReplacement) {
  EXPECT_THAT(RenderError("{{ .Updated }}").ToString(),
              HasSubstr("read .Changed instead"));
  EXPECT_THAT(RenderError("{{ .Changed.ImageResult }}").ToString(),
              HasSubstr(".Changed.FileChanges or .Changed.Objects"));
}

TEST(CommitMessageTest, ErrorsArePrefixedLikeFlux) {
  const absl::Status parse = RenderError("a\nb {{ .Foo ");
  EXPECT_EQ(parse.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parse.message()),
              StartsWith("unable to create commit message template from "
                         "spec: template: commit message:2: unclosed "
                         "action"));
  const absl::Status exec = RenderError("x\n  {{ .Changed.Nope }}");
  EXPECT_EQ(exec.message(),
            "failed to run template from spec: template: commit message:2:13: "
            "executing \"commit message\" at <.Changed.Nope>: can't evaluate "
            "field Nope in type update.Result");
}

// The check says what RenderCommitMessage would, without data to render.
TEST(CommitMessageTest, CheckSaysWhatRenderingWould) {
  EXPECT_TRUE(CheckCommitMessageTemplate("").ok());
  EXPECT_TRUE(CheckCommitMessageTemplate("x {{ .Changed.Nope }}").ok());
  for (absl::string_view bad : {"a\nb {{ .Foo ", "{{ range .Changed }"}) {
    SCOPED_TRACE(bad);
    const absl::Status checked = CheckCommitMessageTemplate(bad);
    EXPECT_EQ(checked, RenderError(bad));
  }
}

TEST(CommitMessageTest, UnknownFieldOfObjectIdentifier) {
  EXPECT_THAT(RenderError("{{ range $o, $c := .Changed.Objects }}{{ $o.Image "
                          "}}{{ end }}")
                  .ToString(),
              HasSubstr("can't evaluate field Image in type "
                        "update.ObjectIdentifier"));
  EXPECT_THAT(
      RenderError("{{ range .Changed.Changes }}{{ .Old }}{{ end }}").ToString(),
      HasSubstr("can't evaluate field Old in type update.Change"));
}

// --- Constructs --------------------------------------------------------

TemplateValue Person() {
  return TemplateValue::Struct(
      "main.Person",
      {{"Name", TemplateValue::String("Ada")},
       {"Age", TemplateValue::Int(36)},
       {"Admin", TemplateValue::Bool(true)},
       {"Tags", Strings({"x", "y", "z"})},
       {"Empty", Strings({})},
       {"Attrs", TemplateValue::StringMap({{"b", "2"}, {"a", "1"}})}});
}

TEST(TemplateTest, FieldsDotRootAndVariables) {
  EXPECT_EQ(
      Exec("{{ .Name }} {{ .Age }} {{ .Admin }} {{ .Attrs.a }}", Person()),
      "Ada 36 true 1");
  EXPECT_EQ(Exec("{{ . }}", Person()), "{Ada 36 true [x y z] [] map[a:1 b:2]}");
  EXPECT_EQ(Exec("{{ $n := .Name }}{{ $n }} {{ $.Age }} {{ $p := $ }}"
                 "{{ $p.Attrs.b }}",
                 Person()),
            "Ada 36 2");
  EXPECT_EQ(Exec("{{ with .Attrs }}{{ .a }}{{ $.Name }}{{ end }}", Person()),
            "1Ada");
  EXPECT_EQ(Exec("{{ (.Attrs).b }}", Person()), "2");
}

TEST(TemplateTest, RangeForms) {
  EXPECT_EQ(Exec("{{ range .Tags }}[{{ . }}]{{ end }}", Person()), "[x][y][z]");
  EXPECT_EQ(Exec("{{ range $t := .Tags }}{{ $t }}{{ . }}{{ end }}", Person()),
            "xxyyzz");
  EXPECT_EQ(
      Exec("{{ range $i, $t := .Tags }}{{ $i }}={{ $t }} {{ end }}", Person()),
      "0=x 1=y 2=z ");
  EXPECT_EQ(
      Exec("{{ range $k, $v := .Attrs }}{{ $k }}:{{ $v }};{{ end }}", Person()),
      "a:1;b:2;");
  EXPECT_EQ(
      Exec("{{ range .Empty }}x{{ else }}empty {{ .Name }}{{ end }}", Person()),
      "empty Ada");
  EXPECT_EQ(Exec("{{ range .Nope }}x{{ else }}nil{{ end }}",
                 TemplateValue::StringMap({})),
            "nil");
  EXPECT_EQ(Exec("{{ range 3 }}{{ . }}{{ end }}", Person()), "012");
  EXPECT_EQ(Exec("{{ range .Tags }}{{ if eq . \"y\" }}{{ continue }}{{ end }}"
                 "{{ . }}{{ end }}|{{ range .Tags }}{{ if eq . \"y\" }}"
                 "{{ break }}{{ end }}{{ . }}{{ end }}",
                 Person()),
            "xz|x");
}

TEST(TemplateTest, IfElseIfWithTruthiness) {
  const char* tmpl =
      "{{ if .A }}a{{ else if .B }}b{{ else if .C }}c{{ else }}none{{ end }}";
  auto data = [](TemplateValue a, TemplateValue b, TemplateValue c) {
    return TemplateValue::Struct("T", {{"A", a}, {"B", b}, {"C", c}});
  };
  using V = TemplateValue;
  EXPECT_EQ(Exec(tmpl, data(V::Bool(true), V(), V())), "a");
  EXPECT_EQ(Exec(tmpl, data(V::Int(0), V::String("s"), V())), "b");
  EXPECT_EQ(Exec(tmpl, data(V::String(""), V::Int(0), Strings({"1"}))), "c");
  EXPECT_EQ(Exec(tmpl, data(Strings({}), TemplateValue::StringMap({}), V())),
            "none");
  EXPECT_EQ(Exec(tmpl, data(V::Struct("S", {}), V(), V())), "a");
  EXPECT_EQ(Exec("{{ with .Name }}<{{ . }}>{{ else }}no{{ end }}"
                 "{{ with .Empty }}x{{ else with .Tags }}{{ len . }}{{ end }}",
                 Person()),
            "<Ada>3");
}

TEST(TemplateTest, VariableScopingFollowsGo) {
  // Assignment reaches the outer variable; a declaration inside if/range is
  // gone after its {{end}}.
  EXPECT_EQ(Exec("{{ $x := 1 }}{{ range .Tags }}{{ $x = . }}{{ end }}{{ $x }}",
                 Person()),
            "z");
  EXPECT_EQ(Exec("{{ $x := \"outer\" }}{{ if true }}{{ $x := \"inner\" }}"
                 "{{ $x }} {{ end }}{{ $x }}",
                 Person()),
            "inner outer");
  EXPECT_EQ(Exec("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}", Person()),
            "PARSE ERROR: template: t:1: undefined variable \"$y\"");
  EXPECT_EQ(
      Exec("{{ if $v := .Name }}{{ $v }}{{ else }}{{ $v }}{{ end }}", Person()),
      "Ada");
}

TEST(TemplateTest, Functions) {
  const TemplateValue p = Person();
  EXPECT_EQ(Exec("{{ len .Tags }} {{ len .Name }} {{ len .Attrs }}", p),
            "3 3 2");
  EXPECT_EQ(Exec("{{ index .Tags 1 }} {{ index .Attrs \"b\" }}", p), "y 2");
  EXPECT_EQ(Exec("{{ eq .Name \"Ada\" }} {{ eq .Age 1 2 36 }} "
                 "{{ ne .Age 36 }} {{ lt 1 2 }} {{ ge \"a\" \"b\" }}",
                 p),
            "true true false true false");
  EXPECT_EQ(Exec("{{ not .Admin }} {{ and .Name .Age }} {{ and .Empty .X }} "
                 "{{ or .Empty .Name }} {{ or \"\" 0 }}",
                 p),
            "false 36 [] Ada 0");
  EXPECT_EQ(Exec("{{ print .Name .Age 1 \"s\" }}|{{ println 1 2 }}|"
                 "{{ printf \"%s is %d (%v) %q %t 100%%\" .Name .Age .Tags "
                 ".Name .Admin }}",
                 p),
            "Ada36 1s|1 2\n|Ada is 36 ([x y z]) \"Ada\" true 100%");
  EXPECT_EQ(Exec("{{ printf \"%d %s\" .Name }}", p),
            "%!d(string=Ada) %!s(MISSING)");
  EXPECT_EQ(Exec("{{ .Name | printf \"<%s>\" }} {{ .Tags | len }} "
                 "{{ (len .Tags) }}{{ if (eq (len .Tags) 3) }}!{{ end }}",
                 p),
            "<Ada> 3 3!");
  EXPECT_EQ(Exec("{{ `raw\\n` }} {{ \"q\\\"\\n\" }} {{ -3 }} {{ +4 }}", p),
            "raw\\n q\"\n -3 4");
  EXPECT_THAT(Exec("{{ nil }}", p), HasSubstr("nil is not a command"));
  EXPECT_EQ(Exec("{{ eq nil nil }} {{ eq .Nope.X nil }}",
                 TemplateValue::StringMap({})),
            "true true");
}

TEST(TemplateTest, Comments) {
  EXPECT_EQ(
      Exec("a{{/* note */}}b {{- /* trimmed\n both */ -}}  \n c", Person()),
      "abc");
  EXPECT_THAT(Exec("{{/* open", Person()), HasSubstr("unclosed comment"));
  EXPECT_THAT(Exec("{{/* x */ .Name }}", Person()),
              HasSubstr("comment ends before closing delimiter"));
}

// --- Trimming ----------------------------------------------------------

TEST(TemplateTest, TrimMarkersTrimAllAdjacentWhitespace) {
  const TemplateValue p = Person();
  EXPECT_EQ(Exec("a \n\t {{- .Name -}} \r\n\t b", p), "aAdab");
  EXPECT_EQ(Exec("a  {{- .Name }}  b", p), "aAda  b");
  EXPECT_EQ(Exec("a  {{ .Name -}}  b", p), "a  Adab");
  // The marker needs whitespace: "{{-3}}" is the number -3, and in "{{3-}}"
  // the dash is a stray operand.
  EXPECT_EQ(Exec("a {{-3}} b", p), "a -3 b");
  EXPECT_EQ(Exec("a {{ 3 -}} b", p), "a 3b");
  EXPECT_EQ(Exec("a\n{{- 3 -}}\n", p), "a3");
  EXPECT_THAT(Exec("{{3-}}", p), HasSubstr("unexpected \"-\" in operand"));
  // A newline is whitespace for the marker too.
  EXPECT_EQ(Exec("a {{-\n.Name\n-}} b", p), "aAdab");
  // Trimming stops at the first non-space and spans only one text.
  EXPECT_EQ(Exec("x {{ .Name -}} {{- .Age }} y", p), "x Ada36 y");
  EXPECT_EQ(Exec("{{- .Name -}}", p), "Ada");
  EXPECT_EQ(Exec("  {{- \"\" -}}  ", p), "");
}

// --- Errors ------------------------------------------------------------

TEST(TemplateTest, ParseErrors) {
  const TemplateValue p = Person();
  // Go names only the line of a parse error.
  EXPECT_EQ(Exec("ok\n{{ .Name ", p),
            "PARSE ERROR: template: t:2: "
            "unclosed action");
  EXPECT_EQ(Exec("{{ nope .Name }}", p),
            "PARSE ERROR: template: t:1: function \"nope\" not defined");
  EXPECT_EQ(Exec("\n{{ .Name }", p),
            "PARSE ERROR: template: t:2: unexpected \"}\" in operand");
  EXPECT_EQ(Exec("{{ if .Name }}x", p),
            "PARSE ERROR: template: t:1: unexpected EOF: {{if}} has no "
            "matching {{end}}");
  EXPECT_EQ(Exec("x{{ end }}", p),
            "PARSE ERROR: template: t:1: unexpected {{end}}");
  EXPECT_THAT(Exec("{{ $nope }}", p), HasSubstr("undefined variable"));
  EXPECT_THAT(Exec("{{ }}", p), HasSubstr("missing value for command"));
  EXPECT_THAT(Exec("{{ .Name | }}", p), HasSubstr("missing command"));
  EXPECT_THAT(Exec("{{ (.Name }}", p), HasSubstr("unexpected \"}}\""));
  EXPECT_THAT(Exec("{{ \"abc }}", p), HasSubstr("unterminated quoted"));
  EXPECT_THAT(Exec("{{ break }}", p), HasSubstr("outside {{range}}"));
  EXPECT_THAT(Exec("{{ 0x }}", p), HasSubstr("illegal number syntax: \"0x\""));
  EXPECT_THAT(Exec("{{ 09 }}", p), HasSubstr("integer overflow: \"09\""));
  EXPECT_THAT(Exec("{{ 99999999999999999999 }}", p),
              HasSubstr("integer overflow"));
  EXPECT_THAT(
      Exec("{{ define \"a\" }}x{{ end }}{{ define \"a\" }}y{{ end }}", p),
      HasSubstr("multiple definition of template \"a\""));
  EXPECT_THAT(Exec("{{ if 1 }}{{ define \"a\" }}{{ end }}{{ end }}", p),
              HasSubstr("unexpected <define>"));
  EXPECT_THAT(Exec("{{ $a, $b := .Tags }}", p),
              HasSubstr("too many declarations"));
  EXPECT_THAT(Exec("{{ if 1 }}{{ else }}{{ else }}{{ end }}", p),
              HasSubstr("expected end"));
}

TEST(TemplateTest, ExecutionErrors) {
  const TemplateValue p = Person();
  EXPECT_EQ(Exec("{{ .Nope }}", p),
            "EXEC ERROR: template: t:1:3: executing \"t\" at <.Nope>: can't "
            "evaluate field Nope in type main.Person");
  EXPECT_EQ(Exec("{{ .Name.First }}", p),
            "EXEC ERROR: template: t:1:8: executing \"t\" at <.Name.First>: "
            "can't evaluate field First in type string");
  EXPECT_EQ(Exec("{{ range .Name }}{{ end }}", p),
            "EXEC ERROR: template: t:1:9: executing \"t\" at <.Name>: range "
            "can't iterate over Ada");
  EXPECT_THAT(Exec("{{ range . }}{{ end }}", p),
              HasSubstr("range can't iterate over {Ada"));
  EXPECT_THAT(Exec("{{ index .Tags 5 }}", p),
              HasSubstr("index out of range: 5"));
  EXPECT_THAT(Exec("{{ index .Attrs 1 }}", p),
              HasSubstr("value has type int; should be string"));
  EXPECT_THAT(Exec("{{ len .Age }}", p), HasSubstr("len of type int"));
  EXPECT_THAT(Exec("{{ eq .Name 1 }}", p),
              HasSubstr("incompatible types for comparison"));
  EXPECT_THAT(Exec("{{ not }}", p),
              HasSubstr("wrong number of args for not: want 1 got 0"));
  EXPECT_THAT(Exec("{{ .Name 1 }}", p),
              HasSubstr("Name is not a method but has arguments"));
  EXPECT_THAT(Exec("{{ printf 1 }}", p), HasSubstr("expected string"));
}

// --- Limits ------------------------------------------------------------

TEST(TemplateTest, OutputIsCapped) {
  std::vector<TemplateValue> many(2000, TemplateValue::String("x"));
  const TemplateValue data = TemplateValue::List(std::move(many));
  absl::StatusOr<Template> t = Template::Parse(
      "t",
      "{{ range . }}{{ range $ }}{{ range $ }}0123456789{{ end }}"
      "{{ end }}{{ end }}");
  ASSERT_TRUE(t.ok()) << t.status();
  absl::StatusOr<std::string> out = t->Execute(data);
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().ToString(), HasSubstr("output exceeds the limit"));

  TemplateOptions small;
  small.max_output_bytes = 5;
  EXPECT_THAT(RenderError("123456", small).ToString(),
              HasSubstr("output exceeds the limit of 5 bytes"));
}

TEST(TemplateTest, StepsAreCapped) {
  std::vector<TemplateValue> many(1000, TemplateValue::Int(1));
  const TemplateValue data = TemplateValue::List(std::move(many));
  // No output at all, but 10^9 iterations.
  absl::StatusOr<Template> t = Template::Parse(
      "t",
      "{{ range . }}{{ range $ }}{{ range $ }}{{ end }}{{ end }}"
      "{{ end }}");
  ASSERT_TRUE(t.ok()) << t.status();
  absl::StatusOr<std::string> out = t->Execute(data);
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().ToString(), HasSubstr("exceeded 1000000 steps"));
}

TEST(TemplateTest, StringsBuiltByFunctionsAreCapped) {
  // Doubling a variable in a loop would otherwise need 2^60 bytes.
  absl::StatusOr<Template> t = Template::Parse(
      "t", "{{ $s := \"ab\" }}{{ range 60 }}{{ $s = print $s $s }}{{ end }}");
  ASSERT_TRUE(t.ok()) << t.status();
  absl::StatusOr<std::string> out = t->Execute(TemplateValue());
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().ToString(),
              HasSubstr("the value built by print exceeds the limit"));
}

TEST(TemplateTest, NestingIsBounded) {
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "{{ if 1 }}";
  EXPECT_THAT(Exec(deep, Person()), HasSubstr("nesting is deeper than 64"));
  std::string parens =
      "{{ " + std::string(1000, '(') + "1" + std::string(1000, ')') + " }}";
  EXPECT_THAT(Exec(parens, Person()), HasSubstr("nesting is deeper than 64"));
  std::string ok;
  for (int i = 0; i < 60; ++i) ok += "{{ if 1 }}";
  ok += "x";
  for (int i = 0; i < 60; ++i) ok += "{{ end }}";
  EXPECT_EQ(Exec(ok, Person()), "x");
}

// Mutations of the seed template (a poor man's fuzzer; the seed corpus of a
// future libFuzzer target): every one parses or fails cleanly, and every
// parsed one executes or fails cleanly.
TEST(TemplateTest, MutatedTemplatesNeverCrash) {
  const std::string seed = kSeedTemplate;
  const std::string alphabet = "{}-$.()|\"`/* \n:=,abeifndrangewth0123";
  uint32_t state = 12345;
  auto next = [&state](uint32_t bound) {
    state = state * 1664525u + 1013904223u;
    return (state >> 8) % bound;
  };
  const TemplateValue data = BuildCommitTemplateData(SampleData());
  int parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string t = seed;
    const int edits = 1 + static_cast<int>(next(4));
    for (int e = 0; e < edits; ++e) {
      const size_t at = next(static_cast<uint32_t>(t.size() + 1));
      switch (next(3)) {
        case 0:
          if (at < t.size()) t.erase(at, 1 + next(3));
          break;
        case 1:
          t.insert(at, 1, alphabet[next(alphabet.size())]);
          break;
        default:
          if (at < t.size()) t[at] = alphabet[next(alphabet.size())];
      }
    }
    absl::StatusOr<Template> tmpl = Template::Parse("fuzz", t);
    if (!tmpl.ok()) {
      EXPECT_EQ(tmpl.status().code(), absl::StatusCode::kInvalidArgument);
      continue;
    }
    ++parsed;
    absl::StatusOr<std::string> out = tmpl->Execute(data);
    if (!out.ok()) {
      EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
  EXPECT_GT(parsed, 0);
}

TEST(TemplateTest, ParsedOnceExecutedManyTimes) {
  absl::StatusOr<Template> t = Template::Parse("t", "{{ .Name }}!");
  ASSERT_TRUE(t.ok());
  for (const char* name : {"a", "b", "c"}) {
    absl::StatusOr<std::string> out = t->Execute(
        TemplateValue::Struct("T", {{"Name", TemplateValue::String(name)}}));
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(*out, std::string(name) + "!");
  }
}

}  // namespace
}  // namespace ia::automation

namespace ia::automation {
namespace {

TEST(TemplateMissingFieldTest, TheMissingFieldComesAsAPayload) {
  absl::StatusOr<Template> t = Template::Parse("t", "{{ .A.Nope }}");
  ASSERT_TRUE(t.ok()) << t.status();
  const TemplateValue data = TemplateValue::Struct(
      "outer.T", {{"A", TemplateValue::Struct(
                            "inner.U", {{"B", TemplateValue::String("b")}})}});
  absl::StatusOr<std::string> out = t->Execute(data);
  ASSERT_FALSE(out.ok());
  const std::optional<MissingField> missing = MissingFieldOf(out.status());
  ASSERT_TRUE(missing.has_value()) << out.status();
  EXPECT_EQ(missing->type, "inner.U");
  EXPECT_EQ(missing->field, "Nope");
  // Other errors carry none.
  absl::StatusOr<Template> bad = Template::Parse("t", "{{ .A }");
  ASSERT_FALSE(bad.ok());
  EXPECT_FALSE(MissingFieldOf(bad.status()).has_value());
  EXPECT_FALSE(MissingFieldOf(absl::OkStatus()).has_value());
}

}  // namespace
}  // namespace ia::automation
