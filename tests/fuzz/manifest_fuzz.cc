// Fuzz target: manifests YAML of every kind (common/manifest.h) through
// validation (common/validation.h) and the policy engine's own check, as
// the services' Apply and imagectl read them. Input: the YAML text.
//
// Properties (common/manifest_write.cc prints): an object that parsed and
// validated, printed as YAML and as JSON, reads back (ObjectFromYaml) to the
// same object; validating it again accepts it and changes nothing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "common/manifest.h"
#include "common/objects.h"
#include "common/validation.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/policy/select.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

const google::protobuf::Message& MessageOf(const ia::AnyObject& object) {
  return std::visit(
      [](const auto& o) -> const google::protobuf::Message& { return o; },
      object);
}

// The two objects as text when they differ, for the failure message.
void CheckSame(absl::string_view what, const ia::AnyObject& got,
               const ia::AnyObject& want) {
  if (got.index() == want.index() &&
      google::protobuf::util::MessageDifferencer::Equals(MessageOf(got),
                                                         MessageOf(want))) {
    return;
  }
  ia::fuzz::PropertyFailed(what, MessageOf(got).DebugString(),
                           MessageOf(want).DebugString());
}

absl::Status PolicyCheck(const ia::AnyObject& object) {
  if (const auto* policy = std::get_if<ia::v1::ImagePolicy>(&object)) {
    return ia::policy::ValidatePolicySpec(policy->spec());
  }
  return absl::OkStatus();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  // As imagectl reads its own output back (no validation).
  absl::StatusOr<ia::AnyObject> single = ia::ObjectFromYaml(yaml);
  if (single.ok()) {
    ia::ToYaml(*single);
    ia::ToJson(*single);
    ia::AnyObject copy = *single;
    ia::ValidateAndDefault(&copy).IgnoreError();
  }

  const ia::ManifestSet set =
      ia::ParseManifests(yaml, "fuzz.yaml", PolicyCheck);
  for (const ia::ManifestObject& parsed : set.objects) {
    const std::string printed_yaml = ia::ToYaml(parsed.object);
    absl::StatusOr<ia::AnyObject> from_yaml = ia::ObjectFromYaml(printed_yaml);
    if (!from_yaml.ok()) {
      ia::fuzz::PropertyFailed("printed YAML reads back",
                               from_yaml.status().ToString(), printed_yaml);
    }
    CheckSame("printed YAML reads back to the same object", *from_yaml,
              parsed.object);

    const std::string printed_json = ia::ToJson(parsed.object);
    absl::StatusOr<ia::AnyObject> from_json = ia::ObjectFromYaml(printed_json);
    if (!from_json.ok()) {
      ia::fuzz::PropertyFailed("printed JSON reads back",
                               from_json.status().ToString(), printed_json);
    }
    CheckSame("printed JSON reads back to the same object", *from_json,
              parsed.object);

    ia::AnyObject again = parsed.object;
    const absl::Status valid = ia::ValidateAndDefault(&again);
    IA_FUZZ_CHECK_EQ("a validated object validates again", valid.ToString(),
                     std::string("OK"));
    CheckSame("validating a validated object changes nothing", again,
              parsed.object);
  }
  return 0;
}
