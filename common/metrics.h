// Metrics: a small, dependency-free registry of Prometheus metrics, rendered
// as the text exposition format 0.0.4 on each service's GET /metrics.
//
// A metric is a family: a name, a help text, label names and one child per
// combination of label values. Families are created once, usually as
// function-local statics next to the code they measure, and live as long as
// the process:
//
//   metrics::CounterFamily& Scans() {
//     static auto& family = metrics::Registry::Default().AddCounter(
//         "ia_scans_total", "Registry scans, by result.", {"result"});
//     return family;
//   }
//   Scans().WithLabels({"success"}).Increment();
//
// Kinds:
//  - Counter: only goes up (Increment with a negative delta is ignored);
//  - Gauge: set, incremented or decremented;
//  - Histogram: observations counted in fixed buckets (upper bounds, "le"),
//    with their sum and count;
//  - CallbackGaugeFamily: a gauge whose value is computed when rendered, by
//    functions registered by the objects that own the number (a queue's
//    depth, a feed's subscribers) and unregistered when they go away. Several
//    functions under the same label values add up.
//
// Updates are lock-free (atomics); finding a child by label values takes the
// family's mutex. A reference to a child stays valid for the life of the
// process, except after Remove() of that child.
//
// Render() is deterministic: families sorted by name, children by label
// values (byte order), histogram buckets in bound order then +Inf, _sum,
// _count. Numbers are written in their shortest exact form ("3", "0.25",
// "1e+21", "+Inf", "NaN"). A family without children writes only its HELP
// and TYPE lines, so every metric name is visible from the start.
//
// Programming errors abort with a message on stderr: an invalid metric or
// label name, a name registered twice with a different kind, help, label
// names or buckets, or WithLabels() with the wrong number of values.
// Registering the same metric again returns the existing family.
//
// Thread-safe.
#ifndef COMMON_METRICS_H_
#define COMMON_METRICS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace ia::metrics {

class Counter {
 public:
  // Adds `delta` (ignored unless > 0).
  void Increment(double delta = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Increment(double delta = 1);
  void Decrement(double delta = 1) { Increment(-delta); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: strictly increasing finite upper bounds; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);

  // Counts `value` in the first bucket whose bound is >= value (NaN in
  // none but +Inf) and adds it to the sum.
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (= count)
    double sum = 0;
    uint64_t count = 0;
  };
  // A consistent count (always the +Inf bucket); the sum may lag behind by
  // the observations in flight.
  Snapshot Collect() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  // Non-cumulative counts: one per bound, then the +Inf overflow.
  const std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// Measures elapsed wall time on the steady clock, for duration histograms
// (the services' injectable Clock may be a fake one).
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start_)
        .count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Buckets for durations in seconds, from 1 ms to 60 s.
std::vector<double> DurationBuckets();

// The shortest text that reads back as `value`, as Prometheus writes
// numbers ("3", "0.005", "1e+21", "+Inf", "-Inf", "NaN").
std::string FormatValue(double value);
// A label value escaped for the text format (\\, \", \n).
std::string EscapeLabelValue(absl::string_view value);

enum class Kind { kCounter, kGauge, kHistogram };

// What every family has; rendered by the registry.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Kind kind,
             std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  Kind kind() const { return kind_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Appends HELP, TYPE and the samples to `out`.
  void Render(std::string* out) const;

 protected:
  // Appends the sample lines of every child.
  virtual void RenderSamples(std::string* out) const = 0;
  // `{a="x",b="y"}` for `values` (plus `extra` pairs, e.g. le), or "" when
  // there is no label at all.
  std::string LabelText(const std::vector<std::string>& values,
                        absl::string_view extra_name = "",
                        absl::string_view extra_value = "") const;
  // Aborts unless values.size() == label_names().size().
  void CheckArity(size_t values) const;

 private:
  const std::string name_;
  const std::string help_;
  const Kind kind_;
  const std::vector<std::string> label_names_;
};

// A family of counters, gauges or histograms (Metric is one of them).
template <typename Metric>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, Kind kind,
         std::vector<std::string> label_names, std::vector<double> bounds);

  // The child for `values` (one per label name, in order), created at 0 on
  // first use. A family without labels has its child from the start:
  // WithLabels({}).
  Metric& WithLabels(std::initializer_list<absl::string_view> values);
  Metric& WithLabels(const std::vector<std::string>& values);
  // Drops the child for `values` (it is no longer rendered; references to
  // it become invalid). Returns whether it existed.
  bool Remove(const std::vector<std::string>& values);

  const std::vector<double>& bounds() const { return bounds_; }

 protected:
  void RenderSamples(std::string* out) const override;

 private:
  const std::vector<double> bounds_;  // histograms only
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_
      ABSL_GUARDED_BY(mu_);
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class CallbackGaugeFamily;

// Keeps a function registered with a CallbackGaugeFamily; unregisters it
// on destruction (waiting for a render that is calling it). Movable.
class CallbackRegistration {
 public:
  CallbackRegistration() = default;
  ~CallbackRegistration() { Reset(); }
  CallbackRegistration(CallbackRegistration&& other) noexcept;
  CallbackRegistration& operator=(CallbackRegistration&& other) noexcept;
  CallbackRegistration(const CallbackRegistration&) = delete;
  CallbackRegistration& operator=(const CallbackRegistration&) = delete;

  // Unregisters now. Idempotent.
  void Reset();

 private:
  friend class CallbackGaugeFamily;
  CallbackRegistration(CallbackGaugeFamily* family, uint64_t id)
      : family_(family), id_(id) {}
  CallbackGaugeFamily* family_ = nullptr;
  uint64_t id_ = 0;
};

class CallbackGaugeFamily final : public FamilyBase {
 public:
  CallbackGaugeFamily(std::string name, std::string help,
                      std::vector<std::string> label_names);

  // Registers `fn` for the label `values`; its result is added to the
  // others registered under the same values when the family is rendered.
  // `fn` runs on the rendering thread under the family's mutex: it must be
  // quick, must not block for long and must not use the metrics registry.
  // A label set whose functions are all unregistered is no longer rendered.
  [[nodiscard]] CallbackRegistration Register(std::vector<std::string> values,
                                              std::function<double()> fn);

  // The sum of the functions registered under `values` (0 when none).
  double Value(const std::vector<std::string>& values) const;

 protected:
  void RenderSamples(std::string* out) const override;

 private:
  friend class CallbackRegistration;
  void Unregister(uint64_t id);

  struct Entry {
    std::vector<std::string> values;
    std::function<double()> fn;
  };
  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry behind /metrics (never destroyed).
  static Registry& Default();

  // Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
  // [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__" nor are "le".
  CounterFamily& AddCounter(absl::string_view name, absl::string_view help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(absl::string_view name, absl::string_view help,
                        std::vector<std::string> label_names = {});
  HistogramFamily& AddHistogram(absl::string_view name, absl::string_view help,
                                std::vector<std::string> label_names,
                                std::vector<double> bounds);
  CallbackGaugeFamily& AddCallbackGauge(
      absl::string_view name, absl::string_view help,
      std::vector<std::string> label_names = {});

  // Every family in the text exposition format 0.0.4.
  std::string Render() const;

 private:
  // The family called `name` if it exists with the same shape (else aborts),
  // or null.
  FamilyBase* Existing(absl::string_view name, absl::string_view help,
                       Kind kind, bool callback,
                       const std::vector<std::string>& label_names,
                       const std::vector<double>* bounds)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_
      ABSL_GUARDED_BY(mu_);
};

// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds and
// process_start_time_seconds of this process, read from /proc/self, in the
// text format. A figure that cannot be read is left out.
std::string RenderProcessMetrics();

// What GET /metrics serves: Registry::Default().Render() followed by
// RenderProcessMetrics().
std::string RenderPrometheus();

// The Content-Type of RenderPrometheus()'s text.
inline constexpr absl::string_view kContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace ia::metrics

#endif  // COMMON_METRICS_H_
