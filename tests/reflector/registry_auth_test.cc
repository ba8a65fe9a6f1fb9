// registry_auth: challenge choice, Basic, the token request and reply, and
// the AuthCache, as tables.
#include "services/reflector/registry_auth.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace ia::reflector {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

TEST(ChooseChallengeTest, Tables) {
  struct Case {
    std::string header;
    AuthScheme scheme;
    std::string realm, service, scope;
  };
  const std::vector<Case> cases = {
      {"", AuthScheme::kUnknown, "", "", ""},
      {"Negotiate abc", AuthScheme::kUnknown, "", "", ""},
      {R"(Basic realm="Registry")", AuthScheme::kBasic, "", "", ""},
      {R"(Bearer realm="https://a/t",service="reg",scope="repository:x:pull")",
       AuthScheme::kBearer, "https://a/t", "reg", "repository:x:pull"},
      {R"(Bearer realm="https://a/t")", AuthScheme::kBearer, "https://a/t", "",
       ""},
      {R"(Bearer service="reg")", AuthScheme::kBearer, "", "reg", ""},
      // Bearer wins over Basic, whatever the order; the first Bearer counts.
      {R"(Basic realm="r", Bearer realm="https://a/t")", AuthScheme::kBearer,
       "https://a/t", "", ""},
      {R"(Bearer realm="https://a/1", Bearer realm="https://a/2")",
       AuthScheme::kBearer, "https://a/1", "", ""},
  };
  for (const Case& c : cases) {
    const Challenge got = ChooseChallenge(c.header);
    EXPECT_EQ(got.scheme, c.scheme) << c.header;
    EXPECT_EQ(got.realm, c.realm) << c.header;
    EXPECT_EQ(got.service, c.service) << c.header;
    EXPECT_EQ(got.scope, c.scope) << c.header;
  }
}

TEST(BasicAuthorizationTest, Base64OfUserColonPassword) {
  EXPECT_EQ(BasicAuthorization({"Aladdin", "open sesame"}),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(BasicAuthorization({"u", ""}), "Basic dTo=");
}

TEST(PullScopeTest, NamesTheRepository) {
  EXPECT_EQ(PullScope("org/app"), "repository:org/app:pull");
}

TEST(TokenUrlTest, Tables) {
  struct Case {
    std::string realm, service, scope, want;
  };
  const std::vector<Case> cases = {
      {"https://a/token", "", "", "https://a/token"},
      {"https://a/token", "reg.example", "repository:org/app:pull",
       "https://a/"
       "token?service=reg.example&scope=repository%3Aorg%2Fapp%3Apull"},
      {"https://a/token?x=1", "s v", "", "https://a/token?x=1&service=s%20v"},
      {"https://a/token", "", "repository:a:pull  repository:b:pull",
       "https://a/"
       "token?scope=repository%3Aa%3Apull&scope=repository%3Ab%3Apull"},
      {"https://a/token", "r", "a~b_c-d.e",
       "https://a/token?service=r&scope=a~b_c-d.e"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(TokenUrl(c.realm, c.service, c.scope), c.want) << c.want;
  }
}

TEST(ParseTokenReplyTest, Tables) {
  struct Case {
    std::string body;
    std::optional<std::string> token;
    absl::Duration lifetime = kDefaultTokenLifetime;
  };
  const std::vector<Case> cases = {
      {R"({"token":"t"})", "t"},
      {R"({"access_token":"a"})", "a"},
      {R"({"token":"t","access_token":"a"})", "t"},
      {R"({"token":"","access_token":"a"})", "a"},
      {R"({"token":"t","expires_in":300})", "t", absl::Seconds(300)},
      {R"({"token":"t","expires_in":0})", "t"},
      {R"({"token":"t","expires_in":"300"})", "t"},
      {R"({"token":""})", std::nullopt},
      {R"({"token":5})", std::nullopt},
      {R"(["token"])", std::nullopt},
      {R"({"token":)", std::nullopt},
      {"", std::nullopt},
  };
  for (const Case& c : cases) {
    std::optional<TokenGrant> got = ParseTokenReply(c.body);
    ASSERT_EQ(got.has_value(), c.token.has_value()) << c.body;
    if (!got.has_value()) continue;
    EXPECT_EQ(got->token, *c.token) << c.body;
    EXPECT_EQ(got->lifetime, c.lifetime) << c.body;
  }
}

TEST(AuthCacheTest, TokenKeysTellHostsScopesAndCredentialsApart) {
  const std::optional<RegistryCredentials> none;
  const std::optional<RegistryCredentials> alice =
      RegistryCredentials{"a", "1"};
  const std::optional<RegistryCredentials> alice2 =
      RegistryCredentials{"a", "2"};
  const std::vector<std::string> keys = {
      AuthCache::TokenKey("h", "s", none),
      AuthCache::TokenKey("h2", "s", none),
      AuthCache::TokenKey("h", "s2", none),
      AuthCache::TokenKey("h", "s", alice),
      AuthCache::TokenKey("h", "s", alice2),
  };
  for (size_t i = 0; i < keys.size(); ++i) {
    for (size_t j = i + 1; j < keys.size(); ++j) {
      EXPECT_NE(keys[i], keys[j]) << i << " " << j;
    }
  }
  EXPECT_EQ(AuthCache::TokenKey("h", "s", alice),
            AuthCache::TokenKey("h", "s", alice));
  // The password itself is not in the key.
  EXPECT_EQ(
      AuthCache::TokenKey("h", "s", RegistryCredentials{"a", "pw"}).find("pw"),
      std::string::npos);
}

TEST(AuthCacheTest, TokensLastTheirLifetime) {
  AuthCache cache;
  EXPECT_EQ(cache.Token("k", kT0), std::nullopt);
  cache.PutToken("k", "t", kT0, absl::Seconds(60));
  EXPECT_EQ(cache.Token("k", kT0 + absl::Seconds(59)), "t");
  EXPECT_EQ(cache.Token("k", kT0 + absl::Seconds(60)), std::nullopt);
  // Dropped once expired, even when the clock goes back.
  EXPECT_EQ(cache.Token("k", kT0), std::nullopt);
  cache.PutToken("k", "u", kT0, absl::Seconds(60));
  cache.ForgetToken("k");
  EXPECT_EQ(cache.Token("k", kT0), std::nullopt);
}

TEST(AuthCacheTest, RemembersWhatEachHostAskedFor) {
  AuthCache cache;
  EXPECT_EQ(cache.ForHost("h").scheme, AuthScheme::kUnknown);
  cache.Learn("h", HostAuth{AuthScheme::kBearer, "https://a/t", "svc"});
  cache.Learn("g", HostAuth{AuthScheme::kBasic});
  EXPECT_EQ(cache.ForHost("h").scheme, AuthScheme::kBearer);
  EXPECT_EQ(cache.ForHost("h").realm, "https://a/t");
  EXPECT_EQ(cache.ForHost("h").service, "svc");
  EXPECT_EQ(cache.ForHost("g").scheme, AuthScheme::kBasic);
  EXPECT_EQ(cache.ForHost("x").scheme, AuthScheme::kUnknown);
}

}  // namespace
}  // namespace ia::reflector
