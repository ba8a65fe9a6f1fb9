// PolicyIndex: which policies select from which ImageRepository, so that a
// tag set change enqueues exactly those. Filled by the policy reconciler.
//
// Thread-safe.
#ifndef SERVICES_POLICY_POLICY_INDEX_H_
#define SERVICES_POLICY_POLICY_INDEX_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace ia::policy {

class PolicyIndex {
 public:
  // Records that `policy` selects from `repository` (keys "namespace/name").
  void Set(const std::string& policy, const std::string& repository) {
    absl::MutexLock lock(&mu_);
    auto it = repository_of_.find(policy);
    if (it != repository_of_.end()) {
      if (it->second == repository) return;
      policies_of_[it->second].erase(policy);
    }
    repository_of_[policy] = repository;
    policies_of_[repository].insert(policy);
  }
  // Forgets `policy` (deleted).
  void Remove(const std::string& policy) {
    absl::MutexLock lock(&mu_);
    auto it = repository_of_.find(policy);
    if (it == repository_of_.end()) return;
    policies_of_[it->second].erase(policy);
    repository_of_.erase(it);
  }
  // Every policy recorded, sorted.
  std::vector<std::string> AllPolicies() const {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> keys;
    for (const auto& [policy, repository] : repository_of_)
      keys.push_back(policy);
    return keys;
  }
  // The policies that select from `repository`, sorted.
  std::vector<std::string> PoliciesOf(const std::string& repository) const {
    absl::MutexLock lock(&mu_);
    auto it = policies_of_.find(repository);
    if (it == policies_of_.end()) return {};
    return {it->second.begin(), it->second.end()};
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> repository_of_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> policies_of_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace ia::policy

#endif  // SERVICES_POLICY_POLICY_INDEX_H_
