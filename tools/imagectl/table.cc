#include "tools/imagectl/table.h"

#include <algorithm>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"

namespace ia::imagectl {
namespace {

// text/tabwriter settings of kubectl's printers.
constexpr size_t kMinWidth = 6;
constexpr size_t kPadding = 3;

size_t DisplayWidth(absl::string_view text) {
  size_t width = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProtoTime(t),
                          absl::UTCTimeZone());
}

std::string Bool(bool b) { return b ? "True" : "False"; }

// READY and MESSAGE of an object's conditions.
std::pair<std::string, std::string> ReadyColumns(
    const google::protobuf::RepeatedPtrField<v1::Condition>& conditions) {
  const v1::Condition* ready = FindCondition(conditions, kReady);
  if (ready == nullptr || ready->status().empty()) {
    return {std::string(kUnknown), "waiting to be reconciled"};
  }
  return {ready->status(), ready->message()};
}

}  // namespace

std::string FormatTable(const std::vector<Row>& rows) {
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows.size());
  size_t columns = 0;
  for (const Row& row : rows) {
    std::vector<std::string> line;
    line.reserve(row.size());
    for (const std::string& cell : row) {
      line.push_back(
          absl::StrReplaceAll(cell, {{"\r\n", " "}, {"\n", " "}, {"\t", " "}}));
    }
    columns = std::max(columns, line.size());
    cells.push_back(std::move(line));
  }
  std::vector<size_t> widths(columns, 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i + 1 < line.size(); ++i) {
      widths[i] = std::max(
          widths[i], std::max(kMinWidth, DisplayWidth(line[i]) + kPadding));
    }
  }
  std::string out;
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) {
      out += line[i];
      if (i + 1 < line.size()) {
        out.append(widths[i] - DisplayWidth(line[i]), ' ');
      }
    }
    out += '\n';
  }
  return out;
}

Row TableHeader(Kind kind, bool all_namespaces) {
  Row header;
  if (all_namespaces) header.push_back("NAMESPACE");
  switch (kind) {
    case Kind::kImageRepository:
      header.insert(header.end(),
                    {"NAME", "LAST SCAN", "SUSPENDED", "READY", "MESSAGE"});
      break;
    case Kind::kImagePolicy:
      header.insert(header.end(), {"NAME", "LATEST IMAGE", "READY", "MESSAGE"});
      break;
    case Kind::kImageUpdateAutomation:
      header.insert(header.end(),
                    {"NAME", "LAST RUN", "SUSPENDED", "READY", "MESSAGE"});
      break;
    case Kind::kGitRepository:
      header.insert(header.end(),
                    {"NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"});
      break;
  }
  return header;
}

std::string FormatImageRef(const v1::ImageRef& ref) {
  if (ref.tag().empty()) return "";
  std::string out = absl::StrCat(ref.name(), ":", ref.tag());
  if (!ref.digest().empty()) absl::StrAppend(&out, "@", ref.digest());
  return out;
}

Row TableRow(const AnyObject& object, bool all_namespaces) {
  Row row;
  const v1::ObjectMeta& meta = MetaOf(object);
  if (all_namespaces) row.push_back(meta.namespace_());
  row.push_back(meta.name());
  std::visit(
      [&row](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, v1::ImageRepository>) {
          const auto& scan = o.status().last_scan_result();
          row.push_back(scan.has_scan_time() ? FormatTime(scan.scan_time())
                                             : "");
          row.push_back(Bool(o.spec().suspend()));
        } else if constexpr (std::is_same_v<T, v1::ImagePolicy>) {
          row.push_back(FormatImageRef(o.status().latest_ref()));
        } else if constexpr (std::is_same_v<T, v1::ImageUpdateAutomation>) {
          row.push_back(o.status().has_last_automation_run_time()
                            ? FormatTime(o.status().last_automation_run_time())
                            : "");
          row.push_back(Bool(o.spec().suspend()));
        } else {
          row.push_back(o.status().observed_revision());
          row.push_back(Bool(o.spec().suspend()));
        }
        auto [ready, message] = ReadyColumns(o.status().conditions());
        row.push_back(std::move(ready));
        row.push_back(std::move(message));
      },
      object);
  return row;
}

std::string FormatObjectTable(Kind kind, const std::vector<AnyObject>& objects,
                              bool all_namespaces) {
  std::vector<Row> rows;
  rows.reserve(objects.size() + 1);
  rows.push_back(TableHeader(kind, all_namespaces));
  for (const AnyObject& object : objects) {
    rows.push_back(TableRow(object, all_namespaces));
  }
  return FormatTable(rows);
}

}  // namespace ia::imagectl
