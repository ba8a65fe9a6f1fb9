#include "tests/support/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/store.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "imageautomation/v1/reflector.pb.h"
#include "tests/support/objects.h"

namespace ia::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<char*> Argv(const std::string& binary,
                        const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      absl::StrCat(base && *base ? base : "/tmp", "/ia-test-XXXXXX");
  char* made = mkdtemp(tmpl.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::WriteFile(const std::string& name,
                               const std::string& content) const {
  const std::filesystem::path p = Join(name);
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

Process::Process(const std::string& binary,
                 const std::vector<std::string>& args,
                 const std::string& log_path)
    : log_path_(log_path) {
  std::vector<char*> argv = Argv(binary, args);
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    // Services block SIGTERM themselves and wait for it; start clean.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
}

Process::~Process() {
  if (Running()) Kill();
}

bool Process::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int Process::Terminate(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill();
  return -1;
}

void Process::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string Process::Log() const { return ReadAll(log_path_); }

CommandResult RunCommand(const std::string& binary,
                         const std::vector<std::string>& args,
                         const std::vector<std::string>& env) {
  TempDir dir;
  const std::string out_path = dir.Join("out"), err_path = dir.Join("err");
  std::vector<char*> argv = Argv(binary, args);
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadAll(out_path);
  result.err = ReadAll(err_path);
  return result;
}

Service::Service(ServiceOptions options, std::string log_path)
    : options_(std::move(options)),
      log_path_(std::move(log_path)),
      address_(absl::StrCat("127.0.0.1:", FreePort())) {}

Service::~Service() = default;

absl::Status Service::Start(absl::Duration timeout) {
  // gRPC's shutdown waits until the grace ends for clients that keep an
  // idle connection open (as tests do); keep that wait short.
  std::vector<std::string> args = {"--listen=" + address_,
                                   "--data-dir=" + options_.data_dir,
                                   "--shutdown-grace=1s"};
  args.insert(args.end(), options_.extra.begin(), options_.extra.end());
  process_ = std::make_unique<Process>(options_.binary, args, log_path_);
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    // A fresh channel per attempt: one whose first connect was refused may
    // take seconds to try again.
    auto channel = Channel();
    if (!process_->Running()) {
      return absl::InternalError(
          absl::StrCat(options_.binary, " exited; log:\n", Log()));
    }
    auto status = HealthCheck(channel, "");
    if (status.ok() && *status == 1) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(options_.binary, " not SERVING in time; log:\n", Log()));
}

std::shared_ptr<grpc::Channel> Service::Channel() const {
  // Reconnect quickly: tests start and restart services all the time.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address_,
                                   options_.credentials
                                       ? options_.credentials
                                       : grpc::InsecureChannelCredentials(),
                                   args);
}

absl::Status SeedReflectorStore(const std::string& data_dir,
                                const std::vector<std::string>& tags) {
  std::filesystem::create_directories(data_dir);
  auto store = Store::Open(data_dir + "/state.db");
  if (!store.ok()) return store.status();
  imageautomation::v1::ImageRepository repository =
      TestRepository("app", "registry.example/app", "1h");
  repository.mutable_metadata()->set_generation(1);
  absl::Status status = (*store)->Put("ImageRepository", "flux-system/app",
                                      repository.SerializeAsString());
  if (!status.ok()) return status;
  imageautomation::v1::TagSet tag_set;
  tag_set.mutable_repository()->set_namespace_("flux-system");
  tag_set.mutable_repository()->set_name("app");
  tag_set.set_image("registry.example/app");
  tag_set.set_revision("rev-1");
  for (const std::string& tag : tags) tag_set.add_tags()->set_name(tag);
  return (*store)->Put("TagSet", "flux-system/app",
                       tag_set.SerializeAsString());
}

bool Eventually(const std::function<bool()>& done, absl::Duration timeout,
                absl::Duration poll) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(poll);
  }
  return done();
}

HttpReply HttpGet(int port, const std::string& path) {
  HttpReply reply;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return reply;
  }
  const std::string request =
      "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  (void)!write(fd, request.data(), request.size());
  std::string raw;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) raw.append(buffer, n);
  close(fd);
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return reply;
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(raw).substr(0, end), "\r\n");
  std::vector<absl::string_view> status_line = absl::StrSplit(lines[0], ' ');
  if (status_line.size() < 2 ||
      !absl::SimpleAtoi(status_line[1], &reply.status)) {
    return reply;
  }
  for (absl::string_view line : lines) {
    if (absl::ConsumePrefix(&line, "Content-Type: ") ||
        absl::ConsumePrefix(&line, "content-type: ")) {
      reply.content_type = std::string(line);
    }
  }
  reply.body = raw.substr(end + 4);
  return reply;
}

absl::StatusOr<int> HealthCheck(std::shared_ptr<grpc::Channel> channel,
                                const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(2));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return static_cast<int>(response.status());
}

namespace {

// One request/response exchange on ServerReflectionInfo, over the generic
// stub (the reflection messages have no installed headers); the messages
// are encoded and decoded by field number.
absl::StatusOr<std::string> ReflectionCall(
    std::shared_ptr<grpc::Channel> channel, const std::string& request_bytes) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  auto step = [&](int id) {
    return cq.Next(&tag, &ok) && ok && tag == reinterpret_cast<void*>(id);
  };
  call->StartCall(reinterpret_cast<void*>(1));
  if (!step(1))
    return absl::UnavailableError("reflection: cannot start the call");
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  if (!step(2)) return absl::UnavailableError("reflection: write failed");
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  if (!step(3)) return absl::UnavailableError("reflection: read failed");
  call->WritesDone(reinterpret_cast<void*>(4));
  step(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  std::vector<grpc::Slice> slices;
  response.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes;
}

std::string LengthDelimited(int field, const std::string& value) {
  std::string out;
  out.push_back(static_cast<char>(field << 3 | 2));
  uint64_t n = value.size();
  do {
    char byte = n & 0x7f;
    n >>= 7;
    if (n) byte |= 0x80;
    out.push_back(byte);
  } while (n);
  return out + value;
}

// The bytes of the length-delimited field `field` of the message `bytes`;
// or the reflection error_response (field 7) as a Status.
absl::StatusOr<std::string> SubMessage(const std::string& bytes, int field) {
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) {
    return absl::DataLossError("reflection: response does not parse");
  }
  for (int i = 0; i < fields.field_count(); ++i) {
    const auto& f = fields.field(i);
    if (f.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED)
      continue;
    if (f.number() == field) return f.length_delimited();
    if (f.number() == 7) {
      return absl::NotFoundError("reflection: error_response");
    }
  }
  return absl::NotFoundError(absl::StrCat("reflection: no field ", field));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ReflectionListServices(
    std::shared_ptr<grpc::Channel> channel) {
  // ServerReflectionRequest.list_services = 7.
  auto response = ReflectionCall(channel, LengthDelimited(7, "*"));
  if (!response.ok()) return response.status();
  // ServerReflectionResponse.list_services_response = 6 { service = 1 { name =
  // 1 } }.
  auto list_bytes = SubMessage(*response, 6);
  if (!list_bytes.ok()) return list_bytes.status();
  google::protobuf::UnknownFieldSet list;
  list.ParseFromString(*list_bytes);
  std::vector<std::string> names;
  for (int i = 0; i < list.field_count(); ++i) {
    google::protobuf::UnknownFieldSet service;
    service.ParseFromString(list.field(i).length_delimited());
    for (int j = 0; j < service.field_count(); ++j) {
      if (service.field(j).number() == 1)
        names.push_back(service.field(j).length_delimited());
    }
  }
  return names;
}

absl::StatusOr<std::vector<google::protobuf::FileDescriptorProto>>
ReflectionFileContainingSymbol(std::shared_ptr<grpc::Channel> channel,
                               const std::string& symbol) {
  // ServerReflectionRequest.file_containing_symbol = 4.
  auto response = ReflectionCall(channel, LengthDelimited(4, symbol));
  if (!response.ok()) return response.status();
  // ServerReflectionResponse.file_descriptor_response = 4 { repeated bytes
  // file_descriptor_proto = 1 }.
  auto files_bytes = SubMessage(*response, 4);
  if (!files_bytes.ok()) return files_bytes.status();
  google::protobuf::UnknownFieldSet files;
  files.ParseFromString(*files_bytes);
  std::vector<google::protobuf::FileDescriptorProto> out;
  for (int i = 0; i < files.field_count(); ++i) {
    google::protobuf::FileDescriptorProto file;
    if (!file.ParseFromString(files.field(i).length_delimited())) {
      return absl::DataLossError("reflection: bad file descriptor");
    }
    out.push_back(std::move(file));
  }
  return out;
}

}  // namespace ia::testing
