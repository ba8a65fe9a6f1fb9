// ObjectController with any ObjectStore adapter: Apply enqueues the key, and
// the adapter hears Reconciled(key) after every reconcile that returned OK
// (where an adapter with finalizers releases a deleted object), never after
// one that failed.
#include "common/object_controller.h"

#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "common/kv_object_store.h"
#include "common/store.h"
#include "gtest/gtest.h"
#include "tests/support/conflicting_object_store.h"

namespace ia {
namespace {

v1::ImageRepository Repository(const std::string& name) {
  v1::ImageRepository repository;
  repository.mutable_metadata()->set_namespace_("flux-system");
  repository.mutable_metadata()->set_name(name);
  repository.mutable_spec()->set_image("ghcr.io/org/" + name);
  repository.mutable_spec()->set_interval("5m");
  return repository;
}

TEST(ObjectControllerTest, TellsTheAdapterWhichReconcilesSucceeded) {
  auto store = Store::Open(":memory:");
  ASSERT_TRUE(store.ok()) << store.status();
  KvObjectStore<v1::ImageRepository> kv(store->get(), RealClock());
  auto adapter =
      std::make_unique<testing::ConflictingObjectStore<v1::ImageRepository>>(
          &kv);
  testing::ConflictingObjectStore<v1::ImageRepository>* seen = adapter.get();
  absl::Notification good_done, bad_done;
  ObjectController<v1::ImageRepository> controller(
      std::move(adapter), {.name = "test", .workers = 1},
      [&](const std::string& key) -> absl::StatusOr<ReconcileResult> {
        if (key == "flux-system/bad") {
          if (!bad_done.HasBeenNotified()) bad_done.Notify();
          return absl::UnavailableError("registry down");
        }
        good_done.Notify();
        return ReconcileResult{};
      });
  controller.Start();
  ASSERT_TRUE(controller.objects().Apply(Repository("bad")).ok());
  bad_done.WaitForNotification();
  ASSERT_TRUE(controller.objects().Apply(Repository("good")).ok());
  good_done.WaitForNotification();
  controller.Stop();
  EXPECT_EQ(seen->reconciled(), std::vector<std::string>{"flux-system/good"});
}

}  // namespace
}  // namespace ia
