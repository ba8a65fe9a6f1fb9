// Metrics: the exact text exposition format of a small registry, label and
// help escaping, histogram buckets, callback gauges, number formatting, the
// process metrics, concurrent updates, the programming errors that abort,
// and what the Controller and a named Feed report.
#include "common/metrics.h"

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/controller.h"
#include "common/feed.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ia::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Metrics, RendersTheTextFormatExactly) {
  Registry registry;
  auto& scans =
      registry.AddCounter("ia_scans_total", "Registry scans.", {"result"});
  auto& tags = registry.AddGauge("ia_tags_stored", "Tags stored.",
                                 {"namespace", "name"});
  auto& duration = registry.AddHistogram("ia_scan_duration_seconds",
                                         "Scan duration.", {}, {0.1, 1, 2.5});
  auto& plain = registry.AddCounter("ia_commits_total", "Commits.");
  scans.WithLabels({"success"}).Increment();
  scans.WithLabels({"success"}).Increment(2);
  scans.WithLabels({"not_found"}).Increment();
  tags.WithLabels({"ns", "b"}).Set(7);
  tags.WithLabels({"ns", "a"}).Set(1.5);
  duration.WithLabels({}).Observe(0.05);
  duration.WithLabels({}).Observe(0.1);  // a bound is inclusive
  duration.WithLabels({}).Observe(2);
  duration.WithLabels({}).Observe(100);
  plain.WithLabels({}).Increment(4);

  EXPECT_EQ(registry.Render(),
            "# HELP ia_commits_total Commits.\n"
            "# TYPE ia_commits_total counter\n"
            "ia_commits_total 4\n"
            "# HELP ia_scan_duration_seconds Scan duration.\n"
            "# TYPE ia_scan_duration_seconds histogram\n"
            "ia_scan_duration_seconds_bucket{le=\"0.1\"} 2\n"
            "ia_scan_duration_seconds_bucket{le=\"1\"} 2\n"
            "ia_scan_duration_seconds_bucket{le=\"2.5\"} 3\n"
            "ia_scan_duration_seconds_bucket{le=\"+Inf\"} 4\n"
            "ia_scan_duration_seconds_sum 102.15\n"
            "ia_scan_duration_seconds_count 4\n"
            "# HELP ia_scans_total Registry scans.\n"
            "# TYPE ia_scans_total counter\n"
            "ia_scans_total{result=\"not_found\"} 1\n"
            "ia_scans_total{result=\"success\"} 3\n"
            "# HELP ia_tags_stored Tags stored.\n"
            "# TYPE ia_tags_stored gauge\n"
            "ia_tags_stored{namespace=\"ns\",name=\"a\"} 1.5\n"
            "ia_tags_stored{namespace=\"ns\",name=\"b\"} 7\n");
}

TEST(Metrics, EmptyFamiliesShowTheirNames) {
  Registry registry;
  registry.AddCounter("ia_runs_total", "Runs.", {"result"});
  EXPECT_EQ(registry.Render(),
            "# HELP ia_runs_total Runs.\n"
            "# TYPE ia_runs_total counter\n");
}

TEST(Metrics, UnlabelledMetricsStartAtZero) {
  Registry registry;
  registry.AddGauge("ia_depth", "Depth.");
  registry.AddHistogram("ia_wait_seconds", "Wait.", {}, {1});
  EXPECT_EQ(registry.Render(),
            "# HELP ia_depth Depth.\n"
            "# TYPE ia_depth gauge\n"
            "ia_depth 0\n"
            "# HELP ia_wait_seconds Wait.\n"
            "# TYPE ia_wait_seconds histogram\n"
            "ia_wait_seconds_bucket{le=\"1\"} 0\n"
            "ia_wait_seconds_bucket{le=\"+Inf\"} 0\n"
            "ia_wait_seconds_sum 0\n"
            "ia_wait_seconds_count 0\n");
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  Registry registry;
  auto& family =
      registry.AddGauge("ia_x", "Line one\nback\\slash \"quoted\".", {"path"});
  family.WithLabels({"a\\b\"c\nd"}).Set(1);
  EXPECT_EQ(registry.Render(),
            "# HELP ia_x Line one\\nback\\\\slash \"quoted\".\n"
            "# TYPE ia_x gauge\n"
            "ia_x{path=\"a\\\\b\\\"c\\nd\"} 1\n");
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("\"\\\n"), "\\\"\\\\\\n");
}

TEST(Metrics, LabelledHistogramPutsLeLast) {
  Registry registry;
  auto& family = registry.AddHistogram("ia_reconcile_duration_seconds", "D.",
                                       {"controller"}, {0.5});
  family.WithLabels({"policy"}).Observe(0.25);
  family.WithLabels({"automation"}).Observe(3);
  EXPECT_EQ(registry.Render(),
            "# HELP ia_reconcile_duration_seconds D.\n"
            "# TYPE ia_reconcile_duration_seconds histogram\n"
            "ia_reconcile_duration_seconds_bucket{controller=\"automation\",le="
            "\"0.5\"} 0\n"
            "ia_reconcile_duration_seconds_bucket{controller=\"automation\",le="
            "\"+Inf\"} 1\n"
            "ia_reconcile_duration_seconds_sum{controller=\"automation\"} 3\n"
            "ia_reconcile_duration_seconds_count{controller=\"automation\"} 1\n"
            "ia_reconcile_duration_seconds_bucket{controller=\"policy\",le=\"0."
            "5\"} 1\n"
            "ia_reconcile_duration_seconds_bucket{controller=\"policy\",le=\"+"
            "Inf\"} 1\n"
            "ia_reconcile_duration_seconds_sum{controller=\"policy\"} 0.25\n"
            "ia_reconcile_duration_seconds_count{controller=\"policy\"} 1\n");
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Histogram histogram({1, 2, 3});
  for (double v : {0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, -1.0})
    histogram.Observe(v);
  histogram.Observe(std::numeric_limits<double>::quiet_NaN());
  const Histogram::Snapshot s = histogram.Collect();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{3, 5, 7, 9}));
  EXPECT_EQ(s.count, 9u);
  EXPECT_TRUE(std::isnan(s.sum));
}

TEST(Metrics, DurationBucketsIncrease) {
  const std::vector<double> buckets = DurationBuckets();
  ASSERT_FALSE(buckets.empty());
  for (size_t i = 1; i < buckets.size(); ++i)
    EXPECT_LT(buckets[i - 1], buckets[i]);
  Histogram histogram(buckets);  // accepted
}

TEST(Metrics, FormatsNumbersShortestExact) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(-0.0), "0");
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(-2), "-2");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(0.0025), "0.0025");
  EXPECT_EQ(FormatValue(123456789), "123456789");
  EXPECT_EQ(FormatValue(1e21), "1e+21");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(Metrics, CountersOnlyGoUpAndGaugesMoveBothWays) {
  Counter counter;
  counter.Increment();
  counter.Increment(-5);
  counter.Increment(std::numeric_limits<double>::quiet_NaN());
  counter.Increment(0.5);
  EXPECT_EQ(counter.Value(), 1.5);
  Gauge gauge;
  gauge.Increment(3);
  gauge.Decrement();
  EXPECT_EQ(gauge.Value(), 2);
  gauge.Set(-1);
  EXPECT_EQ(gauge.Value(), -1);
}

TEST(Metrics, RemoveDropsAChild) {
  Registry registry;
  auto& family = registry.AddGauge("ia_tags_stored", "T.", {"name"});
  family.WithLabels({"a"}).Set(1);
  family.WithLabels({"b"}).Set(2);
  EXPECT_TRUE(family.Remove({"a"}));
  EXPECT_FALSE(family.Remove({"a"}));
  EXPECT_EQ(registry.Render(),
            "# HELP ia_tags_stored T.\n"
            "# TYPE ia_tags_stored gauge\n"
            "ia_tags_stored{name=\"b\"} 2\n");
}

TEST(Metrics, RegisteringAgainReturnsTheSameFamily) {
  Registry registry;
  auto& a = registry.AddCounter("ia_c_total", "C.", {"x"});
  auto& b = registry.AddCounter("ia_c_total", "C.", {"x"});
  EXPECT_EQ(&a, &b);
  a.WithLabels({"1"}).Increment();
  EXPECT_EQ(b.WithLabels({"1"}).Value(), 1);
  EXPECT_EQ(&a.WithLabels({"1"}), &b.WithLabels({"1"}));
}

TEST(Metrics, CallbackGaugesAddUpAndGoAwayWhenUnregistered) {
  Registry registry;
  auto& family =
      registry.AddCallbackGauge("ia_workqueue_depth", "Depth.", {"controller"});
  int a = 2, b = 3, c = 10;
  CallbackRegistration first = family.Register({"policy"}, [&] { return a; });
  CallbackRegistration second = family.Register({"policy"}, [&] { return b; });
  CallbackRegistration third =
      family.Register({"automation"}, [&] { return c; });
  EXPECT_EQ(family.Value({"policy"}), 5);
  a = 4;
  EXPECT_EQ(registry.Render(),
            "# HELP ia_workqueue_depth Depth.\n"
            "# TYPE ia_workqueue_depth gauge\n"
            "ia_workqueue_depth{controller=\"automation\"} 10\n"
            "ia_workqueue_depth{controller=\"policy\"} 7\n");
  second.Reset();
  {
    CallbackRegistration moved = std::move(third);
    third.Reset();  // moved from: unregisters nothing
    EXPECT_EQ(family.Value({"automation"}), 10);
  }  // `moved` unregisters
  EXPECT_EQ(registry.Render(),
            "# HELP ia_workqueue_depth Depth.\n"
            "# TYPE ia_workqueue_depth gauge\n"
            "ia_workqueue_depth{controller=\"policy\"} 4\n");
  CallbackRegistration assigned;
  assigned = std::move(first);
  assigned = CallbackRegistration();  // unregisters what it held
  EXPECT_EQ(family.Value({"policy"}), 0);
}

TEST(Metrics, ConcurrentUpdatesAreAllCounted) {
  Registry registry;
  auto& counters = registry.AddCounter("ia_n_total", "N.", {"t"});
  auto& histogram = registry.AddHistogram("ia_h", "H.", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counters.WithLabels({"x"}).Increment();
        histogram.WithLabels({}).Observe(0.5);
      }
    });
  }
  std::thread renderer([&] {
    for (int i = 0; i < 50; ++i) (void)registry.Render();
  });
  for (std::thread& thread : threads) thread.join();
  renderer.join();
  EXPECT_EQ(counters.WithLabels({"x"}).Value(), 40000);
  const Histogram::Snapshot s = histogram.WithLabels({}).Collect();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_EQ(s.sum, 20000);
}

// The value of the sample line `name` in `text`, or -1.
double Sample(const std::string& text, absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
    double value = 0;
    if (parts.size() == 2 && parts[0] == name &&
        absl::SimpleAtod(parts[1], &value)) {
      return value;
    }
  }
  return -1;
}

TEST(Metrics, ProcessMetricsComeFromProc) {
  const std::string text = RenderProcessMetrics();
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE process_resident_memory_bytes gauge\n"));
  EXPECT_GE(Sample(text, "process_cpu_seconds_total"), 0);
  // A test binary holds at least a few MiB and a few descriptors.
  EXPECT_GT(Sample(text, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(Sample(text, "process_virtual_memory_bytes"),
            Sample(text, "process_resident_memory_bytes"));
  EXPECT_GE(Sample(text, "process_open_fds"), 3);
  // Started before now, and after 2020.
  const double start = Sample(text, "process_start_time_seconds");
  EXPECT_GT(start, 1577836800);
  EXPECT_LE(start, absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()) + 1);
}

TEST(Metrics, PrometheusTextHasTheDefaultRegistryThenTheProcess) {
  Registry::Default()
      .AddCounter("ia_metrics_test_total", "Only in this test.")
      .WithLabels({})
      .Increment();
  const std::string text = RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("\nia_metrics_test_total 1\n"));
  EXPECT_LT(text.find("ia_metrics_test_total"),
            text.find("process_cpu_seconds_total"));
  EXPECT_THAT(text, Not(HasSubstr("\n\n")));
}

TEST(Metrics, ControllerCountsReconcilesByResultAndShowsItsQueue) {
  const std::string depth = "ia_workqueue_depth{controller=\"metrics_test\"}";
  const std::string errors =
      "ia_reconcile_total{controller=\"metrics_test\",result=\"error\"}";
  Controller::Options options;
  options.name = "metrics_test";
  options.workers = 1;
  options.backoff.base = absl::Milliseconds(1);
  {
    Controller idle(options,
                    [](const std::string&) -> absl::StatusOr<ReconcileResult> {
                      return ReconcileResult{};
                    });
    // Not started: queued keys wait, and show as the queue's depth.
    idle.Enqueue("ns/a");
    idle.Enqueue("ns/b");
    const std::string text = RenderPrometheus();
    EXPECT_EQ(Sample(text, depth), 2);
    EXPECT_EQ(Sample(text, errors), 0);
  }
  EXPECT_EQ(Sample(RenderPrometheus(), depth), -1);  // gone with the controller

  int calls = 0;  // only the one worker touches it
  absl::Notification second_call, third_call;
  Controller controller(
      options, [&](const std::string&) -> absl::StatusOr<ReconcileResult> {
        ++calls;
        if (calls == 1) return absl::UnavailableError("first try fails");
        if (calls == 2) {
          second_call.Notify();
          return ReconcileResult{};
        }
        third_call.Notify();
        return ReconcileResult{.requeue_after = absl::Hours(1)};
      });
  controller.Start();
  controller.Enqueue("ns/a");  // fails, then succeeds on the retry
  second_call.WaitForNotification();
  controller.Enqueue("ns/b");  // asks to come back in an hour
  third_call.WaitForNotification();
  controller.Stop();  // joins the worker: its counts are in
  const std::string text = RenderPrometheus();
  EXPECT_EQ(Sample(text, errors), 1);
  EXPECT_EQ(
      Sample(
          text,
          "ia_reconcile_total{controller=\"metrics_test\",result=\"success\"}"),
      1);
  EXPECT_EQ(Sample(text,
                   "ia_reconcile_total{controller=\"metrics_test\",result="
                   "\"requeue_after\"}"),
            1);
  EXPECT_EQ(
      Sample(
          text,
          "ia_reconcile_duration_seconds_count{controller=\"metrics_test\"}"),
      3);
}

TEST(Metrics, NamedFeedShowsItsSubscribers) {
  const std::string series =
      "ia_stream_subscribers{feed=\"metrics_test_feed\"}";
  {
    Feed feed("metrics_test_feed");
    Feed unnamed;
    EXPECT_EQ(Sample(RenderPrometheus(), series), 0);
    auto first = feed.Subscribe(nullptr, [] {});
    auto second = feed.Subscribe(nullptr, [] {});
    auto other = unnamed.Subscribe(nullptr, [] {});
    EXPECT_EQ(Sample(RenderPrometheus(), series), 2);
    first->Cancel();
    EXPECT_EQ(Sample(RenderPrometheus(), series), 1);
    second.reset();
    EXPECT_EQ(Sample(RenderPrometheus(), series), 0);
  }
  EXPECT_EQ(Sample(RenderPrometheus(), series), -1);  // gone with the feed
}

using MetricsDeathTest = ::testing::Test;

TEST(MetricsDeathTest, ProgrammingErrorsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(Registry().AddCounter("ia bad", "x"), "invalid metric name");
  EXPECT_DEATH(Registry().AddCounter("9ia", "x"), "invalid metric name");
  EXPECT_DEATH(Registry().AddGauge("ia_g", "x", {"le"}), "invalid label name");
  EXPECT_DEATH(Registry().AddGauge("ia_g", "x", {"__x"}), "invalid label name");
  EXPECT_DEATH(Registry().AddGauge("ia_g", "x", {"a", "a"}), "given twice");
  EXPECT_DEATH(Registry().AddHistogram("ia_h", "x", {}, {2, 1}),
               "strictly increasing");
  EXPECT_DEATH(
      {
        Registry registry;
        registry.AddCounter("ia_c", "x");
        registry.AddGauge("ia_c", "x");
      },
      "registered twice");
  EXPECT_DEATH(
      {
        Registry registry;
        registry.AddCounter("ia_c", "x", {"a"});
        registry.AddCounter("ia_c", "x", {"b"});
      },
      "registered twice");
  EXPECT_DEATH(
      {
        Registry registry;
        registry.AddCounter("ia_c", "x", {"a"}).WithLabels({"1", "2"});
      },
      "has 1 labels \\(a\\) but was given 2 values");
}

}  // namespace
}  // namespace ia::metrics
