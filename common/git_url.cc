#include "common/git_url.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace ia {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(absl::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    const int hi = in[i] == '%' && i + 2 < in.size() ? HexDigit(in[i + 1]) : -1;
    const int lo = hi >= 0 ? HexDigit(in[i + 2]) : -1;
    if (lo >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

// Splits "user@host" at the last '@': the user part (raw) and the rest.
absl::string_view TakeUserInfo(absl::string_view* authority) {
  const size_t at = authority->rfind('@');
  if (at == absl::string_view::npos) return {};
  absl::string_view userinfo = authority->substr(0, at);
  authority->remove_prefix(at + 1);
  return userinfo;
}

}  // namespace

absl::StatusOr<GitUrl> ParseGitUrl(absl::string_view url) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("Git URL \"", RedactUrl(url), "\" ", why,
                     " (use https://, http://, ssh://[user@]host[:port]/path, "
                     "user@host:path or file:///path)"));
  };
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return invalid("must not contain spaces or control characters");
    }
  }
  GitUrl out;
  const size_t sep = url.find("://");
  if (sep == absl::string_view::npos) {
    // scp-like: [user@]host:path, with no '/' before the ':'.
    const size_t colon = url.find(':');
    const size_t slash = url.find('/');
    if (colon == absl::string_view::npos ||
        (slash != absl::string_view::npos && slash < colon)) {
      return invalid("is not a URL");
    }
    absl::string_view authority = url.substr(0, colon);
    out.user = std::string(TakeUserInfo(&authority));
    if (authority.empty()) return invalid("has no host");
    if (colon + 1 == url.size()) return invalid("has no path");
    out.scheme = "ssh";
    out.scp = true;
    out.host = std::string(authority);
    out.path = std::string(url.substr(colon + 1));
    return out;
  }
  out.scheme = absl::AsciiStrToLower(url.substr(0, sep));
  absl::string_view rest = url.substr(sep + 3);
  if (out.scheme == "file") {
    if (rest.empty()) return invalid("has no path");
    if (!absl::StartsWith(rest, "/")) return invalid("needs an absolute path");
    out.path = std::string(rest);
    return out;
  }
  if (out.scheme != "https" && out.scheme != "http" && out.scheme != "ssh") {
    return invalid(
        absl::StrCat("has the unsupported scheme \"", out.scheme, "\""));
  }
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  out.path =
      slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  const absl::string_view userinfo = TakeUserInfo(&authority);
  const size_t colon = userinfo.find(':');
  out.user = PercentDecode(userinfo.substr(0, colon));
  if (colon != absl::string_view::npos) {
    out.password = PercentDecode(userinfo.substr(colon + 1));
  }
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return invalid("has an unclosed '['");
    out.host = std::string(authority.substr(1, close - 1));
    absl::string_view after = authority.substr(close + 1);
    if (absl::ConsumePrefix(&after, ":")) port = after;
  } else {
    const size_t port_colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, port_colon));
    if (port_colon != absl::string_view::npos) {
      port = authority.substr(port_colon + 1);
    }
  }
  if (out.host.empty()) return invalid("has no host");
  if (!port.empty() && (!absl::SimpleAtoi(port, &out.port) || out.port <= 0 ||
                        out.port > 65535)) {
    return invalid("has an invalid port");
  }
  return out;
}

std::string RedactUrl(absl::string_view url) {
  const size_t sep = url.find("://");
  if (sep == absl::string_view::npos) return std::string(url);
  const std::string scheme = absl::AsciiStrToLower(url.substr(0, sep));
  const size_t start = sep + 3;
  size_t end = url.find('/', start);
  if (end == absl::string_view::npos) end = url.size();
  const size_t at = url.substr(0, end).rfind('@');
  if (at == absl::string_view::npos || at < start) return std::string(url);
  if (scheme == "http" || scheme == "https") {
    return absl::StrCat(url.substr(0, start), url.substr(at + 1));
  }
  // ssh: the user name stays (it is needed and not a secret), a password goes.
  absl::string_view userinfo = url.substr(start, at - start);
  return absl::StrCat(url.substr(0, start),
                      userinfo.substr(0, userinfo.find(':')), url.substr(at));
}

}  // namespace ia
