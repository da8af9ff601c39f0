// Server procedures the multi-process tests serve from forked children, and a server that
// takes commands (revoke, fdetach, exit) from the test.
#pragma once

#include <door.h>

#include <cstdint>
#include <memory>
#include <string>

#include "door_support.h"
#include "fd.h"
#include "forked_server.h"

namespace doors::test {

// Replies transformed(arguments).
void transform_proc(void* cookie, char* argp, std::size_t n, door_desc_t* dp, uint_t n_desc);

// Replies a Digest of the arguments.
struct Digest {
  std::uint64_t size;
  std::uint64_t hash;
};
void digest_proc(void* cookie, char* argp, std::size_t n, door_desc_t* dp, uint_t n_desc);

// Arguments: a std::uint64_t n. Replies pattern(n, n).
void sized_reply_proc(void* cookie, char* argp, std::size_t n, door_desc_t* dp, uint_t n_desc);

// Replies a Seen describing what the procedure was handed (and closes received descriptors).
struct Seen {
  std::uint8_t argp_null;
  std::uint8_t dp_null;
  std::uint64_t arg_size;
  std::uint32_t n_desc;
};
void seen_proc(void* cookie, char* argp, std::size_t n, door_desc_t* dp, uint_t n_desc);

// Replies with its arguments.
void echo_proc(void* cookie, char* argp, std::size_t n, door_desc_t* dp, uint_t n_desc);

// The tag command 'T' gives the door (doors_set_tag).
inline constexpr std::uint64_t kControlledServerTag = 0xd00c7a9000000001;

// A forked door server (transform_proc unless told otherwise) that also obeys commands sent by
// the test over a pipe: 'R' door_revoke, 'D' fdetach, 'C' close(2) of its door descriptor (the
// attachment keeps the door), 'T' doors_set_tag(kControlledServerTag), 'X' exit(0). Each command is
// answered with the errno of the operation (0 for success), except 'X'.
class ControlledServer {
 public:
  ControlledServer(const std::string& path, door_server_procedure_t* proc = transform_proc,
                   ServeOptions options = {});

  // True once the child reported ready (otherwise a test failure was added).
  bool ready() const { return ready_; }
  pid_t pid() const { return server_->pid(); }
  const ServedDoorInfo& info() const { return info_; }
  ForkedServer& process() { return *server_; }

  // Sends `command` and returns the child's answer, or -1 after a test failure when none came.
  int command(char command);

 private:
  Pipe commands_;
  Pipe answers_;
  std::unique_ptr<ForkedServer> server_;
  ServedDoorInfo info_{};
  bool ready_ = false;
};

}  // namespace doors::test
