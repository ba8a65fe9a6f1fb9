// Internals of the Git layer (git.cc): one network operation of libgit2 (a
// fetch or a push) and its callbacks: credentials from the GitRepository's
// secret, trust checks of SSH host keys and TLS certificates, the deadline,
// refs the remote refused, and the Status of a failed operation. Split from
// git.cc, which keeps the repository work (refs, checkout, commit, push loop).
//
// Not thread-safe: one RemoteCall per operation, on the thread that runs it.
#ifndef SERVICES_AUTOMATION_GIT_REMOTE_CALL_H_
#define SERVICES_AUTOMATION_GIT_REMOTE_CALL_H_

#include <git2.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/automation/git_libgit2.h"
#include "services/automation/git_transport.h"
#include "services/automation/git_types.h"

namespace ia::automation::git_internal {

// What the callbacks of one network operation share.
struct RemoteCall {
  const GitRemote* remote = nullptr;
  const GitUrl* url = nullptr;
  std::string display_url;
  absl::Time deadline;
  // Why a callback stopped the operation; OK when none did.
  absl::Status status;
  int userpass_calls = 0;
  int ssh_key_calls = 0;
  // Push: refs the server refused, with its reason.
  std::vector<std::pair<std::string, std::string>> rejected;
  std::string bearer_header;
  const char* header_ptr = nullptr;
  // A private copy of the SSH identity when libgit2 cannot take it from
  // memory; removed when the call ends.
  std::string identity_dir;

  RemoteCall() = default;
  RemoteCall(const RemoteCall&) = delete;
  RemoteCall& operator=(const RemoteCall&) = delete;
  ~RemoteCall();

  // Sets up this call for `remote` (whose parsed URL is `url`, shown as
  // `display_url`): its deadline from remote->timeout, every callback with
  // this call as payload, and the bearer token header when there is one.
  // `remote` and `url` must outlive the call.
  void Prepare(const GitRemote* remote_in, const GitUrl* url_in,
               std::string display_url_in, git_remote_callbacks* callbacks,
               git_strarray* headers);

  bool Expired() const;
  // Records `s` as the reason (the first one wins) and returns GIT_EUSER.
  int Stop(absl::Status s);
  // Stop(DEADLINE_EXCEEDED) when the deadline has passed, else 0.
  int StopIfExpired();
  // The SSH user: from the URL libgit2 passes, else ours, else "git".
  std::string SshUser(const char* from_url) const;
  // The secret's SSH identity as a credential (from memory, else from a
  // private file); refused after a first refusal.
  int SshKeyCredential(git_credential** out, const char* user_from_url);
};

// The status of a failed network operation `what` ("fetching from",
// "pushing to"): the callbacks' reason, else a timeout, else libgit2's
// error mapped to a code (see git.h), never holding a credential.
absl::Status RemoteError(int rc, const RemoteCall& call,
                         absl::string_view what);

}  // namespace ia::automation::git_internal

#endif  // SERVICES_AUTOMATION_GIT_REMOTE_CALL_H_
