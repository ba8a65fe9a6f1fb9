// A gMock of the reflector's generated v1::Reflector::StubInterface, for
// tests that build a client of the reflector (the policy reconciler's digest
// lookup) without a server. The methods are those grpc_cpp_plugin's
// generate_mock_code=true writes (MockReflectorStub); should the build
// generate mocks one day, this file can go.
#ifndef TESTS_POLICY_MOCK_REFLECTOR_STUB_H_
#define TESTS_POLICY_MOCK_REFLECTOR_STUB_H_

#include "gmock/gmock.h"
#include "grpcpp/support/async_stream.h"
#include "grpcpp/support/async_unary_call.h"
#include "grpcpp/support/sync_stream.h"
#include "imageautomation/v1/reflector.grpc.pb.h"

namespace ia::policy::testing {

namespace v1 = ::imageautomation::v1;

class MockReflectorStub : public v1::Reflector::StubInterface {
 public:
  MOCK_METHOD(grpc::Status, ApplyImageRepository,
              (grpc::ClientContext*, const v1::ApplyImageRepositoryRequest&,
               v1::ApplyImageRepositoryResponse*),
              (override));
  MOCK_METHOD(grpc::ClientAsyncResponseReaderInterface<
                  v1::ApplyImageRepositoryResponse>*,
              AsyncApplyImageRepositoryRaw,
              (grpc::ClientContext*, const v1::ApplyImageRepositoryRequest&,
               grpc::CompletionQueue*),
              (override));
  MOCK_METHOD(grpc::ClientAsyncResponseReaderInterface<
                  v1::ApplyImageRepositoryResponse>*,
              PrepareAsyncApplyImageRepositoryRaw,
              (grpc::ClientContext*, const v1::ApplyImageRepositoryRequest&,
               grpc::CompletionQueue*),
              (override));
  MOCK_METHOD(grpc::Status, GetImageRepository,
              (grpc::ClientContext*, const v1::ObjectKey&,
               v1::ImageRepository*),
              (override));
  MOCK_METHOD(grpc::ClientAsyncResponseReaderInterface<v1::ImageRepository>*,
              AsyncGetImageRepositoryRaw,
              (grpc::ClientContext*, const v1::ObjectKey&,
               grpc::CompletionQueue*),
              (override));
  MOCK_METHOD(grpc::ClientAsyncResponseReaderInterface<v1::ImageRepository>*,
              PrepareAsyncGetImageRepositoryRaw,
              (grpc::ClientContext*, const v1::ObjectKey&,
               grpc::CompletionQueue*),
              (override));
  MOCK_METHOD(grpc::Status, ListImageRepositories,
              (grpc::ClientContext*, const v1::ListRequest&,
               v1::ImageRepositoryList*),
              (override));
  MOCK_METHOD(
      grpc::ClientAsyncResponseReaderInterface<v1::ImageRepositoryList>*,
      AsyncListImageRepositoriesRaw,
      (grpc::ClientContext*, const v1::ListRequest&, grpc::CompletionQueue*),
      (override));
  MOCK_METHOD(
      grpc::ClientAsyncResponseReaderInterface<v1::ImageRepositoryList>*,
      PrepareAsyncListImageRepositoriesRaw,
      (grpc::ClientContext*, const v1::ListRequest&, grpc::CompletionQueue*),
      (override));
  MOCK_METHOD(grpc::Status, DeleteImageRepository,
              (grpc::ClientContext*, const v1::ObjectKey&, v1::DeleteResponse*),
              (override));
  MOCK_METHOD(grpc::ClientAsyncResponseReaderInterface<v1::DeleteResponse>*,
              AsyncDeleteImageRepositoryRaw,
              (grpc::ClientContext*, const v1::ObjectKey&,
               grpc::CompletionQueue*),
              (override));
  MOCK_METHOD(grpc::ClientAsyncResponseReaderInterface<v1::DeleteResponse>*,
              PrepareAsyncDeleteImageRepositoryRaw,
              (grpc::ClientContext*, const v1::ObjectKey&,
               grpc::CompletionQueue*),
              (override));
  MOCK_METHOD(grpc::Status, ReconcileImageRepository,
              (grpc::ClientContext*, const v1::ObjectKey&,
               v1::ReconcileResponse*),
              (override));
  MOCK_METHOD(grpc::ClientAsyncResponseReaderInterface<v1::ReconcileResponse>*,
              AsyncReconcileImageRepositoryRaw,
              (grpc::ClientContext*, const v1::ObjectKey&,
               grpc::CompletionQueue*),
              (override));
  MOCK_METHOD(grpc::ClientAsyncResponseReaderInterface<v1::ReconcileResponse>*,
              PrepareAsyncReconcileImageRepositoryRaw,
              (grpc::ClientContext*, const v1::ObjectKey&,
               grpc::CompletionQueue*),
              (override));
  MOCK_METHOD(grpc::ClientReaderInterface<v1::TagSetEvent>*, WatchTagSetsRaw,
              (grpc::ClientContext*, const v1::WatchTagSetsRequest&),
              (override));
  MOCK_METHOD(grpc::ClientAsyncReaderInterface<v1::TagSetEvent>*,
              AsyncWatchTagSetsRaw,
              (grpc::ClientContext*, const v1::WatchTagSetsRequest&,
               grpc::CompletionQueue*, void*),
              (override));
  MOCK_METHOD(grpc::ClientAsyncReaderInterface<v1::TagSetEvent>*,
              PrepareAsyncWatchTagSetsRaw,
              (grpc::ClientContext*, const v1::WatchTagSetsRequest&,
               grpc::CompletionQueue*),
              (override));
  MOCK_METHOD(grpc::Status, ListTags,
              (grpc::ClientContext*, const v1::ListTagsRequest&,
               v1::ListTagsResponse*),
              (override));
  MOCK_METHOD(grpc::ClientAsyncResponseReaderInterface<v1::ListTagsResponse>*,
              AsyncListTagsRaw,
              (grpc::ClientContext*, const v1::ListTagsRequest&,
               grpc::CompletionQueue*),
              (override));
  MOCK_METHOD(grpc::ClientAsyncResponseReaderInterface<v1::ListTagsResponse>*,
              PrepareAsyncListTagsRaw,
              (grpc::ClientContext*, const v1::ListTagsRequest&,
               grpc::CompletionQueue*),
              (override));
  MOCK_METHOD(grpc::Status, GetTagDigest,
              (grpc::ClientContext*, const v1::GetTagDigestRequest&,
               v1::GetTagDigestResponse*),
              (override));
  MOCK_METHOD(
      grpc::ClientAsyncResponseReaderInterface<v1::GetTagDigestResponse>*,
      AsyncGetTagDigestRaw,
      (grpc::ClientContext*, const v1::GetTagDigestRequest&,
       grpc::CompletionQueue*),
      (override));
  MOCK_METHOD(
      grpc::ClientAsyncResponseReaderInterface<v1::GetTagDigestResponse>*,
      PrepareAsyncGetTagDigestRaw,
      (grpc::ClientContext*, const v1::GetTagDigestRequest&,
       grpc::CompletionQueue*),
      (override));
};

}  // namespace ia::policy::testing

#endif  // TESTS_POLICY_MOCK_REFLECTOR_STUB_H_
