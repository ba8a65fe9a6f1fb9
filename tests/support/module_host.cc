#include "tests/support/module_host.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "gtest/gtest.h"
#include "tests/support/harness.h"

namespace ia::testing {

ModuleHost::ModuleHost(std::string dir, std::string service_name)
    : dir_(std::move(dir)), secrets_dir_(dir_ + "/secrets") {
  config_.name = std::move(service_name);
  config_.data_dir = dir_ + "/data";
  config_.secrets_dir = secrets_dir_;
  config_.workers = 2;
  if (std::getenv("IA_TEST_DEBUG") != nullptr) {
    log::Init(config_.name, log::Level::kDebug);
  }
}

ModuleHost::~ModuleHost() { Stop(); }

absl::Status ModuleHost::Start(const Factory& factory) {
  if (store_ == nullptr) {
    std::filesystem::create_directories(config_.data_dir);
    auto store = Store::Open(dir_ + "/state.db");
    if (!store.ok()) return store.status();
    store_ = *std::move(store);
    secrets_ = std::make_unique<Secrets>(secrets_dir_);
  }
  ServiceContext context{&config_, store_.get(), &clock_, secrets_.get()};
  auto module = factory(context);
  if (!module.ok()) return module.status();
  module_ = *std::move(module);
  module_->Start();
  grpc::ServerBuilder builder;
  for (auto& [service, name] : module_->Services())
    builder.RegisterService(service);
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &grpc_port_);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) return absl::InternalError("gRPC server not started");
  channel_ = server_->InProcessChannel(grpc::ChannelArguments());
  http_ = std::make_unique<HttpServer>();
  module_->RegisterHttp(*http_);
  return http_->Start("127.0.0.1:0");
}

void ModuleHost::Stop() {
  if (module_ == nullptr) return;
  http_->Stop();
  module_->Drain();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  module_->Stop();
  module_.reset();
  server_.reset();
  channel_.reset();
}

std::shared_ptr<grpc::Channel> ModuleHost::TcpChannel() const {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                             grpc::InsecureChannelCredentials());
}

bool ModuleHost::Eventually(const std::function<bool()>& done) {
  return ::ia::testing::Eventually(done, absl::Seconds(20),
                                   absl::Milliseconds(5));
}

absl::Time ModuleHost::AdvanceUntil(absl::Duration step,
                                    const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!done() && absl::Now() < deadline) {
    clock_.Advance(step);
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(done()) << "the condition did not hold within 20 s";
  return clock_.Now();
}

}  // namespace ia::testing
