// Descriptors that are not doors, as rows for the EBADF tests of door_info, door_call and
// door_revoke.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "fd.h"
#include "temp_dir.h"

namespace doors::test {

struct NotADoor {
  const char* name;
  std::function<UniqueFd(const TempDir&)> make;  // the descriptor to use; invalid on failure
};

// A pipe, a regular file never attached, /dev/null, a Unix socket, a directory.
std::vector<NotADoor> not_a_door_rows();

inline std::string not_a_door_name(const ::testing::TestParamInfo<NotADoor>& info) {
  return info.param.name;
}

}  // namespace doors::test
