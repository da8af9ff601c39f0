#include "procedures.h"

#include <doors/ext.h>
#include <gtest/gtest.h>
#include <stropts.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace doors::test {

void transform_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  char* out = reply_buffer(n);
  transform_into(out, argp, n);
  reply(std::string_view(out, n));
}

void digest_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  reply_value(Digest{n, digest(argp, n)});
}

void sized_reply_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  std::uint64_t size = 0;
  if (argp != nullptr && n == sizeof size) std::memcpy(&size, argp, sizeof size);
  reply_pattern(size, size);
}

void seen_proc(void*, char* argp, std::size_t n, door_desc_t* dp, uint_t n_desc) {
  for (uint_t i = 0; dp != nullptr && i < n_desc; ++i)
    if (dp[i].d_attributes & DOOR_DESCRIPTOR) ::close(dp[i].d_data.d_desc.d_descriptor);
  Seen seen{};
  seen.argp_null = argp == nullptr;
  seen.dp_null = dp == nullptr;
  seen.arg_size = n;
  seen.n_desc = n_desc;
  reply_value(seen);
}

void echo_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  reply(std::string_view(argp, argp == nullptr ? 0 : n));
}

ControlledServer::ControlledServer(const std::string& path, door_server_procedure_t* proc,
                                   ServeOptions options)
    : commands_(Pipe::make()), answers_(Pipe::make()) {
  server_ = std::make_unique<ForkedServer>([&](ForkedServer::Child& child) {
    if (options.setup) options.setup();
    int d = child_serve_at(path, proc, options.cookie, options.attrs, options.mode);
    ServedDoorInfo served{::getpid(), {}};
    if (door_info(d, &served.info) != 0) child_fail("door_info");
    child.ready_with(served);
    for (;;) {
      char c;
      ssize_t got = ::read(commands_.read_end.get(), &c, 1);
      if (got < 0 && errno == EINTR) continue;
      if (got != 1) ::_exit(0);  // the test is gone
      int rc = 0;
      switch (c) {
        case 'R':
          rc = door_revoke(d);
          break;
        case 'D':
          rc = fdetach(path.c_str());
          break;
        case 'C':
          rc = ::close(d);
          break;
        case 'T':
          rc = doors_set_tag(d, kControlledServerTag);
          break;
        case 'X':
          std::exit(0);
        default:
          errno = EINVAL;
          rc = -1;
      }
      int answer = rc == 0 ? 0 : errno;
      if (!write_all(answers_.write_end.get(), &answer, sizeof answer)) child_fail("answer");
    }
  });
  auto ok = server_->wait_ready();
  if (!ok) {
    ADD_FAILURE() << ok.message();
    return;
  }
  info_ = server_->payload_as<ServedDoorInfo>();
  ready_ = true;
}

int ControlledServer::command(char command) {
  if (!write_all(commands_.write_end.get(), &command, 1)) {
    ADD_FAILURE() << "cannot send command " << command << ": " << std::strerror(errno);
    return -1;
  }
  int answer = -1;
  if (!read_exact(answers_.read_end.get(), &answer, sizeof answer, Deadline::standard())) {
    ADD_FAILURE() << "no answer to command " << command;
    return -1;
  }
  return answer;
}

}  // namespace doors::test
