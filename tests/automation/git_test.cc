// The Git layer (services/automation/git.h) against real repositories: the
// clone and its reuse, checkout of every kind of ref, and UpdateBranch
// (commit, push, retry after a rejected push). Transports and credentials
// are in git_remote_test.cc, signing in git_sign_test.cc.
#include "services/automation/git.h"

#include <malloc.h>
#include <sys/stat.h>

#include <filesystem>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/automation/git_test_util.h"
#include "tests/support/git_server.h"

namespace ia::automation {
namespace {

using ::ia::automation::testing::BotCommit;
using ::ia::automation::testing::ReadText;
using ::ia::automation::testing::WriteFileRewrite;
using ::ia::automation::testing::WriteWorktreeFile;
using ::ia::testing::BareRepo;
using ::ia::testing::GitOutput;
using ::ia::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kAppYaml[] =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "spec:\n"
    "  image: registry.example/app:1.0.0 # {\"$imagepolicy\": "
    "\"flux-system:app\"}\n"
    "  replicas: 2\n";

constexpr char kAppYamlUpdated[] =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "spec:\n"
    "  image: registry.example/app:1.3.0 # {\"$imagepolicy\": "
    "\"flux-system:app\"}\n"
    "  replicas: 2\n";

class GitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto repo = BareRepo::Create(tmp_.Join("remote/repo.git"));
    ASSERT_TRUE(repo.ok()) << repo.status();
    repo_.emplace(std::move(*repo));
    auto seed = repo_->Commit(
        "main", {{"deploy/app.yaml", kAppYaml}, {"README", "hello\n"}});
    ASSERT_TRUE(seed.ok()) << seed.status();
    seed_ = *seed;
  }

  GitRemote Remote() const {
    return GitRemote{repo_->FileUrl(), {}, absl::Seconds(60)};
  }

  std::unique_ptr<GitCheckout> Open(const std::string& name) {
    auto checkout = OpenGitCheckout(tmp_.Join(name), Remote());
    EXPECT_TRUE(checkout.ok()) << checkout.status();
    return checkout.ok() ? std::move(*checkout) : nullptr;
  }

  TempDir tmp_;
  std::optional<BareRepo> repo_;
  std::string seed_;
};

ino_t Inode(const std::string& path) {
  struct stat st {};
  stat(path.c_str(), &st);
  return st.st_ino;
}

TEST_F(GitTest, ClonesOnceAndReopeningReusesTheClone) {
  auto checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  EXPECT_EQ(checkout->worktree(), tmp_.Join("clone"));
  auto head = checkout->Checkout(GitRef{.branch = "main"});
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(*head, seed_);
  EXPECT_EQ(ReadText(tmp_.Join("clone/deploy/app.yaml")), kAppYaml);
  const ino_t git_dir = Inode(tmp_.Join("clone/.git"));
  tmp_.WriteFile("clone/.git/ia-test-marker", "still the same clone");
  checkout.reset();

  auto next = repo_->Commit("main", {{"NEW", "new\n"}}, "second");
  ASSERT_TRUE(next.ok()) << next.status();
  checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  EXPECT_TRUE(std::filesystem::exists(tmp_.Join("clone/.git/ia-test-marker")));
  EXPECT_EQ(Inode(tmp_.Join("clone/.git")), git_dir);
  head = checkout->Checkout(GitRef{.branch = "main"});
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(*head, *next);
  EXPECT_EQ(ReadText(tmp_.Join("clone/NEW")), "new\n");
}

TEST_F(GitTest, TheFactoryKeepsOneClonePerRepositoryUnderItsRoot) {
  std::unique_ptr<GitCheckoutFactory> factory =
      MakeGitCheckoutFactory(tmp_.Join("git"));
  auto checkout = factory->Open("apps", "repo", Remote());
  ASSERT_TRUE(checkout.ok()) << checkout.status();
  EXPECT_EQ((*checkout)->worktree(), tmp_.Join("git/apps/repo"));
  auto head = (*checkout)->Checkout(GitRef{.branch = "main"});
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(*head, seed_);
  EXPECT_EQ(ReadText(tmp_.Join("git/apps/repo/deploy/app.yaml")), kAppYaml);
}

TEST_F(GitTest, AChangedOriginUrlClonesAgain) {
  auto other = BareRepo::Create(tmp_.Join("remote/other.git"));
  ASSERT_TRUE(other.ok()) << other.status();
  auto other_head = other->Commit("main", {{"OTHER", "other\n"}});
  ASSERT_TRUE(other_head.ok()) << other_head.status();

  ASSERT_NE(Open("clone"), nullptr);
  tmp_.WriteFile("clone/.git/ia-test-marker", "first clone");
  auto checkout =
      OpenGitCheckout(tmp_.Join("clone"), GitRemote{other->FileUrl()});
  ASSERT_TRUE(checkout.ok()) << checkout.status();
  EXPECT_FALSE(std::filesystem::exists(tmp_.Join("clone/.git/ia-test-marker")));
  auto head = (*checkout)->Checkout(GitRef{.branch = "main"});
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(*head, *other_head);
  EXPECT_FALSE(std::filesystem::exists(tmp_.Join("clone/deploy/app.yaml")));
  EXPECT_EQ(
      *GitOutput({"-C", tmp_.Join("clone"), "remote", "get-url", "origin"}),
      other->FileUrl());
}

TEST_F(GitTest, ChecksOutBranchTagSemverAndCommit) {
  auto v1 = repo_->Commit("main", {{"VERSION", "1.0.0\n"}}, "v1");
  ASSERT_TRUE(v1.ok());
  ASSERT_TRUE(repo_->Tag("v1.0.0", *v1, "annotated release").ok());
  auto v12 = repo_->Commit("main", {{"VERSION", "1.2.0\n"}}, "v1.2");
  ASSERT_TRUE(v12.ok());
  ASSERT_TRUE(repo_->Tag("v1.2.0", *v12).ok());
  ASSERT_TRUE(repo_->Tag("1.3.0-rc.1", *v12).ok());
  auto v2 = repo_->Commit("main", {{"VERSION", "2.0.0\n"}}, "v2");
  ASSERT_TRUE(v2.ok());
  ASSERT_TRUE(repo_->Tag("v2.0.0", *v2).ok());
  auto main_head = repo_->Commit("main", {{"VERSION", "next\n"}}, "next");
  ASSERT_TRUE(main_head.ok());
  auto dev = repo_->Commit("dev", {{"VERSION", "dev\n"}}, "dev");
  ASSERT_TRUE(dev.ok());

  auto checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  const std::string version = tmp_.Join("clone/VERSION");
  struct Case {
    GitRef ref;
    std::string commit;
    std::string file;
  };
  const std::vector<Case> cases = {
      {GitRef{.branch = "main"}, *main_head, "next\n"},
      {GitRef{.branch = "dev"}, *dev, "dev\n"},
      {GitRef{.tag = "v1.0.0"}, *v1, "1.0.0\n"},
      {GitRef{.tag = "v2.0.0"}, *v2, "2.0.0\n"},
      {GitRef{.semver = ">=1.0.0 <2.0.0"}, *v12, "1.2.0\n"},
      {GitRef{.semver = "*"}, *v2, "2.0.0\n"},
      {GitRef{.commit = *v1}, *v1, "1.0.0\n"},
      {GitRef{.branch = "main", .commit = *v12}, *v12, "1.2.0\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    auto head = checkout->Checkout(c.ref);
    ASSERT_TRUE(head.ok()) << head.status();
    EXPECT_EQ(*head, c.commit);
    EXPECT_EQ(ReadText(version), c.file);
    EXPECT_EQ(*GitOutput({"-C", tmp_.Join("clone"), "rev-parse", "HEAD"}),
              c.commit);
  }
  // A branch checkout leaves HEAD on the local branch.
  ASSERT_TRUE(checkout->Checkout(GitRef{.branch = "dev"}).ok());
  EXPECT_EQ(*GitOutput({"-C", tmp_.Join("clone"), "symbolic-ref", "HEAD"}),
            "refs/heads/dev");
}

TEST_F(GitTest, UnknownRefsAreFailedPreconditionNamingThem) {
  auto checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  auto dev = repo_->Commit("dev", {{"DEV", "x\n"}});
  ASSERT_TRUE(dev.ok());

  auto branch = checkout->Checkout(GitRef{.branch = "no-such-branch"});
  EXPECT_TRUE(absl::IsFailedPrecondition(branch.status())) << branch.status();
  EXPECT_THAT(branch.status().message(), HasSubstr("\"no-such-branch\""));

  auto tag = checkout->Checkout(GitRef{.tag = "v9.9.9"});
  EXPECT_TRUE(absl::IsFailedPrecondition(tag.status())) << tag.status();
  EXPECT_THAT(tag.status().message(), HasSubstr("v9.9.9"));

  auto semver = checkout->Checkout(GitRef{.semver = ">=5.0.0"});
  EXPECT_TRUE(absl::IsFailedPrecondition(semver.status())) << semver.status();
  EXPECT_THAT(semver.status().message(), HasSubstr(">=5.0.0"));

  const std::string missing(40, 'a');
  auto commit = checkout->Checkout(GitRef{.commit = missing});
  EXPECT_TRUE(absl::IsFailedPrecondition(commit.status())) << commit.status();
  EXPECT_THAT(commit.status().message(), HasSubstr(missing));

  auto off_branch =
      checkout->Checkout(GitRef{.branch = "main", .commit = *dev});
  EXPECT_TRUE(absl::IsFailedPrecondition(off_branch.status()))
      << off_branch.status();
  EXPECT_THAT(off_branch.status().message(),
              HasSubstr("not on branch \"main\""));

  EXPECT_TRUE(absl::IsInvalidArgument(
      checkout->Checkout(GitRef{.commit = "abc123"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      checkout->Checkout(GitRef{.semver = ">= 1.0 <"}).status()));
}

TEST_F(GitTest, CheckoutDiscardsLocalChanges) {
  auto checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  ASSERT_TRUE(checkout->Checkout(GitRef{.branch = "main"}).ok());
  tmp_.WriteFile("clone/deploy/app.yaml", "changed locally\n");
  tmp_.WriteFile("clone/untracked.yaml", "left over\n");
  ASSERT_TRUE(checkout->Checkout(GitRef{.branch = "main"}).ok());
  EXPECT_EQ(ReadText(tmp_.Join("clone/deploy/app.yaml")), kAppYaml);
  EXPECT_FALSE(std::filesystem::exists(tmp_.Join("clone/untracked.yaml")));
}

TEST_F(GitTest, NoChangeMeansNoCommitAndNoPush) {
  auto checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  int calls = 0;
  auto result = checkout->UpdateBranch(
      GitRef{.branch = "main"},
      [&](const std::string&) -> absl::StatusOr<Rewritten> {
        ++calls;
        return Rewritten{"nothing", {}};
      },
      BotCommit(), PushOptions{.branch = "main"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(result->base_commit, seed_);
  EXPECT_EQ(result->pushed_commit, "");
  EXPECT_EQ(result->attempts, 0);
  EXPECT_EQ(*repo_->RevParse("main"), seed_);
}

TEST_F(GitTest, CommitsAndPushesExactlyTheRewrite) {
  auto checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  const std::string message =
      "Update app to 1.3.0\n\nflux-system/app: registry.example/app:1.0.0 -> "
      "1.3.0\n";
  auto result = checkout->UpdateBranch(
      GitRef{.branch = "main"},
      WriteFileRewrite("deploy/app.yaml", kAppYamlUpdated, message),
      BotCommit(), PushOptions{.branch = "main"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->base_commit, seed_);
  EXPECT_EQ(result->attempts, 1);
  ASSERT_EQ(result->pushed_commit.size(), 40u);
  EXPECT_EQ(*repo_->RevParse("main"), result->pushed_commit);

  auto who = repo_->Log("main", "%an|%ae|%cn|%ce|%P");
  ASSERT_TRUE(who.ok());
  EXPECT_EQ((*who)[0], absl::StrCat("Image Bot|image-bot@example.com|Image Bot|"
                                    "image-bot@example.com|",
                                    seed_));
  EXPECT_EQ(*repo_->Message("main"), message);
  EXPECT_EQ(*repo_->Show({"--format=", "--numstat", "main"}),
            "1\t1\tdeploy/app.yaml\n");
  auto diff = repo_->Show({"--format=", "-U0", "main"});
  ASSERT_TRUE(diff.ok());
  EXPECT_THAT(
      *diff,
      HasSubstr("-  image: registry.example/app:1.0.0 # {\"$imagepolicy\": "
                "\"flux-system:app\"}\n"
                "+  image: registry.example/app:1.3.0 # {\"$imagepolicy\": "
                "\"flux-system:app\"}\n"));
  EXPECT_EQ(*repo_->ReadFile("main", "deploy/app.yaml"), kAppYamlUpdated);

  // The worktree is the pushed commit, clean.
  const std::string clone = tmp_.Join("clone");
  EXPECT_EQ(*GitOutput({"-C", clone, "rev-parse", "HEAD"}),
            result->pushed_commit);
  EXPECT_EQ(*GitOutput({"-C", clone, "status", "--porcelain"}), "");
  EXPECT_EQ(ReadText(clone + "/deploy/app.yaml"), kAppYamlUpdated);
}

TEST_F(GitTest, RepeatedRunsDoNotGrowTheHeap) {
  // The service opens the clone and fetches and pushes on every run: the
  // heap must not keep what a run allocated. (libgit2 1.5 leaks PCRE2 match
  // data in git_remote_lookup/git_remote_create, ~0.6 MiB per run, which is
  // why git.cc uses neither.)
  auto run = [&](int i) {
    auto checkout = Open("clone");
    ASSERT_NE(checkout, nullptr);
    const std::string content = absl::StrReplaceAll(
        kAppYamlUpdated, {{"1.3.0", absl::StrCat("1.3.", i)}});
    auto result = checkout->UpdateBranch(
        GitRef{.branch = "main"},
        WriteFileRewrite("deploy/app.yaml", content, "bump"), BotCommit(),
        PushOptions{.branch = "main"});
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_FALSE(result->pushed_commit.empty());
  };
  for (int i = 0; i < 3; ++i) run(100 + i);  // warm caches and arenas
  const size_t before = mallinfo2().uordblks;
  for (int i = 0; i < 20; ++i) run(i);
  const size_t after = mallinfo2().uordblks;
  EXPECT_LT(after, before + (2u << 20))
      << "heap grew by " << (after - before) << " bytes";
}

TEST_F(GitTest, PushesToANewBranchCreatedFromTheCheckoutAndAccumulatesThere) {
  auto checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  PushOptions push;
  push.branch = "image-updates";
  push.refspec = "refs/heads/image-updates:refs/heads/image-updates-review";
  auto first = checkout->UpdateBranch(
      GitRef{.branch = "main"},
      WriteFileRewrite("deploy/app.yaml", kAppYamlUpdated, "first"),
      BotCommit(), push);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->base_commit, seed_);
  EXPECT_EQ(*repo_->RevParse("image-updates"), first->pushed_commit);
  EXPECT_EQ(*repo_->RevParse("image-updates-review"), first->pushed_commit);
  EXPECT_EQ(*repo_->RevParse("main"), seed_);
  EXPECT_THAT(*repo_->Log("image-updates", "%s"), ElementsAre("first", "seed"));

  auto second = checkout->UpdateBranch(
      GitRef{.branch = "main"},
      WriteFileRewrite("deploy/other.yaml", "x: 1\n", "second"), BotCommit(),
      push);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->base_commit, first->pushed_commit);
  EXPECT_THAT(*repo_->Log("image-updates", "%s"),
              ElementsAre("second", "first", "seed"));
  EXPECT_EQ(*repo_->RevParse("image-updates-review"), second->pushed_commit);
  EXPECT_EQ(*repo_->RevParse("main"), seed_);
}

TEST_F(GitTest, TagCheckoutPushesToTheGivenBranch) {
  ASSERT_TRUE(repo_->Tag("v1.0.0", seed_).ok());
  auto checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  auto no_branch = checkout->UpdateBranch(GitRef{.tag = "v1.0.0"},
                                          WriteFileRewrite("a", "b"),
                                          BotCommit(), PushOptions{});
  EXPECT_TRUE(absl::IsInvalidArgument(no_branch.status()))
      << no_branch.status();
  EXPECT_EQ(no_branch.failed_phase(), GitPhase::kOptions);
  auto result = checkout->UpdateBranch(
      GitRef{.tag = "v1.0.0"},
      WriteFileRewrite("deploy/app.yaml", kAppYamlUpdated, "from tag"),
      BotCommit(), PushOptions{.branch = "release"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*repo_->RevParse("release"), result->pushed_commit);
  EXPECT_THAT(*repo_->Log("release", "%s"), ElementsAre("from tag", "seed"));
}

TEST_F(GitTest, ForceRefspecsAreRefused) {
  auto checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  PushOptions force{.branch = "main"};
  force.refspec = "+refs/heads/main:refs/heads/other";
  auto result = checkout->UpdateBranch(
      GitRef{.branch = "main"},
      WriteFileRewrite("deploy/app.yaml", kAppYamlUpdated), BotCommit(), force);
  EXPECT_TRUE(absl::IsInvalidArgument(result.status())) << result.status();
  EXPECT_EQ(*repo_->RevParse("main"), seed_);
}

// Only what the rewrite names is staged: a stray file in the worktree (a
// temporary file left by a crash, anything else) is never committed.
TEST_F(GitTest, OnlyTheFilesTheRewriteNamesAreCommitted) {
  auto checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  auto rewrite = [&](const std::string& worktree) -> absl::StatusOr<Rewritten> {
    WriteWorktreeFile(worktree, "deploy/app.yaml", kAppYamlUpdated);
    WriteWorktreeFile(worktree, "deploy/new.yaml", "new: true\n");
    std::filesystem::remove(std::filesystem::path(worktree) / "README");
    WriteWorktreeFile(worktree, "stray.yaml", "not named\n");
    WriteWorktreeFile(worktree, "deploy/.app.yaml.tmp123", "left over\n");
    return Rewritten{"bot", {"deploy/app.yaml", "deploy/new.yaml", "README"}};
  };
  auto result =
      checkout->UpdateBranch(GitRef{.branch = "main"}, rewrite, BotCommit(),
                             PushOptions{.branch = "main"});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->pushed_commit.size(), 40u);
  EXPECT_EQ(*repo_->Show({"--format=", "--name-status", "main"}),
            "D\tREADME\nM\tdeploy/app.yaml\nA\tdeploy/new.yaml\n");
}

TEST_F(GitTest, ARejectedPushIsRetriedOnTheNewHead) {
  auto checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  int calls = 0;
  std::string theirs;
  auto rewrite = [&](const std::string& worktree) -> absl::StatusOr<Rewritten> {
    if (++calls == 1) {
      // Someone else pushes between our fetch and our push.
      auto pushed = ::ia::testing::PushFromOtherClone(
          repo_->FileUrl(), "main", {{"README", "edited by a human\n"}},
          "human edit");
      if (!pushed.ok()) return pushed.status();
      theirs = *pushed;
    }
    WriteWorktreeFile(worktree, "deploy/app.yaml", kAppYamlUpdated);
    return Rewritten{"bot", {"deploy/app.yaml"}};
  };
  auto result =
      checkout->UpdateBranch(GitRef{.branch = "main"}, rewrite, BotCommit(),
                             PushOptions{.branch = "main"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(result->attempts, 2);
  EXPECT_EQ(result->base_commit, theirs);
  EXPECT_THAT(*repo_->Log("main", "%H"),
              ElementsAre(result->pushed_commit, theirs, seed_));
  EXPECT_EQ(*repo_->ReadFile("main", "README"), "edited by a human\n");
  EXPECT_EQ(*repo_->ReadFile("main", "deploy/app.yaml"), kAppYamlUpdated);
  EXPECT_EQ(ReadText(tmp_.Join("clone/README")), "edited by a human\n");
}

TEST_F(GitTest, GivesUpWithAbortedWhenTheBranchKeepsMoving) {
  auto checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  int calls = 0;
  auto rewrite = [&](const std::string& worktree) -> absl::StatusOr<Rewritten> {
    ++calls;
    auto pushed = ::ia::testing::PushFromOtherClone(
        repo_->FileUrl(), "main", {{"COUNTER", absl::StrCat(calls, "\n")}},
        "busy");
    if (!pushed.ok()) return pushed.status();
    WriteWorktreeFile(worktree, "deploy/app.yaml", kAppYamlUpdated);
    return Rewritten{"bot", {"deploy/app.yaml"}};
  };
  PushOptions push{.branch = "main"};
  push.max_attempts = 3;
  auto result = checkout->UpdateBranch(GitRef{.branch = "main"}, rewrite,
                                       BotCommit(), push);
  EXPECT_TRUE(absl::IsAborted(result.status())) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr("\"main\""));
  EXPECT_EQ(result.failed_phase(), GitPhase::kPushRejected);
  EXPECT_EQ(calls, 3);
  // Nothing of ours on the branch, nothing of theirs lost.
  EXPECT_THAT(*repo_->Log("main", "%s"),
              ElementsAre("busy", "busy", "busy", "seed"));
}

TEST_F(GitTest, TwoCheckoutsOneAfterTheOtherLoseNoUpdate) {
  auto a = Open("a");
  auto b = Open("b");  // cloned now: stale once `a` pushes
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto first = a->UpdateBranch(
      GitRef{.branch = "main"},
      WriteFileRewrite("deploy/app.yaml", kAppYamlUpdated, "from a"),
      BotCommit(), PushOptions{.branch = "main"});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second =
      b->UpdateBranch(GitRef{.branch = "main"},
                      WriteFileRewrite("deploy/b.yaml", "b: true\n", "from b"),
                      BotCommit(), PushOptions{.branch = "main"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->base_commit, first->pushed_commit);
  EXPECT_THAT(*repo_->Log("main", "%s"),
              ElementsAre("from b", "from a", "seed"));
  EXPECT_EQ(*repo_->ReadFile("main", "deploy/app.yaml"), kAppYamlUpdated);
  EXPECT_EQ(*repo_->ReadFile("main", "deploy/b.yaml"), "b: true\n");
}

TEST_F(GitTest, ARewriteErrorStopsTheRun) {
  auto checkout = Open("clone");
  ASSERT_NE(checkout, nullptr);
  auto result = checkout->UpdateBranch(
      GitRef{.branch = "main"},
      [](const std::string&) -> absl::StatusOr<Rewritten> {
        return absl::DataLossError("setter failed");
      },
      BotCommit(), PushOptions{.branch = "main"});
  EXPECT_TRUE(absl::IsDataLoss(result.status())) << result.status();
  EXPECT_EQ(result.failed_phase(), GitPhase::kRewrite);
  EXPECT_EQ(*repo_->RevParse("main"), seed_);
}

// Fetch over smart HTTP transfers only new objects: lighttpd's access log
// gives the bytes of every upload-pack response.
TEST(GitFetchTest, AFetchOnlyBringsWhatIsNew) {
  TempDir tmp;
  auto repo = BareRepo::Create(tmp.Join("root/repo.git"));
  ASSERT_TRUE(repo.ok()) << repo.status();
  std::mt19937 rng(7);
  std::string noise(512 * 1024, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  ASSERT_TRUE(repo->Commit("main", {{"big.bin", noise}}).ok());
  auto server =
      ::ia::testing::GitHttpServer::Start({.project_root = tmp.Join("root")});
  ASSERT_TRUE(server.ok()) << server.status();
  GitRemote remote{(*server)->Url("repo.git"),
                   GitAuth{.username = (*server)->options().username,
                           .password = (*server)->options().password}};

  // The response sizes of the upload-pack POSTs, in order.
  auto upload_pack_bytes = [](const std::string& log) {
    std::vector<int64_t> sizes;
    for (absl::string_view line : absl::StrSplit(log, '\n')) {
      if (!absl::StrContains(line, "POST /git/repo.git/git-upload-pack"))
        continue;
      std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
      int64_t n = 0;
      // USER "POST PATH HTTP/1.1" STATUS BYTES "AUTH..."
      if (f.size() > 5 && absl::SimpleAtoi(f[5], &n)) sizes.push_back(n);
    }
    return sizes;
  };
  auto posts = [&](size_t n) {
    return [&, n](const std::string& log) {
      return upload_pack_bytes(log).size() >= n;
    };
  };
  {
    auto checkout = OpenGitCheckout(tmp.Join("clone"), remote);
    ASSERT_TRUE(checkout.ok()) << checkout.status();
  }
  std::string log = (*server)->WaitForAccessLog(posts(1));
  auto first = upload_pack_bytes(log);
  ASSERT_EQ(first.size(), 1u) << log;
  EXPECT_GT(first[0], 512 * 1024);

  ASSERT_TRUE(repo->Commit("main", {{"small.txt", "small\n"}}).ok());
  auto checkout = OpenGitCheckout(tmp.Join("clone"), remote);
  ASSERT_TRUE(checkout.ok()) << checkout.status();
  ASSERT_TRUE((*checkout)->Fetch().ok());
  log = (*server)->WaitForAccessLog(posts(2));
  auto sizes = upload_pack_bytes(log);
  ASSERT_GE(sizes.size(), 2u) << log;
  int64_t fetched = 0;
  for (size_t i = 1; i < sizes.size(); ++i) fetched += sizes[i];
  EXPECT_LT(fetched, 16 * 1024) << log;
  auto head = (*checkout)->Checkout(GitRef{.branch = "main"});
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(*head, *repo->RevParse("main"));
}

}  // namespace
}  // namespace ia::automation
