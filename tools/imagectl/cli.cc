#include "tools/imagectl/cli.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/duration.h"
#include "tools/imagectl/commands.h"
#include "tools/imagectl/create.h"
#include "tools/imagectl/rewrite.h"
#include "tools/imagectl/select.h"

namespace ia::imagectl {
namespace {

constexpr char kDescription[] =
    "imagectl: apply, inspect and drive the image automation services "
    "(image-reflector, image-policy, image-automation), as flux does for "
    "its controllers.";

constexpr char kFooter[] = R"(Exit codes:
  0  success
  1  the operation failed (not found, refused by the service, partial apply failure)
  2  usage error or invalid input (bad flags, unreadable or invalid manifest,
     validation failure before anything is sent)
  3  a service could not be reached

Service addresses come from --reflector, --policy and --automation, else from
IMAGECTL_REFLECTOR, IMAGECTL_POLICY and IMAGECTL_AUTOMATION, else
127.0.0.1:50051, 127.0.0.1:50052 and 127.0.0.1:50053. A bearer token comes
from --token-file, --token or IMAGECTL_TOKEN (sent only over TLS).
)";

// The kinds, as flux names them on its command line.
struct KindCommand {
  const char* group;  // "image" or "source"
  const char* name;   // "repository", ...
  Kind kind;
};
constexpr KindCommand kKindCommands[] = {
    {"image", "repository", Kind::kImageRepository},
    {"image", "policy", Kind::kImagePolicy},
    {"image", "update", Kind::kImageUpdateAutomation},
    {"source", "git", Kind::kGitRepository},
};

using Action = std::function<int(ClientProvider&, Io)>;

// Everything the command line sets. Lives for one Run().
struct State {
  std::string addresses[kServiceCount];
  std::string timeout = "10s";
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  std::string token;
  std::string token_file;

  std::vector<std::string> apply_files;

  GetArgs get;
  std::string output = "table";

  std::string ns{kDefaultNamespace};
  std::string name;
  bool silent = false;

  CreateCommonFlags create;
  bool export_only = false;
  ImageRepositoryFlags repository;
  ImagePolicyFlags policy;
  ImageUpdateFlags update;
  GitRepositoryFlags git;

  // Set by the callback of the command that was parsed.
  Action action;
};

template <typename T>
absl::StatusOr<AnyObject> ToAny(absl::StatusOr<T> built) {
  if (!built.ok()) return built.status();
  return AnyObject(*std::move(built));
}

std::string KindHelp(Kind kind, absl::string_view verb) {
  return absl::StrCat(verb, " ", KindName(kind), " objects");
}

// "image" and "source" under `verb`, each requiring a kind.
std::pair<CLI::App*, CLI::App*> AddGroups(CLI::App* verb) {
  CLI::App* image = verb->add_subcommand("image", "Image automation objects");
  image->alias("images");
  image->require_subcommand(1);
  CLI::App* source = verb->add_subcommand("source", "Sources (GitRepository)");
  source->alias("sources");
  source->require_subcommand(1);
  return {image, source};
}

CLI::App* AddKind(std::pair<CLI::App*, CLI::App*> groups, const KindCommand& k,
                  const std::string& help) {
  CLI::App* parent =
      std::string(k.group) == "image" ? groups.first : groups.second;
  return parent->add_subcommand(k.name, help);
}

void AddApply(CLI::App& app, State& s) {
  CLI::App* apply = app.add_subcommand(
      "apply",
      "Create or update the objects of Flux manifests, each at its owner");
  apply
      ->add_option(
          "-f,--filename", s.apply_files,
          "a YAML file, or a directory of *.yaml/*.yml files (repeatable)")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->type_name("FILE|DIR");
  apply->callback([&s] {
    s.action = [&s](ClientProvider& clients, Io io) {
      return RunApply(s.apply_files, clients, io);
    };
  });
}

void AddGet(CLI::App& app, State& s) {
  CLI::App* get = app.add_subcommand("get", "Display objects and their status");
  get->require_subcommand(1);
  const auto groups = AddGroups(get);
  for (const KindCommand& k : kKindCommands) {
    CLI::App* cmd = AddKind(groups, k, KindHelp(k.kind, "Display"));
    cmd->add_option("name", s.get.name,
                    "the object's name; all objects when omitted");
    cmd->add_option("-n,--namespace", s.get.ns, "the namespace to look in")
        ->capture_default_str();
    cmd->add_flag("-A,--all-namespaces", s.get.all_namespaces,
                  "list the objects of every namespace");
    cmd->add_option("-o,--output", s.output, "output format")
        ->check(CLI::IsMember({"table", "yaml", "json"}))
        ->type_name("table|yaml|json")
        ->capture_default_str();
    const Kind kind = k.kind;
    cmd->callback([&s, kind] {
      s.action = [&s, kind](ClientProvider& clients, Io io) {
        GetArgs args = s.get;
        args.kind = kind;
        args.format = s.output == "yaml"   ? OutputFormat::kYaml
                      : s.output == "json" ? OutputFormat::kJson
                                           : OutputFormat::kTable;
        return RunGet(args, clients, io);
      };
    });
  }
}

// delete and reconcile: a kind, a name, a namespace.
void AddNamedVerb(CLI::App& app, State& s, const std::string& verb,
                  const std::string& help, bool is_delete) {
  CLI::App* cmd_verb = app.add_subcommand(verb, help);
  cmd_verb->require_subcommand(1);
  const auto groups = AddGroups(cmd_verb);
  for (const KindCommand& k : kKindCommands) {
    CLI::App* cmd = AddKind(groups, k,
                            absl::StrCat(is_delete ? "Delete" : "Reconcile now",
                                         " an ", KindName(k.kind)));
    cmd->add_option("name", s.name, "the object's name")->required();
    cmd->add_option("-n,--namespace", s.ns, "the object's namespace")
        ->capture_default_str();
    if (is_delete) {
      cmd->add_flag("-s,--silent", s.silent,
                    "accepted for flux compatibility; imagectl never asks");
    }
    const Kind kind = k.kind;
    cmd->callback([&s, kind, is_delete] {
      s.action = [&s, kind, is_delete](ClientProvider& clients, Io io) {
        return is_delete ? RunDelete(kind, s.ns, s.name, clients, io)
                         : RunReconcile(kind, s.ns, s.name, clients, io);
      };
    });
  }
}

void AddCreate(CLI::App& app, State& s) {
  CLI::App* create = app.add_subcommand(
      "create", "Create or update an object from flags, as flux create does");
  create->require_subcommand(1);
  const auto groups = AddGroups(create);

  // The common flags of one create command; returns its --interval.
  auto add_common = [&s](CLI::App* cmd) {
    cmd->add_option("name", s.name, "the object's name")->required();
    cmd->add_option("-n,--namespace", s.create.ns, "the object's namespace")
        ->capture_default_str();
    CLI::Option* interval =
        cmd->add_option("--interval", s.create.interval,
                        "reconcile interval, a Go duration (e.g. 1m, 1h30m)")
            ->type_name("DURATION")
            ->capture_default_str();
    cmd->add_option("--label", s.create.labels,
                    "key=value labels (repeatable, or comma separated)")
        ->delimiter(',')
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cmd->add_flag("--export", s.export_only,
                  "print the object as YAML instead of applying it");
    return interval;
  };
  // The common flags' values, with --interval marked as given or not.
  auto common = [&s](const CLI::Option* interval) {
    CreateCommonFlags c = s.create;
    c.name = s.name;
    c.interval_set = interval->count() > 0;
    return c;
  };
  auto run = [&s](absl::StatusOr<AnyObject> built, ClientProvider& clients,
                  Io io) {
    return RunCreate(built, s.export_only, clients, io);
  };

  for (const KindCommand& k : kKindCommands) {
    CLI::App* cmd = AddKind(
        groups, k, absl::StrCat("Create or update an ", KindName(k.kind)));
    const CLI::Option* interval = add_common(cmd);
    switch (k.kind) {
      case Kind::kImageRepository: {
        ImageRepositoryFlags& f = s.repository;
        cmd->add_option("--image", f.image,
                        "the image repository to scan, e.g. ghcr.io/org/app");
        cmd->add_option("--scan-timeout", f.scan_timeout,
                        "timeout of one scan (default: the interval)")
            ->type_name("DURATION");
        cmd->add_option("--secret-ref", f.secret_ref,
                        "secret with registry credentials (.dockerconfigjson)");
        cmd->add_option(
            "--cert-secret-ref,--cert-ref", f.cert_secret_ref,
            "secret with ca.crt and/or tls.crt, tls.key for the registry");
        cmd->add_option("--proxy-secret-ref", f.proxy_secret_ref,
                        "secret with the address of a proxy");
        cmd->add_option("--provider", f.provider, "generic, aws, azure or gcp");
        cmd->add_flag("--insecure", f.insecure,
                      "talk plain HTTP to the registry");
        cmd->add_option("--exclusion-list", f.exclusion_list,
                        "regular expression of tags never stored (repeatable)")
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
        cmd->callback([&s, common, run, interval] {
          s.action = [&s, common, run, interval](ClientProvider& clients,
                                                 Io io) {
            ImageRepositoryFlags f = s.repository;
            f.common = common(interval);
            return run(ToAny(BuildImageRepository(f)), clients, io);
          };
        });
        break;
      }
      case Kind::kImagePolicy: {
        ImagePolicyFlags& f = s.policy;
        cmd->add_option("--image-ref", f.image_ref,
                        "the name of the ImageRepository to select from");
        cmd->add_option("--image-ref-namespace", f.image_ref_namespace,
                        "its namespace (default: the policy's)");
        cmd->add_option(
            "--select-semver", f.select_semver,
            "select the highest version in a semver range, e.g. '>=1.0.0'");
        cmd->add_option(
            "--select-alpha", f.select_alpha,
            "select by byte order: asc (the last) or desc (the first)");
        cmd->add_option(
            "--select-numeric", f.select_numeric,
            "select by number: asc (the largest) or desc (the smallest)");
        cmd->add_option(
            "--filter-regex", f.filter_regex,
            "only tags matching this regular expression are candidates");
        cmd->add_option(
            "--filter-extract", f.filter_extract,
            "the value to order by, from --filter-regex groups, e.g. '$ts'");
        cmd->add_option("--reflect-digest", f.reflect_digest,
                        "record the digest: Never, IfNotPresent or Always");
        cmd->callback([&s, common, run, interval] {
          s.action = [&s, common, run, interval](ClientProvider& clients,
                                                 Io io) {
            ImagePolicyFlags f = s.policy;
            f.common = common(interval);
            return run(ToAny(BuildImagePolicy(f)), clients, io);
          };
        });
        break;
      }
      case Kind::kImageUpdateAutomation: {
        ImageUpdateFlags& f = s.update;
        cmd->add_option("--git-repo-ref", f.git_repo_ref,
                        "the name of the GitRepository to update");
        cmd->add_option("--git-repo-namespace", f.git_repo_namespace,
                        "its namespace (default: the automation's)");
        cmd->add_option("--git-repo-path", f.git_repo_path,
                        "the folder to update (default: the repository root)");
        cmd->add_option("--checkout-branch", f.checkout_branch,
                        "the branch to check out");
        cmd->add_option("--push-branch", f.push_branch,
                        "the branch to push to (default: the checkout branch)");
        cmd->add_option("--author-name", f.author_name,
                        "the commit author's name");
        cmd->add_option("--author-email", f.author_email,
                        "the commit author's email");
        cmd->add_option("--commit-template", f.commit_template,
                        "a Go template for commit messages");
        cmd->callback([&s, common, run, interval] {
          s.action = [&s, common, run, interval](ClientProvider& clients,
                                                 Io io) {
            ImageUpdateFlags f = s.update;
            f.common = common(interval);
            return run(ToAny(BuildImageUpdate(f)), clients, io);
          };
        });
        break;
      }
      case Kind::kGitRepository: {
        GitRepositoryFlags& f = s.git;
        cmd->add_option(
            "--url", f.url,
            "the Git address: https://, http://, ssh:// or file://");
        cmd->add_option("--branch", f.branch, "the branch");
        cmd->add_option("--tag", f.tag, "a tag");
        cmd->add_option("--tag-semver", f.tag_semver,
                        "a semver range over tags");
        cmd->add_option("--commit", f.commit, "a commit SHA-1");
        cmd->add_option("--ref-name", f.ref_name,
                        "a reference name, e.g. refs/heads/main");
        cmd->add_option("--secret-ref", f.secret_ref,
                        "secret with SSH or basic-auth credentials");
        cmd->add_option("--fetch-timeout", f.fetch_timeout,
                        "timeout of Git operations (default 60s)")
            ->type_name("DURATION");
        cmd->callback([&s, common, run, interval] {
          s.action = [&s, common, run, interval](ClientProvider& clients,
                                                 Io io) {
            GitRepositoryFlags f = s.git;
            f.common = common(interval);
            return run(ToAny(BuildGitRepository(f)), clients, io);
          };
        });
        break;
      }
    }
  }
}

// The deepest command parsed so far: "imagectl get image repository".
std::string CommandPath(const CLI::App& app) {
  std::string path = app.get_name();
  const CLI::App* current = &app;
  for (;;) {
    std::vector<const CLI::App*> selected = current->get_subcommands(
        [](const CLI::App* sub) { return sub->parsed(); });
    if (selected.empty()) break;
    current = selected.front();
    absl::StrAppend(&path, " ", current->get_name());
  }
  return path;
}

}  // namespace

RunEnvironment DefaultRunEnvironment() {
  RunEnvironment env;
  env.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  env.make_client = [](const ClientOptions& options) {
    return MakeGrpcObjectClient(options);
  };
  return env;
}

int Run(const std::vector<std::string>& args, const RunEnvironment& env,
        std::ostream& out, std::ostream& err) {
  CLI::App app(kDescription, "imagectl");
  app.footer(kFooter);
  app.require_subcommand(1);
  // Global flags are accepted after the verb too (as flux's are).
  app.fallthrough();
  // A flag given twice takes the last value, as with flux (cobra); the
  // repeatable ones say TakeAll.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  State s;
  for (int i = 0; i < kServiceCount; ++i) {
    const auto service = static_cast<Service>(i);
    app.add_option(std::string(ServiceFlag(service)), s.addresses[i],
                   absl::StrCat("address of the ", ServiceName(service),
                                " service (env ", ServiceEnvVar(service),
                                ", default ", DefaultAddress(service), ")"))
        ->type_name("ADDR");
  }
  app.add_option("--timeout", s.timeout,
                 "deadline of each request, a Go duration")
      ->type_name("DURATION")
      ->capture_default_str();
  app.add_option("--tls-ca", s.tls_ca,
                 "PEM CA bundle to verify the services with (TLS)")
      ->type_name("FILE");
  app.add_option("--tls-cert", s.tls_cert,
                 "PEM client certificate (mTLS; with --tls-key)")
      ->type_name("FILE");
  app.add_option("--tls-key", s.tls_key,
                 "PEM client private key (mTLS; with --tls-cert)")
      ->type_name("FILE");
  app.add_option("--tls-server-name", s.tls_server_name,
                 "name to verify the server certificates against");
  app.add_option("--token", s.token,
                 "bearer token sent to the services (env IMAGECTL_TOKEN; "
                 "needs --tls-ca); visible in the process list: prefer "
                 "--token-file")
      ->type_name("TOKEN");
  app.add_option("--token-file", s.token_file,
                 "file holding the bearer token (needs --tls-ca)")
      ->type_name("FILE");

  AddApply(app, s);
  AddGet(app, s);
  AddNamedVerb(app, s, "delete", "Delete an object", /*is_delete=*/true);
  AddNamedVerb(app, s, "reconcile", "Ask for a reconcile now",
               /*is_delete=*/false);
  AddCreate(app, s);
  // The offline verbs `select` and `rewrite` are added here by their own
  // Add...() functions; they need no ClientProvider.
  // Offline verbs: their action needs no service client.
  auto offline = [&s](std::function<int(Io)> run) {
    s.action = [run = std::move(run)](ClientProvider&, Io io) {
      return run(io);
    };
  };
  AddRewriteCommand(app, offline);
  AddSelectCommand(app, offline);

  if (args.empty()) {
    out << app.help();
    return kExitOk;
  }
  std::vector<const char*> argv;
  argv.reserve(args.size() + 1);
  argv.push_back("imagectl");
  for (const std::string& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << "imagectl: " << e.what() << "\n"
        << "Run '" << CommandPath(app) << " --help' for usage.\n";
    return kExitUsage;
  }
  if (!s.action) {
    err << "imagectl: nothing to do\n";
    return kExitUsage;
  }

  ClientOptions options;
  for (int i = 0; i < kServiceCount; ++i) {
    const auto service = static_cast<Service>(i);
    std::optional<std::string> from_env;
    if (s.addresses[i].empty() && env.getenv) {
      from_env = env.getenv(std::string(ServiceEnvVar(service)));
    }
    if (!s.addresses[i].empty()) {
      options.addresses[i] = s.addresses[i];
    } else if (from_env.has_value() && !from_env->empty()) {
      options.addresses[i] = *from_env;
    } else {
      options.addresses[i] = std::string(DefaultAddress(service));
    }
  }
  absl::StatusOr<absl::Duration> timeout = ParseDuration(s.timeout);
  if (!timeout.ok()) {
    err << "imagectl: --timeout: " << timeout.status().message() << "\n";
    return kExitUsage;
  }
  if (*timeout <= absl::ZeroDuration()) {
    err << "imagectl: --timeout must be positive\n";
    return kExitUsage;
  }
  options.timeout = *timeout;
  options.tls_ca_file = s.tls_ca;
  options.tls_cert_file = s.tls_cert;
  options.tls_key_file = s.tls_key;
  options.tls_server_name = s.tls_server_name;
  options.token = s.token;
  options.token_file = s.token_file;
  if (options.token.empty() && options.token_file.empty() && env.getenv) {
    options.token = env.getenv("IMAGECTL_TOKEN").value_or("");
  }
  if (!options.token.empty() && !options.token_file.empty()) {
    err << "imagectl: give --token or --token-file, not both\n";
    return kExitUsage;
  }

  ClientProvider clients([&env, &options] { return env.make_client(options); });
  try {
    return s.action(clients, Io{out, err});
  } catch (const std::exception& e) {
    err << "imagectl: internal error: " << e.what() << "\n";
    return kExitFailed;
  }
}

int Run(int argc, const char* const* argv, std::ostream& out,
        std::ostream& err) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return Run(args, DefaultRunEnvironment(), out, err);
}

}  // namespace ia::imagectl
