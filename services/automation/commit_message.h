// Commit messages of an automation run: the data Flux gives to
// .spec.git.commit.messageTemplate, built from our change list, and the
// rendering of that template (template.h) with Flux's default message.
//
// The template sees the shape of Flux's source.TemplateData:
//   .AutomationObject        types.NamespacedName; prints "namespace/name";
//                            fields .Namespace, .Name
//   .Changed                 update.Result
//   .Changed.FileChanges     map file -> (map ObjectIdentifier -> []Change)
//   .Changed.Objects         map ObjectIdentifier -> []Change, all files
//   .Changed.Changes         []Change, all changes, without duplicates
//   .Values                  map[string]string (messageTemplateValues)
//   ObjectIdentifier         .APIVersion .Kind .Name .Namespace (promoted
//                            through yaml.ResourceIdentifier{TypeMeta,
//                            NameMeta}, and printed with %v as Go does:
//                            "{{{apps/v1 Deployment} {name namespace}}}")
//   Change                   .OldValue .NewValue .Setter
// Maps iterate in Go's order: files by path (bytewise), objects by
// apiVersion, kind, name, namespace.
//
// Where Flux is not deterministic we pick an order (a deliberate
// difference): .Changed.Changes lists changes by file, then object, then
// the order the setters found them (Flux walks Go maps at random), and
// .Changed.Objects concatenates the changes of an object found in several
// files in file order (Flux keeps one file's list, at random).
//
// Pure functions; thread-safe.
#ifndef SERVICES_AUTOMATION_COMMIT_MESSAGE_H_
#define SERVICES_AUTOMATION_COMMIT_MESSAGE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/automation/setters.h"
#include "services/automation/template.h"

namespace ia::automation {

// Flux's default commit message, used when the template is empty.
inline constexpr absl::string_view kDefaultCommitMessage =
    "Update from image update automation";

struct CommitMessageData {
  std::string automation_namespace;
  std::string automation_name;
  // As the setters made them, in their order; the template keys files by
  // Change::file_in_path (relative to update.path).
  std::vector<Change> changes;
  // .spec.git.commit.messageTemplateValues.
  std::map<std::string, std::string> values;
};

// The template data (Flux's TemplateData) for `data`.
TemplateValue BuildCommitTemplateData(const CommitMessageData& data);

// OK when `message_template` (or kDefaultCommitMessage when it is empty)
// parses; otherwise INVALID_ARGUMENT with RenderCommitMessage's error for
// it ("unable to create commit message template from spec: ...").
absl::Status CheckCommitMessageTemplate(absl::string_view message_template);

// Renders `message_template` (or kDefaultCommitMessage when it is empty)
// against `data`. INVALID_ARGUMENT when the template does not parse
// ("unable to create commit message template from spec: template: commit
// message:3:5: ...") or fails to execute ("failed to run template from
// spec: ..."); a template using a field Flux removed (.Updated,
// .Changed.ImageResult) says so and names the replacement.
absl::StatusOr<std::string> RenderCommitMessage(
    absl::string_view message_template, const CommitMessageData& data,
    const TemplateOptions& options = {});

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_COMMIT_MESSAGE_H_
