// PropertyFailed: prints what did not hold and aborts.
#include "tests/fuzz/fuzz_input.h"

#include <cstdio>
#include <cstdlib>

namespace ia::fuzz {

void PropertyFailed(absl::string_view what, absl::string_view a,
                    absl::string_view b) {
  std::fprintf(
      stderr, "fuzz property failed: %.*s\n--- got:\n%.*s\n--- want:\n%.*s\n",
      static_cast<int>(what.size()), what.data(), static_cast<int>(a.size()),
      a.data(), static_cast<int>(b.size()), b.data());
  std::abort();
}

}  // namespace ia::fuzz
