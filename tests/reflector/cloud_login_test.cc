// CloudLogins, the cache in front of the cloud exchanges, against FakeAws
// over real HTTP: a login is reused until 80% of its lifetime and at most
// max_duration, per registry host, in an LRU; concurrent askers share one
// exchange; a failure is not cached; Forget makes the next ask exchange.
#include "services/reflector/cloud_login.h"

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/reflector/curl_transport.h"
#include "tests/support/fake_aws.h"
#include "tests/support/harness.h"
#include "tests/support/jump_clock.h"

namespace ia::reflector {
namespace {

using ::ia::testing::FakeAws;
using ::ia::testing::JumpClock;
using ::ia::testing::TempDir;

constexpr char kRole[] = "arn:aws:iam::123456789012:role/image-reflector";
constexpr char kHost[] = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
constexpr char kOtherHost[] = "210987654321.dkr.ecr.us-east-1.amazonaws.com";

TEST(RefreshTimeTest, EightyPercentOfTheLifetimeAtMostMaxDuration) {
  const absl::Time t0 = absl::FromUnixSeconds(1000000);
  struct Case {
    absl::Duration lifetime;
    absl::Duration max;
    absl::Duration want;
  } cases[] = {
      {absl::Hours(12), absl::Hours(1), absl::Hours(1)},
      {absl::Minutes(10), absl::Hours(1), absl::Minutes(8)},
      {absl::Minutes(10), absl::Minutes(5), absl::Minutes(5)},
      {absl::ZeroDuration(), absl::Hours(1), absl::ZeroDuration()},
      {-absl::Minutes(1), absl::Hours(1), absl::ZeroDuration()},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RefreshTime(t0, t0 + c.lifetime, c.max), t0 + c.want)
        << c.lifetime << " " << c.max;
  }
}

TEST(ExchangeErrorTest, JoinsThePartsAndTamesTheMessage) {
  EXPECT_EQ(ExchangeError("aws", "step", "Code", "message").message(),
            "aws: step: Code: message");
  EXPECT_EQ(ExchangeError("aws", "step", "", "").message(), "aws: step");
  const absl::Status long_one =
      ExchangeError("aws", "s", "C", std::string(1000, 'x') + "\n");
  EXPECT_EQ(long_one.message().size(), std::string("aws: s: C: ").size() + 300);
  EXPECT_EQ(ExchangeError("aws", "s", "C", "a\nb").message(), "aws: s: C: a b");
  EXPECT_TRUE(absl::IsUnauthenticated(ExchangeError("aws", "s", "", "")));
}

class CloudLoginsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(aws_.Start().ok());
    aws_.SetRegistryLogin("AWS", "ecr-password", absl::Minutes(10));
    aws_.SetWebIdentity(kRole, "sa-token");
    clock_.Advance(absl::Now() - clock_.Now());
  }

  std::unique_ptr<CloudLogins> Make(int max_entries = 100,
                                    absl::Duration max = absl::Hours(1)) {
    CloudLoginOptions options;
    options.max_entries = max_entries;
    options.max_duration = max;
    options.clock = &clock_;
    options.environment = EnvironmentOf(
        {{"AWS_ENDPOINT_URL", aws_.url()},
         {"AWS_EC2_METADATA_SERVICE_ENDPOINT", aws_.url()},
         {"AWS_ROLE_ARN", kRole},
         {"AWS_WEB_IDENTITY_TOKEN_FILE", dir_.WriteFile("token", "sa-token")}});
    return std::make_unique<CloudLogins>(MakeCurlTransport(), options);
  }

  FakeAws aws_;
  TempDir dir_;
  JumpClock clock_;
};

TEST_F(CloudLoginsTest, ReusesALoginUntilEightyPercentOfItsLifetime) {
  std::unique_ptr<CloudLogins> logins = Make();
  absl::StatusOr<RegistryCredentials> first =
      logins->Credentials(RegistryProvider::kAws, kHost);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->username, "AWS");
  EXPECT_EQ(first->password, "ecr-password");
  clock_.Advance(absl::Minutes(7));
  ASSERT_TRUE(logins->Credentials(RegistryProvider::kAws, kHost).ok());
  EXPECT_EQ(aws_.ecr_calls(), 1);
  EXPECT_EQ(aws_.sts_calls(), 1);
  clock_.Advance(absl::Minutes(2));  // 9 of 10 minutes: past 80%
  ASSERT_TRUE(logins->Credentials(RegistryProvider::kAws, kHost).ok());
  EXPECT_EQ(aws_.ecr_calls(), 2);
}

TEST_F(CloudLoginsTest, ReusesALoginAtMostMaxDuration) {
  aws_.SetRegistryLogin("AWS", "ecr-password", absl::Hours(12));
  std::unique_ptr<CloudLogins> logins = Make(100, absl::Minutes(30));
  ASSERT_TRUE(logins->Credentials(RegistryProvider::kAws, kHost).ok());
  clock_.Advance(absl::Minutes(29));
  ASSERT_TRUE(logins->Credentials(RegistryProvider::kAws, kHost).ok());
  EXPECT_EQ(aws_.ecr_calls(), 1);
  clock_.Advance(absl::Minutes(2));
  ASSERT_TRUE(logins->Credentials(RegistryProvider::kAws, kHost).ok());
  EXPECT_EQ(aws_.ecr_calls(), 2);
}

TEST_F(CloudLoginsTest, OneLoginPerRegistryInALeastRecentlyUsedCache) {
  std::unique_ptr<CloudLogins> logins = Make(/*max_entries=*/1);
  ASSERT_TRUE(logins->Credentials(RegistryProvider::kAws, kHost).ok());
  ASSERT_TRUE(logins->Credentials(RegistryProvider::kAws, kHost).ok());
  EXPECT_EQ(aws_.ecr_calls(), 1);
  ASSERT_TRUE(logins->Credentials(RegistryProvider::kAws, kOtherHost).ok());
  EXPECT_EQ(aws_.ecr_calls(), 2);
  // kHost was dropped to make room.
  ASSERT_TRUE(logins->Credentials(RegistryProvider::kAws, kHost).ok());
  EXPECT_EQ(aws_.ecr_calls(), 3);
}

TEST_F(CloudLoginsTest, ConcurrentAskersShareOneExchange) {
  aws_.SetDelay(absl::Milliseconds(200));
  std::unique_ptr<CloudLogins> logins = Make();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (logins->Credentials(RegistryProvider::kAws, kHost).ok()) ++ok;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(aws_.sts_calls(), 1);
  EXPECT_EQ(aws_.ecr_calls(), 1);
}

TEST_F(CloudLoginsTest, AFailureIsNotCachedAndForgetExchangesAgain) {
  aws_.SetWebIdentity(kRole, "another-token");
  std::unique_ptr<CloudLogins> logins = Make();
  absl::StatusOr<RegistryCredentials> failed =
      logins->Credentials(RegistryProvider::kAws, kHost);
  EXPECT_TRUE(absl::IsUnauthenticated(failed.status()));
  aws_.SetWebIdentity(kRole, "sa-token");
  ASSERT_TRUE(logins->Credentials(RegistryProvider::kAws, kHost).ok());
  EXPECT_EQ(aws_.ecr_calls(), 1);
  logins->Forget(RegistryProvider::kAws, kHost);
  ASSERT_TRUE(logins->Credentials(RegistryProvider::kAws, kHost).ok());
  EXPECT_EQ(aws_.ecr_calls(), 2);
}

TEST_F(CloudLoginsTest, RefusesAHostThatIsNotTheProviders) {
  std::unique_ptr<CloudLogins> logins = Make();
  absl::StatusOr<RegistryCredentials> wrong =
      logins->Credentials(RegistryProvider::kAws, "ghcr.io");
  EXPECT_TRUE(absl::IsInvalidArgument(wrong.status()));
  EXPECT_EQ(wrong.status().message(),
            "spec.provider: \"aws\" does not match the host \"ghcr.io\" (aws "
            "is for <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn] (or "
            "another ECR partition) or public.ecr.aws)");
  EXPECT_EQ(aws_.sts_calls(), 0);
}

}  // namespace
}  // namespace ia::reflector
