// `imagectl select`: the offline verb that runs a policy over tags read from
// stdin (one per line), with the engine the policy service uses
// (services/policy/select.h), and prints the selected tag. No service needed.
//
//   imagectl select --select-semver=R|--select-alpha=asc|desc|
//                   --select-numeric=asc|desc
//                   [--filter-regex=RE [--filter-extract=TEMPLATE]]
//
// Exit codes (commands.h): 0 and the tag on stdout; 1 when no tag qualifies
// (or the numerical policy meets a tag that is not a number); 2 on bad input:
// not exactly one policy flag, --filter-extract without --filter-regex, a bad
// range, order or regex.
//
// Stateless; thread-compatible.
#ifndef TOOLS_IMAGECTL_SELECT_H_
#define TOOLS_IMAGECTL_SELECT_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "imageautomation/v1/objects.pb.h"
#include "tools/imagectl/commands.h"

namespace ia::imagectl {

// The flags of `select`; empty means not given.
struct SelectFlags {
  std::string select_semver;
  std::string select_alpha;
  std::string select_numeric;
  std::string filter_regex;
  std::string filter_extract;
};

// Adds the `select` verb to `app`. When it is parsed, `on_parsed` is given
// the function that runs it (reading tags from std::cin).
void AddSelectCommand(CLI::App& app,
                      std::function<void(std::function<int(Io)>)> on_parsed);

// The ImagePolicy spec (policy and filterTags) the flags stand for.
// INVALID_ARGUMENT when not exactly one policy flag is given, or
// --filter-extract comes without --filter-regex.
absl::StatusOr<v1::ImagePolicySpec> SelectSpecFromFlags(
    const SelectFlags& flags);

// Everything left in `in`, read from its stream buffer in large blocks
// (`size_hint`: how many bytes are expected, 0 when unknown; any value is
// safe); a read error ends the input as end of file does.
std::string ReadAll(std::istream& in, size_t size_hint = 0);

// The tags in `input`, one a line: a '\r' before the newline (or at the end
// of the input) is dropped, empty lines are skipped.
std::vector<std::string> SplitTags(absl::string_view input);

// SplitTags(ReadAll(in, size_hint)).
std::vector<std::string> ReadTags(std::istream& in, size_t size_hint = 0);

// How many bytes are left on stdin (file descriptor 0) when it is a regular
// file; 0 otherwise (a pipe, a terminal, an error).
size_t StdinSizeHint();

// Runs `select`: the selected tag and a newline on io.out, or a message on
// io.err; returns the exit code described in the file comment.
// `size_hint` as for ReadAll.
int RunSelect(const SelectFlags& flags, std::istream& in, Io io,
              size_t size_hint = 0);

}  // namespace ia::imagectl

#endif  // TOOLS_IMAGECTL_SELECT_H_
