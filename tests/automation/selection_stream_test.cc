// SelectionStore's listing by namespace, and SelectionStreams' writer
// thread: tasks run in order, and a task posted once the writer is stopping
// is refused (so that its stream can end with UNAVAILABLE) instead of being
// dropped. The streams themselves are tested over gRPC in
// automation_module_test.cc.
#include "services/automation/selection_stream.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/objects.h"
#include "common/store.h"
#include "gtest/gtest.h"

namespace ia::automation {
namespace {

TEST(SelectionStore, ListsANamespaceAndLeavesOutWhatDoesNotParse) {
  auto store = Store::Open(":memory:");
  ASSERT_TRUE(store.ok()) << store.status();
  for (const char* key : {"a/one", "a/two", "ab/three"}) {
    std::string ns, name;
    ASSERT_TRUE(SplitKey(key, &ns, &name));
    v1::Selection selection;
    selection.mutable_policy()->set_namespace_(ns);
    selection.mutable_policy()->set_name(name);
    ASSERT_TRUE((*store)
                    ->Put(kSelectionBucket, key, selection.SerializeAsString())
                    .ok());
  }
  ASSERT_TRUE((*store)->Put(kSelectionBucket, "a/corrupt", "\xff\xff").ok());
  SelectionStore selections(store->get());

  const auto names = [&](absl::string_view ns) {
    std::vector<std::string> out;
    auto listed = selections.List(ns);
    EXPECT_TRUE(listed.ok()) << listed.status();
    if (!listed.ok()) return out;
    for (const v1::Selection& s : *listed) {
      out.push_back(KeyOf(s.policy().namespace_(), s.policy().name()));
    }
    return out;
  };
  EXPECT_EQ(names("a"), (std::vector<std::string>{"a/one", "a/two"}));
  EXPECT_EQ(names("ab"), (std::vector<std::string>{"ab/three"}));
  EXPECT_EQ(names(""),
            (std::vector<std::string>{"a/one", "a/two", "ab/three"}));
}

TEST(SelectionStreams, TasksRunInOrderAndArePostedUntilTheWriterStops) {
  auto store = Store::Open(":memory:");
  ASSERT_TRUE(store.ok()) << store.status();
  SelectionStore selections(store->get());
  auto streams = std::make_unique<SelectionStreams>(&selections,
                                                    [](const std::string&) {});

  std::vector<int> ran;
  absl::Notification both_ran;
  ASSERT_TRUE(streams->Post([&] { ran.push_back(1); }));
  ASSERT_TRUE(streams->Post([&] {
    ran.push_back(2);
    both_ran.Notify();
  }));
  ASSERT_TRUE(both_ran.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));

  // A task that posts until refused, while the destructor stops the writer.
  absl::Notification started;
  bool refused = false;
  SelectionStreams* raw = streams.get();
  ASSERT_TRUE(streams->Post([&] {
    started.Notify();
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      if (!raw->Post([] {})) {
        refused = true;
        return;
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
  }));
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(20)));
  streams.reset();  // joins the writer, which ran the task to its end
  EXPECT_TRUE(refused);
}

}  // namespace
}  // namespace ia::automation
