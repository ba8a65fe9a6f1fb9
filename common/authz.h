// Authorization: which identity may call which gRPC method, decided from
// an --authz-policy file. Pure (no gRPC): the gRPC edge (common/authn.h)
// finds the caller's identity and asks these functions.
//
// Every RPC method of every service maps to one verb in MethodVerbs():
//   read       Get*, List*, Watch*, Evaluate, ListTags, ListSelections,
//              server reflection
//   write      Apply*, Delete*
//   reconcile  Reconcile*
//   peer       the calls the services make to each other: WatchTagSets,
//              GetTagDigest, PublishSelections
//   health     grpc.health.v1.Health (any caller that completed the TLS
//              handshake; probes carry no identity)
// A method missing from the table is denied to everyone.
//
// The policy file (YAML):
//   rules:
//     - identities: ["spiffe://cluster.local/ns/flux-system/sa/policy"]
//       verbs: [peer]
//     - identities: [alice]
//       verbs: [read, write, reconcile]
//       namespaces: [team-a]        # optional; absent: every namespace
//     - identities: ["*"]           # any authenticated identity
//       verbs: [read]
// A call is allowed when one rule names the caller (or "*"), the verb and,
// when the rule has namespaces, the request's namespace. `peer` and
// `health` calls are not namespace-limited (a peer streams every
// namespace). A namespace-limited identity must name a namespace on List
// and Watch calls (empty means "every namespace" there): such a call is
// denied rather than filtered.
//
// Thread-safe: AuthzPolicy is immutable after Parse.
#ifndef COMMON_AUTHZ_H_
#define COMMON_AUTHZ_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace ia {

enum class Verb { kRead, kWrite, kReconcile, kPeer, kHealth };

// "read", "write", "reconcile", "peer", "health".
absl::string_view VerbName(Verb verb);

// One row of the method table: "/package.Service/Method" and its verb.
struct MethodVerb {
  absl::string_view method;
  Verb verb;
};

// Every method the services serve, with its verb.
absl::Span<const MethodVerb> MethodVerbs();

// The verb of `method` ("/imageautomation.v1.Reflector/ListTags"), or
// nullopt for a method not in the table (denied).
std::optional<Verb> VerbOfMethod(absl::string_view method);

// The identity "*" in a rule: any authenticated caller.
inline constexpr absl::string_view kAnyIdentity = "*";

struct AuthzRule {
  std::vector<std::string> identities;
  std::vector<Verb> verbs;
  std::vector<std::string> namespaces;  // empty: every namespace
};

// What a policy grants an identity for one verb.
struct Grant {
  bool allowed = false;  // in at least one namespace
  bool every_namespace = false;
  std::vector<std::string> namespaces;  // when !every_namespace
};

class AuthzPolicy {
 public:
  // Parses the YAML text of an --authz-policy file; `source` names the file
  // in errors. INVALID_ARGUMENT naming the file and the field
  // ("policy.yaml: rules[1].verbs[0]: unknown verb \"writ\" ...") on a
  // syntax error, an unknown key, an unknown verb or an empty list.
  static absl::StatusOr<AuthzPolicy> Parse(absl::string_view text,
                                           absl::string_view source);

  // What the rules grant `identity` for `verb`. `health` is granted to
  // everyone, even without an identity.
  Grant GrantFor(absl::string_view identity, Verb verb) const;

  const std::vector<AuthzRule>& rules() const { return rules_; }

 private:
  std::vector<AuthzRule> rules_;
};

// Whether `grant` covers `ns` (a request's namespace; "" on a List or
// Watch means every namespace, which only an every-namespace grant covers).
bool GrantCovers(const Grant& grant, absl::string_view ns);

// Secure by default: OK when a listener on `listen` (HOST:PORT) may start.
// A listener on anything but loopback (127.0.0.0/8, ::1, localhost) needs
// TLS and a policy unless `allow_anonymous`; FAILED_PRECONDITION saying
// which flags to add otherwise.
absl::Status CheckExposure(absl::string_view listen, bool tls, bool policy,
                           bool allow_anonymous);

// Whether HOST:PORT names a loopback host.
bool IsLoopbackAddress(absl::string_view listen);

}  // namespace ia

#endif  // COMMON_AUTHZ_H_
