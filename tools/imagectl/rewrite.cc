#include "tools/imagectl/rewrite.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <map>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/image_ref.h"
#include "services/automation/commit_message.h"

namespace ia::imagectl {
namespace {

bool HasSpaceOrControl(absl::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

// A label for an object: "Deployment default/app (apps/v1)".
std::string ObjectLabel(const automation::ObjectId& o) {
  if (o.kind.empty() && o.name.empty()) return "(no object)";
  std::string label = o.kind.empty() ? "(no kind)" : o.kind;
  absl::StrAppend(&label, " ", o.ns.empty() ? "" : absl::StrCat(o.ns, "/"),
                  o.name.empty() ? "(no name)" : o.name);
  if (!o.api_version.empty()) absl::StrAppend(&label, " (", o.api_version, ")");
  return label;
}

}  // namespace

absl::StatusOr<automation::ImageRef> ParseImageFlag(absl::string_view image) {
  auto parsed = ParseImageReference(image);  // common/image_ref.h
  if (!parsed.ok()) return parsed.status();
  automation::ImageRef ref;
  ref.tag = parsed->tag;
  ref.digest = parsed->digest;
  // The name as written (markers print it so), without ":tag" and "@digest".
  absl::string_view name = image.substr(0, image.find('@'));
  if (!ref.tag.empty()) name.remove_suffix(ref.tag.size() + 1);
  ref.name = std::string(name);
  return ref;
}

absl::StatusOr<std::pair<std::string, automation::ImageRef>> ParsePolicyFlag(
    absl::string_view flag) {
  const size_t eq = flag.find('=');
  if (eq == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--policy \"", flag, "\": want NS:NAME=IMAGE[:TAG][@DIGEST]"));
  }
  const absl::string_view key = flag.substr(0, eq);
  const size_t colon = key.find(':');
  if (colon == absl::string_view::npos || colon == 0 ||
      colon + 1 == key.size() ||
      key.find(':', colon + 1) != absl::string_view::npos ||
      HasSpaceOrControl(key) || absl::StrContains(key, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--policy \"", flag, "\": the policy must be NS:NAME"));
  }
  absl::StatusOr<automation::ImageRef> ref =
      ParseImageFlag(flag.substr(eq + 1));
  if (!ref.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--policy \"", flag, "\": ", ref.status().message()));
  }
  return std::make_pair(std::string(key), *std::move(ref));
}

namespace {

// Renders --message-template for `changes` and prints only the message.
int PrintCommitMessage(const RewriteArgs& args,
                       const std::vector<automation::Change>& changes, Io io) {
  const absl::StatusOr<std::string> text =
      ReadFileToString(args.message_template);
  if (!text.ok()) {
    io.err << "imagectl: --message-template: " << text.status().message()
           << "\n";
    return kExitUsage;
  }
  automation::CommitMessageData data;
  const size_t slash = args.automation_object.find('/');
  if (slash == std::string::npos || slash == 0 ||
      slash + 1 == args.automation_object.size()) {
    io.err << "imagectl: --automation-object \"" << args.automation_object
           << "\": want NAMESPACE/NAME\n";
    return kExitUsage;
  }
  data.automation_namespace = args.automation_object.substr(0, slash);
  data.automation_name = args.automation_object.substr(slash + 1);
  for (const std::string& value : args.values) {
    const size_t eq = value.find('=');
    if (eq == std::string::npos || eq == 0) {
      io.err << "imagectl: --value \"" << value << "\": want KEY=VALUE\n";
      return kExitUsage;
    }
    data.values[value.substr(0, eq)] = value.substr(eq + 1);
  }
  data.changes = changes;
  absl::StatusOr<std::string> message =
      automation::RenderCommitMessage(*text, data);
  if (!message.ok()) {
    io.err << "imagectl: " << message.status().message() << "\n";
    return kExitUsage;
  }
  io.out << *message;
  return kExitOk;
}

}  // namespace

int RunRewrite(const RewriteArgs& args, Io io) {
  automation::PolicyMap policies;
  for (const std::string& flag : args.policies) {
    absl::StatusOr<std::pair<std::string, automation::ImageRef>> parsed =
        ParsePolicyFlag(flag);
    if (!parsed.ok()) {
      io.err << "imagectl: " << parsed.status().message() << "\n";
      return kExitUsage;
    }
    if (!policies.emplace(parsed->first, parsed->second).second) {
      io.err << "imagectl: --policy " << parsed->first
             << " is given more than once\n";
      return kExitUsage;
    }
  }

  // The same call the automation service makes, with the whole folder as
  // the checkout and every namespace accepted.
  absl::StatusOr<automation::SetterResult> result =
      automation::ComputeSetterUpdates(args.path, ".", policies,
                                       automation::SetterOptions{});
  if (!result.ok()) {
    io.err << "imagectl: --path " << args.path << ": "
           << result.status().message() << "\n";
    return result.status().code() == absl::StatusCode::kInvalidArgument ||
                   result.status().code() == absl::StatusCode::kNotFound
               ? kExitUsage
               : kExitFailed;
  }

  int exit_code = kExitOk;
  for (const automation::SkippedFile& skipped : result->skipped) {
    io.err << "imagectl: warning: " << skipped.file;
    if (skipped.line > 0) io.err << ":" << skipped.line;
    io.err << ": skipped: " << skipped.reason << "\n";
    if (!skipped.symlink) exit_code = kExitFailed;
  }
  for (const automation::IgnoredMarker& ignored : result->ignored) {
    io.err << "imagectl: warning: " << ignored.file << ":" << ignored.line
           << ": marker \"" << ignored.setter
           << "\" left alone: " << ignored.reason << "\n";
  }

  if (!args.message_template.empty()) {
    const int code = PrintCommitMessage(args, result->changes, io);
    return code == kExitOk ? exit_code : code;
  }

  // file -> object -> changes, in Flux's template order.
  std::map<std::string,
           std::map<automation::ObjectId, std::vector<automation::Change>>>
      grouped;
  for (const automation::Change& change : result->changes) {
    grouped[change.file][change.object].push_back(change);
  }
  for (const auto& [file, objects] : grouped) {
    io.out << file << "\n";
    for (const auto& [object, changes] : objects) {
      io.out << "  " << ObjectLabel(object) << "\n";
      for (const automation::Change& c : changes) {
        io.out << "    " << c.setter << ": " << c.old_value << " -> "
               << c.new_value << "\n";
      }
    }
  }

  if (!args.dry_run) {
    absl::Status written =
        automation::WriteSetterUpdates(args.path, result->updates);
    if (!written.ok()) {
      io.err << "imagectl: writing: " << written.message() << "\n";
      return kExitFailed;
    }
  }
  if (result->updates.empty()) {
    io.out << "no changes\n";
  } else {
    io.out << result->updates.size()
           << (result->updates.size() == 1 ? " file" : " files")
           << (args.dry_run ? " would change (dry run, nothing written)\n"
                            : " changed\n");
  }
  return exit_code;
}

void AddRewriteCommand(CLI::App& app,
                       std::function<void(std::function<int(Io)>)> on_parsed) {
  auto args = std::make_shared<RewriteArgs>();
  CLI::App* cmd = app.add_subcommand(
      "rewrite",
      "Apply image policy markers under a folder, offline, as the automation "
      "service would, and print what changes");
  cmd->add_option("--path", args->path, "the folder to rewrite")
      ->required()
      ->type_name("DIR");
  cmd->add_option("--policy", args->policies,
                  "a policy's selected image (repeatable)")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->type_name("NS:NAME=IMAGE[:TAG][@DIGEST]");
  cmd->add_flag("--dry-run", args->dry_run,
                "print the changes without writing any file");
  cmd->add_option("--message-template", args->message_template,
                  "print the commit message this template gives for the "
                  "changes instead (writes nothing)")
      ->type_name("FILE");
  cmd->add_option("--automation-object", args->automation_object,
                  "what .AutomationObject prints in the template")
      ->type_name("NS/NAME");
  cmd->add_option("--value", args->values,
                  "a .Values entry for the template (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->type_name("KEY=VALUE");
  cmd->callback([args, on_parsed] {
    on_parsed([args](Io io) { return RunRewrite(*args, io); });
  });
}

}  // namespace ia::imagectl
