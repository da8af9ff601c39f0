// gRPC C++ over a unix: socket: a synchronous server (gRPC's own thread pool) and a synchronous
// stub per client thread, each on its own channel and connection (a local subchannel pool, or
// gRPC would share one connection between channels to the same address).
#include "cases.h"

#ifdef DOORS_BENCH_GRPC

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "bench.grpc.pb.h"

namespace bench {
namespace {

std::string g_grpc_address;  // "unix:<path>"
constexpr int kMaxMessage = 4 * static_cast<int>(kMiB);

class GrpcBench final : public doors_bench::GrpcBench::Service {
  grpc::Status Checksum(grpc::ServerContext*, const doors_bench::Payload* request,
                        doors_bench::Sum* reply) override {
    const std::string& data = request->data();
    reply->set_sum(checksum(data.data(), data.size()));
    return grpc::Status::OK;
  }
};

[[noreturn]] void run_grpc_server(int ready_fd) {
  GrpcBench service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(g_grpc_address, grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(kMaxMessage);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    std::fprintf(stderr, "grpc server: cannot listen on %s\n", g_grpc_address.c_str());
    _exit(1);
  }
  signal_ready(ready_fd);
  server->Wait();  // until SIGTERM ends the process
  _exit(1);
}

MakeCall grpc_caller(size_t size) {
  return [size](int) -> Call {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetMaxSendMessageSize(kMaxMessage);
    auto channel =
        grpc::CreateCustomChannel(g_grpc_address, grpc::InsecureChannelCredentials(), args);
    std::shared_ptr<doors_bench::GrpcBench::Stub> stub = doors_bench::GrpcBench::NewStub(channel);
    auto arg = std::make_shared<std::vector<char>>(make_argument(size));
    uint64_t expect = checksum(arg->data(), size);
    return [stub, arg, expect] {
      doors_bench::Payload request;
      request.set_data(arg->data(), arg->size());  // the copy a user makes to build the request
      doors_bench::Sum reply;
      grpc::ClientContext context;
      grpc::Status status = stub->Checksum(&context, request, &reply);
      if (!status.ok()) fail("grpc: " + status.error_message());
      if (reply.sum() != expect) fail("grpc: wrong reply");
    };
  };
}

}  // namespace

bool start_grpc_server(Children& children) {
  g_grpc_address = "unix:" + children.dir() + "/grpc.sock";
  return children.spawn_ready("grpc server", run_grpc_server) != -1;
}

void register_grpc_cases() { add_peer_cases("grpc", grpc_caller); }

}  // namespace bench

#else  // built without gRPC: bench/CMakeLists.txt said so when it configured

namespace bench {
bool start_grpc_server(Children&) { return true; }
void register_grpc_cases() {}
}  // namespace bench

#endif
