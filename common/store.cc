// SqliteStore: the Store on one SQLite connection (see store.h).
//
// Layout: one table `kv (bucket TEXT, key TEXT, value BLOB, PRIMARY
// KEY(bucket, key)) WITHOUT ROWID`, so entries are clustered by bucket and
// key and a prefix scan is a range scan of the primary key. Buckets and keys
// are bound as TEXT with an explicit length and compared with SQLite's
// BINARY collation (memcmp), so any bytes work, NULs and 0xff included.
// PRAGMA user_version holds the schema version, PRAGMA application_id marks
// the file as a store of this program. Open() checks an existing file before
// it writes anything (CheckExisting) and refuses one it must not serve from.
//
// Durability: journal_mode=WAL with synchronous=FULL, so the WAL is fsync'ed
// at each commit. Exclusivity: a flock(2) on "<path>.lock", chosen over
// PRAGMA locking_mode=EXCLUSIVE because it fails at once and clearly (no
// busy-timeout wait, no lock taken lazily by the first write), works between
// two Stores of one process (flock locks belong to the open file
// description), and leaves the database readable by sqlite3 for debugging.
//
// Group commit: Put and Commit queue their batch under `queue_mu_`; the
// caller at the head of the queue (the leader, as in leveldb's DBImpl::Write)
// takes every batch queued at that moment, writes them all in one
// transaction (one fsync of the WAL for all of them) and hands each waiter
// its result; the next head leads the next group. With one caller at a time
// a group is that caller's batch alone, as before. If a group fails, it is
// rolled back and each of its batches is written alone, so that each caller
// gets its own batch's result and one bad batch fails only its caller.
//
// Thread-safety: one connection, opened with SQLITE_OPEN_NOMUTEX; every use
// of it, and of the cached prepared statements, runs under `mu_`.
#include "common/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <system_error>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"
#include "common/status_macros.h"

namespace ia {
namespace {

constexpr char kMemoryPath[] = ":memory:";
constexpr int kSchemaVersion = 1;
// PRAGMA application_id of the stores this program creates ("IaSt"), so
// that `file state.db` and Open() tell them from other SQLite databases.
// Stores made before it was set carry 0, which Open() accepts too.
constexpr int kApplicationId = 0x49615374;
// No other process writes the file (see the flock), so this only covers
// tools such as sqlite3 reading it while a checkpoint runs.
constexpr int kBusyTimeoutMs = 5000;

constexpr char kCreateTable[] =
    "CREATE TABLE IF NOT EXISTS kv ("
    " bucket TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " value BLOB NOT NULL,"
    " PRIMARY KEY (bucket, key)"
    ") WITHOUT ROWID";

// The smallest string greater than every string that starts with `prefix`,
// or nullopt when there is none (the prefix is empty or all 0xff bytes).
std::optional<std::string> PrefixSuccessor(absl::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xff) {
    s.pop_back();
  }
  if (s.empty()) return std::nullopt;
  s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

absl::StatusCode CodeForSqlite(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kUnavailable;
    case SQLITE_FULL:
      return absl::StatusCode::kResourceExhausted;
    default:
      return absl::StatusCode::kInternal;
  }
}

// Failed store operations, by reason; registered by Open() so that the name
// shows from the start.
metrics::CounterFamily& StoreErrors() {
  static auto& family = metrics::Registry::Default().AddCounter(
      "ia_store_errors_total",
      "Store operations that failed, by reason (disk_full: the --data-dir "
      "file system is full; the write was refused and nothing of it kept).",
      {"reason"});
  return family;
}

absl::string_view ErrorReason(int rc) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return "disk_full";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "busy";
    case SQLITE_IOERR:
      return "io";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "corrupt";
    default:
      return "other";
  }
}

// The text of an errno value (thread-safe, unlike strerror).
std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// "bucket/key", escaped so that any bytes print safely.
std::string Describe(absl::string_view bucket, absl::string_view key) {
  return absl::StrCat("\"", absl::CHexEscape(bucket), "\"/\"",
                      absl::CHexEscape(key), "\"");
}

// SQLite treats a null pointer as NULL, not as an empty string or blob.
const char* NonNullData(absl::string_view s) {
  return s.data() == nullptr ? "" : s.data();
}

// A prepared statement, finalized on destruction.
class Statement {
 public:
  Statement() = default;
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  sqlite3_stmt** out() { return &stmt_; }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// One use of a cached statement: resets it and drops its bindings (which
// point at the caller's buffers) when the use ends, however it ends.
class Use {
 public:
  explicit Use(const Statement& s) : stmt_(s.get()) {}
  ~Use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

  // Binds bytes as TEXT (buckets and keys) or as a BLOB (values). The bytes
  // must live until the Use ends.
  // A failed bind (too big) makes the next Step() return its error code.
  void BindText(int index, absl::string_view s) {
    Check(sqlite3_bind_text64(stmt_, index, NonNullData(s), s.size(),
                              SQLITE_STATIC, SQLITE_UTF8));
  }
  void BindBlob(int index, absl::string_view s) {
    Check(sqlite3_bind_blob64(stmt_, index, NonNullData(s), s.size(),
                              SQLITE_STATIC));
  }
  int Step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(stmt_); }
  // Column `i` of the current row as bytes, whatever its type.
  std::string Column(int i) {
    const void* data = sqlite3_column_blob(stmt_, i);
    const int size = sqlite3_column_bytes(stmt_, i);
    if (data == nullptr || size <= 0) return std::string();
    return std::string(static_cast<const char*>(data), size);
  }

 private:
  void Check(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  sqlite3_stmt* const stmt_;
  int bind_rc_ = SQLITE_OK;
};

class SqliteStore final : public Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const Options& options);
  ~SqliteStore() override;

  absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view bucket, absl::string_view key) override;
  absl::Status Put(absl::string_view bucket, absl::string_view key,
                   absl::string_view value) override;
  absl::StatusOr<bool> Delete(absl::string_view bucket,
                              absl::string_view key) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> List(
      absl::string_view bucket, absl::string_view key_prefix) override;
  absl::Status Commit(const std::vector<Write>& writes) override;

 private:
  SqliteStore(std::string path, Options options, int lock_fd)
      : path_(std::move(path)), options_(options), lock_fd_(lock_fd) {}

  // Takes "<path>.lock"; returns its descriptor, or -1 for ":memory:".
  static absl::StatusOr<int> Lock(const std::string& path);
  // Opens the database, sets the pragmas, creates the schema and prepares
  // the statements.
  absl::Status Init();
  // Refuses a file this program must not serve from: not a database,
  // another program's database, a newer schema, a missing table, a damaged
  // page. FAILED_PRECONDITION saying what to do; writes nothing.
  absl::Status CheckExisting() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Unusable(absl::string_view problem) const;
  absl::Status Migrate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Prepare(const char* sql, Statement* statement)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `sql` (one statement); returns the first column of its first row,
  // or "" when it returns no row.
  absl::StatusOr<std::string> Query(const char* sql)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs a statement that returns no row (BEGIN, COMMIT, ...).
  absl::Status Run(const Statement& statement, absl::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status PutLocked(absl::string_view bucket, absl::string_view key,
                         absl::string_view value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<bool> DeleteLocked(absl::string_view bucket,
                                    absl::string_view key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rolls back the open transaction, if SQLite has not already done so.
  void RollbackLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // One caller's writes waiting in the group-commit queue: a Put's one
  // write (`put`) or a Commit's `writes`.
  struct Batch {
    const std::vector<Write>* writes = nullptr;
    struct {
      absl::string_view bucket, key, value;
    } put;
    // Set by the leader before `done`; read by the caller after it.
    absl::Status status;
    bool done = false;
  };
  // Queues `batch` and returns once it is committed (or failed): see the
  // file comment.
  absl::Status Grouped(Batch* batch) ABSL_LOCKS_EXCLUDED(queue_mu_, mu_);
  // Writes `batch` inside the open transaction; on error the caller rolls
  // back.
  absl::Status WriteLocked(const Batch& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes `group` in one transaction and sets each batch's status.
  void CommitGroupLocked(const std::vector<Batch*>& group)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes `batches` in one transaction: all or none.
  absl::Status TransactionLocked(Batch* const* batches, size_t count)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // "store PATH: WHAT: <sqlite's message>", with a code that fits `rc`.
  absl::Status Error(absl::string_view what, int rc) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const Options options_;
  const int lock_fd_;

  // The most batches one transaction takes.
  static constexpr size_t kMaxGroup = 1024;
  absl::Mutex queue_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Batches waiting to be committed; the front one's caller leads.
  std::deque<Batch*> queue_ ABSL_GUARDED_BY(queue_mu_);
  absl::CondVar queue_cv_;

  mutable absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Cached statements, finalized by the destructor before it closes db_.
  Statement get_ ABSL_GUARDED_BY(mu_);
  Statement put_ ABSL_GUARDED_BY(mu_);
  Statement delete_ ABSL_GUARDED_BY(mu_);
  Statement list_all_ ABSL_GUARDED_BY(mu_);    // bucket
  Statement list_from_ ABSL_GUARDED_BY(mu_);   // bucket, key >= prefix
  Statement list_range_ ABSL_GUARDED_BY(mu_);  // bucket, prefix <= key < succ
  Statement begin_ ABSL_GUARDED_BY(mu_);
  Statement commit_ ABSL_GUARDED_BY(mu_);
  Statement rollback_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<int> SqliteStore::Lock(const std::string& path) {
  if (path == kMemoryPath) return -1;
  const std::string lock_path = path + ".lock";
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("store ", path,
                                            ": cannot open lock file ",
                                            lock_path, ": ", ErrnoText(errno)));
  }
  int rc;
  do {
    rc = flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int error = errno;
    close(fd);
    if (error == EWOULDBLOCK) {
      return absl::UnavailableError(absl::StrCat(
          "store ", path, " is in use by another process (", lock_path,
          " is locked); is another instance running with this --data-dir?"));
    }
    return absl::InternalError(absl::StrCat("store ", path, ": cannot lock ",
                                            lock_path, ": ", ErrnoText(error)));
  }
  return fd;
}

absl::StatusOr<std::unique_ptr<Store>> SqliteStore::Open(
    const std::string& path, const Options& options) {
  StoreErrors();
  ASSIGN_OR_RETURN(const int lock_fd, Lock(path));
  // From here the destructor closes the database and releases the lock.
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, options, lock_fd));
  RETURN_IF_ERROR(store->Init());
  return store;
}

SqliteStore::~SqliteStore() {
  {
    absl::MutexLock lock(&mu_);
    for (Statement* s : {&get_, &put_, &delete_, &list_all_, &list_from_,
                         &list_range_, &begin_, &commit_, &rollback_}) {
      sqlite3_finalize(s->get());
      *s->out() = nullptr;
    }
    // Every statement is finalized, so this closes (and checkpoints) now.
    sqlite3_close(db_);
    db_ = nullptr;
  }
  // Only once the database is closed may another process take it.
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::Status SqliteStore::Error(absl::string_view what, int rc) const {
  StoreErrors().WithLabels({ErrorReason(rc)}).Increment();
  const char* reason =
      db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  return absl::Status(CodeForSqlite(rc),
                      absl::StrCat("store ", path_, ": ", what, ": ", reason));
}

absl::Status SqliteStore::Init() {
  absl::MutexLock lock(&mu_);
  const int rc = sqlite3_open_v2(
      path_.c_str(), &db_,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    // db_ may hold a handle that only carries the error message.
    absl::Status status = Error("cannot open database", rc);
    sqlite3_close(db_);
    db_ = nullptr;
    return status;
  }
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);

  // Before anything writes to the file (switching a foreign database to WAL
  // would change its header).
  RETURN_IF_ERROR(CheckExisting());
  ASSIGN_OR_RETURN(const std::string mode, Query("PRAGMA journal_mode=WAL"));
  if (mode != "wal" && !(path_ == kMemoryPath && mode == "memory")) {
    return absl::InternalError(
        absl::StrCat("store ", path_,
                     ": cannot enable WAL journal mode (got \"", mode, "\")"));
  }
  RETURN_IF_ERROR(Query("PRAGMA synchronous=FULL").status());
  RETURN_IF_ERROR(Migrate());

  RETURN_IF_ERROR(
      Prepare("SELECT value FROM kv WHERE bucket = ?1 AND key = ?2", &get_));
  RETURN_IF_ERROR(
      Prepare("INSERT INTO kv (bucket, key, value) VALUES (?1, ?2, ?3) "
              "ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value",
              &put_));
  RETURN_IF_ERROR(
      Prepare("DELETE FROM kv WHERE bucket = ?1 AND key = ?2", &delete_));
  RETURN_IF_ERROR(Prepare(
      "SELECT key, value FROM kv WHERE bucket = ?1 ORDER BY key", &list_all_));
  RETURN_IF_ERROR(
      Prepare("SELECT key, value FROM kv WHERE bucket = ?1 AND key >= ?2 "
              "ORDER BY key",
              &list_from_));
  RETURN_IF_ERROR(Prepare(
      "SELECT key, value FROM kv WHERE bucket = ?1 AND key >= ?2 AND key < ?3 "
      "ORDER BY key",
      &list_range_));
  RETURN_IF_ERROR(Prepare("BEGIN IMMEDIATE", &begin_));
  RETURN_IF_ERROR(Prepare("COMMIT", &commit_));
  RETURN_IF_ERROR(Prepare("ROLLBACK", &rollback_));
  return absl::OkStatus();
}

absl::Status SqliteStore::Unusable(absl::string_view problem) const {
  return absl::FailedPreconditionError(absl::StrCat(
      "store ", path_, " ", problem,
      ". The service does not start on it rather than serve an empty store: "
      "restore the file from a backup, or stop every instance, move ",
      path_,
      " and its -wal file aside and start again with an empty store "
      "(then apply the objects again)"));
}

absl::Status SqliteStore::CheckExisting() {
  // The first statement reads the file: "file is not a database" and an
  // encrypted or truncated header show here.
  absl::StatusOr<std::string> version_text = Query("PRAGMA user_version");
  if (!version_text.ok()) {
    return Unusable(absl::StrCat("cannot be read as a store (",
                                 version_text.status().message(),
                                 "): it is damaged or not a store"));
  }
  const int version = std::atoi(version_text->c_str());
  ASSIGN_OR_RETURN(const std::string app_text, Query("PRAGMA application_id"));
  const int app = std::atoi(app_text.c_str());
  if (app != 0 && app != kApplicationId) {
    return Unusable(absl::StrCat(
        "is an SQLite database of another program (application_id ", app,
        "), not a store of this one"));
  }
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store ", path_, " has schema version ", version,
        ", newer than this program's ", kSchemaVersion,
        ": a newer release wrote it, and this one does not downgrade a store. "
        "Run that newer release (or later) on it, or restore a backup made "
        "by this release"));
  }
  ASSIGN_OR_RETURN(
      const std::string tables,
      Query("SELECT group_concat(name, ', ') FROM (SELECT name FROM "
            "sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
            "ORDER BY name)"));
  if (version == 0) {
    if (tables.empty()) return absl::OkStatus();  // a new file
    return Unusable(
        absl::StrCat("is an SQLite database of another program "
                     "(it has no store schema but tables ",
                     tables, ")"));
  }
  ASSIGN_OR_RETURN(const std::string columns,
                   Query("SELECT count(*) FROM pragma_table_info('kv') "
                         "WHERE name IN ('bucket', 'key', 'value')"));
  if (columns != "3") {
    return Unusable(absl::StrCat(
        "says schema version ", version, " but lacks its table kv (tables: ",
        tables.empty() ? "none" : tables, "): it is damaged or not a store"));
  }
  // Reads every page once: a damaged page is found now, not by the first
  // reconcile that happens to touch it.
  absl::StatusOr<std::string> check = Query("PRAGMA quick_check");
  if (!check.ok() || *check != "ok") {
    return Unusable(absl::StrCat(
        "is damaged (integrity check: ",
        check.ok() ? *check : std::string(check.status().message()), ")"));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::Migrate() {
  ASSIGN_OR_RETURN(const std::string version_text,
                   Query("PRAGMA user_version"));
  const int version = std::atoi(version_text.c_str());
  if (version == kSchemaVersion) return absl::OkStatus();
  // CheckExisting() refused newer versions; version 0 is a new file.
  // PRAGMA user_version and application_id are transactional.
  RETURN_IF_ERROR(Query("BEGIN IMMEDIATE").status());
  absl::Status status = Query(kCreateTable).status();
  if (status.ok()) {
    status = Query(absl::StrCat("PRAGMA user_version=", kSchemaVersion).c_str())
                 .status();
  }
  if (status.ok()) {
    status =
        Query(absl::StrCat("PRAGMA application_id=", kApplicationId).c_str())
            .status();
  }
  if (status.ok()) status = Query("COMMIT").status();
  if (!status.ok() && !sqlite3_get_autocommit(db_)) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return status;
}

absl::Status SqliteStore::Prepare(const char* sql, Statement* statement) {
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                    statement->out(), nullptr);
  if (rc != SQLITE_OK) return Error(absl::StrCat("prepare \"", sql, "\""), rc);
  return absl::OkStatus();
}

absl::StatusOr<std::string> SqliteStore::Query(const char* sql) {
  Statement statement;
  RETURN_IF_ERROR(Prepare(sql, &statement));
  std::string first;
  bool have_row = false;
  for (;;) {
    const int rc = sqlite3_step(statement.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Error(sql, rc);
    if (!have_row) {
      const unsigned char* text = sqlite3_column_text(statement.get(), 0);
      if (text != nullptr) first = reinterpret_cast<const char*>(text);
      have_row = true;
    }
  }
  return first;
}

absl::Status SqliteStore::Run(const Statement& statement,
                              absl::string_view what) {
  Use use(statement);
  const int rc = use.Step();
  if (rc != SQLITE_DONE) return Error(what, rc);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> SqliteStore::Get(
    absl::string_view bucket, absl::string_view key) {
  absl::MutexLock lock(&mu_);
  Use use(get_);
  use.BindText(1, bucket);
  use.BindText(2, key);
  const int rc = use.Step();
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) {
    return Error(absl::StrCat("get ", Describe(bucket, key)), rc);
  }
  return use.Column(0);
}

absl::Status SqliteStore::Put(absl::string_view bucket, absl::string_view key,
                              absl::string_view value) {
  Batch batch;
  batch.put = {bucket, key, value};
  return Grouped(&batch);
}

absl::Status SqliteStore::PutLocked(absl::string_view bucket,
                                    absl::string_view key,
                                    absl::string_view value) {
  if (value.size() > options_.max_value_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "store ", path_, ": put ", Describe(bucket, key), ": value of ",
        value.size(), " bytes exceeds the limit of ", options_.max_value_bytes,
        " bytes"));
  }
  Use use(put_);
  use.BindText(1, bucket);
  use.BindText(2, key);
  use.BindBlob(3, value);
  const int rc = use.Step();
  if (rc != SQLITE_DONE) {
    return Error(absl::StrCat("put ", Describe(bucket, key)), rc);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> SqliteStore::Delete(absl::string_view bucket,
                                         absl::string_view key) {
  absl::MutexLock lock(&mu_);
  return DeleteLocked(bucket, key);
}

absl::StatusOr<bool> SqliteStore::DeleteLocked(absl::string_view bucket,
                                               absl::string_view key) {
  Use use(delete_);
  use.BindText(1, bucket);
  use.BindText(2, key);
  const int rc = use.Step();
  if (rc != SQLITE_DONE) {
    return Error(absl::StrCat("delete ", Describe(bucket, key)), rc);
  }
  return sqlite3_changes(db_) > 0;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
SqliteStore::List(absl::string_view bucket, absl::string_view key_prefix) {
  absl::MutexLock lock(&mu_);
  // A range scan of the primary key: [prefix, successor), or [prefix, end)
  // when the prefix has no successor. LIKE/GLOB would mistreat '%', '_' and
  // bytes that are not UTF-8.
  const std::optional<std::string> successor = PrefixSuccessor(key_prefix);
  const Statement& statement = key_prefix.empty() ? list_all_
                               : successor        ? list_range_
                                                  : list_from_;
  Use use(statement);
  use.BindText(1, bucket);
  if (!key_prefix.empty()) use.BindText(2, key_prefix);
  if (successor) use.BindText(3, *successor);
  std::vector<std::pair<std::string, std::string>> entries;
  for (;;) {
    const int rc = use.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      return Error(absl::StrCat("list ", Describe(bucket, key_prefix), "*"),
                   rc);
    }
    entries.emplace_back(use.Column(0), use.Column(1));
  }
  return entries;
}

void SqliteStore::RollbackLocked() {
  // Some errors (SQLITE_FULL, SQLITE_IOERR, ...) roll back by themselves.
  if (sqlite3_get_autocommit(db_)) return;
  Run(rollback_, "rollback").IgnoreError();
}

absl::Status SqliteStore::Commit(const std::vector<Write>& writes) {
  if (writes.empty()) return absl::OkStatus();
  Batch batch;
  batch.writes = &writes;
  return Grouped(&batch);
}

absl::Status SqliteStore::Grouped(Batch* batch) {
  std::vector<Batch*> group;
  {
    absl::MutexLock lock(&queue_mu_);
    queue_.push_back(batch);
    while (!batch->done && queue_.front() != batch) queue_cv_.Wait(&queue_mu_);
    if (batch->done) return batch->status;
    // This caller leads: it takes what is queued now, its own batch first.
    const size_t n = std::min(queue_.size(), kMaxGroup);
    group.assign(queue_.begin(), queue_.begin() + n);
  }
  {
    absl::MutexLock lock(&mu_);
    CommitGroupLocked(group);
  }
  absl::MutexLock lock(&queue_mu_);
  for (Batch* b : group) {
    queue_.pop_front();
    b->done = true;
  }
  // The followers learn their result, and the new head leads.
  queue_cv_.SignalAll();
  return batch->status;
}

absl::Status SqliteStore::WriteLocked(const Batch& batch) {
  if (batch.writes == nullptr) {
    return PutLocked(batch.put.bucket, batch.put.key, batch.put.value);
  }
  for (const Write& write : *batch.writes) {
    RETURN_IF_ERROR(write.value.has_value()
                        ? PutLocked(write.bucket, write.key, *write.value)
                        : DeleteLocked(write.bucket, write.key).status());
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::TransactionLocked(Batch* const* batches,
                                            size_t count) {
  RETURN_IF_ERROR(Run(begin_, "begin transaction"));
  for (size_t i = 0; i < count; ++i) {
    absl::Status status = WriteLocked(*batches[i]);
    if (!status.ok()) {
      RollbackLocked();
      return status;
    }
  }
  absl::Status status = Run(commit_, "commit");
  if (!status.ok()) RollbackLocked();
  return status;
}

void SqliteStore::CommitGroupLocked(const std::vector<Batch*>& group) {
  absl::Status status = TransactionLocked(group.data(), group.size());
  if (status.ok() || group.size() == 1) {
    for (Batch* b : group) b->status = status;
    return;
  }
  // Rolled back: each batch alone, for its own result.
  for (Batch* b : group) b->status = TransactionLocked(&b, 1);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  return Open(path, Options());
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                                   const Options& options) {
  return SqliteStore::Open(path, options);
}

}  // namespace ia
