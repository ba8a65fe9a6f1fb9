// Faults through the real binaries (issue 15, section 3): a store file the
// service must not serve from; a full --data-dir; a registry answering 500
// for a while.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/objects.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "tests/support/fake_registry.h"
#include "tests/support/harness.h"
#include "tests/support/objects.h"
#include "tests/support/tmpfs.h"

namespace ia::testing {
namespace {

namespace v1 = ::imageautomation::v1;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Overwrites bytes of `path` at `offset`.
void Patch(const std::string& path, std::streamoff offset,
           const std::string& bytes) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(file.good()) << path;
  file.seekp(offset);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

grpc::Status ApplyRepository(v1::Reflector::Stub& stub,
                             const std::string& name) {
  v1::ApplyImageRepositoryRequest request;
  *request.mutable_object() =
      TestRepository(name, "registry.example:5000/team/app", "1h");
  v1::ApplyImageRepositoryResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  return stub.ApplyImageRepository(&context, request, &response);
}

grpc::Status GetRepository(v1::Reflector::Stub& stub, const std::string& name) {
  v1::ObjectKey key;
  key.set_namespace_("flux-system");
  key.set_name(name);
  v1::ImageRepository got;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  return stub.GetImageRepository(&context, key, &got);
}

// A state.db that is not a database: the reflector exits at once saying
// what to do, and leaves the file as it was.
TEST(CorruptStore, NotADatabaseRefusesToStartAndKeepsTheFile) {
  TempDir dir;
  const std::string data_dir = dir.Join("data");
  const std::string db =
      dir.WriteFile("data/state.db", std::string(64 * 1024, 'x'));
  const std::string before = ReadFile(db);
  Service service(ServiceOptions{IA_REFLECTOR_BIN, data_dir},
                  dir.Join("reflector.log"));
  absl::Status started = service.Start();
  ASSERT_FALSE(started.ok()) << "the reflector served from a non-database";
  EXPECT_THAT(started.message(), HasSubstr("exited"));
  EXPECT_THAT(service.Log(), HasSubstr("cannot open the store"));
  EXPECT_THAT(service.Log(), HasSubstr(db));
  EXPECT_THAT(service.Log(), HasSubstr("not a database"));
  EXPECT_THAT(service.Log(), HasSubstr("restore the file from a backup"));
  EXPECT_EQ(ReadFile(db), before);
}

// A store stamped by a newer release (schema version 2 in the header, at
// byte 60): refused, kept, and served again in full once the version fits.
TEST(CorruptStore, NewerSchemaRefusesToStartAndLosesNothing) {
  TempDir dir;
  const std::string data_dir = dir.Join("data");
  const std::string db = data_dir + "/state.db";
  Service service(ServiceOptions{IA_REFLECTOR_BIN, data_dir},
                  dir.Join("reflector.log"));
  ASSERT_TRUE(service.Start().ok()) << service.Log();
  {
    auto stub = v1::Reflector::NewStub(service.Channel());
    ASSERT_TRUE(ApplyRepository(*stub, "kept").ok());
  }
  // A clean stop checkpoints the WAL into state.db.
  ASSERT_EQ(service.Terminate(), 0) << service.Log();

  Patch(db, 60, std::string("\0\0\0\2", 4));
  const std::string stamped = ReadFile(db);
  absl::Status started = service.Start();
  ASSERT_FALSE(started.ok()) << "the reflector served a newer schema";
  EXPECT_THAT(service.Log(), HasSubstr("schema version 2, newer than"));
  EXPECT_THAT(service.Log(), HasSubstr("Run that newer release"));
  EXPECT_EQ(ReadFile(db), stamped);

  Patch(db, 60, std::string("\0\0\0\1", 4));
  ASSERT_TRUE(service.Start().ok()) << service.Log();
  auto stub = v1::Reflector::NewStub(service.Channel());
  EXPECT_TRUE(GetRepository(*stub, "kept").ok());
}

// The value of the series `series` (name and labels as rendered) in a
// Prometheus text exposition, or 0 when absent.
double SeriesValue(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, series) && absl::ConsumePrefix(&line, " ")) {
      double value = 0;
      if (absl::SimpleAtod(line, &value)) return value;
    }
  }
  return 0;
}

// --data-dir on a 4 MiB tmpfs, filled to the last byte while objects are
// applied: the writes that cannot be kept fail with RESOURCE_EXHAUSTED and
// are counted; every acknowledged one is kept and no refused one is half
// there; once space returns the service writes again by itself, and a
// restart serves exactly what was acknowledged.
TEST(DiskFull, WritesFailClearlyNothingIsLostAndServiceRecovers) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<Tmpfs>> mount =
      Tmpfs::Mount(dir.Join("data"), 4 << 20);
  if (!mount.ok()) GTEST_SKIP() << mount.status();
  const std::string data_dir = (*mount)->path() + "/reflector";
  int http_port = FreePort();
  Service service(
      ServiceOptions{IA_REFLECTOR_BIN,
                     data_dir,
                     {absl::StrCat("--http-listen=127.0.0.1:", http_port)}},
      dir.Join("reflector.log"));
  ASSERT_TRUE(service.Start().ok()) << service.Log();
  auto stub = v1::Reflector::NewStub(service.Channel());

  std::vector<std::string> acknowledged;
  for (int i = 0; i < 5; ++i) {
    const std::string name = absl::StrCat("before-", i);
    ASSERT_TRUE(ApplyRepository(*stub, name).ok());
    acknowledged.push_back(name);
  }
  absl::StatusOr<int64_t> filled = FillDisk((*mount)->path() + "/filler");
  ASSERT_TRUE(filled.ok()) << filled.status();

  // Space SQLite had already (WAL frames it reuses) may take a few more.
  std::vector<std::string> refused;
  for (int i = 0; i < 400 && refused.size() < 3; ++i) {
    const std::string name = absl::StrCat("during-", i);
    grpc::Status status = ApplyRepository(*stub, name);
    if (status.ok()) {
      acknowledged.push_back(name);
      continue;
    }
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("full"));
    refused.push_back(name);
  }
  ASSERT_EQ(refused.size(), 3u) << "no write failed on a full disk";
  EXPECT_GE(SeriesValue(HttpGet(http_port, "/metrics").body,
                        "ia_store_errors_total{reason=\"disk_full\"}"),
            3);
  for (const std::string& name : acknowledged) {
    EXPECT_TRUE(GetRepository(*stub, name).ok()) << name;
  }
  for (const std::string& name : refused) {
    EXPECT_EQ(GetRepository(*stub, name).error_code(),
              grpc::StatusCode::NOT_FOUND)
        << name;
  }

  // Space returns: the next write succeeds, no restart needed.
  std::filesystem::remove((*mount)->path() + "/filler");
  EXPECT_TRUE(Eventually([&] { return ApplyRepository(*stub, "after").ok(); }))
      << service.Log();
  acknowledged.push_back("after");

  ASSERT_EQ(service.Terminate(), 0) << service.Log();
  ASSERT_TRUE(service.Start().ok()) << service.Log();
  stub = v1::Reflector::NewStub(service.Channel());
  for (const std::string& name : acknowledged) {
    EXPECT_TRUE(GetRepository(*stub, name).ok()) << name;
  }
  for (const std::string& name : refused) {
    EXPECT_EQ(GetRepository(*stub, name).error_code(),
              grpc::StatusCode::NOT_FOUND)
        << name;
  }
  ASSERT_EQ(service.Terminate(), 0) << service.Log();
}

// The registry answers 500 to its first four requests: the reflector
// reports Ready False and scans again with the queue's backoff (0.5 s, 1 s,
// 2 s, 4 s), not only after the 1h interval, so it recovers by itself, with
// no reconcile asked for, and stores every tag.
TEST(RegistryErrors, FiveHundredsForAWhileThenEveryTagIsStored) {
  TempDir dir;
  FakeRegistry registry;
  ASSERT_TRUE(registry.Start().ok());
  registry.SetTags("team/app", {"1.0.0", "1.1.0", "1.2.0"});
  constexpr int kFaults = 4;
  registry.AddFault("/v2/", RegistryFault::Status(500), kFaults);

  Service service(ServiceOptions{IA_REFLECTOR_BIN, dir.Join("data")},
                  dir.Join("reflector.log"));
  ASSERT_TRUE(service.Start().ok()) << service.Log();
  auto stub = v1::Reflector::NewStub(service.Channel());
  v1::ApplyImageRepositoryRequest request;
  *request.mutable_object() =
      TestRepository("app", registry.host() + "/team/app", "1h");
  request.mutable_object()->mutable_spec()->set_insecure(true);
  v1::ApplyImageRepositoryResponse response;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->ApplyImageRepository(&context, request, &response).ok());
  }
  auto ready = [&](absl::string_view want) {
    v1::ObjectKey key;
    key.set_namespace_("flux-system");
    key.set_name("app");
    v1::ImageRepository got;
    grpc::ClientContext context;
    if (!stub->GetImageRepository(&context, key, &got).ok()) return false;
    const v1::Condition* c = FindCondition(got.status().conditions(), kReady);
    return c != nullptr && c->status() == want;
  };
  EXPECT_TRUE(Eventually([&] { return ready(kFalse); }))
      << "no failed scan while the registry answered 500\n"
      << service.Log();
  const absl::Time failed_at = absl::Now();
  ASSERT_TRUE(Eventually([&] { return ready(kTrue); }, absl::Seconds(120)))
      << "no recovery after the 500s\n"
      << service.Log();
  const absl::Duration recovery = absl::Now() - failed_at;
  v1::ListTagsRequest list;
  list.mutable_repository()->set_namespace_("flux-system");
  list.mutable_repository()->set_name("app");
  v1::ListTagsResponse tags;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->ListTags(&context, list, &tags).ok());
  std::vector<std::string> names;
  for (const v1::Tag& tag : tags.tags()) names.push_back(tag.name());
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names, ::testing::ElementsAre("1.0.0", "1.1.0", "1.2.0"));
  std::cout << "registry 500 x" << kFaults << ": recovered "
            << absl::FormatDuration(recovery)
            << " after Ready False, by itself\n";
}

}  // namespace
}  // namespace ia::testing
