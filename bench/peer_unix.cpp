// Peers made of plain kernel objects: a Unix SOCK_STREAM socket with a server thread per
// connection (each client thread connects on its own), and pipe pairs with a server thread per
// pair. A request is an 8-byte length and that many bytes; the reply is their 8-byte checksum.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include "cases.h"

namespace bench {
namespace {

constexpr size_t kStreamArgMax = kMiB;  // the largest argument a peer is sent
constexpr int kPipePairs = 4;           // one per client thread of the largest thread case

std::string g_socket_path;
struct PipePair {
  int to_server[2];  // client writes [1], server reads [0]
  int to_client[2];  // server writes [1], client reads [0]
};
PipePair g_pipes[kPipePairs];

// Serves requests from in, replies on out, until the client goes away.
void serve_stream(int in, int out) {
  std::unique_ptr<char[]> buf(new char[kStreamArgMax]);
  for (;;) {
    uint64_t len = 0;
    if (!read_full(in, &len, sizeof len)) return;
    if (len > kStreamArgMax || !read_full(in, buf.get(), len)) return;
    uint64_t sum = checksum(buf.get(), len);
    if (!write_full(out, &sum, sizeof sum)) return;
  }
}

[[noreturn]] void run_socket_server(int ready_fd) {
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", g_socket_path.c_str());
  if (lfd == -1 || bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == -1 ||
      listen(lfd, 64) == -1) {
    std::perror("unix server: socket/bind/listen");
    _exit(1);
  }
  signal_ready(ready_fd);
  for (;;) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd == -1) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      _exit(1);
    }
    std::thread([fd] {
      serve_stream(fd, fd);
      close(fd);
    }).detach();
  }
}

[[noreturn]] void run_pipe_server(int ready_fd) {
  for (PipePair& p : g_pipes) {
    close(p.to_server[1]);
    close(p.to_client[0]);
  }
  std::vector<std::thread> threads;
  for (PipePair& p : g_pipes) {
    threads.emplace_back([&p] { serve_stream(p.to_server[0], p.to_client[1]); });
  }
  signal_ready(ready_fd);
  for (auto& t : threads) t.join();  // all clients gone
  _exit(0);
}

// One request: header and payload in one writev, then whatever it left over, then the reply.
void stream_call(int out, int in, const char* data, size_t size, uint64_t expect) {
  uint64_t len = size;
  iovec iov[2] = {{&len, sizeof len}, {const_cast<char*>(data), size}};
  ssize_t put = writev(out, iov, size > 0 ? 2 : 1);
  if (put < 0) fail(errno_text("writev"));
  size_t sent = static_cast<size_t>(put);
  if (sent < sizeof len) {
    if (!write_full(out, reinterpret_cast<char*>(&len) + sent, sizeof len - sent)) {
      fail(errno_text("write"));
    }
    sent = sizeof len;
  }
  if (!write_full(out, data + (sent - sizeof len), size - (sent - sizeof len))) {
    fail(errno_text("write"));
  }
  uint64_t got = 0;
  if (!read_full(in, &got, sizeof got)) fail(errno ? errno_text("read") : "server closed");
  if (got != expect) fail("stream: wrong reply");
}

// A connection of one client thread; closing it ends its server thread.
struct Connection {
  int fd = -1;
  ~Connection() {
    if (fd != -1) close(fd);
  }
};

MakeCall socket_caller(size_t size) {
  return [size](int) -> Call {
    auto conn = std::make_shared<Connection>();
    conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", g_socket_path.c_str());
    if (conn->fd == -1 ||
        connect(conn->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == -1) {
      fail(errno_text("connect"));
    }
    auto arg = std::make_shared<std::vector<char>>(make_argument(size));
    uint64_t expect = checksum(arg->data(), size);
    return
        [conn, arg, expect] { stream_call(conn->fd, conn->fd, arg->data(), arg->size(), expect); };
  };
}

// Client thread i uses pipe pair i (cases run one after another, so pairs are never shared).
MakeCall pipe_caller(size_t size) {
  return [size](int i) -> Call {
    if (i >= kPipePairs) fail("pipe: more client threads than pipe pairs");
    const PipePair* p = &g_pipes[i];
    auto arg = std::make_shared<std::vector<char>>(make_argument(size));
    uint64_t expect = checksum(arg->data(), size);
    return [p, arg, expect] {
      stream_call(p->to_server[1], p->to_client[0], arg->data(), arg->size(), expect);
    };
  };
}

}  // namespace

bool start_unix_servers(Children& children) {
  g_socket_path = children.dir() + "/unix_stream.sock";
  if (children.spawn_ready("unix stream server", run_socket_server) == -1) return false;
  for (PipePair& p : g_pipes) {
    if (pipe2(p.to_server, O_CLOEXEC) == -1 || pipe2(p.to_client, O_CLOEXEC) == -1) {
      std::perror("error: pipe2");
      return false;
    }
  }
  if (children.spawn_ready("pipe server", run_pipe_server) == -1) return false;
  for (PipePair& p : g_pipes) {  // the server's ends
    close(p.to_server[0]);
    close(p.to_client[1]);
  }
  return true;
}

void register_unix_cases() {
  add_peer_cases("unix_stream", socket_caller);
  add_peer_cases("pipe", pipe_caller);
}

}  // namespace bench
