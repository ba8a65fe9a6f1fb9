// Tests of `imagectl rewrite` through imagectl's command line (Run()).
#include "tools/imagectl/rewrite.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/imagectl/cli.h"

namespace ia::imagectl {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << content;
}

constexpr char kDeployment[] = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
          env:
            - name: TAG
              value: "1.0.0" # {"$imagepolicy": "flux-system:app:tag"}
)";

class RewriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (fs::temp_directory_path() / "imagectl-rewrite-XXXXXX").string();
    dir_ = fs::path(::mkdtemp(tmpl.data()));
    WriteAll(dir_ / "deploy" / "app.yaml", kDeployment);
  }
  void TearDown() override { fs::remove_all(dir_); }

  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    RunEnvironment env;
    env.getenv = [](const std::string&) { return std::nullopt; };
    env.make_client = [](const ClientOptions&)
        -> absl::StatusOr<std::unique_ptr<ObjectClient>> {
      return absl::InternalError("rewrite must not call a service");
    };
    return ::ia::imagectl::Run(args, env, out_, err_);
  }

  fs::path dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(RewriteTest, RewritesAndPrintsChanges) {
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--policy",
                 "flux-system:app=ghcr.io/org/app:1.3.0"}),
            kExitOk)
      << err_.str();
  EXPECT_EQ(out_.str(),
            "deploy/app.yaml\n"
            "  Deployment default/app (apps/v1)\n"
            "    flux-system:app: ghcr.io/org/app:1.0.0 -> "
            "ghcr.io/org/app:1.3.0\n"
            "    flux-system:app:tag: 1.0.0 -> 1.3.0\n"
            "1 file changed\n");
  std::string want = kDeployment;
  want.replace(want.find("app:1.0.0"), 9, "app:1.3.0");
  want.replace(want.find("\"1.0.0\""), 7, "\"1.3.0\"");
  EXPECT_EQ(ReadAll(dir_ / "deploy" / "app.yaml"), want);

  // Again: nothing left to change.
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--policy",
                 "flux-system:app=ghcr.io/org/app:1.3.0"}),
            kExitOk);
  EXPECT_EQ(out_.str(), "no changes\n");
}

TEST_F(RewriteTest, MessageTemplatePrintsOnlyTheCommitMessageAndWritesNothing) {
  WriteAll(dir_ / "message.tmpl",
           "Automation: {{ .AutomationObject }} for {{ .Values.env }}\n"
           "{{ range $file, $_ := .Changed.FileChanges -}}\n"
           "- {{ $file }}\n"
           "{{ end -}}\n"
           "{{ range $o, $changes := .Changed.Objects -}}\n"
           "{{ $o.Kind }}/{{ $o.Name }}:{{ range $changes }} "
           "{{ .OldValue }} -> {{ .NewValue }};{{ end }}\n"
           "{{ end -}}");
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--policy",
                 "flux-system:app=ghcr.io/org/app:1.3.0", "--message-template",
                 (dir_ / "message.tmpl").string(), "--automation-object",
                 "apps/auto", "--value", "env=prod"}),
            kExitOk)
      << err_.str();
  EXPECT_EQ(out_.str(),
            "Automation: apps/auto for prod\n"
            "- deploy/app.yaml\n"
            "Deployment/app: ghcr.io/org/app:1.0.0 -> ghcr.io/org/app:1.3.0; "
            "1.0.0 -> 1.3.0;\n");
  EXPECT_EQ(ReadAll(dir_ / "deploy" / "app.yaml"), kDeployment);

  // No template: the default message.
  WriteAll(dir_ / "empty.tmpl", "");
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--policy",
                 "flux-system:app=ghcr.io/org/app:1.3.0", "--message-template",
                 (dir_ / "empty.tmpl").string()}),
            kExitOk);
  EXPECT_EQ(out_.str(), "Update from image update automation");

  // A broken template is bad input, with the engine's message.
  WriteAll(dir_ / "bad.tmpl", "{{ range .Changed.Objects }");
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--policy",
                 "flux-system:app=ghcr.io/org/app:1.3.0", "--message-template",
                 (dir_ / "bad.tmpl").string()}),
            kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("template"));
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--policy",
                 "flux-system:app=ghcr.io/org/app:1.3.0", "--message-template",
                 (dir_ / "message.tmpl").string(), "--value", "novalue"}),
            kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--value \"novalue\""));
  // An unreadable template names the flag, the file and the reason.
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--policy",
                 "flux-system:app=ghcr.io/org/app:1.3.0", "--message-template",
                 (dir_ / "missing.tmpl").string()}),
            kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--message-template: cannot read " +
                                    (dir_ / "missing.tmpl").string() +
                                    ": No such file or directory"));
}

TEST_F(RewriteTest, DryRunWritesNothing) {
  const std::string sha = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--dry-run", "--policy",
                 "flux-system:app=ghcr.io/org/app:1.3.0@" + sha}),
            kExitOk)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("ghcr.io/org/app:1.0.0 -> "
                                    "ghcr.io/org/app:1.3.0@" +
                                    sha + "\n"));
  EXPECT_THAT(out_.str(), HasSubstr("1 file would change (dry run"));
  EXPECT_EQ(ReadAll(dir_ / "deploy" / "app.yaml"), kDeployment);
}

TEST_F(RewriteTest, UnknownPolicyIsReportedAndLeftAlone) {
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--policy",
                 "flux-system:other=ghcr.io/org/other:2.0.0"}),
            kExitOk);
  EXPECT_EQ(out_.str(), "no changes\n");
  EXPECT_THAT(err_.str(),
              HasSubstr("deploy/app.yaml:10: marker \"flux-system:app\" left "
                        "alone: policy flux-system:app has no selected image"));
  EXPECT_EQ(ReadAll(dir_ / "deploy" / "app.yaml"), kDeployment);
}

TEST_F(RewriteTest, MalformedFileFailsButOthersAreRewritten) {
  WriteAll(dir_ / "bad.yaml",
           "a: [x # {\"$imagepolicy\": \"flux-system:app\"}\n");
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--policy",
                 "flux-system:app=ghcr.io/org/app:1.3.0"}),
            kExitFailed);
  EXPECT_THAT(err_.str(), HasSubstr("bad.yaml:"));
  EXPECT_THAT(err_.str(), HasSubstr("skipped"));
  EXPECT_THAT(ReadAll(dir_ / "deploy" / "app.yaml"), HasSubstr("app:1.3.0"));
}

TEST_F(RewriteTest, BadInput) {
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--policy", "nope"}),
            kExitUsage);
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--policy",
                 "app=ghcr.io/org/app:1.0"}),
            kExitUsage);
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--policy",
                 "ns:app=ghcr.io/org/app:bad tag"}),
            kExitUsage);
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string(), "--policy", "ns:a=x:1",
                 "--policy", "ns:a=x:2"}),
            kExitUsage);
  EXPECT_EQ(Run({"rewrite", "--path", (dir_ / "missing").string(), "--policy",
                 "ns:a=x:1"}),
            kExitUsage);
  EXPECT_EQ(Run({"rewrite", "--policy", "ns:a=x:1"}), kExitUsage);
  EXPECT_EQ(Run({"rewrite", "--path", dir_.string()}), kExitUsage);
}

TEST(ParseImageFlagTest, TagAfterTheLastColonPastTheLastSlash) {
  const std::string sha = "sha256:" + std::string(64, 'f');
  auto r = ParseImageFlag("registry.local:5000/org/app");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "registry.local:5000/org/app");
  EXPECT_EQ(r->tag, "");

  r = ParseImageFlag("registry.local:5000/org/app:1.2.3");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "registry.local:5000/org/app");
  EXPECT_EQ(r->tag, "1.2.3");

  r = ParseImageFlag("nginx:1.25@" + sha);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "nginx");
  EXPECT_EQ(r->tag, "1.25");
  EXPECT_EQ(r->digest, sha);
  EXPECT_EQ(r->Full(), "nginx:1.25@" + sha);

  r = ParseImageFlag("host:5000/app@" + sha);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "host:5000/app");
  EXPECT_EQ(r->tag, "");
  EXPECT_EQ(r->digest, sha);

  for (const char* bad : {"", "app:", "app@", "app@sha256", "/app", "app/",
                          "a//b", "app:-x", "app:a b", "app@sha256:x y"}) {
    EXPECT_FALSE(ParseImageFlag(bad).ok()) << bad;
  }
}

TEST(ParsePolicyFlagTest, KeyAndImage) {
  auto r = ParsePolicyFlag("flux-system:app=host:5000/app:1.0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, "flux-system:app");
  EXPECT_EQ(r->second.name, "host:5000/app");
  EXPECT_EQ(r->second.tag, "1.0");
  EXPECT_FALSE(ParsePolicyFlag("flux-system/app=x:1").ok());
  EXPECT_FALSE(ParsePolicyFlag("a:b:c=x:1").ok());
  EXPECT_FALSE(ParsePolicyFlag(":b=x:1").ok());
}

}  // namespace
}  // namespace ia::imagectl
