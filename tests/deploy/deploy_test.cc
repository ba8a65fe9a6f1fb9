// The deployment (deploy/kubernetes/, deploy/Dockerfile) agrees with the
// binaries: no cluster is needed. The manifests are parsed with yaml-cpp and
// checked against the flags each binary lists with --helpfull; then each
// binary is started with its Deployment's own arguments, the volumes played
// by temporary folders (the ConfigMap by the generator's files), and must
// serve, answer the probes' health services and apply the ConfigMap's
// objects without an error.

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"
#include "tests/support/harness.h"
#include "tests/support/test_certificates.h"
#include "yaml-cpp/yaml.h"

namespace ia::testing {
namespace {

namespace fs = std::filesystem;

const std::string kKubeDir = std::string(IA_DEPLOY_DIR) + "/kubernetes";

const std::map<std::string, std::string>& Binaries() {
  static const auto* binaries = new std::map<std::string, std::string>{
      {"image-reflector", IA_REFLECTOR_BIN},
      {"image-policy", IA_POLICY_BIN},
      {"image-automation", IA_AUTOMATION_BIN}};
  return *binaries;
}

// What the architecture fixes for each service (docs/architecture.md).
struct Expected {
  int grpc_port;
  std::string grpc_service;  // its name in grpc.health.v1
  bool reads_secrets;
};
const std::map<std::string, Expected>& ExpectedServices() {
  static const auto* expected = new std::map<std::string, Expected>{
      {"image-reflector", {50051, "imageautomation.v1.Reflector", true}},
      {"image-policy", {50052, "imageautomation.v1.Policy", false}},
      {"image-automation", {50053, "imageautomation.v1.Automation", true}}};
  return *expected;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The objects of the kustomization's resources, keyed "Kind/name".
class Kustomization {
 public:
  Kustomization() {
    root_ = YAML::LoadFile(kKubeDir + "/kustomization.yaml");
    for (YAML::Node resource : root_["resources"]) {
      const std::string file = resource.as<std::string>();
      for (YAML::Node doc : YAML::LoadAllFromFile(kKubeDir + "/" + file)) {
        if (!doc.IsMap()) continue;
        const std::string key =
            absl::StrCat(doc["kind"].as<std::string>(), "/",
                         doc["metadata"]["name"].as<std::string>());
        objects_[key] = doc;
        files_[key] = file;
      }
    }
  }
  YAML::Node root() const { return root_; }
  const std::map<std::string, YAML::Node>& objects() const { return objects_; }
  YAML::Node Get(const std::string& key) const {
    auto it = objects_.find(key);
    return it == objects_.end() ? YAML::Node() : it->second;
  }
  std::vector<YAML::Node> OfKind(const std::string& kind) const {
    std::vector<YAML::Node> out;
    for (const auto& [key, node] : objects_) {
      if (absl::StartsWith(key, kind + "/")) out.push_back(node);
    }
    return out;
  }
  // The files the configMapGenerator named `name` is made of.
  std::vector<std::string> GeneratorFiles(const std::string& name) const {
    std::vector<std::string> files;
    for (YAML::Node gen : root_["configMapGenerator"]) {
      if (gen["name"].as<std::string>() != name) continue;
      for (YAML::Node f : gen["files"]) files.push_back(f.as<std::string>());
    }
    return files;
  }

 private:
  YAML::Node root_;
  std::map<std::string, YAML::Node> objects_;
  std::map<std::string, std::string> files_;
};

// "--data-dir=/data" -> {"data_dir", "/data"}; names as Abseil spells them.
std::map<std::string, std::string> ArgFlags(YAML::Node container) {
  std::map<std::string, std::string> flags;
  for (YAML::Node arg : container["args"]) {
    const std::string a = arg.as<std::string>();
    const size_t eq = a.find('=');
    EXPECT_TRUE(absl::StartsWith(a, "--") && eq != std::string::npos)
        << "argument \"" << a << "\" is not --name=value";
    if (eq == std::string::npos) continue;
    flags[absl::StrReplaceAll(a.substr(2, eq - 2), {{"-", "_"}})] =
        a.substr(eq + 1);
  }
  return flags;
}

// The flag names `binary --helpfull` lists.
std::set<std::string> HelpFlags(const std::string& binary) {
  CommandResult r = RunCommand(binary, {"--helpfull"});
  std::set<std::string> names;
  std::string text = r.out + r.err;
  re2::StringPiece input(text);
  std::string name;
  static const re2::RE2 kFlag(R"((?m)^\s+--([A-Za-z0-9_]+) \()");
  while (re2::RE2::FindAndConsume(&input, kFlag, &name)) names.insert(name);
  return names;
}

int PortOf(const std::string& host_port) {
  int port = 0;
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(host_port.substr(colon + 1), &port)) {
    return -1;
  }
  return port;
}

int ContainerPort(YAML::Node container, const std::string& name) {
  for (YAML::Node p : container["ports"]) {
    if (p["name"].as<std::string>() == name)
      return p["containerPort"].as<int>();
  }
  return -1;
}

YAML::Node Volume(YAML::Node pod_spec, const std::string& name) {
  for (YAML::Node v : pod_spec["volumes"]) {
    if (v["name"].as<std::string>() == name) return v;
  }
  return YAML::Node();
}

// The volumeMount whose mountPath is `path` or a parent of it.
YAML::Node MountHolding(YAML::Node container, const std::string& path) {
  for (YAML::Node m : container["volumeMounts"]) {
    const std::string mount = m["mountPath"].as<std::string>();
    if (path == mount || absl::StartsWith(path, mount + "/")) return m;
  }
  return YAML::Node();
}

std::string BinaryName(YAML::Node container) {
  return fs::path(container["command"][0].as<std::string>())
      .filename()
      .string();
}

class DeployTest : public ::testing::Test {
 protected:
  Kustomization k;
};

TEST_F(DeployTest, KustomizationListsEveryFile) {
  std::set<std::string> listed;
  for (YAML::Node r : k.root()["resources"]) listed.insert(r.as<std::string>());
  for (YAML::Node gen : k.root()["configMapGenerator"]) {
    for (YAML::Node f : gen["files"]) listed.insert(f.as<std::string>());
  }
  std::set<std::string> present;
  for (const auto& entry : fs::recursive_directory_iterator(kKubeDir)) {
    if (!entry.is_regular_file()) continue;
    const std::string rel = fs::relative(entry.path(), kKubeDir).string();
    if (rel == "kustomization.yaml") continue;
    present.insert(rel);
  }
  EXPECT_EQ(listed, present);
  EXPECT_EQ(k.root()["namespace"].as<std::string>(), "image-automation");
  EXPECT_TRUE(k.Get("Namespace/image-automation").IsDefined());
  EXPECT_EQ(k.OfKind("Deployment").size(), 3u);
}

TEST_F(DeployTest, EveryArgumentIsAFlagOfTheBinary) {
  for (YAML::Node d : k.OfKind("Deployment")) {
    YAML::Node c = d["spec"]["template"]["spec"]["containers"][0];
    const std::string name = BinaryName(c);
    ASSERT_TRUE(Binaries().count(name)) << "unknown binary " << name;
    EXPECT_EQ(d["metadata"]["name"].as<std::string>(), name);
    const std::set<std::string> known = HelpFlags(Binaries().at(name));
    ASSERT_TRUE(known.count("listen"))
        << name << " --helpfull lists no --listen";
    for (const auto& [flag, value] : ArgFlags(c)) {
      EXPECT_TRUE(known.count(flag)) << name << " has no flag --" << flag;
    }
  }
}

TEST_F(DeployTest, PortsProbesAndServicesAgreeWithTheFlags) {
  for (YAML::Node d : k.OfKind("Deployment")) {
    YAML::Node c = d["spec"]["template"]["spec"]["containers"][0];
    const std::string name = BinaryName(c);
    const Expected& want = ExpectedServices().at(name);
    std::map<std::string, std::string> flags = ArgFlags(c);
    SCOPED_TRACE(name);

    const int grpc_port = PortOf(flags["listen"]);
    EXPECT_EQ(grpc_port, want.grpc_port);
    EXPECT_TRUE(absl::StartsWith(flags["listen"], "0.0.0.0:"))
        << "--listen must take connections from other pods";
    EXPECT_EQ(ContainerPort(c, "grpc"), grpc_port);
    const int http_port = PortOf(flags["http_listen"]);
    EXPECT_GE(http_port, 9440);
    EXPECT_EQ(ContainerPort(c, "http"), http_port);

    // HTTP probes: the kubelet's gRPC probe cannot speak TLS (--tls-*).
    for (const char* probe :
         {"startupProbe", "livenessProbe", "readinessProbe"}) {
      ASSERT_TRUE(c[probe]["httpGet"].IsDefined())
          << probe << " is not an HTTP probe";
      EXPECT_EQ(c[probe]["httpGet"]["port"].as<std::string>(), "http") << probe;
      EXPECT_EQ(c[probe]["httpGet"]["path"].as<std::string>(),
                std::string(probe) == "readinessProbe" ? "/readyz" : "/healthz")
          << probe;
    }

    // The Service of the same name exposes both ports, by name.
    YAML::Node svc = k.Get("Service/" + name);
    ASSERT_TRUE(svc.IsDefined());
    std::map<std::string, int> ports;
    for (YAML::Node p : svc["spec"]["ports"]) {
      ports[p["targetPort"].as<std::string>()] = p["port"].as<int>();
    }
    EXPECT_EQ(ports, (std::map<std::string, int>{{"grpc", grpc_port},
                                                 {"http", http_port}}));
    for (const auto& label : d["spec"]["selector"]["matchLabels"]) {
      const std::string key = label.first.as<std::string>();
      const std::string value = label.second.as<std::string>();
      EXPECT_EQ(svc["spec"]["selector"][key].as<std::string>(""), value);
      EXPECT_EQ(
          d["spec"]["template"]["metadata"]["labels"][key].as<std::string>(""),
          value);
    }
  }

  // The policy service calls its peers through their Services.
  YAML::Node policy = k.Get(
      "Deployment/image-policy")["spec"]["template"]["spec"]["containers"][0];
  std::map<std::string, std::string> flags = ArgFlags(policy);
  EXPECT_EQ(flags["reflector"], "image-reflector:50051");
  EXPECT_EQ(flags["automation"], "image-automation:50053");
}

TEST_F(DeployTest, VolumesAreMountedWhereTheFlagsPoint) {
  for (YAML::Node d : k.OfKind("Deployment")) {
    YAML::Node pod = d["spec"]["template"]["spec"];
    YAML::Node c = pod["containers"][0];
    const std::string name = BinaryName(c);
    std::map<std::string, std::string> flags = ArgFlags(c);
    SCOPED_TRACE(name);

    // --data-dir: exactly a writable persistent volume of its own.
    YAML::Node data = MountHolding(c, flags["data_dir"]);
    ASSERT_TRUE(data.IsDefined()) << "no volume at --data-dir";
    EXPECT_EQ(data["mountPath"].as<std::string>(), flags["data_dir"]);
    EXPECT_FALSE(data["readOnly"].IsDefined() && data["readOnly"].as<bool>());
    YAML::Node data_volume = Volume(pod, data["name"].as<std::string>());
    const std::string claim =
        data_volume["persistentVolumeClaim"]["claimName"].as<std::string>("");
    EXPECT_EQ(claim, name + "-data");
    EXPECT_TRUE(k.Get("PersistentVolumeClaim/" + claim).IsDefined());
    EXPECT_EQ(d["spec"]["replicas"].as<int>(), 1);
    EXPECT_EQ(d["spec"]["strategy"]["type"].as<std::string>(), "Recreate");

    // --manifests: the generated ConfigMap, read-only.
    YAML::Node manifests = MountHolding(c, flags["manifests"]);
    ASSERT_TRUE(manifests.IsDefined()) << "no volume at --manifests";
    EXPECT_EQ(manifests["mountPath"].as<std::string>(), flags["manifests"]);
    EXPECT_TRUE(manifests["readOnly"].as<bool>(false));
    EXPECT_EQ(
        Volume(pod, manifests["name"].as<std::string>())["configMap"]["name"]
            .as<std::string>(""),
        "image-automation-manifests");
    EXPECT_FALSE(k.GeneratorFiles("image-automation-manifests").empty());

    // --secrets-dir: a projected volume laid out <namespace>/<name>/<key>.
    if (ExpectedServices().at(name).reads_secrets) {
      YAML::Node secrets = MountHolding(c, flags["secrets_dir"]);
      ASSERT_TRUE(secrets.IsDefined()) << "no volume at --secrets-dir";
      EXPECT_EQ(secrets["mountPath"].as<std::string>(), flags["secrets_dir"]);
      EXPECT_TRUE(secrets["readOnly"].as<bool>(false));
      YAML::Node volume = Volume(pod, secrets["name"].as<std::string>());
      ASSERT_TRUE(volume["projected"].IsDefined());
      for (YAML::Node source : volume["projected"]["sources"]) {
        for (YAML::Node item : source["secret"]["items"]) {
          const std::vector<std::string> parts =
              absl::StrSplit(item["path"].as<std::string>(), '/');
          EXPECT_EQ(parts.size(), 3u) << item["path"].as<std::string>();
          EXPECT_EQ(parts.back(), item["key"].as<std::string>());
        }
      }
    } else {
      EXPECT_EQ(flags.count("secrets_dir"), 0u);
    }

    // Every path a flag names lies on a volume (the root is read-only).
    for (const auto& [flag, value] : flags) {
      if (!absl::StartsWith(value, "/")) continue;
      EXPECT_TRUE(MountHolding(c, value).IsDefined())
          << "--" << flag << "=" << value << " is on no volume";
    }
  }
}

// Each Secret that an object of the ConfigMap refers to is projected where
// its owner reads it: --secrets-dir/<namespace>/<name>/.
TEST_F(DeployTest, SecretReferencesOfTheManifestsAreMounted) {
  const std::map<std::string, std::string> owner = {
      {"ImageRepository", "image-reflector"},
      {"GitRepository", "image-automation"},
      {"ImageUpdateAutomation", "image-automation"}};
  int refs = 0;
  for (const std::string& file :
       k.GeneratorFiles("image-automation-manifests")) {
    for (YAML::Node doc : YAML::LoadAllFromFile(kKubeDir + "/" + file)) {
      if (!doc.IsMap() || !owner.count(doc["kind"].as<std::string>())) continue;
      const std::string ns =
          doc["metadata"]["namespace"].as<std::string>("default");
      YAML::Node spec = doc["spec"];
      std::vector<YAML::Node> found = {spec["secretRef"], spec["certSecretRef"],
                                       spec["proxySecretRef"]};
      if (spec["git"])
        found.push_back(spec["git"]["commit"]["signingKey"]["secretRef"]);
      YAML::Node pod = k.Get(
          "Deployment/" +
          owner.at(doc["kind"].as<std::string>()))["spec"]["template"]["spec"];
      for (YAML::Node ref : found) {
        if (!ref.IsDefined() || !ref.IsMap()) continue;
        ++refs;
        const std::string prefix =
            absl::StrCat(ns, "/", ref["name"].as<std::string>(), "/");
        bool mounted = false;
        for (YAML::Node v : pod["volumes"]) {
          for (YAML::Node source : v["projected"]["sources"]) {
            for (YAML::Node item : source["secret"]["items"]) {
              mounted |=
                  absl::StartsWith(item["path"].as<std::string>(), prefix);
            }
          }
        }
        EXPECT_TRUE(mounted) << doc["kind"] << " refers to " << prefix
                             << " which is not projected";
      }
    }
  }
  EXPECT_GT(refs, 0);
}

TEST_F(DeployTest, ContainersRunAsNonRootOnReadOnlyRoots) {
  for (YAML::Node d : k.OfKind("Deployment")) {
    YAML::Node pod = d["spec"]["template"]["spec"];
    YAML::Node c = pod["containers"][0];
    SCOPED_TRACE(BinaryName(c));
    EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>(false));
    EXPECT_EQ(pod["securityContext"]["runAsUser"].as<int>(0), 65532);
    EXPECT_EQ(pod["securityContext"]["fsGroup"].as<int>(0), 65532);
    EXPECT_TRUE(c["securityContext"]["readOnlyRootFilesystem"].as<bool>(false));
    EXPECT_FALSE(
        c["securityContext"]["allowPrivilegeEscalation"].as<bool>(true));
    EXPECT_EQ(
        c["securityContext"]["capabilities"]["drop"][0].as<std::string>(""),
        "ALL");
    EXPECT_FALSE(pod["automountServiceAccountToken"].as<bool>(true));
    EXPECT_TRUE(
        k.Get("ServiceAccount/" + pod["serviceAccountName"].as<std::string>())
            .IsDefined());
    // Resources: requests, and a memory limit above them.
    EXPECT_TRUE(c["resources"]["requests"]["cpu"].IsDefined());
    EXPECT_TRUE(c["resources"]["requests"]["memory"].IsDefined());
    EXPECT_TRUE(c["resources"]["limits"]["memory"].IsDefined());
  }
}

// The Dockerfile builds the binaries the Deployments run, from every folder
// the build needs, and runs them as the user the pods ask for.
TEST_F(DeployTest, DockerfileMakesWhatTheDeploymentsRun) {
  const std::string dockerfile =
      ReadText(std::string(IA_DEPLOY_DIR) + "/Dockerfile");
  for (YAML::Node d : k.OfKind("Deployment")) {
    YAML::Node c = d["spec"]["template"]["spec"]["containers"][0];
    const std::string command = c["command"][0].as<std::string>();
    EXPECT_TRUE(absl::StartsWith(command, "/usr/local/bin/")) << command;
    EXPECT_TRUE(absl::StrContains(dockerfile, "/" + BinaryName(c) + " "))
        << command;
    EXPECT_EQ(c["image"].as<std::string>(), "image-automation");
  }
  EXPECT_TRUE(absl::StrContains(dockerfile, "\nUSER 65532:65532\n"));
  // Every folder the top-level CMakeLists.txt adds is copied into the build.
  const std::string cmake =
      ReadText(std::string(IA_SOURCE_DIR) + "/CMakeLists.txt");
  re2::StringPiece input(cmake);
  std::string dir;
  static const re2::RE2 kSubdir(R"(add_subdirectory\(([A-Za-z0-9_./-]+)\))");
  while (re2::RE2::FindAndConsume(&input, kSubdir, &dir)) {
    if (dir == "tests") continue;
    const std::string top = dir.substr(0, dir.find('/'));
    EXPECT_TRUE(absl::StrContains(dockerfile,
                                  absl::StrCat("\nCOPY ", top, " ", top, "\n")))
        << "the Dockerfile does not copy " << top;
  }
}

TEST_F(DeployTest, NetworkPolicyAllowsOnlyTheArchitecturesFlows) {
  // (from, port) pairs allowed in, per service; from "" is anyone.
  using Flows = std::set<std::pair<std::string, int>>;
  const std::map<std::string, Flows> want_ingress = {
      {"image-reflector", {{"image-policy", 50051}, {"", 9440}}},
      {"image-policy", {{"", 9441}}},
      {"image-automation", {{"image-policy", 50053}, {"", 9442}}}};
  std::map<std::string, Flows> ingress;
  std::map<std::string, Flows> egress;
  std::set<std::string> restricts_egress;
  for (YAML::Node np : k.OfKind("NetworkPolicy")) {
    const std::string target =
        np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            .as<std::string>("");
    ASSERT_TRUE(want_ingress.count(target))
        << "a NetworkPolicy selects " << target;
    std::set<std::string> types;
    for (YAML::Node t : np["spec"]["policyTypes"])
      types.insert(t.as<std::string>());
    EXPECT_TRUE(types.count("Ingress"));
    if (types.count("Egress")) restricts_egress.insert(target);
    for (const char* direction : {"ingress", "egress"}) {
      for (YAML::Node rule : np["spec"][direction]) {
        const char* peers_key =
            std::string(direction) == "ingress" ? "from" : "to";
        std::vector<std::string> peers;
        for (YAML::Node peer : rule[peers_key]) {
          // Only pods of this kustomization, by name.
          EXPECT_FALSE(peer["namespaceSelector"].IsDefined());
          EXPECT_FALSE(peer["ipBlock"].IsDefined());
          peers.push_back(
              peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                  .as<std::string>());
        }
        if (peers.empty()) peers.push_back("");
        ASSERT_TRUE(rule["ports"].IsDefined() && rule["ports"].size() > 0)
            << target << ": a rule without ports allows every port";
        for (const std::string& peer : peers) {
          for (YAML::Node port : rule["ports"]) {
            auto& flows =
                std::string(direction) == "ingress" ? ingress : egress;
            flows[target].insert({peer, port["port"].as<int>()});
          }
        }
      }
    }
  }
  EXPECT_EQ(ingress, want_ingress);
  // The HTTP ports let in are the services' --http-listen ports.
  for (YAML::Node d : k.OfKind("Deployment")) {
    YAML::Node c = d["spec"]["template"]["spec"]["containers"][0];
    EXPECT_TRUE(want_ingress.at(BinaryName(c))
                    .count({"", PortOf(ArgFlags(c)["http_listen"])}));
  }
  // The policy service goes out only to its peers and DNS.
  EXPECT_EQ(restricts_egress, std::set<std::string>{"image-policy"});
  EXPECT_EQ(egress["image-policy"], (Flows{{"image-reflector", 50051},
                                           {"image-automation", 50053},
                                           {"", 53}}));
}

// Each binary starts with its Deployment's arguments, the mounts played by
// temporary folders; the probes' paths answer 200, the gRPC health services
// SERVING, and the ConfigMap's objects apply without an error.
// Secure by default: every service serves mTLS (its certificate and the CA
// from a Secret) under the authorization policy of a ConfigMap.
TEST_F(DeployTest, ServicesSpeakMutualTlsUnderAnAuthorizationPolicy) {
  for (YAML::Node d : k.OfKind("Deployment")) {
    YAML::Node pod = d["spec"]["template"]["spec"];
    YAML::Node c = pod["containers"][0];
    const std::string name = BinaryName(c);
    SCOPED_TRACE(name);
    std::map<std::string, std::string> flags = ArgFlags(c);
    for (const char* flag : {"tls_cert", "tls_key", "tls_ca"}) {
      YAML::Node mount = MountHolding(c, flags[flag]);
      ASSERT_TRUE(mount.IsDefined()) << "--" << flag << " is on no volume";
      EXPECT_EQ(
          Volume(pod, mount["name"].as<std::string>())["secret"]["secretName"]
              .as<std::string>(""),
          name + "-tls")
          << flag;
    }
    YAML::Node policy = MountHolding(c, flags["authz_policy"]);
    ASSERT_TRUE(policy.IsDefined()) << "--authz-policy is on no volume";
    const std::string config_map =
        Volume(pod, policy["name"].as<std::string>())["configMap"]["name"]
            .as<std::string>("");
    const std::vector<std::string> files = k.GeneratorFiles(config_map);
    ASSERT_EQ(files.size(), 1u) << config_map;
    EXPECT_EQ(fs::path(flags["authz_policy"]).filename(),
              fs::path(files[0]).filename());
    EXPECT_EQ(flags.count("insecure_allow_anonymous"), 0u);
  }
}

TEST_F(DeployTest, EachServiceStartsWithItsDeploymentArguments) {
  for (YAML::Node d : k.OfKind("Deployment")) {
    YAML::Node pod = d["spec"]["template"]["spec"];
    YAML::Node c = pod["containers"][0];
    const std::string name = BinaryName(c);
    SCOPED_TRACE(name);
    TempDir dir;
    // The Secrets image-*-tls hold what cert-manager writes: tls.crt,
    // tls.key and ca.crt.
    TestCertificates certs(dir);

    // Play each volume by a folder with what Kubernetes would put there.
    std::map<std::string, std::string> mounts;  // mountPath -> local folder
    for (YAML::Node m : c["volumeMounts"]) {
      const std::string volume_name = m["name"].as<std::string>();
      const std::string local = dir.Join("mnt-" + volume_name);
      fs::create_directories(local);
      YAML::Node v = Volume(pod, volume_name);
      if (v["configMap"]) {
        for (const std::string& f :
             k.GeneratorFiles(v["configMap"]["name"].as<std::string>())) {
          fs::copy_file(kKubeDir + "/" + f,
                        local + "/" + fs::path(f).filename().string());
        }
      }
      if (absl::EndsWith(v["secret"]["secretName"].as<std::string>(""),
                         "-tls")) {
        for (const auto& [from, to] : {std::pair{"server.crt", "tls.crt"},
                                       {"server.key", "tls.key"},
                                       {"ca.crt", "ca.crt"}}) {
          fs::copy_file(certs.Path(from), local + "/" + to);
        }
      }
      for (YAML::Node item : v["secret"]["items"]) {
        dir.WriteFile(
            "mnt-" + volume_name + "/" + item["path"].as<std::string>(),
            "not-a-real-secret\n");
      }
      mounts[m["mountPath"].as<std::string>()] = local;
    }
    const int grpc_port = FreePort();
    const int http_port = FreePort();
    std::vector<std::string> args;
    for (YAML::Node arg : c["args"]) {
      std::string a = arg.as<std::string>();
      const size_t eq = a.find('=');
      std::string value = a.substr(eq + 1);
      const std::string flag = a.substr(0, eq);
      if (flag == "--listen") value = absl::StrCat("127.0.0.1:", grpc_port);
      if (flag == "--http-listen")
        value = absl::StrCat("127.0.0.1:", http_port);
      if (flag == "--reflector" || flag == "--automation") {
        value = absl::StrCat("127.0.0.1:",
                             FreePort());  // peers are not needed to start
      }
      for (const auto& [path, local] : mounts) {
        if (value == path || absl::StartsWith(value, path + "/")) {
          value = local + value.substr(path.size());
          break;
        }
      }
      args.push_back(flag + "=" + value);
    }
    Process process(Binaries().at(name), args, dir.Join("log"));
    // mTLS, with a client certificate of the test CA (health needs no
    // grant in the policy).
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port),
                                       certs.Client(true));
    const std::string readiness = ExpectedServices().at(name).grpc_service;
    absl::StatusOr<int> ready = absl::UnavailableError("not asked");
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline && process.Running()) {
      ready = HealthCheck(channel, readiness);
      if (ready.ok() && *ready == 1) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_TRUE(ready.ok() && *ready == 1) << ready.status() << process.Log();
    absl::StatusOr<int> live = HealthCheck(channel, "");
    EXPECT_TRUE(live.ok() && *live == 1) << process.Log();
    // What the probes ask, on the HTTP port.
    for (const char* probe :
         {"startupProbe", "livenessProbe", "readinessProbe"}) {
      const std::string path = c[probe]["httpGet"]["path"].as<std::string>();
      EXPECT_EQ(HttpGet(http_port, path).status, 200) << probe << " " << path;
    }

    const std::string log = process.Log();
    EXPECT_TRUE(absl::StrContains(log, "\"msg\":\"manifests applied\"")) << log;
    EXPECT_TRUE(absl::StrContains(log, "\"errors\":0")) << log;
    EXPECT_FALSE(absl::StrContains(log, "manifest object not applied")) << log;
    EXPECT_FALSE(absl::StrContains(log, "\"objects\":0,")) << log;
    channel.reset();  // else the stop waits out the grace for this idle client
    EXPECT_EQ(process.Terminate(), 0) << process.Log();
  }
}

}  // namespace
}  // namespace ia::testing
