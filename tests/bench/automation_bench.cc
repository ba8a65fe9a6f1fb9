// Benchmarks of the automation write path (issue 5), over a generated,
// deterministic GitOps tree: 10,000 Kubernetes YAML files in nested folders
// (tenants/team-NN/apps/app-NN/{base,overlays/ENV}/...), of varied kinds and
// sizes, 1,000 of them with setter markers of every form (full image, :tag,
// :name; Deployments, StatefulSets, CronJobs, HelmReleases, kustomize
// Kustomizations named kustomization.yaml or Kustomization) for 50 policies.
//
//   automation_bench [benchmark flags]   Rewrite: ComputeSetterUpdates +
//                                        WriteSetterUpdates changing every
//                                        marker, atomic writes without fsync
//                                        (the automation service's worktree);
//                                        RewriteDurable: the same on disk
//                                        before it returns (imagectl
//                                        rewrite, a user's files);
//                                        Compute alone; GrepRl:
//                                        `grep -rl '$imagepolicy' TREE`
//   automation_bench --tree=DIR ...      use (or first write) the tree in DIR
//                                        instead of a temporary folder
//   automation_bench --write_tree=DIR    writes the tree and exits
//   automation_bench --write_fast_import=FILE
//                                        writes a git fast-import stream of
//                                        1,000 commits on refs/heads/main
//                                        whose last tree is the tree above
//   automation_bench --print_policies=V  prints the policies of variant V
//                                        (1 or 2) as imagectl rewrite's
//                                        --policy values, one a line
//   automation_bench --git_clone --clone=DIR --url=URL
//                                        OpenGitCheckout + Checkout(main):
//                                        the service's persistent clone
//   automation_bench --git_run --clone=DIR --url=URL [--variant=V]
//                                        one automation run as the service
//                                        makes it: OpenGitCheckout on DIR,
//                                        UpdateBranch(main) with the setter
//                                        rewrite to variant V, commit, push;
//                                        prints one JSON line of times (ms)
//
// The rewrite benchmarks alternate between policy variants 1 and 2 (every
// tag differs between them and from the tree as written), so each iteration
// changes every marker of all 1,000 files with no reset between iterations.
// tools/bench-automation.sh runs all of this and prints the comparisons.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "services/automation/git.h"
#include "services/automation/setters.h"
#include "tests/bench/bench_rng.h"

extern char** environ;

namespace ia::automation {
namespace {

constexpr int kFiles = 10000;
constexpr int kCommits = 1000;
constexpr int kPolicies = 50;
constexpr int kFilesPerCommit = kFiles / kCommits;
constexpr int kEditsPerCommit = 5;  // earlier files changed by each commit

using ::ia::bench::Rng;

// ---------------------------------------------------------------------------
// Policies: 50 images; every 10th has build-number tags (20240107), which a
// :tag setter writes double-quoted.

std::string PolicyNamespace(int k) {
  return k % 5 == 0 ? "apps" : "flux-system";
}
std::string PolicyName(int k) {
  return absl::StrCat("app-", k < 10 ? "0" : "", k);
}
std::string PolicyImage(int k) {
  return absl::StrCat("registry.example.com/team-", k % 20, "/", PolicyName(k));
}
bool NumericTags(int k) { return k % 10 == 7; }

// Variant 0 is what the tree holds; 1 and 2 differ from it and each other.
std::string PolicyTag(int k, int variant) {
  if (NumericTags(k)) return absl::StrCat(20240100 + k + 100 * variant);
  if (variant == 0) return absl::StrCat("1.", k % 10, ".", k);
  return absl::StrCat("2.", variant - 1, ".", k);
}

PolicyMap Policies(int variant) {
  PolicyMap map;
  for (int k = 0; k < kPolicies; ++k) {
    map[absl::StrCat(PolicyNamespace(k), ":", PolicyName(k))] =
        ImageRef{PolicyImage(k), PolicyTag(k, variant), ""};
  }
  return map;
}

// ---------------------------------------------------------------------------
// The tree.

bool HasMarkers(int i) { return i % 10 == 3; }

// Marker comment, in one of the JSON spacings people write.
std::string Marker(int k, absl::string_view field, Rng& rng) {
  const std::string setter = absl::StrCat(
      PolicyNamespace(k), ":", PolicyName(k), field.empty() ? "" : ":", field);
  switch (rng.Below(3)) {
    case 0:
      return absl::StrCat(" # {\"$imagepolicy\": \"", setter, "\"}");
    case 1:
      return absl::StrCat(" # {\"$imagepolicy\":\"", setter, "\"}");
    default:
      return absl::StrCat(" # { \"$imagepolicy\" : \"", setter, "\" }");
  }
}

std::string TagScalar(int k) {
  const std::string tag = PolicyTag(k, 0);
  return NumericTags(k) ? absl::StrCat("\"", tag, "\"") : tag;
}

enum class Kind {
  kDeployment,
  kStatefulSet,
  kCronJob,
  kHelmRelease,
  kKustomization,
  kKustomizationFile,
  kConfigMap,
  kService,
  kIngress,
  kRbac,
  kHpaBundle,
};

Kind KindOf(int i) {
  Rng rng(0xC0FFEE00ULL + i);
  const uint64_t r = rng.Below(100);
  if (HasMarkers(i)) {
    if (r < 40) return Kind::kDeployment;
    if (r < 50) return Kind::kStatefulSet;
    if (r < 60) return Kind::kCronJob;
    if (r < 80) return Kind::kHelmRelease;
    if (r < 90) return Kind::kKustomization;
    return Kind::kKustomizationFile;
  }
  if (r < 20) return Kind::kDeployment;
  if (r < 25) return Kind::kStatefulSet;
  if (r < 30) return Kind::kCronJob;
  if (r < 37) return Kind::kHelmRelease;
  if (r < 62) return Kind::kConfigMap;
  if (r < 77) return Kind::kService;
  if (r < 85) return Kind::kIngress;
  if (r < 95) return Kind::kRbac;
  return Kind::kHpaBundle;
}

std::string Team(int i) {
  return absl::StrCat("team-", i / 500 < 10 ? "0" : "", i / 500);
}
std::string App(int i) {
  const int a = (i / 25) % 20;
  return absl::StrCat("app-", a < 10 ? "0" : "", a);
}

// Path relative to the tree's root; 25 files per app: 10 in base/, 5 in
// each of overlays/dev, overlays/staging, overlays/prod.
std::string FilePath(int i) {
  const int slot = i % 25;
  const char* sub = slot < 10   ? "base"
                    : slot < 15 ? "overlays/dev"
                    : slot < 20 ? "overlays/staging"
                                : "overlays/prod";
  const std::string dir =
      absl::StrCat("tenants/", Team(i), "/apps/", App(i), "/", sub);
  switch (KindOf(i)) {
    case Kind::kKustomization:
      return absl::StrCat(dir, "/images-", i, "/kustomization.yaml");
    case Kind::kKustomizationFile:
      return absl::StrCat(dir, "/images-", i, "/Kustomization");
    case Kind::kDeployment:
      return absl::StrCat(dir, "/deployment-", i, ".yaml");
    case Kind::kStatefulSet:
      return absl::StrCat(dir, "/statefulset-", i, ".yaml");
    case Kind::kCronJob:
      return absl::StrCat(dir, "/cronjob-", i, ".yml");
    case Kind::kHelmRelease:
      return absl::StrCat(dir, "/helmrelease-", i, ".yaml");
    case Kind::kConfigMap:
      return absl::StrCat(dir, "/configmap-", i, ".yaml");
    case Kind::kService:
      return absl::StrCat(dir, "/service-", i, ".yaml");
    case Kind::kIngress:
      return absl::StrCat(dir, "/ingress-", i, ".yaml");
    case Kind::kRbac:
      return absl::StrCat(dir, "/rbac-", i, ".yaml");
    case Kind::kHpaBundle:
      return absl::StrCat(dir, "/web-", i, ".yaml");
  }
  return dir;
}

void Metadata(std::string* out, int i, absl::string_view name, bool labels) {
  absl::StrAppend(out, "metadata:\n  name: ", name, "\n  namespace: ", Team(i),
                  "\n");
  if (labels) {
    absl::StrAppend(out, "  labels:\n    app.kubernetes.io/name: ", App(i),
                    "\n    app.kubernetes.io/part-of: ", Team(i),
                    "\n    app.kubernetes.io/managed-by: flux\n");
  }
}

// A container; `marker_policy` >= 0 marks its image.
void Container(std::string* out, absl::string_view indent, int i,
               int marker_policy, absl::string_view name, Rng& rng) {
  const int k = marker_policy >= 0 ? marker_policy
                                   : static_cast<int>(rng.Below(kPolicies));
  absl::StrAppend(out, indent, "- name: ", name, "\n", indent,
                  "  image: ", PolicyImage(k), ":", PolicyTag(k, 0),
                  marker_policy >= 0 ? Marker(k, "", rng) : "", "\n", indent,
                  "  imagePullPolicy: IfNotPresent\n");
  absl::StrAppend(
      out, indent, "  args: [\"--port=8080\", \"--log-level=info\"]\n", indent,
      "  ports:\n", indent, "    - name: http\n", indent,
      "      containerPort: 8080\n", indent, "      protocol: TCP\n");
  const uint64_t env = 2 + rng.Skewed(30);
  absl::StrAppend(out, indent, "  env:\n");
  for (uint64_t e = 0; e < env; ++e) {
    if (e % 4 == 3) {
      absl::StrAppend(out, indent, "    - name: SECRET_", e, "\n", indent,
                      "      valueFrom:\n", indent,
                      "        secretKeyRef: {name: ", App(i),
                      "-secrets, key: key-", e, "}\n");
    } else {
      absl::StrAppend(out, indent, "    - name: SETTING_", e, "\n", indent,
                      "      value: \"",
                      rng.Below(2) ? "enabled" : "https://svc.example.com/v1",
                      "\"\n");
    }
  }
  absl::StrAppend(out, indent, "  resources:\n", indent,
                  "    requests: {cpu: ", 50 * (1 + rng.Below(8)),
                  "m, memory: ", 64 << rng.Below(4), "Mi}\n", indent,
                  "    limits:\n", indent,
                  "      memory: ", 256 << rng.Below(3), "Mi\n");
  absl::StrAppend(out, indent, "  readinessProbe:\n", indent,
                  "    httpGet: {path: /healthz, port: http}\n", indent,
                  "    periodSeconds: 10\n", indent, "  livenessProbe:\n",
                  indent, "    httpGet:\n", indent, "      path: /livez\n",
                  indent, "      port: http\n", indent,
                  "    initialDelaySeconds: 15\n");
  absl::StrAppend(out, indent, "  securityContext:\n", indent,
                  "    allowPrivilegeEscalation: false\n", indent,
                  "    readOnlyRootFilesystem: true\n", indent,
                  "    capabilities: {drop: [\"ALL\"]}\n");
}

// A pod template's spec (under `indent`), with 1-3 containers; with
// markers, the first one's image (and sometimes a sidecar's) is marked.
void PodSpec(std::string* out, absl::string_view indent, int i, bool markers,
             Rng& rng) {
  absl::StrAppend(out, indent, "serviceAccountName: ", App(i), "\n", indent,
                  "securityContext:\n", indent, "  runAsNonRoot: true\n",
                  indent, "  runAsUser: 10001\n", indent, "  fsGroup: 10001\n");
  const std::string inner = absl::StrCat(indent, "  ");
  if (rng.Below(4) == 0) {
    absl::StrAppend(out, indent, "initContainers:\n");
    Container(
        out, inner, i,
        markers && rng.Below(2) ? static_cast<int>(rng.Below(kPolicies)) : -1,
        "migrate", rng);
  }
  absl::StrAppend(out, indent, "containers:\n");
  Container(out, inner, i,
            markers ? static_cast<int>(rng.Below(kPolicies)) : -1, "app", rng);
  if (rng.Below(3) == 0) {
    Container(
        out, inner, i,
        markers && rng.Below(2) ? static_cast<int>(rng.Below(kPolicies)) : -1,
        "sidecar", rng);
  }
  absl::StrAppend(out, indent, "volumes:\n", indent, "  - name: config\n",
                  indent, "    configMap:\n", indent, "      name: ", App(i),
                  "-config\n");
}

void Deployment(std::string* out, int i, bool markers, Rng& rng) {
  absl::StrAppend(out, "apiVersion: apps/v1\nkind: Deployment\n");
  Metadata(out, i, absl::StrCat(App(i), "-", i), true);
  absl::StrAppend(out, "  annotations:\n    config.example.com/owner: \"",
                  Team(i), "\"\n");
  absl::StrAppend(
      out, "spec:\n  replicas: ", 1 + rng.Below(6),
      "\n  revisionHistoryLimit: 5\n  selector:\n    matchLabels:\n"
      "      app.kubernetes.io/name: ",
      App(i),
      "\n  strategy:\n    type: RollingUpdate\n"
      "    rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}\n"
      "  template:\n    metadata:\n      labels:\n        "
      "app.kubernetes.io/name: ",
      App(i),
      "\n      annotations:\n        prometheus.io/scrape: \"true\"\n"
      "        prometheus.io/port: \"9090\"\n    spec:\n");
  PodSpec(out, "      ", i, markers, rng);
}

void StatefulSet(std::string* out, int i, bool markers, Rng& rng) {
  absl::StrAppend(out, "apiVersion: apps/v1\nkind: StatefulSet\n");
  Metadata(out, i, absl::StrCat(App(i), "-db-", i), true);
  absl::StrAppend(
      out, "spec:\n  serviceName: ", App(i), "-db\n  replicas: 3\n",
      "  selector:\n    matchLabels:\n      app.kubernetes.io/name: ", App(i),
      "-db\n  template:\n    metadata:\n      labels:\n"
      "        app.kubernetes.io/name: ",
      App(i), "-db\n    spec:\n");
  PodSpec(out, "      ", i, markers, rng);
  absl::StrAppend(
      out,
      "  volumeClaimTemplates:\n    - metadata:\n        name: data\n"
      "      spec:\n        accessModes: [\"ReadWriteOnce\"]\n"
      "        storageClassName: fast-ssd\n        resources:\n"
      "          requests:\n            storage: ",
      10 << rng.Below(5), "Gi\n");
}

void CronJob(std::string* out, int i, bool markers, Rng& rng) {
  absl::StrAppend(out, "apiVersion: batch/v1\nkind: CronJob\n");
  Metadata(out, i, absl::StrCat(App(i), "-job-", i), true);
  absl::StrAppend(
      out, "spec:\n  schedule: \"", rng.Below(60), " */", 1 + rng.Below(12),
      " * * *\"\n  concurrencyPolicy: Forbid\n  jobTemplate:\n    spec:\n"
      "      backoffLimit: 2\n      template:\n        spec:\n"
      "          restartPolicy: OnFailure\n");
  PodSpec(out, "          ", i, markers, rng);
}

void HelmRelease(std::string* out, int i, bool markers, Rng& rng) {
  const int k = static_cast<int>(rng.Below(kPolicies));
  absl::StrAppend(out,
                  "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n");
  Metadata(out, i, absl::StrCat(App(i), "-", i), false);
  absl::StrAppend(
      out, "spec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ", App(i),
      "\n      version: \"4.", rng.Below(10),
      ".x\"\n      sourceRef:\n"
      "        kind: HelmRepository\n        name: ",
      Team(i),
      "\n  install:\n    remediation:\n      retries: 3\n  values:\n"
      "    replicaCount: ",
      1 + rng.Below(4), "\n    image:\n      repository: ", PolicyImage(k),
      markers ? Marker(k, "name", rng) : "", "\n      tag: ", TagScalar(k),
      markers ? Marker(k, "tag", rng) : "",
      "\n      pullPolicy: IfNotPresent\n");
  absl::StrAppend(
      out, "    ingress:\n      enabled: true\n      hosts:\n        - host: ",
      App(i), ".", Team(i), ".example.com\n          paths: [\"/\"]\n");
  absl::StrAppend(out, "    config: |\n");
  const uint64_t lines = 3 + rng.Skewed(120);
  for (uint64_t l = 0; l < lines; ++l) {
    absl::StrAppend(out, "      setting_", l, " = ", rng.Below(100000),
                    l % 7 == 0 ? "  # image: not a marker" : "", "\n");
  }
  absl::StrAppend(out,
                  "    resources:\n      requests:\n        cpu: 100m\n"
                  "        memory: 128Mi\n");
}

void Kustomization(std::string* out, int i, Rng& rng) {
  absl::StrAppend(
      out,
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
      "namespace: ",
      Team(i),
      "\nresources:\n  - ../../../base\n"
      "  - configmap.yaml\nlabels:\n  - pairs:\n      env: overlay\n"
      "patches:\n  - path: replicas.yaml\n    target:\n"
      "      kind: Deployment\nimages:\n");
  const uint64_t images = 1 + rng.Below(3);
  for (uint64_t n = 0; n < images; ++n) {
    const int k = static_cast<int>(rng.Below(kPolicies));
    absl::StrAppend(out, "  - name: ", PolicyName(k),
                    "\n    newName: ", PolicyImage(k), Marker(k, "name", rng),
                    "\n    newTag: ", TagScalar(k), Marker(k, "tag", rng),
                    "\n");
  }
}

void ConfigMap(std::string* out, int i, Rng& rng) {
  absl::StrAppend(out, "apiVersion: v1\nkind: ConfigMap\n");
  Metadata(out, i, absl::StrCat(App(i), "-config-", i), true);
  absl::StrAppend(out,
                  "data:\n  LOG_LEVEL: info\n  FEATURE_FLAGS: \"a,b,c\"\n"
                  "  config.yaml: |\n");
  const uint64_t lines = 5 + rng.Skewed(400);
  for (uint64_t l = 0; l < lines; ++l) {
    absl::StrAppend(out, "    key_", l, ": ",
                    rng.Below(2) ? "\"value with: colon\"" : "42",
                    l % 9 == 0 ? "  # a comment" : "", "\n");
  }
}

void Service(std::string* out, int i, Rng& rng) {
  absl::StrAppend(out, "apiVersion: v1\nkind: Service\n");
  Metadata(out, i, absl::StrCat(App(i), "-", i), true);
  absl::StrAppend(
      out,
      "spec:\n  type: ClusterIP\n  selector:\n    app.kubernetes.io/name: ",
      App(i), "\n  ports:\n");
  const uint64_t ports = 1 + rng.Below(4);
  for (uint64_t p = 0; p < ports; ++p) {
    absl::StrAppend(out, "    - name: port-", p, "\n      port: ", 8080 + p,
                    "\n      targetPort: ", 8080 + p,
                    "\n      protocol: TCP\n");
  }
}

void Ingress(std::string* out, int i, Rng& rng) {
  absl::StrAppend(out, "apiVersion: networking.k8s.io/v1\nkind: Ingress\n");
  Metadata(out, i, absl::StrCat(App(i), "-", i), true);
  absl::StrAppend(
      out,
      "  annotations:\n    cert-manager.io/cluster-issuer: letsencrypt\n"
      "spec:\n  ingressClassName: nginx\n  tls:\n    - hosts: [",
      App(i), ".example.com]\n      secretName: ", App(i), "-tls\n  rules:\n");
  const uint64_t hosts = 1 + rng.Below(5);
  for (uint64_t h = 0; h < hosts; ++h) {
    absl::StrAppend(
        out, "    - host: h", h, ".", App(i),
        ".example.com\n      http:\n        paths:\n          - path: /\n"
        "            pathType: Prefix\n            backend:\n"
        "              service:\n                name: ",
        App(i), "\n                port: {number: 8080}\n");
  }
}

void Rbac(std::string* out, int i, Rng& rng) {
  absl::StrAppend(out, "apiVersion: v1\nkind: ServiceAccount\n");
  Metadata(out, i, App(i), false);
  absl::StrAppend(
      out, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n");
  Metadata(out, i, absl::StrCat(App(i), "-", i), false);
  absl::StrAppend(out, "rules:\n");
  const uint64_t rules = 1 + rng.Below(6);
  for (uint64_t r = 0; r < rules; ++r) {
    absl::StrAppend(
        out,
        "  - apiGroups: [\"\"]\n    resources: [\"configmaps\", \"secrets\"]\n"
        "    verbs: [\"get\", \"list\", \"watch\"]\n");
  }
  absl::StrAppend(
      out,
      "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n");
  Metadata(out, i, absl::StrCat(App(i), "-", i), false);
  absl::StrAppend(
      out,
      "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n"
      "  name: ",
      App(i), "-", i,
      "\nsubjects:\n  - kind: ServiceAccount\n"
      "    name: ",
      App(i), "\n");
}

void HpaBundle(std::string* out, int i, Rng& rng) {
  Deployment(out, i, false, rng);
  absl::StrAppend(out, "---\n");
  Service(out, i, rng);
  absl::StrAppend(
      out, "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n");
  Metadata(out, i, absl::StrCat(App(i), "-", i), false);
  absl::StrAppend(
      out,
      "spec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n"
      "    kind: Deployment\n    name: ",
      App(i), "-", i, "\n  minReplicas: 2\n  maxReplicas: ", 4 + rng.Below(20),
      "\n  metrics:\n    - type: Resource\n      resource:\n        name: cpu\n"
      "        target: {type: Utilization, averageUtilization: 70}\n");
}

// File i at revision `rev` (the history's edits bump the header's revision).
std::string FileContent(int i, int rev) {
  Rng rng(0x5EED0000ULL + static_cast<uint64_t>(i) * 7919);
  std::string out = absl::StrCat("# Managed by ", Team(i),
                                 " (platform GitOps). Revision ", rev, ".\n");
  const bool markers = HasMarkers(i);
  switch (KindOf(i)) {
    case Kind::kDeployment:
      Deployment(&out, i, markers, rng);
      break;
    case Kind::kStatefulSet:
      StatefulSet(&out, i, markers, rng);
      break;
    case Kind::kCronJob:
      CronJob(&out, i, markers, rng);
      break;
    case Kind::kHelmRelease:
      HelmRelease(&out, i, markers, rng);
      break;
    case Kind::kKustomization:
    case Kind::kKustomizationFile:
      Kustomization(&out, i, rng);
      break;
    case Kind::kConfigMap:
      ConfigMap(&out, i, rng);
      break;
    case Kind::kService:
      Service(&out, i, rng);
      break;
    case Kind::kIngress:
      Ingress(&out, i, rng);
      break;
    case Kind::kRbac:
      Rbac(&out, i, rng);
      break;
    case Kind::kHpaBundle:
      HpaBundle(&out, i, rng);
      break;
  }
  return out;
}

// The history: commit c adds files [10c, 10c+10) at revision 0 and bumps
// the revision of 5 earlier files. Calls `commit(c, files)` with the
// (index, revision) pairs it writes; returns the final revisions.
template <typename F>
std::vector<int> History(const F& commit) {
  std::vector<int> revs(kFiles, 0);
  Rng rng(0x415701ULL);
  for (int c = 0; c < kCommits; ++c) {
    std::vector<std::pair<int, int>> files;
    for (int i = c * kFilesPerCommit; i < (c + 1) * kFilesPerCommit; ++i)
      files.push_back({i, 0});
    for (int e = 0; c > 0 && e < kEditsPerCommit; ++e) {
      const int i = static_cast<int>(
          rng.Below(static_cast<uint64_t>(c) * kFilesPerCommit));
      files.push_back({i, ++revs[i]});
    }
    commit(c, files);
  }
  return revs;
}

std::vector<int> FinalRevisions() {
  return History([](int, const std::vector<std::pair<int, int>>&) {});
}

absl::Status WriteFile(const std::filesystem::path& path,
                       absl::string_view content) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out)
    return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

absl::Status WriteTree(const std::string& dir) {
  const std::vector<int> revs = FinalRevisions();
  for (int i = 0; i < kFiles; ++i) {
    absl::Status s = WriteFile(std::filesystem::path(dir) / FilePath(i),
                               FileContent(i, revs[i]));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status WriteFastImport(const std::string& file) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  History([&out](int c, const std::vector<std::pair<int, int>>& files) {
    const std::string message =
        c == 0 ? "Initial platform layout\n"
               : absl::StrCat("Add ", kFilesPerCommit, " manifests, tune ",
                              kEditsPerCommit, " (change ", c, ")\n");
    const int64_t when = 1700000000 + int64_t{3600} * c;
    out << "commit refs/heads/main\n"
        << "author Platform Team <platform@example.com> " << when << " +0000\n"
        << "committer Platform Team <platform@example.com> " << when
        << " +0000\n"
        << "data " << message.size() << "\n"
        << message;
    for (const auto& [i, rev] : files) {
      const std::string content = FileContent(i, rev);
      out << "M 100644 inline " << FilePath(i) << "\ndata " << content.size()
          << "\n"
          << content << "\n";
    }
    out << "\n";
  });
  out << "done\n";
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", file));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Benchmarks.

std::string g_tree;  // the tree the benchmarks use

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// The policy variant the next rewrite applies: the tree always holds the
// other one (or variant 0 at first), so every rewrite changes every marker.
int g_next_variant = 1;

const PolicyMap& NextPolicies() {
  static const PolicyMap variants[2] = {Policies(1), Policies(2)};
  return variants[g_next_variant - 1];
}

void RewriteLoop(benchmark::State& state, Durability durability) {
  size_t files = 0;
  for (auto _ : state) {
    absl::StatusOr<SetterResult> result =
        ComputeSetterUpdates(g_tree, ".", NextPolicies(), SetterOptions{});
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      return;
    }
    absl::Status written =
        WriteSetterUpdates(g_tree, result->updates, durability);
    if (!written.ok()) {
      state.SkipWithError(std::string(written.message()).c_str());
      return;
    }
    g_next_variant = 3 - g_next_variant;
    files = result->updates.size();
    if (files != kFiles / 10 || !result->skipped.empty()) {
      state.SkipWithError(
          "the rewrite did not change every marked file (or skipped some)");
      return;
    }
  }
  state.counters["files_changed"] = static_cast<double>(files);
}

// What the automation service does to its worktree (a scratch checkout,
// reset from Git before every run): in place, no fsync.
void BM_Rewrite(benchmark::State& state) {
  RewriteLoop(state, Durability::kInPlace);
}
// The atomic replacement without fsync the service used before.
void BM_RewriteAtomic(benchmark::State& state) {
  RewriteLoop(state, Durability::kAtomicOnly);
}
// What imagectl rewrite does to a user's files: on disk before it returns.
void BM_RewriteDurable(benchmark::State& state) {
  RewriteLoop(state, Durability::kDurable);
}

// What ComputeSetterUpdates costs alone (walk, read, screen, parse, splice):
// the rest of Rewrite is writing.
void BM_Compute(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<SetterResult> result =
        ComputeSetterUpdates(g_tree, ".", NextPolicies(), {});
    if (!result.ok() || result->updates.size() != kFiles / 10) {
      state.SkipWithError(
          "ComputeSetterUpdates failed or changed too few files");
      return;
    }
    benchmark::DoNotOptimize(result);
  }
}

// `grep -rl '$imagepolicy' TREE` with its output to /dev/null, as a shell
// would start it (fork + exec + wait).
int RunGrep() {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  std::string pattern = "$imagepolicy";
  char* args[] = {const_cast<char*>("grep"), const_cast<char*>("-rl"),
                  pattern.data(), g_tree.data(), nullptr};
  pid_t pid;
  int rc = posix_spawnp(&pid, "grep", &actions, nullptr, args, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

double ChildrenCpuMs() {
  struct rusage usage;
  getrusage(RUSAGE_CHILDREN, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
}

// Counter child_cpu_ms: grep's own CPU time (user + system) per run.
void BM_GrepRl(benchmark::State& state) {
  const double cpu_before = ChildrenCpuMs();
  for (auto _ : state) {
    if (RunGrep() != 0) {
      state.SkipWithError("grep -rl failed or found nothing");
      return;
    }
  }
  state.counters["child_cpu_ms"] =
      (ChildrenCpuMs() - cpu_before) / static_cast<double>(state.iterations());
}

BENCHMARK(BM_Rewrite)
    ->Name("Rewrite")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_RewriteAtomic)
    ->Name("RewriteAtomic")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_RewriteDurable)
    ->Name("RewriteDurable")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Compute)
    ->Name("Compute")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_GrepRl)
    ->Name("GrepRl")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// ---------------------------------------------------------------------------
// One automation run, as the service makes it.

int GitClone(const std::string& dir, const std::string& url) {
  absl::StatusOr<std::unique_ptr<GitCheckout>> checkout =
      OpenGitCheckout(dir, GitRemote{url});
  if (!checkout.ok()) {
    std::cerr << "automation_bench: " << checkout.status() << "\n";
    return 1;
  }
  absl::StatusOr<std::string> head =
      (*checkout)->Checkout(GitRef{.branch = "main"});
  if (!head.ok()) {
    std::cerr << "automation_bench: " << head.status() << "\n";
    return 1;
  }
  std::cout << *head << "\n";
  return 0;
}

int GitRun(const std::string& dir, const std::string& url, int variant) {
  using Clock = std::chrono::steady_clock;
  const PolicyMap policies = Policies(variant);
  const Clock::time_point start = Clock::now();
  Clock::time_point rewrite_start, rewrite_end;
  size_t files = 0;
  absl::StatusOr<std::unique_ptr<GitCheckout>> checkout =
      OpenGitCheckout(dir, GitRemote{url});
  if (!checkout.ok()) {
    std::cerr << "automation_bench: " << checkout.status() << "\n";
    return 1;
  }
  const Clock::time_point opened = Clock::now();
  RewriteFunc rewrite =
      [&](const std::string& worktree) -> absl::StatusOr<Rewritten> {
    rewrite_start = Clock::now();
    absl::StatusOr<SetterResult> result =
        ComputeSetterUpdates(worktree, ".", policies, {});
    if (!result.ok()) return result.status();
    absl::Status written =
        WriteSetterUpdates(worktree, result->updates, Durability::kInPlace);
    if (!written.ok()) return written;
    files = result->updates.size();
    Rewritten rewritten{"Update images\n", {}};
    for (const FileUpdate& update : result->updates)
      rewritten.files.push_back(update.file);
    rewrite_end = Clock::now();
    return rewritten;
  };
  CommitOptions commit;
  commit.author = {"Image Automation", "automation@example.com"};
  PushOptions push;
  push.branch = "main";
  absl::StatusOr<UpdateResult> result = (*checkout)->UpdateBranch(
      GitRef{.branch = "main"}, rewrite, commit, push);
  const Clock::time_point end = Clock::now();
  if (!result.ok()) {
    std::cerr << "automation_bench: " << result.status() << "\n";
    return 1;
  }
  if (result->pushed_commit.empty()) {
    std::cerr << "automation_bench: the run changed nothing (no commit)\n";
    return 1;
  }
  std::cout << "{\"total_ms\": " << Ms(end - start)
            << ", \"open_ms\": " << Ms(opened - start)
            << ", \"fetch_checkout_ms\": " << Ms(rewrite_start - opened)
            << ", \"rewrite_ms\": " << Ms(rewrite_end - rewrite_start)
            << ", \"commit_push_ms\": " << Ms(end - rewrite_end)
            << ", \"files\": " << files
            << ", \"attempts\": " << result->attempts << ", \"commit\": \""
            << result->pushed_commit << "\"}" << std::endl;
  return 0;
}

const char* FlagValue(const char* arg, absl::string_view name) {
  const std::string prefix = absl::StrCat("--", name, "=");
  return std::strncmp(arg, prefix.c_str(), prefix.size()) == 0
             ? arg + prefix.size()
             : nullptr;
}

int Main(int argc, char** argv) {
  std::string tree, write_tree, write_fast_import, clone, url;
  int print_policies = 0, variant = 1;
  bool git_clone = false, git_run = false;
  // Our flags out, the rest left for Google Benchmark.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (const char* v = FlagValue(argv[i], "tree")) {
      tree = v;
    } else if (const char* v = FlagValue(argv[i], "write_tree")) {
      write_tree = v;
    } else if (const char* v = FlagValue(argv[i], "write_fast_import")) {
      write_fast_import = v;
    } else if (const char* v = FlagValue(argv[i], "print_policies")) {
      print_policies = std::atoi(v);
    } else if (const char* v = FlagValue(argv[i], "clone")) {
      clone = v;
    } else if (const char* v = FlagValue(argv[i], "url")) {
      url = v;
    } else if (const char* v = FlagValue(argv[i], "variant")) {
      variant = std::atoi(v);
    } else if (std::strcmp(argv[i], "--git_clone") == 0) {
      git_clone = true;
    } else if (std::strcmp(argv[i], "--git_run") == 0) {
      git_run = true;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;

  auto check = [](const absl::Status& s) {
    if (!s.ok()) std::cerr << "automation_bench: " << s.message() << "\n";
    return s.ok() ? 0 : 1;
  };
  if (!write_tree.empty()) return check(WriteTree(write_tree));
  if (!write_fast_import.empty())
    return check(WriteFastImport(write_fast_import));
  if (print_policies != 0) {
    if (print_policies != 1 && print_policies != 2) {
      std::cerr << "automation_bench: --print_policies takes 1 or 2\n";
      return 2;
    }
    for (const auto& [key, ref] : Policies(print_policies)) {
      std::cout << key << "=" << ref.Full() << "\n";
    }
    return 0;
  }
  if (git_clone || git_run) {
    if (clone.empty() || url.empty()) {
      std::cerr << "automation_bench: --git_clone and --git_run need "
                   "--clone=DIR --url=URL\n";
      return 2;
    }
    if (variant != 1 && variant != 2) {
      std::cerr << "automation_bench: --variant takes 1 or 2\n";
      return 2;
    }
    return git_clone ? GitClone(clone, url) : GitRun(clone, url, variant);
  }

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  std::string temp;
  if (tree.empty()) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "ia-bench-tree-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      std::cerr << "automation_bench: cannot create a temporary folder\n";
      return 1;
    }
    temp = tree = pattern;
  }
  if (!std::filesystem::exists(std::filesystem::path(tree) / "tenants")) {
    if (check(WriteTree(tree)) != 0) return 1;
  }
  g_tree = tree;
  // A tree left by an earlier run may hold variant 1 already.
  absl::StatusOr<SetterResult> probe =
      ComputeSetterUpdates(g_tree, ".", Policies(1), {});
  if (!probe.ok()) return check(probe.status());
  g_next_variant = probe->updates.empty() ? 2 : 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (!temp.empty()) std::filesystem::remove_all(temp);
  return 0;
}

}  // namespace
}  // namespace ia::automation

int main(int argc, char** argv) { return ia::automation::Main(argc, argv); }
