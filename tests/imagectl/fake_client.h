// An in-memory ObjectClient for imagectl's tests: objects keyed by kind,
// namespace and name; a per-service error to return instead (to play a
// stopped or refusing service); a log of the calls made.
#ifndef TESTS_IMAGECTL_FAKE_CLIENT_H_
#define TESTS_IMAGECTL_FAKE_CLIENT_H_

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/imagectl/clients.h"

namespace ia::imagectl::testing {

class FakeObjectClient : public ObjectClient {
 public:
  using Key = std::tuple<Kind, std::string, std::string>;

  // Returned by every call routed to `service` while not OK.
  absl::Status service_error[kServiceCount];
  // Returned by Apply for the object named `name` (any kind), if set.
  std::map<std::string, absl::Status> apply_errors;
  // Warnings every Apply returns.
  std::vector<std::string> apply_warnings;
  std::map<Key, AnyObject> objects;
  // "Apply reflector ImageRepository flux-system/app", ...
  std::vector<std::string> calls;

  void Put(const AnyObject& object) {
    const v1::ObjectMeta& meta = MetaOf(object);
    objects[{KindOfObject(object), meta.namespace_(), meta.name()}] = object;
  }

  absl::StatusOr<ApplyOutcome> Apply(const AnyObject& object) override {
    const Kind kind = KindOfObject(object);
    AnyObject stored = object;
    v1::ObjectMeta& meta = std::visit(
        [](auto& o) -> v1::ObjectMeta& { return *o.mutable_metadata(); },
        stored);
    if (meta.namespace_().empty()) meta.set_namespace_("flux-system");
    Log("Apply", kind, meta.namespace_(), meta.name());
    if (absl::Status s = ErrorOf(kind); !s.ok()) return s;
    if (auto it = apply_errors.find(meta.name()); it != apply_errors.end()) {
      return it->second;
    }
    const Key key{kind, meta.namespace_(), meta.name()};
    const bool existed = objects.count(key) > 0;
    objects[key] = stored;
    return ApplyOutcome{stored, existed ? "configured" : "created",
                        apply_warnings};
  }

  absl::StatusOr<AnyObject> Get(Kind kind, absl::string_view ns,
                                absl::string_view name) override {
    Log("Get", kind, ns, name);
    if (absl::Status s = ErrorOf(kind); !s.ok()) return s;
    auto it = objects.find({kind, std::string(ns), std::string(name)});
    if (it == objects.end()) return absl::NotFoundError("no such object");
    return it->second;
  }

  absl::StatusOr<std::vector<AnyObject>> List(Kind kind,
                                              absl::string_view ns) override {
    Log("List", kind, ns, "");
    if (absl::Status s = ErrorOf(kind); !s.ok()) return s;
    std::vector<AnyObject> out;
    for (const auto& [key, object] : objects) {
      if (std::get<0>(key) == kind && (ns.empty() || std::get<1>(key) == ns)) {
        out.push_back(object);
      }
    }
    return out;
  }

  absl::Status Delete(Kind kind, absl::string_view ns,
                      absl::string_view name) override {
    Log("Delete", kind, ns, name);
    if (absl::Status s = ErrorOf(kind); !s.ok()) return s;
    if (objects.erase({kind, std::string(ns), std::string(name)}) == 0) {
      return absl::NotFoundError("no such object");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Reconcile(Kind kind, absl::string_view ns,
                                        absl::string_view name) override {
    Log("Reconcile", kind, ns, name);
    if (absl::Status s = ErrorOf(kind); !s.ok()) return s;
    if (objects.count({kind, std::string(ns), std::string(name)}) == 0) {
      return absl::NotFoundError("no such object");
    }
    return std::string("2026-01-02T03:04:05Z");
  }

 private:
  absl::Status ErrorOf(Kind kind) const {
    return service_error[static_cast<int>(OwnerOf(kind))];
  }
  void Log(absl::string_view verb, Kind kind, absl::string_view ns,
           absl::string_view name) {
    calls.push_back(absl::StrCat(verb, " ", ServiceName(OwnerOf(kind)), " ",
                                 KindName(kind), " ", ns, "/", name));
  }
};

// Hands Run() a client that forwards to one the test owns.
class ForwardingClient : public ObjectClient {
 public:
  explicit ForwardingClient(ObjectClient* target) : target_(target) {}
  absl::StatusOr<ApplyOutcome> Apply(const AnyObject& object) override {
    return target_->Apply(object);
  }
  absl::StatusOr<AnyObject> Get(Kind kind, absl::string_view ns,
                                absl::string_view name) override {
    return target_->Get(kind, ns, name);
  }
  absl::StatusOr<std::vector<AnyObject>> List(Kind kind,
                                              absl::string_view ns) override {
    return target_->List(kind, ns);
  }
  absl::Status Delete(Kind kind, absl::string_view ns,
                      absl::string_view name) override {
    return target_->Delete(kind, ns, name);
  }
  absl::StatusOr<std::string> Reconcile(Kind kind, absl::string_view ns,
                                        absl::string_view name) override {
    return target_->Reconcile(kind, ns, name);
  }

 private:
  ObjectClient* target_;
};

}  // namespace ia::imagectl::testing

#endif  // TESTS_IMAGECTL_FAKE_CLIENT_H_
