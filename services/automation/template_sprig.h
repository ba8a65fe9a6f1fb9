// Helpers shared by the Sprig function files (template_sprig_*.cc): the
// conversions Sprig applies to its interface{} arguments (strval,
// spf13/cast's ToInt64 and ToFloat64, `empty`), Go's reflect kind names
// its errors show, and in-place updates of the maps `dict` builds. Internal
// to the template engine.
//
// Thread-safety: pure functions, except SetMapEntry and EraseMapEntry,
// which mutate a map built during one execution (and so seen by no other
// thread), as Sprig's set and unset mutate theirs.
#ifndef SERVICES_AUTOMATION_TEMPLATE_SPRIG_H_
#define SERVICES_AUTOMATION_TEMPLATE_SPRIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/automation/template_value.h"

namespace ia::automation::template_internal {

// Sprig's strval: a string as is, else fmt's %v (a struct with a String()
// form prints that).
std::string Strval(const TemplateValue& v);

// spf13/cast's ToInt64 (errors read as 0): ints, floats truncated, bools
// 1/0, strings parsed as Go integers (base prefixes, "3.0" as 3), nil 0.
int64_t CastInt64(const TemplateValue& v);

// spf13/cast's ToFloat64 (errors read as 0).
double CastFloat64(const TemplateValue& v);

// Sprig's `empty`: nil, false, 0, 0.0, "" and empty lists and maps.
bool SprigEmpty(const TemplateValue& v);

// Sprig's strslice: a list's non-nil items as strings, nil as none, any
// other value as one string.
std::vector<std::string> StrSlice(const TemplateValue& v);

// Go's base64.StdEncoding.DecodeString; its error text on failure
// ("illegal base64 data at input byte N").
absl::StatusOr<std::string> GoBase64Decode(const std::string& src);

// Go's reflect.Kind name of a value: "string", "int", "int64", "float64",
// "bool", "slice", "map", "struct", "ptr" (a struct with a String form) or
// "invalid".
std::string KindName(const TemplateValue& v);

// Whether the value is a Go slice (a list).
inline bool IsList(const TemplateValue& v) {
  return v.kind() == TemplateValue::Kind::kList;
}

// Go's panic for reflect.TypeOf(nil).Kind(), which many Sprig list
// functions hit when given nil.
absl::Status NilDereference();

// Go's `reflect.DeepEqual` for template values.
bool DeepEqual(const TemplateValue& a, const TemplateValue& b);

// Sets or erases `key` of a map built during this execution (Sprig's
// set/unset mutate the dict they are given, as Go maps are references).
void SetMapEntry(const TemplateValue& map, const std::string& key,
                 TemplateValue value);
void EraseMapEntry(const TemplateValue& map, const std::string& key);

}  // namespace ia::automation::template_internal

#endif  // SERVICES_AUTOMATION_TEMPLATE_SPRIG_H_
