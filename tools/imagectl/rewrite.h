// `imagectl rewrite`: the offline preview of the automation's rewrite. It
// applies the setter markers under a folder exactly as the automation
// service does (services/automation/setters.h, the same code), then prints
// the changed files and objects with old -> new values and writes the files
// (atomically) unless --dry-run.
//
//   imagectl rewrite --path DIR --policy NS:NAME=IMAGE[:TAG][@DIGEST] ...
//                    [--dry-run]
//
// Exit codes as the rest of imagectl: 0 done (also when nothing changed),
// 1 a file did not parse (the others are still rewritten) or could not be
// written, 2 bad input (a malformed --policy, a missing --path).
//
// With --message-template FILE [--automation-object NS/NAME] [--value K=V
// ...] it writes no file and prints instead exactly the commit message the
// automation would write for these changes (nothing else on stdout;
// warnings still go to stderr), rendered by the same template engine
// (services/automation/commit_message.h). A template that does not parse or
// run exits 2 with the engine's message.
//
// Thread-compatible.
#ifndef TOOLS_IMAGECTL_REWRITE_H_
#define TOOLS_IMAGECTL_REWRITE_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/automation/setters.h"
#include "tools/imagectl/commands.h"

namespace CLI {
class App;
}  // namespace CLI

namespace ia::imagectl {

struct RewriteArgs {
  std::string path;
  // Each "NS:NAME=IMAGE[:TAG][@DIGEST]".
  std::vector<std::string> policies;
  bool dry_run = false;
  // --message-template FILE: print the commit message instead.
  std::string message_template;
  // --automation-object NS/NAME: what .AutomationObject prints.
  std::string automation_object = "flux-system/automation";
  // --value K=V: .Values.
  std::vector<std::string> values;
};

// Parses IMAGE[:TAG][@DIGEST] by the image reference grammar
// (common/image_ref.h: the digest follows the '@', the tag the last ':'
// after the last '/', so "host:5000/app" has no tag); the name is kept as
// written. INVALID_ARGUMENT naming the problem on a malformed reference.
absl::StatusOr<automation::ImageRef> ParseImageFlag(absl::string_view image);

// Parses one --policy value into its key "NS:NAME" and image.
absl::StatusOr<std::pair<std::string, automation::ImageRef>> ParsePolicyFlag(
    absl::string_view flag);

// Runs the verb; returns the exit code.
int RunRewrite(const RewriteArgs& args, Io io);

// Adds the `rewrite` verb to `app`. When it is parsed, `on_parsed` is given
// the function that runs it.
void AddRewriteCommand(CLI::App& app,
                       std::function<void(std::function<int(Io)>)> on_parsed);

}  // namespace ia::imagectl

#endif  // TOOLS_IMAGECTL_REWRITE_H_
