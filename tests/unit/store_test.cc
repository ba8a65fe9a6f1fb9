// Tests of common/store.h: the SQLite key-value store, in memory and on disk,
// including exclusivity between processes and durability across kill -9.
#include "common/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::Pair;
using Entries = std::vector<std::pair<std::string, std::string>>;

// A fresh directory under the test temp dir, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = testing::TempDir() + "store_test.XXXXXX";
    char* dir = mkdtemp(pattern.data());
    EXPECT_NE(dir, nullptr) << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The bytes of the file at `path` ("" if it cannot be read).
std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::unique_ptr<Store> MustOpen(const std::string& path,
                                const Store::Options& options = {}) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

// Runs each test on an in-memory store and on a file-backed one.
class StoreTest : public testing::TestWithParam<bool> {
 protected:
  std::unique_ptr<Store> OpenStore(const Store::Options& options = {}) {
    return MustOpen(GetParam() ? dir_.path() + "/store.db" : ":memory:",
                    options);
  }

  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Store, StoreTest, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "File" : "Memory";
                         });

TEST_P(StoreTest, GetOfMissingKeyIsNullopt) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::optional<std::string>> got = store->Get("b", "k");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, std::nullopt);
}

TEST_P(StoreTest, PutGetReplaceDelete) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("objects", "default/app", "v1").ok());
  EXPECT_THAT(*store->Get("objects", "default/app"),
              Optional(std::string("v1")));
  ASSERT_TRUE(store->Put("objects", "default/app", "v2").ok());
  EXPECT_THAT(*store->Get("objects", "default/app"),
              Optional(std::string("v2")));

  EXPECT_TRUE(*store->Delete("objects", "default/app"));
  EXPECT_EQ(*store->Get("objects", "default/app"), std::nullopt);
  EXPECT_FALSE(*store->Delete("objects", "default/app"));
}

TEST_P(StoreTest, BucketsAreSeparate) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("a", "k", "in a").ok());
  ASSERT_TRUE(store->Put("b", "k", "in b").ok());
  ASSERT_TRUE(store->Put("ab", "k", "in ab").ok());
  EXPECT_THAT(*store->Get("a", "k"), Optional(std::string("in a")));
  EXPECT_THAT(*store->Get("b", "k"), Optional(std::string("in b")));
  EXPECT_THAT(*store->List("a"), ElementsAre(Pair("k", "in a")));
  ASSERT_TRUE(*store->Delete("a", "k"));
  EXPECT_THAT(*store->Get("b", "k"), Optional(std::string("in b")));
  EXPECT_THAT(*store->List("a"), IsEmpty());
}

TEST_P(StoreTest, KeysAndValuesAreArbitraryBytes) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const std::string nul_key("a\0b", 3);
  const std::string binary_value("\0\xff\xfe\x80 \x01", 6);
  const std::string bad_utf8("\xc3\x28\xff", 3);
  ASSERT_TRUE(store->Put("b", nul_key, binary_value).ok());
  ASSERT_TRUE(store->Put("b", "a", "just a").ok());  // Not confused with a\0b.
  ASSERT_TRUE(store->Put("b", bad_utf8, bad_utf8).ok());
  ASSERT_TRUE(store->Put("b", "", "empty key").ok());
  ASSERT_TRUE(store->Put("b", "empty value", "").ok());
  ASSERT_TRUE(store->Put(std::string("\0", 1), absl::string_view(), "").ok());

  EXPECT_THAT(*store->Get("b", nul_key), Optional(binary_value));
  EXPECT_THAT(*store->Get("b", "a"), Optional(std::string("just a")));
  EXPECT_THAT(*store->Get("b", bad_utf8), Optional(bad_utf8));
  EXPECT_THAT(*store->Get("b", ""), Optional(std::string("empty key")));
  EXPECT_THAT(*store->Get("b", "empty value"), Optional(std::string()));
  EXPECT_THAT(*store->Get(std::string("\0", 1), ""), Optional(std::string()));
  EXPECT_EQ(*store->Get("", ""), std::nullopt);
  EXPECT_THAT(*store->List("b", "a"),
              ElementsAre(Pair("a", "just a"), Pair(nul_key, binary_value)));
}

TEST_P(StoreTest, ListIsSortedByUnsignedBytes) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (const char* key : {"b", "\xff", "a", "\x01", "ab", "\x7f", "\x80"}) {
    ASSERT_TRUE(store->Put("b", key, "").ok());
  }
  Entries entries = *store->List("b");
  std::vector<std::string> keys;
  for (auto& [key, value] : entries) keys.push_back(key);
  EXPECT_THAT(keys,
              ElementsAre("\x01", "a", "ab", "b", "\x7f", "\x80", "\xff"));
}

TEST_P(StoreTest, ListPrefixMatchesBruteForceForAnyBytes) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  // Every string of length <= 3 over an alphabet with the awkward bytes:
  // NUL, 0x7f/0x80 (the signed-char boundary), 0xfe/0xff (successor carry),
  // and LIKE's metacharacters.
  const std::string alphabet("\x00\x01%_a\x7f\x80\xfe\xff", 9);
  std::vector<std::string> all = {""};
  for (size_t begin = 0, len = 0; len < 3; ++len) {
    const size_t end = all.size();
    for (size_t i = begin; i < end; ++i) {
      for (char c : alphabet) all.push_back(all[i] + c);
    }
    begin = end;
  }
  std::vector<Store::Write> writes;
  for (const std::string& key : all) {
    writes.push_back({"keys", key, absl::StrCat("v", key)});
    writes.push_back({"other", key, "x"});
  }
  ASSERT_TRUE(store->Commit(writes).ok());

  std::vector<std::string> sorted = all;
  std::sort(sorted.begin(), sorted.end());  // char_traits<char>: unsigned.
  for (const std::string& prefix : all) {
    Entries want;
    for (const std::string& key : sorted) {
      if (absl::string_view(key).substr(0, prefix.size()) == prefix) {
        want.emplace_back(key, absl::StrCat("v", key));
      }
    }
    absl::StatusOr<Entries> got = store->List("keys", prefix);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(*got, want) << "prefix of " << prefix.size()
                          << " bytes: " << absl::CHexEscape(prefix);
  }
  EXPECT_EQ(store->List("keys")->size(), all.size());
  EXPECT_THAT(*store->List("keys", "zzz"), IsEmpty());
  EXPECT_THAT(*store->List("nothing"), IsEmpty());
}

TEST_P(StoreTest, CommitAppliesWritesInOrder) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("b", "old", "1").ok());
  ASSERT_TRUE(store
                  ->Commit({
                      {"b", "new", "2"},
                      {"b", "old", std::nullopt},
                      {"b", "temp", "3"},
                      {"b", "temp", std::nullopt},
                      {"b", "back", std::nullopt},
                      {"b", "back", "4"},
                      {"c", "new", "5"},
                      {"b", "new", "6"},
                      {"b", "missing", std::nullopt},
                  })
                  .ok());
  EXPECT_THAT(*store->List("b"),
              ElementsAre(Pair("back", "4"), Pair("new", "6")));
  EXPECT_THAT(*store->List("c"), ElementsAre(Pair("new", "5")));
  EXPECT_TRUE(store->Commit({}).ok());
}

TEST_P(StoreTest, FailedCommitWritesNothing) {
  Store::Options options;
  options.max_value_bytes = 8;
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("b", "kept", "old").ok());

  // The third write fails after two have run inside the transaction.
  const absl::Status status = store->Commit({
      {"b", "added", "new"},
      {"b", "kept", std::nullopt},
      {"b", "big", std::string(9, 'x')},
      {"b", "after", "never"},
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("9 bytes"));
  EXPECT_THAT(*store->List("b"), ElementsAre(Pair("kept", "old")));

  // The transaction was rolled back: the store takes new ones.
  ASSERT_TRUE(store->Commit({{"b", "added", "new"}}).ok());
  EXPECT_THAT(*store->List("b"),
              ElementsAre(Pair("added", "new"), Pair("kept", "old")));

  EXPECT_EQ(store->Put("b", "big", std::string(9, 'x')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store->Put("b", "fits", std::string(8, 'x')).ok());
  EXPECT_EQ(*store->Get("b", "big"), std::nullopt);
}

TEST_P(StoreTest, ConcurrentCallsAreSerialised) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 8;
  constexpr int kKeys = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        const std::string key = absl::StrCat(t, "/", i);
        EXPECT_TRUE(store->Put("b", key, key).ok());
        EXPECT_TRUE(store->Commit({{"c", key, key}, {"b", key, "x"}}).ok());
        EXPECT_THAT(*store->Get("b", key), Optional(std::string("x")));
        EXPECT_TRUE(store->List("c", absl::StrCat(t, "/")).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(store->List("b")->size(), kThreads * kKeys);
  EXPECT_EQ(store->List("c")->size(), kThreads * kKeys);
}

// Concurrent writers are grouped into shared transactions (store.cc): every
// acknowledged batch is there, all of it, and a batch that fails fails only
// its own caller, with its own error, whatever group it fell in.
TEST_P(StoreTest, GroupedWritersEachGetTheirOwnResult) {
  Store::Options options;
  options.max_value_bytes = 16;
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 8;
  constexpr int kRounds = 30;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string key = absl::StrCat(t, "/", i);
        if (t % 2 == 1 && i % 3 == 0) {
          // Its first write fits, its second does not: none lands.
          const absl::Status status = store->Commit(
              {{"ok", key, "x"}, {"bad", key, std::string(17, 'y')}});
          EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << key;
          EXPECT_THAT(status.message(), HasSubstr(key)) << status;
          continue;
        }
        EXPECT_TRUE(store->Put("ok", key, key).ok()) << key;
        EXPECT_TRUE(store->Commit({{"ok", key, "x"}, {"c", key, key}}).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  int expected = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kRounds; ++i) {
      const std::string key = absl::StrCat(t, "/", i);
      if (t % 2 == 1 && i % 3 == 0) {
        EXPECT_EQ(*store->Get("ok", key), std::nullopt) << key;
      } else {
        EXPECT_THAT(*store->Get("ok", key), Optional(std::string("x"))) << key;
        EXPECT_THAT(*store->Get("c", key), Optional(key)) << key;
        ++expected;
      }
    }
  }
  EXPECT_EQ(store->List("ok")->size(), expected);
  EXPECT_TRUE(store->List("bad")->empty());
}

class StoreFileTest : public testing::Test {
 protected:
  std::string path() const { return dir_.path() + "/store.db"; }
  TempDir dir_;
};

TEST_F(StoreFileTest, ReopenSeesTheData) {
  {
    auto store = MustOpen(path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Put("b", "put", "1").ok());
    ASSERT_TRUE(store->Commit({{"b", "committed", "2"}, {"c", "x", "3"}}).ok());
    ASSERT_TRUE(store->Put("b", "deleted", "4").ok());
    ASSERT_TRUE(*store->Delete("b", "deleted"));
    // WAL journal mode: writes go to the -wal file first.
    EXPECT_TRUE(std::filesystem::exists(path() + "-wal"));
  }
  auto store = MustOpen(path());
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(*store->List("b"),
              ElementsAre(Pair("committed", "2"), Pair("put", "1")));
  EXPECT_THAT(*store->List("c"), ElementsAre(Pair("x", "3")));
}

TEST_F(StoreFileTest, SecondOpenOfThePathFailsUntilTheFirstCloses) {
  auto first = MustOpen(path());
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<Store>> second = Store::Open(path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(path()));
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
  // The failed Open left the first store alone.
  EXPECT_TRUE(first->Put("b", "k", "v").ok());

  first.reset();
  auto third = MustOpen(path());
  ASSERT_NE(third, nullptr);
  EXPECT_THAT(*third->Get("b", "k"), Optional(std::string("v")));
}

TEST_F(StoreFileTest, OpenFromAnotherProcessFailsWhileOpen) {
  auto store = MustOpen(path());
  ASSERT_NE(store, nullptr);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    absl::StatusOr<std::unique_ptr<Store>> other = Store::Open(path());
    _exit(!other.ok() && other.status().code() == absl::StatusCode::kUnavailable
              ? 0
              : 1);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0) << "the child could open the store";
}

TEST_F(StoreFileTest, MissingDirectoryFailsNamingThePath) {
  const std::string missing = dir_.path() + "/no/such/dir/store.db";
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(missing);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(store.status().message(), HasSubstr(missing));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/no"));
}

TEST_F(StoreFileTest, NotADatabaseFailsNamingThePathAndReason) {
  {
    std::ofstream out(path());
    for (int i = 0; i < 1000; ++i) out << "this is not a database\n";
  }
  const std::string before = ReadFile(path());
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr(path()));
  EXPECT_THAT(store.status().message(), HasSubstr("not a database"));
  EXPECT_THAT(store.status().message(), HasSubstr("move"));
  EXPECT_EQ(ReadFile(path()), before);
  // The lock was released on failure.
  std::filesystem::remove(path());
  EXPECT_NE(MustOpen(path()), nullptr);
}

// Runs `sql` on the SQLite file `path` with SQLite itself, as another
// program (or an older or newer release) would.
void Sqlite(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// The first column of the first row of `sql` on `path`, as text.
std::string SqliteValue(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string value;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) value = reinterpret_cast<const char*>(text);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

TEST_F(StoreFileTest, NewStoreIsMarkedAsOurs) {
  ASSERT_NE(MustOpen(path()), nullptr);
  EXPECT_EQ(SqliteValue(path(), "PRAGMA application_id"),
            absl::StrCat(0x49615374));
  EXPECT_EQ(SqliteValue(path(), "PRAGMA user_version"), "1");
}

TEST_F(StoreFileTest, StoreMadeBeforeTheMarkStillOpens) {
  {
    auto store = MustOpen(path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Put("b", "k", "v").ok());
  }
  Sqlite(path(), "PRAGMA application_id=0");
  auto store = MustOpen(path());
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(*store->Get("b", "k"), Optional(std::string("v")));
}

// Another program's SQLite database is refused and left as it was: not
// switched to WAL, no table added.
TEST_F(StoreFileTest, ForeignDatabaseIsRefusedAndLeftAlone) {
  Sqlite(path(),
         "CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ann')");
  const std::string before = ReadFile(path());
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr(path()));
  EXPECT_THAT(store.status().message(), HasSubstr("another program"));
  EXPECT_THAT(store.status().message(), HasSubstr("users"));
  EXPECT_THAT(store.status().message(), HasSubstr("backup"));
  EXPECT_EQ(ReadFile(path()), before);
  EXPECT_FALSE(std::filesystem::exists(path() + "-wal"));
}

TEST_F(StoreFileTest, OtherApplicationIdIsRefused) {
  {
    auto store = MustOpen(path());
    ASSERT_NE(store, nullptr);
  }
  Sqlite(path(), "PRAGMA application_id=42");
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("application_id 42"));
}

TEST_F(StoreFileTest, VersionWithoutItsTableIsRefused) {
  Sqlite(path(), "CREATE TABLE other (x); PRAGMA user_version=1");
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("lacks its table kv"));
  EXPECT_THAT(store.status().message(), HasSubstr("other"));
}

TEST_F(StoreFileTest, NewerSchemaIsRefusedAndKept) {
  {
    auto store = MustOpen(path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Put("b", "k", "v").ok());
  }
  Sqlite(path(), "PRAGMA user_version=2");
  const std::string before = ReadFile(path());
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("schema version 2"));
  EXPECT_THAT(store.status().message(), HasSubstr("newer"));
  EXPECT_THAT(store.status().message(), HasSubstr("Run that newer release"));
  EXPECT_EQ(ReadFile(path()), before);
  EXPECT_EQ(SqliteValue(path(), "SELECT value FROM kv WHERE key = 'k'"), "v");
}

// A page overwritten in the middle of the file (a bad disk, a stray write):
// found at open, not by the first reconcile that reads that page.
TEST_F(StoreFileTest, DamagedPageIsRefusedAtOpen) {
  {
    auto store = MustOpen(path());
    ASSERT_NE(store, nullptr);
    std::vector<Store::Write> writes;
    for (int i = 0; i < 2000; ++i) {
      writes.push_back({"b", absl::StrCat("key-", i), std::string(500, 'v')});
    }
    ASSERT_TRUE(store->Commit(writes).ok());
  }
  // Closing checkpointed the WAL into the file.
  ASSERT_GT(std::filesystem::file_size(path()), 100 * 4096);
  {
    std::fstream file(path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(50 * 4096);
    const std::string garbage(4096, '\x5a');
    file.write(garbage.data(), garbage.size());
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("damaged"));
  EXPECT_THAT(store.status().message(), HasSubstr(path()));
}

// Reads 4-byte acknowledgements from `fd` until `want` of them arrived or
// the writer is gone; returns the last one, or -1 if none.
int64_t ReadAcks(int fd, int64_t want, int64_t last) {
  uint32_t ack = 0;
  size_t have = 0;
  for (int64_t n = 0; want < 0 || n < want;) {
    const ssize_t r =
        read(fd, reinterpret_cast<char*>(&ack) + have, sizeof ack - have);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    have += r;
    if (have == sizeof ack) {
      last = ack;
      have = 0;
      ++n;
    }
  }
  return last;
}

std::string AckKey(uint32_t i) { return absl::StrCat("key-", i); }
std::string AckValue(uint32_t i) { return absl::StrCat("value-", i, "-", ~i); }

// A child process writes as fast as it can and acknowledges each write on a
// pipe; it is killed with SIGKILL at an arbitrary point. Every acknowledged
// Put must survive, and every Commit must be all or nothing. Three rounds,
// so the store also recovers from a kill more than once.
TEST_F(StoreFileTest, KillDashNineLosesNoAcknowledgedWrite) {
  for (const int64_t acks_before_kill : {1, 40, 200}) {
    SCOPED_TRACE(absl::StrCat("killed after ", acks_before_kill, " acks"));
    const uint32_t base = static_cast<uint32_t>(acks_before_kill) * 100'000;
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path());
      if (!store.ok()) _exit(2);
      for (uint32_t i = base;; ++i) {
        if (!(*store)->Put("acked", AckKey(i), AckValue(i)).ok()) _exit(3);
        if (!(*store)
                 ->Commit({{"pairs", AckKey(i) + "/a", AckValue(i)},
                           {"pairs", AckKey(i) + "/b", AckValue(i)}})
                 .ok()) {
          _exit(4);
        }
        if (write(fds[1], &i, sizeof i) != sizeof i) _exit(5);
      }
    }
    close(fds[1]);
    int64_t last = ReadAcks(fds[0], acks_before_kill, -1);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus))
        << "child exited with " << WEXITSTATUS(wstatus);
    EXPECT_EQ(WTERMSIG(wstatus), SIGKILL);
    last = ReadAcks(fds[0], -1, last);  // Acks sent before it died.
    close(fds[0]);
    ASSERT_GE(last, base + acks_before_kill - 1);

    auto store = MustOpen(path());
    ASSERT_NE(store, nullptr);
    for (uint32_t i = base; i <= last; ++i) {
      ASSERT_THAT(*store->Get("acked", AckKey(i)), Optional(AckValue(i)))
          << "acknowledged write " << i << " of " << last << " lost";
    }
    // The write in flight when the child died: pair all or nothing.
    for (uint32_t i = base; i <= last + 1; ++i) {
      const bool a = store->Get("pairs", AckKey(i) + "/a")->has_value();
      const bool b = store->Get("pairs", AckKey(i) + "/b")->has_value();
      ASSERT_EQ(a, b) << "half a commit survived, at " << i;
      if (i <= last) {
        ASSERT_TRUE(a) << "acknowledged commit " << i << " lost";
      }
    }
    // Nothing beyond the write in flight.
    EXPECT_EQ(*store->Get("acked", AckKey(last + 2)), std::nullopt);
  }
}

}  // namespace
}  // namespace ia
