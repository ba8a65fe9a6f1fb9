#include "tools/imagectl/commands.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/manifest.h"
#include "services/policy/select.h"
#include "tools/imagectl/output.h"
#include "tools/imagectl/table.h"

namespace ia::imagectl {
namespace {

constexpr absl::string_view kPrefix = "imagectl: ";

bool IsUnreachable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

std::string Subject(Kind kind, absl::string_view ns, absl::string_view name) {
  return absl::StrCat(KindName(kind), " ", ns, "/", name);
}

// Prints an ObjectClient error about `subject` ("ImagePolicy flux-system/app")
// and returns the exit code.
int ReportError(const absl::Status& status, absl::string_view subject,
                std::ostream& err) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      err << kPrefix << subject << " not found\n";
      break;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kInvalidArgument:
      // Complete messages already: the client's "cannot reach ...", the
      // service's "ImagePolicy flux-system/app: spec.x: ...".
      err << kPrefix << status.message() << "\n";
      break;
    default:
      if (absl::StartsWith(status.message(), subject)) {
        err << kPrefix << status.message() << "\n";
      } else {
        err << kPrefix << subject << ": " << status.message() << "\n";
      }
      break;
  }
  return ExitCodeFor(status);
}

// Prints "warning: <subject>: <text>" for each distinct warning.
void PrintWarnings(absl::string_view subject, const std::vector<std::string>& a,
                   const std::vector<std::string>& b, std::ostream& err) {
  std::set<std::string> seen;
  for (const auto* list : {&a, &b}) {
    for (const std::string& w : *list) {
      if (!seen.insert(w).second) continue;
      if (absl::StartsWith(w, subject)) {
        err << "warning: " << w << "\n";
      } else {
        err << "warning: " << subject << ": " << w << "\n";
      }
    }
  }
}

// Applies one object and prints the outcome. Returns the exit code.
int ApplyOne(const AnyObject& object, const std::vector<std::string>& warnings,
             ObjectClient& client, Io io) {
  const Kind kind = KindOfObject(object);
  const v1::ObjectMeta& sent = MetaOf(object);
  const std::string ns = sent.namespace_().empty()
                             ? std::string(kDefaultNamespace)
                             : sent.namespace_();
  std::string subject = Subject(kind, ns, sent.name());
  absl::StatusOr<ApplyOutcome> outcome = client.Apply(object);
  if (!outcome.ok()) return ReportError(outcome.status(), subject, io.err);
  const v1::ObjectMeta& stored = MetaOf(outcome->object);
  if (!stored.name().empty()) {
    subject =
        Subject(kind, stored.namespace_().empty() ? ns : stored.namespace_(),
                stored.name());
  }
  io.out << subject << " "
         << (outcome->action.empty() ? "applied" : outcome->action) << "\n";
  PrintWarnings(subject, warnings, outcome->warnings, io.err);
  return kExitOk;
}

// The client, or the usage error of making it (printed).
ObjectClient* ClientOrReport(ClientProvider& clients, std::ostream& err,
                             int* code) {
  absl::StatusOr<ObjectClient*> client = clients.Get();
  if (!client.ok()) {
    err << kPrefix << client.status().message() << "\n";
    *code = kExitUsage;
    return nullptr;
  }
  return *client;
}

}  // namespace

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (IsUnreachable(status)) return kExitUnreachable;
  return kExitFailed;
}

absl::StatusOr<ObjectClient*> ClientProvider::Get() {
  if (client_ == nullptr) {
    absl::StatusOr<std::unique_ptr<ObjectClient>> made = factory_();
    if (!made.ok()) return made.status();
    client_ = *std::move(made);
  }
  return client_.get();
}

namespace {

// The checks of the engines that interpret the fields, so that `apply -f`
// reports them before sending anything, with the file and line, as it does
// validation.h's.
absl::Status CheckWithEngines(const AnyObject& object) {
  if (const auto* policy = std::get_if<v1::ImagePolicy>(&object)) {
    return policy::ValidatePolicySpec(policy->spec());
  }
  return absl::OkStatus();
}

}  // namespace

int RunApply(const std::vector<std::string>& paths, ClientProvider& clients,
             Io io) {
  int code = kExitOk;
  std::vector<ManifestObject> objects;
  for (const std::string& path : paths) {
    ManifestSet set = LoadManifests(path, CheckWithEngines);
    for (const absl::Status& error : set.errors) {
      io.err << kPrefix << error.message() << "\n";
      code = std::max<int>(code, kExitUsage);
    }
    for (ManifestObject& object : set.objects)
      objects.push_back(std::move(object));
  }
  if (objects.empty()) {
    if (code == kExitOk) {
      io.err << kPrefix << "no objects found in the manifests given\n";
      code = kExitUsage;
    }
    return code;
  }
  int client_code = kExitOk;
  ObjectClient* client = ClientOrReport(clients, io.err, &client_code);
  if (client == nullptr) return std::max(code, client_code);

  // A service that cannot be reached is reported once; the other objects it
  // owns are skipped.
  bool unreachable[kServiceCount] = {false, false, false};
  for (const ManifestObject& m : objects) {
    const Service owner = OwnerOf(KindOfObject(m.object));
    bool& down = unreachable[static_cast<int>(owner)];
    if (down) continue;
    const int result = ApplyOne(m.object, m.warnings, *client, io);
    if (result == kExitUnreachable) down = true;
    code = std::max(code, result);
  }
  return code;
}

int RunGet(const GetArgs& args, ClientProvider& clients, Io io) {
  if (!args.name.empty() && args.all_namespaces) {
    io.err << kPrefix
           << "a name cannot be given with --all-namespaces: an object is "
              "named within one namespace\n";
    return kExitUsage;
  }
  int code = kExitOk;
  ObjectClient* client = ClientOrReport(clients, io.err, &code);
  if (client == nullptr) return code;

  std::vector<AnyObject> objects;
  if (!args.name.empty()) {
    absl::StatusOr<AnyObject> object =
        client->Get(args.kind, args.ns, args.name);
    if (!object.ok()) {
      return ReportError(object.status(),
                         Subject(args.kind, args.ns, args.name), io.err);
    }
    objects.push_back(*std::move(object));
  } else {
    absl::StatusOr<std::vector<AnyObject>> list =
        client->List(args.kind, args.all_namespaces ? "" : args.ns);
    const std::string where = args.all_namespaces
                                  ? std::string("any namespace")
                                  : absl::StrCat(args.ns, " namespace");
    if (!list.ok()) {
      return ReportError(
          list.status(),
          absl::StrCat(KindName(args.kind), " objects in ", where), io.err);
    }
    objects = *std::move(list);
    if (objects.empty() && args.format != OutputFormat::kJson) {
      io.err << "no " << KindName(args.kind) << " objects found in " << where
             << "\n";
      return kExitOk;
    }
  }

  switch (args.format) {
    case OutputFormat::kTable:
      io.out << FormatObjectTable(args.kind, objects, args.all_namespaces);
      break;
    case OutputFormat::kYaml:
      io.out << FormatYamlDocuments(objects);
      break;
    case OutputFormat::kJson:
      io.out << (args.name.empty() ? FormatJsonList(objects)
                                   : FormatJsonObject(objects.front()));
      break;
  }
  return kExitOk;
}

int RunDelete(Kind kind, const std::string& ns, const std::string& name,
              ClientProvider& clients, Io io) {
  int code = kExitOk;
  ObjectClient* client = ClientOrReport(clients, io.err, &code);
  if (client == nullptr) return code;
  const std::string subject = Subject(kind, ns, name);
  const absl::Status status = client->Delete(kind, ns, name);
  if (!status.ok()) return ReportError(status, subject, io.err);
  io.out << "deleted " << subject << "\n";
  return kExitOk;
}

int RunReconcile(Kind kind, const std::string& ns, const std::string& name,
                 ClientProvider& clients, Io io) {
  int code = kExitOk;
  ObjectClient* client = ClientOrReport(clients, io.err, &code);
  if (client == nullptr) return code;
  const std::string subject = Subject(kind, ns, name);
  absl::StatusOr<std::string> requested_at = client->Reconcile(kind, ns, name);
  if (!requested_at.ok())
    return ReportError(requested_at.status(), subject, io.err);
  io.out << "reconcile requested for " << subject;
  if (!requested_at->empty()) io.out << " at " << *requested_at;
  io.out << "\n";
  return kExitOk;
}

int RunCreate(const absl::StatusOr<AnyObject>& built, bool export_only,
              ClientProvider& clients, Io io) {
  if (!built.ok()) {
    io.err << kPrefix << built.status().message() << "\n";
    return kExitUsage;
  }
  if (export_only) {
    io.out << FormatExport(*built);
    return kExitOk;
  }
  int code = kExitOk;
  ObjectClient* client = ClientOrReport(clients, io.err, &code);
  if (client == nullptr) return code;
  return ApplyOne(*built, {}, *client, io);
}

}  // namespace ia::imagectl
