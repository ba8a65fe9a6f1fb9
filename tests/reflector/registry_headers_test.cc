// The header grammar of the registry client: WWW-Authenticate, Link and its
// resolution, Retry-After.
#include "services/reflector/registry_headers.h"

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ia::reflector {
namespace {

using ::testing::HasSubstr;

TEST(WwwAuthenticateTest, BearerWithParameters) {
  std::vector<AuthChallenge> c = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:org/app:pull")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].Param("realm"), "https://auth.example/token");
  EXPECT_EQ(c[0].Param("service"), "registry.example");
  EXPECT_EQ(c[0].Param("scope"), "repository:org/app:pull");
  EXPECT_EQ(c[0].Param("error"), "");
}

TEST(WwwAuthenticateTest, SeveralChallengesSpacesEscapesAndCase) {
  std::vector<AuthChallenge> c = ParseWwwAuthenticate(
      R"(Basic realm="say \"hi\"" , BEARER Realm = "http://h/t", error=invalid_token)");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].Param("realm"), "say \"hi\"");
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].Param("realm"), "http://h/t");
  EXPECT_EQ(c[1].Param("error"), "invalid_token");
}

TEST(WwwAuthenticateTest, GarbageGivesNoCrash) {
  EXPECT_TRUE(ParseWwwAuthenticate("").empty());
  EXPECT_TRUE(ParseWwwAuthenticate(", ,").empty());
  std::vector<AuthChallenge> c =
      ParseWwwAuthenticate(R"(Bearer realm="unterminated)");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].Param("realm"), "unterminated");
}

TEST(NextLinkTest, QuotedUnquotedAndListedRel) {
  EXPECT_EQ(ParseNextLink(R"(</v2/app/tags/list?n=2&last=b>; rel="next")"),
            "/v2/app/tags/list?n=2&last=b");
  EXPECT_EQ(ParseNextLink("<https://h/v2/a?last=x>;rel=next"),
            "https://h/v2/a?last=x");
  EXPECT_EQ(
      ParseNextLink(R"(</a>; rel="prev", </b>; title="x, y"; rel="last next")"),
      "/b");
  EXPECT_EQ(ParseNextLink(R"(</a>; rel="prev")"), std::nullopt);
  EXPECT_EQ(ParseNextLink(""), std::nullopt);
}

TEST(ResolveNextLinkTest, RelativeForms) {
  const std::string base = "http://127.0.0.1:5000/v2/org/app/tags/list?n=2";
  EXPECT_EQ(*ResolveNextLink(base, "/v2/org/app/tags/list?n=2&last=b"),
            "http://127.0.0.1:5000/v2/org/app/tags/list?n=2&last=b");
  EXPECT_EQ(*ResolveNextLink(base, "?last=b"),
            "http://127.0.0.1:5000/v2/org/app/tags/list?last=b");
  EXPECT_EQ(*ResolveNextLink(base, "list?last=b"),
            "http://127.0.0.1:5000/v2/org/app/tags/list?last=b");
}

TEST(ResolveNextLinkTest, AbsoluteOnTheSameOrigin) {
  EXPECT_EQ(*ResolveNextLink("https://ghcr.io/v2/a/tags/list",
                             "https://GHCR.io:443/v2/a/tags/list?last=x"),
            "https://ghcr.io/v2/a/tags/list?last=x");
  EXPECT_EQ(*ResolveNextLink("http://[::1]:5000/v2/a/tags/list",
                             "//[::1]:5000/v2/a/tags/list?last=x"),
            "http://[::1]:5000/v2/a/tags/list?last=x");
}

TEST(ResolveNextLinkTest, AnotherOriginIsRefused) {
  const std::string base = "https://ghcr.io/v2/a/tags/list";
  for (const char* link :
       {"https://evil.example/v2/a/tags/list", "http://ghcr.io/v2/a/tags/list",
        "https://ghcr.io:8443/v2/a/tags/list", "//evil.example/v2/a"}) {
    absl::StatusOr<std::string> r = ResolveNextLink(base, link);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << link;
  }
  EXPECT_THAT(
      std::string(
          ResolveNextLink(base, "https://evil.example/x").status().message()),
      HasSubstr("evil.example"));
  EXPECT_EQ(ResolveNextLink(base, "ftp://ghcr.io/x").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseUrlTest, PartsAndErrors) {
  absl::StatusOr<UrlParts> p = ParseUrl("HTTPS://Example.COM/v2/?q=1#frag");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->scheme, "https");
  EXPECT_EQ(p->host, "example.com");
  EXPECT_EQ(p->port, 443);
  EXPECT_EQ(p->path_and_query, "/v2/?q=1");
  EXPECT_EQ(p->Origin(), "https://example.com");
  EXPECT_EQ(ParseUrl("http://h:8080")->Origin(), "http://h:8080");
  EXPECT_EQ(ParseUrl("http://h:8080")->path_and_query, "/");
  EXPECT_FALSE(ParseUrl("http://user:pw@h/").ok());
  EXPECT_FALSE(ParseUrl("http://h:99999/").ok());
  EXPECT_FALSE(ParseUrl("http:///x").ok());
}

TEST(RetryAfterTest, SecondsAndDates) {
  const absl::Time now =
      absl::FromUnixSeconds(1445412480);  // 2015-10-21 07:28:00Z
  EXPECT_EQ(ParseRetryAfter("120", now), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now),
            absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wednesday, 21-Oct-15 07:29:00 GMT", now),
            absl::Seconds(60));
  EXPECT_EQ(ParseRetryAfter("Wed Oct 21 07:28:05 2015", now), absl::Seconds(5));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now),
            absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", now), std::nullopt);
}

}  // namespace
}  // namespace ia::reflector
