// The data a Go text/template reads (template.h), in place of Go's reflected
// values: TemplateValue is a small immutable variant for nil ("<no value>"),
// bool, int (with its Go type name: int, int64, int32...), float64, string,
// list, map (entries kept sorted by key, as Go's
// text/template and fmt visit them) and struct (named fields, optionally
// embedded, optionally "method" fields that are callable but not printed,
// and an optional String() form). It knows Go's truthiness, fmt's %v form,
// the type names Go's errors show and fmtsort's order of map keys.
//
// Thread-safety: a TemplateValue is immutable after construction and may be
// read from many threads at once; copies share their contents.
#ifndef SERVICES_AUTOMATION_TEMPLATE_VALUE_H_
#define SERVICES_AUTOMATION_TEMPLATE_VALUE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace ia::automation {

struct TemplateField;

// A value the template can read. Cheap to copy (composites share their
// immutable contents).
class TemplateValue {
 public:
  enum class Kind {
    kInvalid,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kMap,
    kStruct
  };

  // The invalid value: Go's "no value" (a missing key, an unset interface).
  TemplateValue() = default;

  static TemplateValue Bool(bool b);
  static TemplateValue Int(int64_t i);
  // An integer of another Go type: `type_name` is a static string such as
  // "int64", "int32" or "uint8" (shown in errors and by typeOf).
  static TemplateValue TypedInt(int64_t i, const char* type_name);
  static TemplateValue Float(double f);
  static TemplateValue String(std::string s);
  // `type_name` is the Go type shown in errors, e.g. "[]update.Change".
  static TemplateValue List(std::vector<TemplateValue> items,
                            std::string type_name = "[]interface {}");
  // Entries are sorted by key (Compare); for equal keys the last one wins.
  // `zero` is what `index` returns for a missing key (Go's zero value of
  // the element type).
  static TemplateValue Map(
      std::vector<std::pair<TemplateValue, TemplateValue>> entries,
      TemplateValue zero, std::string type_name);
  // Go's nil slice and nil map of a type: empty, printed as "[]" and
  // "map[]", but nil to `eq` and "null" to toJson.
  static TemplateValue NilList(std::string type_name);
  static TemplateValue NilMap(TemplateValue zero, std::string type_name);
  // A Go map[string]string.
  static TemplateValue StringMap(const std::map<std::string, std::string>& m);
  // A struct. `string_form`, when set, is what fmt would print through the
  // type's String() method (e.g. types.NamespacedName -> "namespace/name").
  static TemplateValue Struct(std::string type_name,
                              std::vector<TemplateField> fields,
                              std::optional<std::string> string_form = {});

  Kind kind() const { return kind_; }
  bool is_valid() const { return kind_ != Kind::kInvalid; }
  bool bool_value() const { return bool_; }
  int64_t int_value() const { return int_; }
  double float_value() const { return float_; }
  const std::string& string_value() const;
  const std::vector<TemplateValue>& list_items() const;
  const std::vector<std::pair<TemplateValue, TemplateValue>>& map_entries()
      const;
  const std::vector<TemplateField>& struct_fields() const;
  // Whether this is nil as Go's isNil says: the invalid value, a nil slice
  // or a nil map.
  bool is_nil() const;
  // Whether this struct prints through a String() method.
  bool has_string_form() const;
  // Go's zero value of a map's element type (invalid for other kinds).
  const TemplateValue& map_zero() const;

  // The Go type name: "string", "int", "int64", "float64", "bool", "<nil>"
  // or the composite's.
  std::string TypeName() const;

  // Looks a field up by name, through embedded structs (Go's promotion).
  // nullptr when this is not a struct or has no such field.
  const TemplateValue* FindField(absl::string_view name) const;
  // Looks a map key up; nullptr when absent or this is not a map.
  const TemplateValue* FindKey(const TemplateValue& key) const;

  // Replaces (value non-null) or erases (null) the entry of `key` of this
  // map in place, in every copy of it. Only for maps built during one
  // execution (Sprig's set and unset mutate the dict they are given, as Go
  // maps are references), which no other thread can see.
  void MutateMapInPlace(const TemplateValue& key,
                        const TemplateValue* value) const;

  // Go's truthiness: false, 0, "", empty list or map, and nil are false.
  bool Truth() const;

  // What fmt.Sprint (%v) prints; the invalid value prints "<no value>" at
  // the top level and "<nil>" inside a composite, as text/template does.
  std::string ToString() const;

  // fmt's %v of a float64 (strconv 'g' with the shortest digits): "1e+06",
  // "0.5", "3".
  static std::string FormatFloat(double f);

  // A total order matching Go's fmtsort for the kinds used as map keys:
  // bools false < true, ints and floats numerically, strings bytewise,
  // structs field by field; different kinds order by Kind. Returns <0, 0 or
  // >0.
  static int Compare(const TemplateValue& a, const TemplateValue& b);

 private:
  struct Composite;
  void AppendTo(std::string* out, bool top) const;

  Kind kind_ = Kind::kInvalid;
  bool bool_ = false;
  int64_t int_ = 0;
  double float_ = 0;
  const char* int_type_ = "int";
  std::shared_ptr<const std::string> string_;
  std::shared_ptr<const Composite> composite_;
};

// A named struct field. An `embedded` struct field's own fields are
// reachable directly (Go's promoted fields). A `method` field stands for a
// Go method without arguments (e.g. Result.Objects): it can be read but is
// not part of the struct's printed form.
struct TemplateField {
  std::string name;
  TemplateValue value;
  bool embedded = false;
  bool method = false;
};

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_TEMPLATE_VALUE_H_
