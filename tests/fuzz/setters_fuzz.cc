// Fuzz target: the setters (services/automation/setters.h): YAML with
// {"$imagepolicy": ...} markers through a rewrite, as an automation run and
// `imagectl rewrite` apply them to a checkout's files. Input: the file's
// bytes.
//
// Properties: with no policy selected every byte stays and nothing is
// reported changed; with policies, a file that parsed still parses after
// the rewrite, the rewrite changes exactly when it reports changes, and a
// second rewrite of its output changes nothing (it is idempotent).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "services/automation/setters.h"
#include "tests/fuzz/fuzz_input.h"

namespace automation = ia::automation;

namespace {

const automation::PolicyMap& Policies() {
  static const automation::PolicyMap* const kPolicies =
      new automation::PolicyMap{
          {"flux-system:app", {"ghcr.io/org/app", "1.3.0", ""}},
          {"flux-system:dig",
           {"ghcr.io/org/dig", "2.0.0",
            "sha256:"
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
            "f"}},
          {"flux-system:helm",
           {"registry.example.com:5000/charts/helm", "1.10", ""}},
          {"flux-system:date", {"docker.io/org/nightly", "20241124", ""}},
          {"flux-system:quote", {"q", "a'b\"c", ""}},
          {"other-ns:app", {"ghcr.io/other/app", "9.9.9", ""}},
      };
  return *kPolicies;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view content(reinterpret_cast<const char*>(data), size);

  const automation::ContentResult untouched = automation::ApplySettersToContent(
      "fuzz.yaml", content, automation::PolicyMap{}, {"flux-system"});
  IA_FUZZ_CHECK_EQ("no selected policy leaves every byte", untouched.content,
                   std::string(content));
  IA_FUZZ_CHECK("no selected policy changes nothing",
                !untouched.changed && untouched.changes.empty());

  for (const char* ns : {"flux-system", ""}) {
    const automation::SetterOptions options{ns};
    const automation::ContentResult once = automation::ApplySettersToContent(
        "fuzz.yaml", content, Policies(), options);
    IA_FUZZ_CHECK("a file that does not parse is skipped either way",
                  once.skipped == untouched.skipped);
    IA_FUZZ_CHECK("changed says whether the bytes changed",
                  once.changed == (once.content != content));
    if (once.skipped) {
      IA_FUZZ_CHECK_EQ("a skipped file keeps every byte", once.content,
                       std::string(content));
      continue;
    }
    const automation::ContentResult twice = automation::ApplySettersToContent(
        "fuzz.yaml", once.content, Policies(), options);
    IA_FUZZ_CHECK("a rewritten file still parses", !twice.skipped);
    IA_FUZZ_CHECK_EQ("a second rewrite changes nothing", twice.content,
                     once.content);
  }
  return 0;
}
