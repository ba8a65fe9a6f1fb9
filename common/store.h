// Store: the durable state of one service, a key-value store of byte strings
// grouped in named buckets (one per object kind, plus tag sets, selections,
// ...), kept in one SQLite file under --data-dir.
//
// Every write is a committed SQLite transaction in WAL mode with
// synchronous=FULL before the call returns, so neither `kill -9` nor a power
// loss loses an acknowledged write. Open(":memory:") gives an in-memory store
// for tests.
//
// One process at a time: Open() takes an exclusive flock(2) on the sibling
// file "<path>.lock" (created if needed, never deleted) and holds it until
// the Store is destroyed; the kernel drops it if the process dies. A second
// Open() of the same path, from this process or another, fails at once with
// UNAVAILABLE. The database itself stays readable by tools such as sqlite3.
//
// Buckets and keys are arbitrary bytes (embedded NULs and 0xff included) and
// compare as unsigned bytes; values are arbitrary bytes.
//
// Thread-safe: calls may come from any thread; they are serialised. Puts and
// Commits of concurrent callers are grouped into one transaction (one sync
// for all), each caller's writes still all-or-none and acknowledged only
// once committed; a caller whose batch fails gets its own error, the others
// are not failed by it.
#ifndef COMMON_STORE_H_
#define COMMON_STORE_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ia {

class Store {
 public:
  // One write of a batch: `value` set means put, nullopt means delete.
  struct Write {
    std::string bucket;
    std::string key;
    std::optional<std::string> value;
  };

  struct Options {
    // A Put (alone or in a Commit) of a larger value fails with
    // INVALID_ARGUMENT and writes nothing.
    size_t max_value_bytes = size_t{256} << 20;
  };

  // Opens (creating if needed) the store at `path`, a file path or
  // ":memory:". The directory must exist. Errors name the path and SQLite's
  // reason: UNAVAILABLE when another Store holds `path` open;
  // FAILED_PRECONDITION, saying what to do, when the file is not one to
  // serve from (not a database, another program's database, a schema newer
  // than this program's, a damaged page: it is never emptied or rewritten);
  // INTERNAL otherwise (missing directory, ...). A check of every page runs
  // at open, so opening takes time in proportion to the file's size.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path);
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const Options& options);

  // Closes the database and releases the lock.
  virtual ~Store() = default;

  // The value under (bucket, key), or nullopt when there is none.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view bucket, absl::string_view key) = 0;

  // Stores `value` under (bucket, key), replacing any previous value.
  virtual absl::Status Put(absl::string_view bucket, absl::string_view key,
                           absl::string_view value) = 0;

  // Removes (bucket, key). Returns whether it existed.
  virtual absl::StatusOr<bool> Delete(absl::string_view bucket,
                                      absl::string_view key) = 0;

  // Every entry of `bucket` whose key starts with `key_prefix`, sorted by
  // key (byte order).
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>> List(
      absl::string_view bucket, absl::string_view key_prefix = "") = 0;

  // Applies all `writes`, in order, in one transaction: all or none. On
  // error nothing is written.
  virtual absl::Status Commit(const std::vector<Write>& writes) = 0;
};

}  // namespace ia

#endif  // COMMON_STORE_H_
