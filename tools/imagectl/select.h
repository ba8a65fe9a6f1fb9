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

// Reads tags from `in`, one a line ('\r' before the newline dropped, empty
// lines skipped).
std::vector<std::string> ReadTags(std::istream& in);

// Runs `select`: the selected tag and a newline on io.out, or a message on
// io.err; returns the exit code described in the file comment.
int RunSelect(const SelectFlags& flags, std::istream& in, Io io);

}  // namespace ia::imagectl

#endif  // TOOLS_IMAGECTL_SELECT_H_
