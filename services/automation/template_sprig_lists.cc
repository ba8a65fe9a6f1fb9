// Sprig's list and dict functions (list.go, dict.go): their rows of the
// function table (template_functions.h). Lists come out as []interface {}
// and dicts as map[string]interface {}, as in Go; `keys` and `values` list
// in key order (Go's map order is random, so no template can rely on it).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "services/automation/template_functions.h"
#include "services/automation/template_sprig.h"

namespace ia::automation::template_internal {
namespace {

using Args = std::vector<TemplateValue>;
using Result = absl::StatusOr<TemplateValue>;
using Kind = TemplateValue::Kind;

absl::Status Error(absl::string_view msg) {
  return absl::InvalidArgumentError(msg);
}

// The list argument of a list function: its items, or Sprig's error
// "Cannot <what> on type <kind>" (nil: Go's nil dereference).
absl::StatusOr<std::vector<TemplateValue>> ListOf(const TemplateValue& v,
                                                  absl::string_view what) {
  if (!v.is_valid()) return NilDereference();
  if (!IsList(v)) {
    return Error(absl::StrCat("Cannot ", what, " on type ", KindName(v)));
  }
  return v.list_items();
}

Result ListFn(const Args& a, const CallContext& context) {
  RETURN_IF_ERROR(CheckBuildSize(a.size(), context.max_items, context));
  return AnyList(a);
}

Result Push(const Args& a, const CallContext& context) {
  const bool prepend = absl::StrContains(context.name, "repend");
  ASSIGN_OR_RETURN(std::vector<TemplateValue> items,
                   ListOf(a[0], prepend ? "prepend" : "push"));
  RETURN_IF_ERROR(CheckBuildSize(items.size() + 1, context.max_items, context));
  if (prepend) {
    items.insert(items.begin(), a[1]);
  } else {
    items.push_back(a[1]);
  }
  return AnyList(std::move(items));
}

Result Chunk(const Args& a, const CallContext& context) {
  ASSIGN_OR_RETURN(std::vector<TemplateValue> items, ListOf(a[1], "chunk"));
  const int64_t size = a[0].int_value();
  const auto len = static_cast<int64_t>(items.size());
  // Go: int(math.Floor(float64(l-1)/float64(size)) + 1) chunks.
  const double chunks_f =
      std::floor(static_cast<double>(len - 1) / static_cast<double>(size)) + 1;
  if (std::isnan(chunks_f) || chunks_f < 0 ||
      chunks_f > static_cast<double>(context.max_items)) {
    return Error("runtime error: makeslice: len out of range");
  }
  const auto chunks = static_cast<int64_t>(chunks_f);
  std::vector<TemplateValue> out;
  for (int64_t i = 0; i < chunks; ++i) {
    int64_t clen = size;
    if (i == chunks - 1) {
      clen = static_cast<int64_t>(
          std::fmod(static_cast<double>(len), static_cast<double>(size)));
      if (clen == 0) clen = size;
    }
    if (clen < 0) return Error("runtime error: makeslice: len out of range");
    std::vector<TemplateValue> chunk;
    for (int64_t j = 0; j < clen; ++j) {
      const int64_t ix = i * size + j;
      if (ix < 0 || ix >= len) {
        return Error("reflect: slice index out of range");
      }
      chunk.push_back(items[ix]);
    }
    out.push_back(AnyList(std::move(chunk)));
  }
  return TemplateValue::List(std::move(out), "[][]interface {}");
}

Result FirstLast(const Args& a, const CallContext& context) {
  const bool first = absl::StrContains(context.name, "irst");
  ASSIGN_OR_RETURN(const std::vector<TemplateValue> items,
                   ListOf(a[0], first ? "find first" : "find last"));
  if (items.empty()) return TemplateValue();
  return first ? items.front() : items.back();
}

Result RestInitial(const Args& a, const CallContext& context) {
  const bool rest = absl::StrContains(context.name, "est");
  ASSIGN_OR_RETURN(std::vector<TemplateValue> items,
                   ListOf(a[0], rest ? "find rest" : "find initial"));
  if (items.empty()) return TemplateValue::NilList("[]interface {}");
  if (rest) {
    items.erase(items.begin());
  } else {
    items.pop_back();
  }
  return AnyList(std::move(items));
}

Result Reverse(const Args& a, const CallContext&) {
  ASSIGN_OR_RETURN(std::vector<TemplateValue> items,
                   ListOf(a[0], "find reverse"));
  std::reverse(items.begin(), items.end());
  return AnyList(std::move(items));
}

Result Compact(const Args& a, const CallContext&) {
  ASSIGN_OR_RETURN(const std::vector<TemplateValue> items,
                   ListOf(a[0], "compact"));
  std::vector<TemplateValue> out;
  for (const TemplateValue& v : items) {
    if (!SprigEmpty(v)) out.push_back(v);
  }
  return AnyList(std::move(out));
}

bool InList(const std::vector<TemplateValue>& list, const TemplateValue& v) {
  return std::any_of(list.begin(), list.end(),
                     [&](const TemplateValue& x) { return DeepEqual(v, x); });
}

Result Uniq(const Args& a, const CallContext&) {
  ASSIGN_OR_RETURN(const std::vector<TemplateValue> items,
                   ListOf(a[0], "find uniq"));
  std::vector<TemplateValue> out;
  for (const TemplateValue& v : items) {
    if (!InList(out, v)) out.push_back(v);
  }
  return AnyList(std::move(out));
}

Result Without(const Args& a, const CallContext&) {
  ASSIGN_OR_RETURN(const std::vector<TemplateValue> items,
                   ListOf(a[0], "find without"));
  const std::vector<TemplateValue> omit(a.begin() + 1, a.end());
  std::vector<TemplateValue> out;
  for (const TemplateValue& v : items) {
    if (!InList(omit, v)) out.push_back(v);
  }
  return AnyList(std::move(out));
}

Result Has(const Args& a, const CallContext&) {
  if (!a[1].is_valid()) return TemplateValue::Bool(false);
  ASSIGN_OR_RETURN(const std::vector<TemplateValue> items,
                   ListOf(a[1], "find has"));
  return TemplateValue::Bool(InList(items, a[0]));
}

Result Slice(const Args& a, const CallContext&) {
  if (!a[0].is_valid()) return NilDereference();
  if (!IsList(a[0])) {
    return Error(absl::StrCat("list should be type of slice or array but ",
                              KindName(a[0])));
  }
  const std::vector<TemplateValue>& items = a[0].list_items();
  const auto len = static_cast<int64_t>(items.size());
  if (len == 0) return TemplateValue();
  int64_t start = 0, end = len;
  if (a.size() > 1) start = CastInt64(a[1]);
  if (a.size() > 2) end = CastInt64(a[2]);
  if (start < 0 || end < start || end > len) {
    return Error("reflect.Value.Slice: slice index out of bounds");
  }
  return TemplateValue::List(
      std::vector<TemplateValue>(items.begin() + start, items.begin() + end),
      a[0].TypeName());
}

Result Concat(const Args& a, const CallContext& context) {
  std::vector<TemplateValue> out;
  for (const TemplateValue& list : a) {
    if (!list.is_valid()) return NilDereference();
    if (!IsList(list)) {
      return Error(
          absl::StrCat("Cannot concat type ", KindName(list), " as list"));
    }
    out.insert(out.end(), list.list_items().begin(), list.list_items().end());
    RETURN_IF_ERROR(CheckBuildSize(out.size(), context.max_items, context));
  }
  if (out.empty()) return TemplateValue::NilList("[]interface {}");
  return AnyList(std::move(out));
}

// Sprig's until and untilStep, bounded.
absl::StatusOr<std::vector<int64_t>> UntilStep(int64_t start, int64_t stop,
                                               int64_t step,
                                               const CallContext& context) {
  std::vector<int64_t> v;
  auto push = [&](int64_t i) -> absl::Status {
    v.push_back(i);
    return CheckBuildSize(v.size(), context.max_items, context);
  };
  if (stop < start) {
    if (step >= 0) return v;
    for (int64_t i = start; i > stop; i += step) RETURN_IF_ERROR(push(i));
    return v;
  }
  if (step <= 0) return v;
  for (int64_t i = start; i < stop; i += step) RETURN_IF_ERROR(push(i));
  return v;
}

TemplateValue IntList(const std::vector<int64_t>& v) {
  std::vector<TemplateValue> items;
  for (const int64_t i : v) items.push_back(TemplateValue::Int(i));
  return TemplateValue::List(std::move(items), "[]int");
}

Result Until(const Args& a, const CallContext& context) {
  const int64_t count = a[0].int_value();
  ASSIGN_OR_RETURN(const std::vector<int64_t> v,
                   UntilStep(0, count, count < 0 ? -1 : 1, context));
  return IntList(v);
}

Result UntilStepFn(const Args& a, const CallContext& context) {
  ASSIGN_OR_RETURN(
      const std::vector<int64_t> v,
      UntilStep(a[0].int_value(), a[1].int_value(), a[2].int_value(), context));
  return IntList(v);
}

Result Seq(const Args& a, const CallContext& context) {
  std::vector<int64_t> v;
  int64_t start = 1, end = 0, step = 1;
  switch (a.size()) {
    case 1:
      end = a[0].int_value();
      step = end < start ? -1 : 1;
      break;
    case 2:
      start = a[0].int_value();
      end = a[1].int_value();
      step = end < start ? -1 : 1;
      break;
    case 3: {
      start = a[0].int_value();
      end = a[2].int_value();
      step = a[1].int_value();
      if (end < start && step > 0) return TemplateValue::String("");
      const int64_t increment = end < start ? -1 : 1;
      ASSIGN_OR_RETURN(v, UntilStep(start, end + increment, step, context));
      return TemplateValue::String(absl::StrJoin(v, " "));
    }
    default:
      return TemplateValue::String("");
  }
  ASSIGN_OR_RETURN(v, UntilStep(start, end + step, step, context));
  return TemplateValue::String(absl::StrJoin(v, " "));
}

// --- Dicts ---------------------------------------------------------------

const std::string& Key(const TemplateValue& k) { return k.string_value(); }

Result Dict(const Args& a, const CallContext& context) {
  RETURN_IF_ERROR(CheckBuildSize(a.size() / 2, context.max_items, context));
  std::vector<std::pair<TemplateValue, TemplateValue>> entries;
  for (size_t i = 0; i < a.size(); i += 2) {
    TemplateValue key = TemplateValue::String(Strval(a[i]));
    entries.emplace_back(std::move(key), i + 1 < a.size()
                                             ? a[i + 1]
                                             : TemplateValue::String(""));
  }
  return AnyMap(std::move(entries));
}

Result Get(const Args& a, const CallContext&) {
  const TemplateValue* v = a[0].FindKey(a[1]);
  return v != nullptr ? *v : TemplateValue::String("");
}

Result Set(const Args& a, const CallContext&) {
  if (a[0].is_nil()) {
    return Error("assignment to entry in nil map");
  }
  SetMapEntry(a[0], a[1].string_value(), a[2]);
  return a[0];
}

Result Unset(const Args& a, const CallContext&) {
  EraseMapEntry(a[0], a[1].string_value());
  return a[0];
}

Result HasKey(const Args& a, const CallContext&) {
  return TemplateValue::Bool(a[0].FindKey(a[1]) != nullptr);
}

Result Pluck(const Args& a, const CallContext&) {
  std::vector<TemplateValue> out;
  for (size_t i = 1; i < a.size(); ++i) {
    if (const TemplateValue* v = a[i].FindKey(a[0])) out.push_back(*v);
  }
  return AnyList(std::move(out));
}

Result Keys(const Args& a, const CallContext&) {
  std::vector<std::string> out;
  for (const TemplateValue& d : a) {
    for (const auto& [k, v] : d.map_entries()) out.push_back(Key(k));
  }
  return StringList(out);
}

Result Values(const Args& a, const CallContext&) {
  std::vector<TemplateValue> out;
  for (const auto& [k, v] : a[0].map_entries()) out.push_back(v);
  return AnyList(std::move(out));
}

Result Pick(const Args& a, const CallContext&) {
  std::vector<std::pair<TemplateValue, TemplateValue>> out;
  for (size_t i = 1; i < a.size(); ++i) {
    if (const TemplateValue* v = a[0].FindKey(a[i])) {
      out.emplace_back(a[i], *v);
    }
  }
  return AnyMap(std::move(out));
}

Result Omit(const Args& a, const CallContext&) {
  std::vector<std::pair<TemplateValue, TemplateValue>> out;
  for (const auto& [k, v] : a[0].map_entries()) {
    bool omitted = false;
    for (size_t i = 1; i < a.size(); ++i) {
      omitted = omitted || Key(k) == a[i].string_value();
    }
    if (!omitted) out.emplace_back(k, v);
  }
  return AnyMap(std::move(out));
}

// mergo.Merge of map[string]interface{} values: keys missing (or empty) in
// dst come from src; nested maps merge deeply; with overwrite, non-empty
// src values replace dst's.
TemplateValue MergeMaps(const TemplateValue& dst, const TemplateValue& src,
                        bool overwrite) {
  std::vector<std::pair<TemplateValue, TemplateValue>> out(
      dst.map_entries().begin(), dst.map_entries().end());
  for (const auto& entry : src.map_entries()) {
    const TemplateValue& k = entry.first;
    const TemplateValue& sv = entry.second;
    // mergo skips a nil source value unless overwriting.
    if (!sv.is_valid() && !overwrite) continue;
    auto it = std::find_if(out.begin(), out.end(), [&k](const auto& e) {
      return TemplateValue::Compare(e.first, k) == 0;
    });
    if (it == out.end()) {
      out.emplace_back(k, sv);
      continue;
    }
    TemplateValue& dv = it->second;
    if (dv.kind() == Kind::kMap && sv.kind() == Kind::kMap &&
        dv.TypeName() == "map[string]interface {}" &&
        sv.TypeName() == dv.TypeName()) {
      dv = MergeMaps(dv, sv, overwrite);
    } else if (SprigEmpty(dv) || (overwrite && !SprigEmpty(sv))) {
      dv = sv;
    }
  }
  return AnyMap(std::move(out));
}

Result Merge(const Args& a, const CallContext& context) {
  const bool overwrite = absl::StrContains(context.name, "Overwrite");
  TemplateValue dst = a[0];
  for (size_t i = 1; i < a.size(); ++i) dst = MergeMaps(dst, a[i], overwrite);
  // dst is a Go map: merging writes into it.
  const std::vector<std::pair<TemplateValue, TemplateValue>> merged =
      dst.map_entries();
  for (const auto& [k, v] : merged) SetMapEntry(a[0], Key(k), v);
  return a[0];
}

Result Dig(const Args& a, const CallContext&) {
  if (a.size() < 3) return Error("dig needs at least three arguments");
  const TemplateValue& dict = a.back();
  if (dict.TypeName() != "map[string]interface {}") {
    return Error(absl::StrCat("interface conversion: interface {} is ",
                              dict.TypeName(),
                              ", not map[string]interface {}"));
  }
  for (size_t i = 0; i + 2 < a.size(); ++i) {
    if (a[i].kind() != Kind::kString) {
      return Error(absl::StrCat("interface conversion: interface {} is ",
                                a[i].is_valid() ? a[i].TypeName() : "nil",
                                ", not string"));
    }
  }
  TemplateValue cur = dict;
  for (size_t i = 0; i + 2 < a.size(); ++i) {
    if (cur.TypeName() != "map[string]interface {}") {
      return Error(absl::StrCat("interface conversion: interface {} is ",
                                cur.TypeName(),
                                ", not map[string]interface {}"));
    }
    const TemplateValue* step = cur.FindKey(a[i]);
    if (step == nullptr) return a[a.size() - 2];
    cur = *step;
  }
  return cur;
}

constexpr TemplateFunction kLists[] = {
    {"list", "a", true, ListFn},
    {"tuple", "a", true, ListFn},
    {"append", "aa", false, Push},
    {"push", "aa", false, Push},
    {"mustAppend", "aa", false, Push},
    {"mustPush", "aa", false, Push},
    {"prepend", "aa", false, Push},
    {"mustPrepend", "aa", false, Push},
    {"first", "a", false, FirstLast},
    {"mustFirst", "a", false, FirstLast},
    {"last", "a", false, FirstLast},
    {"mustLast", "a", false, FirstLast},
    {"rest", "a", false, RestInitial},
    {"mustRest", "a", false, RestInitial},
    {"initial", "a", false, RestInitial},
    {"mustInitial", "a", false, RestInitial},
    {"reverse", "a", false, Reverse},
    {"mustReverse", "a", false, Reverse},
    {"uniq", "a", false, Uniq},
    {"mustUniq", "a", false, Uniq},
    {"without", "aa", true, Without},
    {"mustWithout", "aa", true, Without},
    {"has", "aa", false, Has},
    {"mustHas", "aa", false, Has},
    {"compact", "a", false, Compact},
    {"mustCompact", "a", false, Compact},
    {"slice", "aa", true, Slice},
    {"mustSlice", "aa", true, Slice},
    {"concat", "a", true, Concat},
    {"chunk", "ia", false, Chunk},
    {"mustChunk", "ia", false, Chunk},
    {"until", "i", false, Until},
    {"untilStep", "iii", false, UntilStepFn},
    {"seq", "i", true, Seq},
    {"dict", "a", true, Dict},
    {"get", "ms", false, Get},
    {"set", "msa", false, Set},
    {"unset", "ms", false, Unset},
    {"hasKey", "ms", false, HasKey},
    {"pluck", "sm", true, Pluck},
    {"keys", "m", true, Keys},
    {"values", "m", false, Values},
    {"pick", "ms", true, Pick},
    {"omit", "ms", true, Omit},
    {"merge", "mm", true, Merge},
    {"mustMerge", "mm", true, Merge},
    {"mergeOverwrite", "mm", true, Merge},
    {"mustMergeOverwrite", "mm", true, Merge},
    {"dig", "a", true, Dig},
};

}  // namespace

absl::Span<const TemplateFunction> SprigListFunctions() { return kLists; }

}  // namespace ia::automation::template_internal
