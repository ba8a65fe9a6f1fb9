#include "tools/imagectl/select.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "services/policy/select.h"

namespace ia::imagectl {

void AddSelectCommand(CLI::App& app,
                      std::function<void(std::function<int(Io)>)> on_parsed) {
  // The flags live as long as the callback, that is as long as `app`.
  auto flags = std::make_shared<SelectFlags>();
  CLI::App* select = app.add_subcommand(
      "select",
      "Select a tag from tags on stdin (one a line), as an image policy "
      "would; offline. Ties between equal versions or numbers follow the "
      "input order as in Flux (an image policy reads its tags in descending "
      "byte order)");
  select
      ->add_option("--select-semver", flags->select_semver,
                   "select the highest version in a semver range, e.g. "
                   "'>=1.0.0 <2.0.0'")
      ->type_name("RANGE");
  select
      ->add_option("--select-alpha", flags->select_alpha,
                   "select by byte order: asc (the last) or desc (the first)")
      ->type_name("asc|desc");
  select
      ->add_option("--select-numeric", flags->select_numeric,
                   "select by number: asc (the largest) or desc (the "
                   "smallest)")
      ->type_name("asc|desc");
  select
      ->add_option("--filter-regex", flags->filter_regex,
                   "only tags matching this RE2 expression are candidates")
      ->type_name("RE");
  select
      ->add_option("--filter-extract", flags->filter_extract,
                   "the value to order by, from --filter-regex groups "
                   "($1, ${name}, ...)")
      ->type_name("TEMPLATE");
  select->callback([flags, on_parsed = std::move(on_parsed)] {
    on_parsed([flags](Io io) {
      return RunSelect(*flags, std::cin, io, StdinSizeHint());
    });
  });
}

absl::StatusOr<v1::ImagePolicySpec> SelectSpecFromFlags(
    const SelectFlags& flags) {
  const int chosen = static_cast<int>(!flags.select_semver.empty()) +
                     static_cast<int>(!flags.select_alpha.empty()) +
                     static_cast<int>(!flags.select_numeric.empty());
  if (chosen != 1) {
    return absl::InvalidArgumentError(
        "exactly one of --select-semver, --select-alpha, --select-numeric "
        "is required");
  }
  if (!flags.filter_extract.empty() && flags.filter_regex.empty()) {
    return absl::InvalidArgumentError("--filter-extract needs --filter-regex");
  }
  v1::ImagePolicySpec spec;
  v1::ImagePolicyChoice* policy = spec.mutable_policy();
  if (!flags.select_semver.empty()) {
    policy->mutable_semver()->set_range(flags.select_semver);
  } else if (!flags.select_alpha.empty()) {
    policy->mutable_alphabetical()->set_order(flags.select_alpha);
  } else {
    policy->mutable_numerical()->set_order(flags.select_numeric);
  }
  if (!flags.filter_regex.empty()) {
    spec.mutable_filter_tags()->set_pattern(flags.filter_regex);
    spec.mutable_filter_tags()->set_extract(flags.filter_extract);
  }
  return spec;
}

std::string ReadAll(std::istream& in, size_t size_hint) {
  // Straight from the stream buffer in large blocks (for std::cin, fread
  // underneath): a million tags line by line through getline cost ten times
  // the selection itself. With the right hint it is one block, read into
  // the final buffer.
  std::string data;
  std::streambuf* buf = in.rdbuf();
  if (buf == nullptr) return data;
  constexpr size_t kFirstBlock = size_t{1} << 16;
  size_t block = size_hint + 1;  // + 1: the end shows in the same read
  for (;;) {
    const size_t have = data.size();
    block = std::max(block, std::max(kFirstBlock, have));
    data.resize(have + block);
    const std::streamsize got =
        buf->sgetn(data.data() + have, static_cast<std::streamsize>(block));
    data.resize(have + static_cast<size_t>(std::max<std::streamsize>(got, 0)));
    if (got < static_cast<std::streamsize>(block)) break;
  }
  return data;
}

namespace {

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kLow7 = 0x7f7f7f7f7f7f7f7fULL;
constexpr uint64_t kHigh = 0x8080808080808080ULL;

// The bytes of `word` equal to '\n' marked by their high bit, exactly (no
// false marks, unlike the shorter haszero trick).
inline uint64_t NewlineMarks(uint64_t word) {
  const uint64_t x = word ^ (kOnes * '\n');
  return ~(((x & kLow7) + kLow7) | x) & kHigh;
}

inline uint64_t Load8(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

// How many '\n' in [p, end), eight bytes at a time.
size_t CountNewlines(const char* p, const char* end) {
  size_t count = 0;
  for (; end - p >= 8; p += 8) {
    // One mark bit a byte at bit 7: the multiply sums them into the top
    // byte (no popcount instruction needed).
    count += static_cast<size_t>(((NewlineMarks(Load8(p)) >> 7) * kOnes) >> 56);
  }
  for (; p < end; ++p) count += static_cast<size_t>(*p == '\n');
  return count;
}

// The first '\n' in [p, end), or end; eight bytes at a time (tags are short,
// so a call to memchr costs more than the search).
const char* FindNewline(const char* p, const char* end) {
  for (; end - p >= 8; p += 8) {
    const uint64_t marks = NewlineMarks(Load8(p));
    if (marks != 0) {
      // The first byte in memory is the lowest on little-endian machines.
      if constexpr (std::endian::native == std::endian::big) {
        return p + std::countl_zero(marks) / 8;
      }
      return p + std::countr_zero(marks) / 8;
    }
  }
  while (p < end && *p != '\n') ++p;
  return p;
}

}  // namespace

std::vector<std::string> SplitTags(absl::string_view input) {
  const char* p = input.data();
  const char* const end = p + input.size();
  std::vector<std::string> tags;
  // One allocation for the vector; tags up to 15 bytes fit in the strings
  // themselves (no allocation each).
  tags.reserve(CountNewlines(p, end) + 1);
  while (p < end) {
    const char* line_end = FindNewline(p, end);
    const char* const next = line_end < end ? line_end + 1 : end;
    if (line_end > p && line_end[-1] == '\r') --line_end;
    if (line_end > p) tags.emplace_back(p, line_end);
    p = next;
  }
  return tags;
}

std::vector<std::string> ReadTags(std::istream& in, size_t size_hint) {
  return SplitTags(ReadAll(in, size_hint));
}

size_t StdinSizeHint() {
  struct stat st {};
  if (fstat(STDIN_FILENO, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  const off_t at = lseek(STDIN_FILENO, 0, SEEK_CUR);
  if (at < 0 || at >= st.st_size) return 0;
  return static_cast<size_t>(st.st_size - at);
}

int RunSelect(const SelectFlags& flags, std::istream& in, Io io,
              size_t size_hint) {
  absl::StatusOr<v1::ImagePolicySpec> spec = SelectSpecFromFlags(flags);
  if (!spec.ok()) {
    io.err << "imagectl select: " << spec.status().message() << "\n";
    return kExitUsage;
  }
  // Check the spec before reading stdin, so a bad flag never waits on input.
  if (absl::Status valid = policy::ValidatePolicySpec(*spec); !valid.ok()) {
    io.err << "imagectl select: " << valid.message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<std::string> tag =
      policy::SelectTag(*spec, ReadTags(in, size_hint));
  if (!tag.ok()) {
    io.err << "imagectl select: " << tag.status().message() << "\n";
    return tag.status().code() == absl::StatusCode::kInvalidArgument
               ? kExitUsage
               : kExitFailed;
  }
  io.out << *tag << "\n";
  return kExitOk;
}

}  // namespace ia::imagectl
