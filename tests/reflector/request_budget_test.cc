// RequestBudget: the per-host token bucket, as tables of takes.
#include "services/reflector/request_budget.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace ia::reflector {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

struct Take {
  std::string key;
  absl::Duration at;                   // after kT0
  absl::Duration deadline;             // after kT0
  std::optional<absl::Duration> want;  // when it may go, after kT0
};

struct Case {
  std::string name;
  double rate;
  std::vector<Take> takes;
};

TEST(RequestBudgetTest, Tables) {
  const absl::Duration s = absl::Seconds(1);
  const absl::Duration ms = absl::Milliseconds(1);
  const std::vector<Case> cases = {
      {"no limit", 0, {{"a", 0 * s, 0 * s, 0 * s}, {"a", 0 * s, 0 * s, 0 * s}}},
      {"a burst of the rate, then one every 1/rate",
       2,
       {{"a", 0 * s, 60 * s, 0 * s},
        {"a", 0 * s, 60 * s, 0 * s},
        {"a", 0 * s, 60 * s, 500 * ms},
        {"a", 0 * s, 60 * s, 1000 * ms}}},
      {"hosts have their own buckets",
       1,
       {{"a", 0 * s, 60 * s, 0 * s},
        {"b", 0 * s, 60 * s, 0 * s},
        {"a", 0 * s, 60 * s, 1 * s}}},
      {"the bucket refills with time, up to the burst",
       1,
       {{"a", 0 * s, 60 * s, 0 * s},
        {"a", 10 * s, 60 * s, 10 * s},
        {"a", 10 * s, 60 * s, 11 * s}}},
      {"a rate under one still bursts one request",
       0.5,
       {{"a", 0 * s, 60 * s, 0 * s}, {"a", 0 * s, 60 * s, 2 * s}}},
      {"past the deadline nothing is taken",
       1,
       {{"a", 0 * s, 60 * s, 0 * s},
        {"a", 0 * s, 500 * ms, std::nullopt},
        {"a", 0 * s, 60 * s, 1 * s}}},
  };
  for (const Case& c : cases) {
    RequestBudget budget(c.rate);
    for (size_t i = 0; i < c.takes.size(); ++i) {
      const Take& t = c.takes[i];
      std::optional<absl::Time> got =
          budget.Take(t.key, kT0 + t.at, kT0 + t.deadline);
      std::optional<absl::Time> want;
      if (t.want.has_value()) want = kT0 + *t.want;
      EXPECT_EQ(got, want) << c.name << ", take " << i;
    }
  }
}

}  // namespace
}  // namespace ia::reflector
