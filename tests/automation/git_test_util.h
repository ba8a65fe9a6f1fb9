// Shared bits of the Git layer's tests (tests/automation/git_*_test.cc).
#ifndef TESTS_AUTOMATION_GIT_TEST_UTIL_H_
#define TESTS_AUTOMATION_GIT_TEST_UTIL_H_

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "services/automation/git.h"
#include "tests/support/git_server.h"

namespace ia::automation::testing {

inline GitSignature Bot() { return {"Image Bot", "image-bot@example.com"}; }

inline CommitOptions BotCommit() {
  CommitOptions options;
  options.author = Bot();
  return options;
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sets worktree/`file` to `content`.
inline void WriteWorktreeFile(const std::string& worktree,
                              const std::string& file,
                              const std::string& content) {
  const std::filesystem::path p = std::filesystem::path(worktree) / file;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

// A rewrite that sets worktree/`file` to `content` and returns `message`.
inline RewriteFunc WriteFileRewrite(const std::string& file,
                                    const std::string& content,
                                    const std::string& message = "update") {
  return [file, content,
          message](const std::string& worktree) -> absl::StatusOr<Rewritten> {
    WriteWorktreeFile(worktree, file, content);
    return Rewritten{message, {file}};
  };
}

// Captures what this process writes to stderr (the JSON logs) while alive.
class StderrCapture {
 public:
  StderrCapture() : dir_() {
    std::fflush(stderr);
    saved_ = dup(2);
    const int fd =
        open(dir_.Join("stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
  }
  ~StderrCapture() { Restore(); }
  // Stops capturing and returns what was written.
  std::string Finish() {
    Restore();
    return ReadText(dir_.Join("stderr"));
  }

 private:
  void Restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    saved_ = -1;
  }
  ia::testing::TempDir dir_;
  int saved_ = -1;
};

}  // namespace ia::automation::testing

#endif  // TESTS_AUTOMATION_GIT_TEST_UTIL_H_
