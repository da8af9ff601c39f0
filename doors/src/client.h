// The client side of libdoors, as other parts of the library see it.
#pragma once

#include <door.h>
#include <stdint.h>

#include <mutex>

#include "wire.h"

namespace doors::detail {

// The door id behind a descriptor: a door socket, or an attached file (converted to a door
// socket in place on first use, as DESIGN.md describes). -1 with errno EBADF when fd is no door.
int resolve_door(int fd, uint64_t* id);

// fattach.cpp: replaces a descriptor of an attached file by a primary socket of its door.
// -1 with errno EBADF when nothing (trustworthy) is attached to the file.
int convert_attached(int fd);

// Serialises convert_attached; held across fork(2) so that a child never inherits it locked.
std::mutex& convert_mutex();

// Remembers what a server said of its door (from kWelcome and kInfo).
void remember_info(const WireInfo& info);

// Attributes to report for a descriptor passed to us (DOOR_DESCRIPTOR, the door's attributes
// when it is a door, DOOR_LOCAL when it is one of ours) and its d_id.
void describe_received(int fd, const DescMeta& meta, door_desc_t* out);

// The metadata a sender gives for a descriptor it passes.
void describe_sent(int fd, DescMeta* out);

// door_info_t from the wire form.
void fill_door_info(const WireInfo& w, door_info_t* out, bool local);

}  // namespace doors::detail
