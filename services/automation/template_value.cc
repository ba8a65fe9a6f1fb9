// TemplateValue: construction, lookup, truth, printing and order. See
// template_value.h.
#include "services/automation/template_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ia::automation {

struct TemplateValue::Composite {
  std::string type_name;
  std::vector<TemplateValue> items;
  std::vector<std::pair<TemplateValue, TemplateValue>> entries;
  TemplateValue zero;
  std::vector<TemplateField> fields;
  std::optional<std::string> string_form;
  bool is_nil = false;  // A nil slice or map.
};

namespace {

const std::string& EmptyString() {
  static const std::string* const kEmpty = new std::string();
  return *kEmpty;
}

}  // namespace

TemplateValue TemplateValue::Bool(bool b) {
  TemplateValue v;
  v.kind_ = Kind::kBool;
  v.bool_ = b;
  return v;
}

TemplateValue TemplateValue::Int(int64_t i) {
  TemplateValue v;
  v.kind_ = Kind::kInt;
  v.int_ = i;
  return v;
}

TemplateValue TemplateValue::TypedInt(int64_t i, const char* type_name) {
  TemplateValue v = Int(i);
  v.int_type_ = type_name;
  return v;
}

TemplateValue TemplateValue::Float(double f) {
  TemplateValue v;
  v.kind_ = Kind::kFloat;
  v.float_ = f;
  return v;
}

std::string TemplateValue::FormatFloat(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "+Inf" : "-Inf";
  if (f == 0) return std::signbit(f) ? "-0" : "0";
  // The shortest digits that read back as `f`, and their exponent.
  char buf[64];
  const auto res =
      std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  const int exp = std::stoi(sci.substr(e + 1));
  std::string sign;
  if (mantissa[0] == '-') {
    sign = "-";
    mantissa.erase(0, 1);
  }
  std::string digits;
  for (const char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  // strconv's 'g' with the shortest digits: %e when the exponent is below
  // -4 or at least 6, else plain decimal.
  if (exp < -4 || exp >= 6) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) absl::StrAppend(&out, ".", digits.substr(1));
    absl::StrAppend(&out, exp < 0 ? "e-" : "e+");
    const int abs_exp = exp < 0 ? -exp : exp;
    if (abs_exp < 10) out.push_back('0');
    absl::StrAppend(&out, abs_exp);
    return out;
  }
  const int point = exp + 1;  // Digits before the decimal point.
  if (point <= 0) {
    return absl::StrCat(sign, "0.", std::string(-point, '0'), digits);
  }
  if (static_cast<size_t>(point) >= digits.size()) {
    return absl::StrCat(sign, digits, std::string(point - digits.size(), '0'));
  }
  return absl::StrCat(sign, digits.substr(0, point), ".", digits.substr(point));
}

TemplateValue TemplateValue::String(std::string s) {
  TemplateValue v;
  v.kind_ = Kind::kString;
  v.string_ = std::make_shared<const std::string>(std::move(s));
  return v;
}

TemplateValue TemplateValue::List(std::vector<TemplateValue> items,
                                  std::string type_name) {
  auto c = std::make_shared<Composite>();
  c->type_name = std::move(type_name);
  c->items = std::move(items);
  TemplateValue v;
  v.kind_ = Kind::kList;
  v.composite_ = std::move(c);
  return v;
}

TemplateValue TemplateValue::Map(
    std::vector<std::pair<TemplateValue, TemplateValue>> entries,
    TemplateValue zero, std::string type_name) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) {
                     return Compare(a.first, b.first) < 0;
                   });
  auto c = std::make_shared<Composite>();
  for (auto& e : entries) {
    if (!c->entries.empty() && Compare(c->entries.back().first, e.first) == 0) {
      c->entries.back().second = std::move(e.second);  // The last one wins.
    } else {
      c->entries.push_back(std::move(e));
    }
  }
  c->zero = std::move(zero);
  c->type_name = std::move(type_name);
  TemplateValue v;
  v.kind_ = Kind::kMap;
  v.composite_ = std::move(c);
  return v;
}

TemplateValue TemplateValue::NilList(std::string type_name) {
  TemplateValue v = List({}, std::move(type_name));
  std::const_pointer_cast<Composite>(v.composite_)->is_nil = true;
  return v;
}

TemplateValue TemplateValue::NilMap(TemplateValue zero, std::string type_name) {
  TemplateValue v = Map({}, std::move(zero), std::move(type_name));
  std::const_pointer_cast<Composite>(v.composite_)->is_nil = true;
  return v;
}

TemplateValue TemplateValue::StringMap(
    const std::map<std::string, std::string>& m) {
  std::vector<std::pair<TemplateValue, TemplateValue>> entries;
  entries.reserve(m.size());
  for (const auto& [k, val] : m) entries.emplace_back(String(k), String(val));
  return Map(std::move(entries), String(""), "map[string]string");
}

TemplateValue TemplateValue::Struct(std::string type_name,
                                    std::vector<TemplateField> fields,
                                    std::optional<std::string> string_form) {
  auto c = std::make_shared<Composite>();
  c->type_name = std::move(type_name);
  c->fields = std::move(fields);
  c->string_form = std::move(string_form);
  TemplateValue v;
  v.kind_ = Kind::kStruct;
  v.composite_ = std::move(c);
  return v;
}

const std::string& TemplateValue::string_value() const {
  return string_ ? *string_ : EmptyString();
}

const std::vector<TemplateValue>& TemplateValue::list_items() const {
  static const auto* const kEmpty = new std::vector<TemplateValue>();
  return kind_ == Kind::kList ? composite_->items : *kEmpty;
}

const std::vector<std::pair<TemplateValue, TemplateValue>>&
TemplateValue::map_entries() const {
  static const auto* const kEmpty =
      new std::vector<std::pair<TemplateValue, TemplateValue>>();
  return kind_ == Kind::kMap ? composite_->entries : *kEmpty;
}

const std::vector<TemplateField>& TemplateValue::struct_fields() const {
  static const auto* const kEmpty = new std::vector<TemplateField>();
  return kind_ == Kind::kStruct ? composite_->fields : *kEmpty;
}

bool TemplateValue::is_nil() const {
  if (kind_ == Kind::kInvalid) return true;
  return (kind_ == Kind::kList || kind_ == Kind::kMap) && composite_->is_nil;
}

bool TemplateValue::has_string_form() const {
  return kind_ == Kind::kStruct && composite_->string_form.has_value();
}

const TemplateValue& TemplateValue::map_zero() const {
  static const auto* const kInvalid = new TemplateValue();
  return kind_ == Kind::kMap ? composite_->zero : *kInvalid;
}

std::string TemplateValue::TypeName() const {
  switch (kind_) {
    case Kind::kInvalid:
      return "<nil>";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return int_type_;
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return "string";
    default:
      return composite_->type_name;
  }
}

const TemplateValue* TemplateValue::FindField(absl::string_view name) const {
  if (kind_ != Kind::kStruct) return nullptr;
  for (const TemplateField& f : composite_->fields) {
    if (f.name == name) return &f.value;
  }
  // Go promotes the fields of embedded structs (shallowest first; the
  // shapes used here have no ambiguity).
  for (const TemplateField& f : composite_->fields) {
    if (!f.embedded) continue;
    if (const TemplateValue* v = f.value.FindField(name)) return v;
  }
  return nullptr;
}

const TemplateValue* TemplateValue::FindKey(const TemplateValue& key) const {
  if (kind_ != Kind::kMap) return nullptr;
  const auto& entries = composite_->entries;
  auto it = std::lower_bound(entries.begin(), entries.end(), key,
                             [](const auto& e, const TemplateValue& k) {
                               return Compare(e.first, k) < 0;
                             });
  if (it == entries.end() || Compare(it->first, key) != 0) return nullptr;
  return &it->second;
}

void TemplateValue::MutateMapInPlace(const TemplateValue& key,
                                     const TemplateValue* value) const {
  if (kind_ != Kind::kMap) return;
  auto& entries = const_cast<Composite&>(*composite_).entries;
  auto it = std::lower_bound(entries.begin(), entries.end(), key,
                             [](const auto& e, const TemplateValue& k) {
                               return Compare(e.first, k) < 0;
                             });
  const bool found = it != entries.end() && Compare(it->first, key) == 0;
  if (value == nullptr) {
    if (found) entries.erase(it);
  } else if (found) {
    it->second = *value;
  } else {
    entries.insert(it, {key, *value});
  }
}

bool TemplateValue::Truth() const {
  switch (kind_) {
    case Kind::kInvalid:
      return false;
    case Kind::kBool:
      return bool_;
    case Kind::kInt:
      return int_ != 0;
    case Kind::kFloat:
      return float_ != 0;
    case Kind::kString:
      return !string_value().empty();
    case Kind::kList:
      return !composite_->items.empty();
    case Kind::kMap:
      return !composite_->entries.empty();
    case Kind::kStruct:
      return true;
  }
  return false;
}

std::string TemplateValue::ToString() const {
  std::string out;
  AppendTo(&out, /*top=*/true);
  return out;
}

void TemplateValue::AppendTo(std::string* out, bool top) const {
  switch (kind_) {
    case Kind::kInvalid:
      out->append(top ? "<no value>" : "<nil>");
      return;
    case Kind::kBool:
      out->append(bool_ ? "true" : "false");
      return;
    case Kind::kInt:
      absl::StrAppend(out, int_);
      return;
    case Kind::kFloat:
      out->append(FormatFloat(float_));
      return;
    case Kind::kString:
      out->append(string_value());
      return;
    case Kind::kList: {
      out->push_back('[');
      bool first = true;
      for (const TemplateValue& item : composite_->items) {
        if (!first) out->push_back(' ');
        first = false;
        item.AppendTo(out, false);
      }
      out->push_back(']');
      return;
    }
    case Kind::kMap: {
      out->append("map[");
      bool first = true;
      for (const auto& [k, v] : composite_->entries) {
        if (!first) out->push_back(' ');
        first = false;
        k.AppendTo(out, false);
        out->push_back(':');
        v.AppendTo(out, false);
      }
      out->push_back(']');
      return;
    }
    case Kind::kStruct: {
      if (composite_->string_form) {
        out->append(*composite_->string_form);
        return;
      }
      out->push_back('{');
      bool first = true;
      for (const TemplateField& f : composite_->fields) {
        if (f.method) continue;
        if (!first) out->push_back(' ');
        first = false;
        f.value.AppendTo(out, false);
      }
      out->push_back('}');
      return;
    }
  }
}

int TemplateValue::Compare(const TemplateValue& a, const TemplateValue& b) {
  if (a.kind_ != b.kind_) return a.kind_ < b.kind_ ? -1 : 1;
  switch (a.kind_) {
    case Kind::kInvalid:
      return 0;
    case Kind::kBool:
      return static_cast<int>(a.bool_) - static_cast<int>(b.bool_);
    case Kind::kInt:
      return a.int_ < b.int_ ? -1 : (a.int_ > b.int_ ? 1 : 0);
    case Kind::kFloat:
      return a.float_ < b.float_ ? -1 : (a.float_ > b.float_ ? 1 : 0);
    case Kind::kString:
      return a.string_value().compare(b.string_value());
    case Kind::kStruct: {
      const auto& fa = a.composite_->fields;
      const auto& fb = b.composite_->fields;
      for (size_t i = 0; i < fa.size() && i < fb.size(); ++i) {
        if (fa[i].method || fb[i].method) continue;
        const int c = Compare(fa[i].value, fb[i].value);
        if (c != 0) return c;
      }
      return fa.size() < fb.size() ? -1 : (fa.size() > fb.size() ? 1 : 0);
    }
    case Kind::kList:
    case Kind::kMap:
      return 0;  // Not valid Go map keys; never compared in practice.
  }
  return 0;
}

}  // namespace ia::automation
