// The Reflector gRPC service (imageautomation.v1.Reflector): the object RPCs
// for ImageRepository, ListTags and GetTagDigest on the sync API (short
// store reads, one registry request), WatchTagSets on the callback API. It
// reads only: the reconciler writes tag sets and status.
//
// Thread-safe.
#ifndef SERVICES_REFLECTOR_REFLECTOR_RPC_H_
#define SERVICES_REFLECTOR_REFLECTOR_RPC_H_

#include <memory>
#include <string>

#include "common/feed.h"
#include "common/object_store.h"
#include "common/secrets.h"
#include "services/reflector/registry_client.h"
#include "services/reflector/scan_options.h"
#include "services/reflector/tag_set_store.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace ia::reflector {

// What the service reads; none owned, all must outlive it.
struct ReflectorRpcPorts {
  ObjectStore<v1::ImageRepository>* repositories;
  TagSetStore* tag_sets;
  Feed* tag_set_feed;  // see ReconcilerPorts::tag_set_feed
  RegistryClient* registry;
  const Secrets* secrets;
  ScanLimits limits;
};

std::unique_ptr<grpc::Service> MakeReflectorRpc(ReflectorRpcPorts ports);

// "imageautomation.v1.Reflector", for health.
std::string ReflectorRpcName();

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_REFLECTOR_RPC_H_
