// FuzzInput: splits one fuzzer input into the parts a target needs. Parts
// are separated by NUL bytes, so a seed corpus file is readable text with
// "\0" between its parts (and a file without NUL is one part). A part that
// is missing reads as "".
//
// Used by one thread at a time (thread-compatible).
#ifndef TESTS_FUZZ_FUZZ_INPUT_H_
#define TESTS_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace ia::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}

  // The bytes up to the next NUL (consumed with it), or all that is left.
  absl::string_view Next() {
    const size_t nul = rest_.find('\0');
    absl::string_view part = rest_.substr(0, nul);
    rest_.remove_prefix(nul == absl::string_view::npos ? rest_.size()
                                                       : nul + 1);
    return part;
  }

  // One byte of what is left (consumed), or 0 when nothing is.
  uint8_t Byte() {
    if (rest_.empty()) return 0;
    const uint8_t b = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }

  // Everything that is left (consumed).
  absl::string_view Rest() {
    absl::string_view all = rest_;
    rest_ = {};
    return all;
  }

  bool empty() const { return rest_.empty(); }

 private:
  absl::string_view rest_;
};

// Stops the run with a message when a property does not hold: libFuzzer
// (and the corpus driver) report the abort as a crash with this input.
[[noreturn]] void PropertyFailed(absl::string_view what, absl::string_view a,
                                 absl::string_view b);

#define IA_FUZZ_CHECK_EQ(what, a, b)                               \
  do {                                                             \
    if (!((a) == (b))) ::ia::fuzz::PropertyFailed(what, (a), (b)); \
  } while (0)

#define IA_FUZZ_CHECK(what, cond)                             \
  do {                                                        \
    if (!(cond)) ::ia::fuzz::PropertyFailed(what, #cond, ""); \
  } while (0)

}  // namespace ia::fuzz

#endif  // TESTS_FUZZ_FUZZ_INPUT_H_
