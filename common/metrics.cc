// Metrics: see metrics.h.
#include "common/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <type_traits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/files.h"

namespace ia::metrics {
namespace {

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "metrics: %s\n", message.c_str());
  std::abort();
}

bool ValidMetricName(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = absl::ascii_isalpha(c) || c == '_' || c == ':' ||
                    (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

bool ValidLabelName(absl::string_view name) {
  if (name.empty() || absl::StartsWith(name, "__") || name == "le")
    return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok =
        absl::ascii_isalpha(c) || c == '_' || (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

void CheckNames(absl::string_view name,
                const std::vector<std::string>& label_names) {
  if (!ValidMetricName(name)) {
    Fail(absl::StrCat("invalid metric name \"", name,
                      "\": use [a-zA-Z_:][a-zA-Z0-9_:]*"));
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    if (!ValidLabelName(label_names[i])) {
      Fail(absl::StrCat("metric ", name, ": invalid label name \"",
                        label_names[i],
                        "\": use [a-zA-Z_][a-zA-Z0-9_]*, not __* nor le"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (label_names[i] == label_names[j]) {
        Fail(absl::StrCat("metric ", name, ": label \"", label_names[i],
                          "\" given twice"));
      }
    }
  }
}

// HELP text escaping: backslash and newline.
std::string EscapeHelp(absl::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

absl::string_view TypeName(Kind kind) {
  switch (kind) {
    case Kind::kCounter:
      return "counter";
    case Kind::kGauge:
      return "gauge";
    case Kind::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void AddDouble(std::atomic<double>* target, double delta) {
  double current = target->load(std::memory_order_relaxed);
  while (!target->compare_exchange_weak(current, current + delta,
                                        std::memory_order_relaxed)) {
  }
}

// The file's content, or "" when it cannot be read (no /proc: no metric).
std::string ReadWholeFile(const char* path) {
  return ReadFileToString(path).value_or("");
}

void AppendProcessMetric(std::string* out, absl::string_view name,
                         absl::string_view help, absl::string_view type,
                         double value) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type,
                  "\n", name, " ", FormatValue(value), "\n");
}

}  // namespace

// --- Counter, Gauge, Histogram.

void Counter::Increment(double delta) {
  if (!(delta > 0)) return;
  AddDouble(&value_, delta);
}

void Gauge::Increment(double delta) { AddDouble(&value_, delta); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      Fail("histogram bounds must be finite and strictly increasing");
    }
  }
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && !(value <= bounds_[i])) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  AddDouble(&sum_, value);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot snapshot;
  snapshot.cumulative.reserve(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(total);
  }
  snapshot.count = total;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> DurationBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
          0.5,   1,      2.5,   5,    10,    30,   60};
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == 0) return "0";  // also -0
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (ec != std::errc()) return absl::StrCat(value);
  return std::string(buffer, end);
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// --- FamilyBase.

FamilyBase::FamilyBase(std::string name, std::string help, Kind kind,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      kind_(kind),
      label_names_(std::move(label_names)) {}

void FamilyBase::Render(std::string* out) const {
  absl::StrAppend(out, "# HELP ", name_, " ", EscapeHelp(help_), "\n# TYPE ",
                  name_, " ", TypeName(kind_), "\n");
  RenderSamples(out);
}

std::string FamilyBase::LabelText(const std::vector<std::string>& values,
                                  absl::string_view extra_name,
                                  absl::string_view extra_value) const {
  if (values.empty() && extra_name.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ",";
    absl::StrAppend(&out, label_names_[i], "=\"", EscapeLabelValue(values[i]),
                    "\"");
  }
  if (!extra_name.empty()) {
    if (!values.empty()) out += ",";
    absl::StrAppend(&out, extra_name, "=\"", EscapeLabelValue(extra_value),
                    "\"");
  }
  out += "}";
  return out;
}

void FamilyBase::CheckArity(size_t values) const {
  if (values != label_names_.size()) {
    Fail(absl::StrCat("metric ", name_, " has ", label_names_.size(),
                      " labels (", absl::StrJoin(label_names_, ", "),
                      ") but was given ", values, " values"));
  }
}

// --- Family<Metric>.

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, Kind kind,
                       std::vector<std::string> label_names,
                       std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), kind,
                 std::move(label_names)),
      bounds_(std::move(bounds)) {
  if (this->label_names().empty()) WithLabels(std::vector<std::string>{});
}

template <typename Metric>
Metric& Family<Metric>::WithLabels(
    std::initializer_list<absl::string_view> values) {
  std::vector<std::string> copy;
  copy.reserve(values.size());
  for (absl::string_view v : values) copy.emplace_back(v);
  return WithLabels(copy);
}

template <typename Metric>
Metric& Family<Metric>::WithLabels(const std::vector<std::string>& values) {
  CheckArity(values.size());
  absl::MutexLock lock(&mu_);
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  std::unique_ptr<Metric> child;
  if constexpr (std::is_same_v<Metric, Histogram>) {
    child = std::make_unique<Histogram>(bounds_);
  } else {
    child = std::make_unique<Metric>();
  }
  Metric& ref = *child;
  children_.emplace(values, std::move(child));
  return ref;
}

template <typename Metric>
bool Family<Metric>::Remove(const std::vector<std::string>& values) {
  CheckArity(values.size());
  absl::MutexLock lock(&mu_);
  return children_.erase(values) > 0;
}

template <typename Metric>
void Family<Metric>::RenderSamples(std::string* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      const Histogram::Snapshot s = child->Collect();
      for (size_t i = 0; i < bounds_.size(); ++i) {
        absl::StrAppend(out, name(), "_bucket",
                        LabelText(values, "le", FormatValue(bounds_[i])), " ",
                        s.cumulative[i], "\n");
      }
      absl::StrAppend(out, name(), "_bucket", LabelText(values, "le", "+Inf"),
                      " ", s.count, "\n");
      absl::StrAppend(out, name(), "_sum", LabelText(values), " ",
                      FormatValue(s.sum), "\n");
      absl::StrAppend(out, name(), "_count", LabelText(values), " ", s.count,
                      "\n");
    } else {
      absl::StrAppend(out, name(), LabelText(values), " ",
                      FormatValue(child->Value()), "\n");
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// --- Callback gauges.

CallbackRegistration::CallbackRegistration(
    CallbackRegistration&& other) noexcept
    : family_(std::exchange(other.family_, nullptr)),
      id_(std::exchange(other.id_, 0)) {}

CallbackRegistration& CallbackRegistration::operator=(
    CallbackRegistration&& other) noexcept {
  if (this != &other) {
    Reset();
    family_ = std::exchange(other.family_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void CallbackRegistration::Reset() {
  if (family_ != nullptr) family_->Unregister(id_);
  family_ = nullptr;
  id_ = 0;
}

CallbackGaugeFamily::CallbackGaugeFamily(std::string name, std::string help,
                                         std::vector<std::string> label_names)
    : FamilyBase(std::move(name), std::move(help), Kind::kGauge,
                 std::move(label_names)) {}

CallbackRegistration CallbackGaugeFamily::Register(
    std::vector<std::string> values, std::function<double()> fn) {
  CheckArity(values.size());
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  entries_.emplace(id, Entry{std::move(values), std::move(fn)});
  return CallbackRegistration(this, id);
}

void CallbackGaugeFamily::Unregister(uint64_t id) {
  absl::MutexLock lock(&mu_);
  entries_.erase(id);
}

double CallbackGaugeFamily::Value(
    const std::vector<std::string>& values) const {
  absl::MutexLock lock(&mu_);
  double sum = 0;
  for (const auto& [id, entry] : entries_) {
    if (entry.values == values) sum += entry.fn();
  }
  return sum;
}

void CallbackGaugeFamily::RenderSamples(std::string* out) const {
  absl::MutexLock lock(&mu_);
  std::map<std::vector<std::string>, double> sums;
  for (const auto& [id, entry] : entries_) sums[entry.values] += entry.fn();
  for (const auto& [values, sum] : sums) {
    absl::StrAppend(out, name(), LabelText(values), " ", FormatValue(sum),
                    "\n");
  }
}

// --- Registry.

Registry& Registry::Default() {
  static Registry* const registry = new Registry();
  return *registry;
}

FamilyBase* Registry::Existing(absl::string_view name, absl::string_view help,
                               Kind kind, bool callback,
                               const std::vector<std::string>& label_names,
                               const std::vector<double>* bounds) {
  auto it = families_.find(std::string(name));
  if (it == families_.end()) return nullptr;
  FamilyBase* family = it->second.get();
  const bool is_callback =
      dynamic_cast<CallbackGaugeFamily*>(family) != nullptr;
  bool same = family->kind() == kind && is_callback == callback &&
              family->help() == help && family->label_names() == label_names;
  if (same && bounds != nullptr) {
    same = static_cast<HistogramFamily*>(family)->bounds() == *bounds;
  }
  if (!same) {
    Fail(absl::StrCat("metric ", name,
                      " registered twice with a different kind, help, labels "
                      "or buckets"));
  }
  return family;
}

CounterFamily& Registry::AddCounter(absl::string_view name,
                                    absl::string_view help,
                                    std::vector<std::string> label_names) {
  CheckNames(name, label_names);
  absl::MutexLock lock(&mu_);
  if (FamilyBase* f =
          Existing(name, help, Kind::kCounter, false, label_names, nullptr)) {
    return *static_cast<CounterFamily*>(f);
  }
  auto family = std::make_unique<CounterFamily>(
      std::string(name), std::string(help), Kind::kCounter,
      std::move(label_names), std::vector<double>{});
  CounterFamily& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

GaugeFamily& Registry::AddGauge(absl::string_view name, absl::string_view help,
                                std::vector<std::string> label_names) {
  CheckNames(name, label_names);
  absl::MutexLock lock(&mu_);
  if (FamilyBase* f =
          Existing(name, help, Kind::kGauge, false, label_names, nullptr)) {
    return *static_cast<GaugeFamily*>(f);
  }
  auto family = std::make_unique<GaugeFamily>(
      std::string(name), std::string(help), Kind::kGauge,
      std::move(label_names), std::vector<double>{});
  GaugeFamily& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

HistogramFamily& Registry::AddHistogram(absl::string_view name,
                                        absl::string_view help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds) {
  CheckNames(name, label_names);
  // Checked before registering, so that a bad family is never stored.
  Histogram check(bounds);
  absl::MutexLock lock(&mu_);
  if (FamilyBase* f =
          Existing(name, help, Kind::kHistogram, false, label_names, &bounds)) {
    return *static_cast<HistogramFamily*>(f);
  }
  auto family = std::make_unique<HistogramFamily>(
      std::string(name), std::string(help), Kind::kHistogram,
      std::move(label_names), std::move(bounds));
  HistogramFamily& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

CallbackGaugeFamily& Registry::AddCallbackGauge(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names) {
  CheckNames(name, label_names);
  absl::MutexLock lock(&mu_);
  if (FamilyBase* f =
          Existing(name, help, Kind::kGauge, true, label_names, nullptr)) {
    return *static_cast<CallbackGaugeFamily*>(f);
  }
  auto family = std::make_unique<CallbackGaugeFamily>(
      std::string(name), std::string(help), std::move(label_names));
  CallbackGaugeFamily& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

std::string Registry::Render() const {
  // Families are never removed, so they may be rendered outside mu_ (a
  // callback may then register a family without deadlocking).
  std::vector<const FamilyBase*> families;
  {
    absl::MutexLock lock(&mu_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_)
      families.push_back(family.get());
  }
  std::string out;
  for (const FamilyBase* family : families) family->Render(&out);
  return out;
}

// --- Process metrics.

std::string RenderProcessMetrics() {
  std::string out;
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page_size = sysconf(_SC_PAGESIZE);
  // /proc/self/stat: "pid (comm) state ppid ..."; comm may hold spaces and
  // parentheses, so fields are counted after the last ')'. Field 3 (state)
  // is fields[0] below; utime is field 14, stime 15, starttime 22, vsize
  // 23, rss 24 (pages).
  const std::string stat = ReadWholeFile("/proc/self/stat");
  const size_t paren = stat.rfind(')');
  std::vector<absl::string_view> fields;
  if (paren != std::string::npos) {
    fields = absl::StrSplit(absl::string_view(stat).substr(paren + 1),
                            absl::ByAnyChar(" \n"), absl::SkipEmpty());
  }
  auto field = [&](int number, double* value) {
    const size_t index = static_cast<size_t>(number - 3);
    return index < fields.size() && absl::SimpleAtod(fields[index], value);
  };
  double utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
  if (ticks > 0 && field(14, &utime) && field(15, &stime)) {
    AppendProcessMetric(&out, "process_cpu_seconds_total",
                        "Total user and system CPU time spent in seconds.",
                        "counter",
                        (utime + stime) / static_cast<double>(ticks));
  }
  int64_t open_fds = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++open_fds;
    }
    closedir(dir);
    --open_fds;  // the descriptor of the listing itself
    AppendProcessMetric(&out, "process_open_fds",
                        "Number of open file descriptors.", "gauge",
                        static_cast<double>(open_fds));
  }
  if (page_size > 0 && field(24, &rss)) {
    AppendProcessMetric(&out, "process_resident_memory_bytes",
                        "Resident memory size in bytes.", "gauge",
                        rss * static_cast<double>(page_size));
  }
  // Boot time (btime in /proc/stat) plus the start in ticks after boot.
  double boot_time = 0;
  bool have_boot = false;
  for (absl::string_view line :
       absl::StrSplit(ReadWholeFile("/proc/stat"), '\n')) {
    if (absl::ConsumePrefix(&line, "btime ")) {
      have_boot = absl::SimpleAtod(line, &boot_time);
      break;
    }
  }
  if (ticks > 0 && have_boot && field(22, &start)) {
    AppendProcessMetric(
        &out, "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.", "gauge",
        boot_time + start / static_cast<double>(ticks));
  }
  if (field(23, &vsize)) {
    AppendProcessMetric(&out, "process_virtual_memory_bytes",
                        "Virtual memory size in bytes.", "gauge", vsize);
  }
  return out;
}

std::string RenderPrometheus() {
  return absl::StrCat(Registry::Default().Render(), RenderProcessMetrics());
}

}  // namespace ia::metrics
