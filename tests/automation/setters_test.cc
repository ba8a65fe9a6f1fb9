// Golden-folder tests of the setters: each testdata/<case>/original is
// copied to a temporary folder, rewritten, and compared byte for byte with
// testdata/<case>/expected; the change lists are checked too.
#include "services/automation/setters.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/safe_files.h"

namespace ia::automation {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kDigest1[] =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

PolicyMap Policies() {
  return {
      {"flux-system:app", {"ghcr.io/org/app", "1.3.0", ""}},
      {"flux-system:dig", {"ghcr.io/org/dig", "2.0.0", kDigest1}},
      {"flux-system:helm",
       {"registry.example.com:5000/charts/helm", "1.10", ""}},
      {"flux-system:date", {"docker.io/org/nightly", "20241124", ""}},
      {"flux-system:quote", {"q", "a'b\"c", ""}},
      {"other-ns:app", {"ghcr.io/other/app", "9.9.9", ""}},
  };
}

SetterOptions Options() { return {"flux-system"}; }

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const fs::path& p, absl::string_view content) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

std::map<std::string, std::string> ReadTree(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && !e.is_symlink()) {
      files[e.path().lexically_relative(root).generic_string()] =
          ReadAll(e.path());
    }
  }
  return files;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "setters-XXXXXX").string();
    path_ = fs::path(::mkdtemp(tmpl.data()));
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs the setters over a copy of testdata/<name>/original, writes, and
// checks the tree equals testdata/<name>/expected byte for byte.
SetterResult RunGolden(const std::string& name) {
  const fs::path base = fs::path(IA_TESTDATA_DIR) / name;
  TempDir dir;
  fs::copy(base / "original", dir.path() / "checkout",
           fs::copy_options::recursive);
  const fs::path checkout = dir.path() / "checkout";
  absl::StatusOr<SetterResult> result =
      ComputeSetterUpdates(checkout.string(), ".", Policies(), Options());
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return {};
  EXPECT_TRUE(WriteSetterUpdates(checkout.string(), result->updates).ok());
  const auto got = ReadTree(checkout);
  const auto want = ReadTree(base / "expected");
  EXPECT_EQ(got.size(), want.size());
  for (const auto& [file, content] : want) {
    auto it = got.find(file);
    if (it == got.end()) {
      ADD_FAILURE() << "missing " << file;
      continue;
    }
    EXPECT_EQ(it->second, content) << name << "/" << file;
  }
  // A second run changes nothing: the rewrite is idempotent.
  absl::StatusOr<SetterResult> again =
      ComputeSetterUpdates(checkout.string(), ".", Policies(), Options());
  EXPECT_TRUE(again.ok());
  if (again.ok()) {
    EXPECT_THAT(again->changes, IsEmpty()) << name;
  }
  return *std::move(result);
}

MATCHER_P4(IsChange, file, setter, old_value, new_value, "") {
  return arg.file == file && arg.setter == setter &&
         arg.old_value == old_value && arg.new_value == new_value;
}

TEST(SettersGoldenTest, EveryMarkerForm) {
  const SetterResult r = RunGolden("markers");
  EXPECT_THAT(r.skipped, IsEmpty());
  EXPECT_THAT(r.ignored, IsEmpty());
  EXPECT_THAT(
      r.changes,
      ElementsAre(
          IsChange("deploy/deployment.yaml", "flux-system:app",
                   "ghcr.io/org/app:1.0.0", "ghcr.io/org/app:1.3.0"),
          IsChange("deploy/deployment.yaml", "flux-system:dig",
                   "ghcr.io/org/dig:1.0.0@sha256:"
                   "0000000000000000000000000000000000000000000000000000000000"
                   "000000",
                   std::string("ghcr.io/org/dig:2.0.0@") + kDigest1),
          IsChange("deploy/deployment.yaml", "flux-system:app",
                   "ghcr.io/org/app:0.9.0", "ghcr.io/org/app:1.3.0"),
          IsChange("deploy/deployment.yaml", "flux-system:app:tag", "1.0.0",
                   "1.3.0"),
          IsChange("deploy/deployment.yaml", "flux-system:app:name", "old/name",
                   "ghcr.io/org/app"),
          IsChange("deploy/deployment.yaml", "flux-system:dig:digest",
                   "sha256:0", kDigest1),
          IsChange("list.yaml", "flux-system:app", "ghcr.io/org/app:1.0.0",
                   "ghcr.io/org/app:1.3.0"),
          IsChange("list.yaml", "flux-system:app:tag", "1.0.0", "1.3.0"),
          IsChange("multi-doc.yaml", "flux-system:app", "ghcr.io/org/app:1.0.0",
                   "ghcr.io/org/app:1.3.0"),
          IsChange("multi-doc.yaml", "flux-system:app", "ghcr.io/org/app:1.0.0",
                   "ghcr.io/org/app:1.3.0"),
          IsChange("values.yml", "flux-system:helm:tag", "1.9", "1.10"),
          IsChange("values.yml", "flux-system:date:tag", "latest", "20241124"),
          IsChange("values.yml", "flux-system:date", "docker.io/org/nightly:1",
                   "docker.io/org/nightly:20241124")));
  // Objects and lines.
  EXPECT_EQ(r.changes[0].object,
            (ObjectId{"apps/v1", "Deployment", "app", "default"}));
  EXPECT_EQ(r.changes[0].line, 12);
  EXPECT_EQ(r.changes[6].object, ObjectId{});  // a top-level sequence
  EXPECT_EQ(r.changes[8].object, (ObjectId{"v1", "Pod", "one", ""}));
  EXPECT_EQ(r.changes[9].object, (ObjectId{"v1", "Pod", "two", "team"}));
  EXPECT_EQ(r.updates.size(), 4u);
}

TEST(SettersGoldenTest, QuotingFlowStyleAndCrlf) {
  const SetterResult r = RunGolden("styles");
  EXPECT_THAT(r.skipped, IsEmpty());
  EXPECT_THAT(r.ignored, IsEmpty());
  EXPECT_EQ(r.changes.size(), 2u + 11u);
  EXPECT_THAT(r.changes[0],
              IsChange("crlf.yaml", "flux-system:app", "ghcr.io/org/app:1.0.0",
                       "ghcr.io/org/app:1.3.0"));
  EXPECT_THAT(r.changes[6], IsChange("styles.yaml", "flux-system:quote:tag",
                                     "it's", "a'b\"c"));
}

TEST(SettersGoldenTest, Kustomization) {
  const SetterResult r = RunGolden("kustomize");
  EXPECT_THAT(r.skipped, IsEmpty());
  EXPECT_EQ(r.changes.size(), 8u);
  EXPECT_EQ(r.changes[0].object, (ObjectId{"kustomize.config.k8s.io/v1beta1",
                                           "Kustomization", "", ""}));
  EXPECT_THAT(r.changes[2],
              IsChange("Kustomization", "flux-system:helm:tag", "1.0", "1.10"));
  EXPECT_THAT(r.changes[6], IsChange("overlay/kustomization.yaml",
                                     "flux-system:helm:tag", "1.0", "1.10"));
}

TEST(SettersGoldenTest, UntouchedFilesAndMalformedBesideGood) {
  const SetterResult r = RunGolden("untouched");
  EXPECT_THAT(r.changes, ElementsAre(IsChange("good.yaml", "flux-system:app",
                                              "ghcr.io/org/app:1.0.0",
                                              "ghcr.io/org/app:1.3.0")));
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].file, "malformed.yaml");
  EXPECT_GT(r.skipped[0].line, 0);
  EXPECT_FALSE(r.skipped[0].reason.empty());
  EXPECT_THAT(r.ignored,
              ElementsAre(Field(&IgnoredMarker::setter, "flux-system:missing"),
                          Field(&IgnoredMarker::setter, "other-ns:app"),
                          Field(&IgnoredMarker::reason,
                                "malformed marker: not a JSON object"),
                          Field(&IgnoredMarker::setter, "flux-system:app:size"),
                          Field(&IgnoredMarker::reason,
                                "no digest known for the selected image")));
  EXPECT_EQ(r.ignored[0].line, 6);
}

TEST(SettersContentTest, NamespaceFilterOffAcceptsEveryNamespace) {
  const ContentResult r = ApplySettersToContent(
      "f.yaml", "a: x # {\"$imagepolicy\": \"other-ns:app:tag\"}\n", Policies(),
      SetterOptions{});
  EXPECT_EQ(r.content, "a: 9.9.9 # {\"$imagepolicy\": \"other-ns:app:tag\"}\n");
}

TEST(SettersContentTest, ByteOrderMarkKept) {
  const std::string in =
      "\xEF\xBB\xBF"
      "a: x # {\"$imagepolicy\": \"flux-system:app:tag\"}\n";
  const ContentResult r =
      ApplySettersToContent("f.yaml", in, Policies(), Options());
  EXPECT_EQ(r.content,
            "\xEF\xBB\xBF"
            "a: 1.3.0 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n");
}

TEST(SettersContentTest, TaggedScalarKeepsItsTag) {
  const ContentResult r = ApplySettersToContent(
      "f.yaml", "a: !!str x # {\"$imagepolicy\": \"flux-system:helm:tag\"}\n",
      Policies(), Options());
  EXPECT_EQ(
      r.content,
      "a: !!str \"1.10\" # {\"$imagepolicy\": \"flux-system:helm:tag\"}\n");
}

TEST(SettersContentTest, MarkerOnOwnLineIsNotApplied) {
  const std::string in = "# {\"$imagepolicy\": \"flux-system:app\"}\na: x\n";
  const ContentResult r =
      ApplySettersToContent("f.yaml", in, Policies(), Options());
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(r.content, in);
}

// The parser counts characters, not bytes: multi-byte UTF-8 before and on a
// marked line (2-, 3- and 4-byte sequences), after a byte-order mark and
// with CRLF line ends, must not shift the splice.
TEST(SettersContentTest, NonAsciiTextBeforeAndOnTheMarkedLine) {
  const std::string in =
      "\xEF\xBB\xBF# D\xC3\xA9ploiement \xE2\x80\x94 \xF0\x9F\x9A\x80\r\n"
      "apiVersion: apps/v1\r\n"
      "kind: Deployment\r\n"
      "metadata:\r\n"
      "  name: caf\xC3\xA9\r\n"
      "  annotations: {note: \"\xE6\x97\xA5\xE6\x9C\xAC\"}\r\n"
      "spec:\r\n"
      "  image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": "
      "\"flux-system:app\"}\r\n"
      "  pair: [\"\xC3\xBC\", x] # {\"$imagepolicy\": "
      "\"flux-system:helm:tag\"}\r\n";
  // Only the two marked scalars change.
  const std::string want = absl::StrReplaceAll(
      in, {{"app:1.0.0 #", "app:1.3.0 #"}, {"\", x] #", "\", \"1.10\"] #"}});
  ASSERT_NE(want, in);
  const ContentResult r =
      ApplySettersToContent("f.yaml", in, Policies(), Options());
  EXPECT_EQ(r.content, want);
  ASSERT_EQ(r.changes.size(), 2u);
  EXPECT_EQ(r.changes[0].line, 8);
  EXPECT_EQ(r.changes[1].line, 9);
  EXPECT_EQ(r.changes[0].object,
            (ObjectId{"apps/v1", "Deployment", "caf\xC3\xA9", ""}));
}

// A file the parser refuses is reported with go-yaml's wording and line
// (Flux's parser is a port of libyaml) and left as it is.
TEST(SettersContentTest, ParseErrorsNameTheLineAndTheProblem) {
  const std::string in =
      "a: x # {\"$imagepolicy\": \"flux-system:app\"}\nb: c: d\n";
  const ContentResult r =
      ApplySettersToContent("f.yaml", in, Policies(), Options());
  EXPECT_TRUE(r.skipped);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(r.content, in);
  EXPECT_EQ(r.skip.line, 2);
  EXPECT_EQ(r.skip.reason, "mapping values are not allowed in this context");

  const ContentResult tab = ApplySettersToContent(
      "f.yaml", "a: b\n\tc: d # {\"$imagepolicy\": \"flux-system:app\"}\n",
      Policies(), Options());
  EXPECT_TRUE(tab.skipped);
  EXPECT_EQ(tab.skip.line, 2);
  EXPECT_EQ(tab.skip.reason,
            "while scanning a plain scalar: found a tab character that "
            "violates indentation");

  // Not UTF-8: refused as go-yaml refuses it, never half-rewritten.
  const ContentResult latin1 = ApplySettersToContent(
      "f.yaml", "a: caf\xE9 # {\"$imagepolicy\": \"flux-system:app\"}\n",
      Policies(), Options());
  EXPECT_TRUE(latin1.skipped);
  EXPECT_EQ(latin1.skip.reason, "invalid trailing UTF-8 octet");
}

// Scalars reached through an alias are changed once, where they are
// written; keys are never changed.
TEST(SettersContentTest, AliasesAndKeysAreNotRewritten) {
  const std::string in =
      "a: &img x # {\"$imagepolicy\": \"flux-system:app:tag\"}\n"
      "b: *img # {\"$imagepolicy\": \"flux-system:app:tag\"}\n"
      "? k # {\"$imagepolicy\": \"flux-system:app:tag\"}\n"
      ": v\n";
  const ContentResult r =
      ApplySettersToContent("f.yaml", in, Policies(), Options());
  EXPECT_EQ(r.content,
            "a: &img 1.3.0 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n"
            "b: *img # {\"$imagepolicy\": \"flux-system:app:tag\"}\n"
            "? k # {\"$imagepolicy\": \"flux-system:app:tag\"}\n"
            ": v\n");
  EXPECT_EQ(r.changes.size(), 1u);
}

TEST(NeedsQuotesTest, NonStringsAndIndicators) {
  for (const char* v :
       {"1.10", "20241124", "true",  "null",  "~",          "0x1F", "1e3",
        "",     "yes",      "Off",   "-1",    "+1.5",       ".inf", "-.Inf",
        ".nan", "0o17",     "0b101", "1_000", "2024-11-24", "1:20", "a: b",
        "a #b", "*x",       "&x",    "!x",    "@x",         "`x",   "'x",
        "\"x",  "x:",       " x",    "x "}) {
    EXPECT_TRUE(NeedsQuotes(v, false)) << v;
  }
  for (const char* v :
       {"1.2.3", "v1.10", "1.3.0-rc.1", "ghcr.io/org/app:1.0", "sha256:abc",
        "latest", "main-20241124", "1.0.0+b.1", "host:5000/app", "a#b"}) {
    EXPECT_FALSE(NeedsQuotes(v, false)) << v;
  }
  EXPECT_TRUE(NeedsQuotes("a,b", true));
  EXPECT_FALSE(NeedsQuotes("a,b", false));
}

// --- Safety ---------------------------------------------------------------

constexpr char kMarked[] =
    "image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n";
constexpr char kRewritten[] =
    "image: ghcr.io/org/app:1.3.0 # {\"$imagepolicy\": \"flux-system:app\"}\n";

TEST(SettersSafetyTest, SymlinkLeavingTheRootIsNotFollowed) {
  TempDir dir;
  const fs::path outside = dir.path() / "outside";
  const fs::path root = dir.path() / "root";
  WriteAll(outside / "secret.yaml", kMarked);
  WriteAll(root / "in.yaml", kMarked);
  fs::create_symlink(outside / "secret.yaml", root / "link.yaml");
  fs::create_directory_symlink(outside, root / "linkdir");
  fs::create_directory_symlink("../outside", root / "reldir");

  absl::StatusOr<SetterResult> r =
      ComputeSetterUpdates(root.string(), ".", Policies(), Options());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->updates.size(), 1u);
  EXPECT_EQ(r->updates[0].file, "in.yaml");
  EXPECT_THAT(r->skipped, ElementsAre(Field(&SkippedFile::file, "link.yaml")));
  EXPECT_TRUE(r->skipped[0].symlink);
  ASSERT_TRUE(WriteSetterUpdates(root.string(), r->updates).ok());
  EXPECT_EQ(ReadAll(outside / "secret.yaml"), kMarked);
  EXPECT_EQ(ReadAll(root / "in.yaml"), kRewritten);

  // update.path through a symlink out of the root, or with "..".
  EXPECT_EQ(
      ComputeSetterUpdates(root.string(), "linkdir", Policies(), Options())
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeSetterUpdates(root.string(), "reldir", Policies(), Options())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ComputeSetterUpdates(root.string(), "../outside", Policies(), Options())
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeSetterUpdates(root.string(), "/etc", Policies(), Options())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // Writing a path through the link, or out with "..", is refused.
  EXPECT_FALSE(
      WriteSetterUpdates(root.string(), {{"linkdir/secret.yaml", "x"}}).ok());
  EXPECT_FALSE(
      WriteSetterUpdates(root.string(), {{"../outside/secret.yaml", "x"}})
          .ok());
  EXPECT_EQ(ReadAll(outside / "secret.yaml"), kMarked);
}

TEST(SettersSafetyTest, LinkInsideTheRootIsNotWrittenThrough) {
  TempDir dir;
  const fs::path root = dir.path();
  WriteAll(root / "real" / "app.yaml", kMarked);
  fs::create_symlink("real/app.yaml", root / "alias.yaml");
  fs::create_directory_symlink("real", root / "aliasdir");

  absl::StatusOr<SetterResult> r =
      ComputeSetterUpdates(root.string(), ".", Policies(), Options());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->updates.size(), 1u);  // the real file, once
  EXPECT_EQ(r->updates[0].file, "real/app.yaml");
  EXPECT_FALSE(
      WriteSetterUpdates(root.string(), {{"alias.yaml", kRewritten}}).ok());
  ASSERT_TRUE(WriteSetterUpdates(root.string(), r->updates).ok());
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(root / "alias.yaml")));
  EXPECT_EQ(ReadAll(root / "real" / "app.yaml"), kRewritten);

  // update.path may pass a symlink that stays inside the root; files are
  // then named by their real path.
  WriteAll(root / "real" / "app.yaml", kMarked);
  r = ComputeSetterUpdates(root.string(), "aliasdir", Policies(), Options());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->changes.size(), 1u);
  EXPECT_EQ(r->changes[0].file, "real/app.yaml");
  EXPECT_EQ(r->changes[0].file_in_path, "app.yaml");
}

class AtomicWriteTest : public ::testing::TestWithParam<Durability> {};

INSTANTIATE_TEST_SUITE_P(BothDurabilities, AtomicWriteTest,
                         ::testing::Values(Durability::kDurable,
                                           Durability::kAtomicOnly,
                                           Durability::kInPlace));

// kInPlace writes into the file's own inode (the automation's worktree pays
// for no new inode), keeps its hard links, and cuts a shorter content to
// its length; kDurable and kAtomicOnly put a new inode in its place.
TEST(InPlaceWriteTest, KeepsTheInodeAndCutsToTheNewLength) {
  TempDir dir;
  const fs::path file = dir.path() / "a.yaml";
  WriteAll(file, std::string(kMarked) + std::string(100, '#') + "\n");
  fs::create_hard_link(file, dir.path() / "hard.yaml");
  struct stat before;
  ASSERT_EQ(::stat(file.c_str(), &before), 0);
  ASSERT_TRUE(WriteFilesUnderRoot(dir.path().string(), {{"a.yaml", kRewritten}},
                                  Durability::kInPlace)
                  .ok());
  struct stat after;
  ASSERT_EQ(::stat(file.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(ReadAll(file), kRewritten);
  EXPECT_EQ(ReadAll(dir.path() / "hard.yaml"), kRewritten);
  EXPECT_EQ(static_cast<size_t>(after.st_size), std::string(kRewritten).size());

  ASSERT_TRUE(WriteFilesUnderRoot(dir.path().string(), {{"a.yaml", kMarked}},
                                  Durability::kAtomicOnly)
                  .ok());
  ASSERT_EQ(::stat(file.c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino);
}

// A file the setters leave unchanged is never opened for writing: its inode
// and modification time stay as they were, whatever the durability.
TEST_P(AtomicWriteTest, UnchangedFilesAreNotTouched) {
  TempDir dir;
  const fs::path root = dir.path();
  WriteAll(root / "marked.yaml", kMarked);
  WriteAll(root / "plain.yaml",
           "kind: ConfigMap\nimage: nginx:1.0 # no marker\n");
  WriteAll(root / "current.yaml", kRewritten);  // already what is selected
  struct stat plain_before;
  struct stat current_before;
  ASSERT_EQ(::stat((root / "plain.yaml").c_str(), &plain_before), 0);
  ASSERT_EQ(::stat((root / "current.yaml").c_str(), &current_before), 0);
  absl::StatusOr<SetterResult> r =
      ComputeSetterUpdates(root.string(), ".", Policies(), Options());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->updates.size(), 1u);
  EXPECT_EQ(r->updates[0].file, "marked.yaml");
  ASSERT_TRUE(WriteSetterUpdates(root.string(), r->updates, GetParam()).ok());
  EXPECT_EQ(ReadAll(root / "marked.yaml"), kRewritten);
  for (const auto& [name, before] :
       {std::pair{"plain.yaml", plain_before},
        std::pair{"current.yaml", current_before}}) {
    struct stat after;
    ASSERT_EQ(::stat((root / name).c_str(), &after), 0);
    EXPECT_EQ(after.st_ino, before.st_ino) << name;
    EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec) << name;
    EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec) << name;
  }
}

TEST_P(AtomicWriteTest, KeepsModeAndLeavesNoTemporaryFile) {
  TempDir dir;
  WriteAll(dir.path() / "a.yaml", kMarked);
  ASSERT_EQ(::chmod((dir.path() / "a.yaml").c_str(), 0640), 0);
  ASSERT_TRUE(WriteFilesUnderRoot(dir.path().string(), {{"a.yaml", kRewritten}},
                                  GetParam())
                  .ok());
  struct stat st;
  ASSERT_EQ(::stat((dir.path() / "a.yaml").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(ReadAll(dir.path() / "a.yaml"), kRewritten);
  // No temporary file left behind.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

// Every new content is staged before any file is replaced: when one file
// cannot be written, none is, and no temporary file is left.
TEST_P(AtomicWriteTest, NoFileReplacedWhenOneCannotBeWritten) {
  TempDir dir;
  const fs::path root = dir.path() / "root";
  WriteAll(root / "a" / "one.yaml", kMarked);
  WriteAll(root / "b" / "real.yaml", kMarked);
  WriteAll(root / "c" / "three.yaml", kMarked);
  fs::create_symlink("real.yaml", root / "b" / "link.yaml");
  const absl::Status written =
      WriteFilesUnderRoot(root.string(),
                          {{"a/one.yaml", kRewritten},
                           {"b/link.yaml", kRewritten},
                           {"c/three.yaml", kRewritten}},
                          GetParam());
  EXPECT_EQ(written.code(), absl::StatusCode::kFailedPrecondition) << written;
  EXPECT_EQ(ReadAll(root / "a" / "one.yaml"), kMarked);
  EXPECT_EQ(ReadAll(root / "b" / "real.yaml"), kMarked);
  EXPECT_EQ(ReadAll(root / "c" / "three.yaml"), kMarked);
  EXPECT_THAT(ReadTree(root),
              UnorderedElementsAre(::testing::Key("a/one.yaml"),
                                   ::testing::Key("b/real.yaml"),
                                   ::testing::Key("c/three.yaml")));

  // Without the bad file, every file is replaced.
  ASSERT_TRUE(WriteFilesUnderRoot(
                  root.string(),
                  {{"a/one.yaml", kRewritten}, {"c/three.yaml", kRewritten}},
                  GetParam())
                  .ok());
  EXPECT_EQ(ReadAll(root / "a" / "one.yaml"), kRewritten);
  EXPECT_EQ(ReadAll(root / "c" / "three.yaml"), kRewritten);
  EXPECT_EQ(ReadTree(root).size(), 3u);
}

TEST(CleanRelativePathTest, Cases) {
  EXPECT_EQ(*CleanRelativePath(""), ".");
  EXPECT_EQ(*CleanRelativePath("./a//b/../c/"), "a/c");
  EXPECT_FALSE(CleanRelativePath("a/../../b").ok());
  EXPECT_FALSE(CleanRelativePath("/a").ok());
}

}  // namespace
}  // namespace ia::automation
