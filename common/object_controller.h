// ObjectController<T>: the objects of one kind together with the controller
// loop that reconciles them: every Apply, Delete and reconcile request
// queues the object's key, and Start() queues every stored object, so a
// restart reconciles everything once.
//
// The objects come through the ObjectStore<T> port: by default the
// service's own Store (KvObjectStore<T>); any other adapter can be handed in.
//
// Thread-safe.
#ifndef COMMON_OBJECT_CONTROLLER_H_
#define COMMON_OBJECT_CONTROLLER_H_

#include <memory>
#include <string>

#include "common/controller.h"
#include "common/kv_object_store.h"
#include "common/log.h"
#include "common/object_store.h"
#include "common/service_context.h"

namespace ia {

template <typename T>
class ObjectController {
 public:
  // `reconcile` runs on the controller's workers with a "namespace/name" key.
  // The objects are those of `objects`.
  ObjectController(std::unique_ptr<ObjectStore<T>> objects,
                   Controller::Options options, ReconcileFunc reconcile)
      : objects_(std::move(objects)),
        controller_(
            std::move(options),
            [this, reconcile = std::move(reconcile)](
                const std::string& key) -> absl::StatusOr<ReconcileResult> {
              absl::StatusOr<ReconcileResult> result = reconcile(key);
              if (result.ok()) objects_->Reconciled(key);
              return result;
            }) {
    objects_->SetChangeListener(
        [this](const std::string& key) { controller_.Enqueue(key); });
  }

  // The objects are those kept in `context.store`.
  ObjectController(const ServiceContext& context, std::string name,
                   ReconcileFunc reconcile)
      : ObjectController(
            std::make_unique<KvObjectStore<T>>(context.store, context.clock),
            {.name = std::move(name),
             .workers = context.config->workers,
             .clock = context.clock},
            std::move(reconcile)) {}

  ObjectStore<T>& objects() { return *objects_; }
  Controller& controller() { return controller_; }

  void Start() {
    auto all = objects_->List("");
    if (!all.ok()) {
      log::Error("cannot list stored objects")
          .With("kind", KindOf<T>())
          .With("error", all.status());
    } else {
      for (const T& object : *all)
        controller_.Enqueue(KeyOf(object.metadata()));
    }
    controller_.Start();
  }

  void Stop() { controller_.Stop(); }

 private:
  const std::unique_ptr<ObjectStore<T>> objects_;
  Controller controller_;
};

}  // namespace ia

#endif  // COMMON_OBJECT_CONTROLLER_H_
