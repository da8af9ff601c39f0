# door.capnp: the annotations a Doors interface is written with.
#
# Import it as
#
#   using Door = import "/doors/door.capnp";
#
# The installed copy lives in <prefix>/include/doors/door.capnp; the front end (`doors_idl`, and so
# `doorc`) puts the directory holding `doors/door.capnp` on the import path by default. With
# `capnp compile` add `-I <prefix>/include` (the usual /usr/include and /usr/local/include are
# searched by default).
#
# Every id below is fixed for ever: generated code and the front end match annotations by id, not
# by name. Never change one; add new annotations with new ids (`capnp id`). The front end rejects
# an annotation from this file that it does not know (a newer door.capnp than doorc), so a stale
# generator cannot silently drop an attribute.
#
# Limits are written on a method, or on an interface where they are the default for every method
# of it (a method's own annotation wins). An unannotated limit keeps the runtime's documented
# default.

@0xa0e8d9f2731b75da;

$import "/capnp/c++.capnp".namespace("doors::schema");

# ---------------------------------------------------------------------------------------------
# Where a server is found

annotation frobnicate @0xdca46094928e6c1f (interface) :Void;
# A newer door.capnp: an annotation this doorc does not know (test only).

annotation path @0x9c4f55846bde9a17 (interface) :Text;
# The default path of the interface: the name a server attaches the door to (fattach(3C)) and a
# client opens, unless the program passes another one. Must not be empty or contain a NUL byte;
# two interfaces of one file cannot share a path. An interface without it (say, one only ever
# returned by another method) has no default path.

# ---------------------------------------------------------------------------------------------
# Door attributes: door_create(3C) flags of the door that serves the interface. All Void.

annotation unref @0x9736e03606429727 (interface) :Void;
# DOOR_UNREF: the server is told once when the last client reference to the door goes away
# (the generated server gets an "unreferenced" callback).

annotation unrefMulti @0xf39006cdf7c79265 (interface) :Void;
# DOOR_UNREF_MULTI: like `unref`, but delivered again each time the reference count drops to one
# after new references were made. Implies `unref`; writing both is allowed.

annotation refuseDescriptors @0xbe502fd9f7a0a5ab (interface) :Void;
# DOOR_REFUSE_DESC: calls that carry descriptors fail with ENOTSUP before reaching the server.
# The front end rejects it on an interface whose method parameters contain a `Fd` (results may
# still carry descriptors back to the client).

annotation noCancel @0xb3129ca35d993a43 (interface) :Void;
# DOOR_NO_CANCEL: a client that gives up (signal, deadline) does not cancel the server thread;
# the handler runs to completion and its result is discarded.

annotation privatePool @0x979dc4ac04416811 (interface) :Void;
# DOOR_PRIVATE: the door is served by its own pool of server threads (door_bind(3C)) instead of
# the process-wide pool.

# ---------------------------------------------------------------------------------------------
# Per-method limits (on a method, or on an interface as the default for its methods)

annotation maxArgBytes @0xb16707efafe9d2d6 (method, interface) :UInt64;
# Largest argument (the encoded parameters) the server accepts, in bytes; a larger call fails
# before the handler runs. Must be greater than zero.

annotation maxDescriptors @0xe14f04339e8cc606 (method, interface) :UInt32;
# Most descriptors one call may carry to the server (door_desc_t entries). Zero means the method
# takes none; the front end rejects zero on a method whose parameters contain a `Fd`.

annotation timeoutMs @0xa553849acccffa37 (method, interface) :UInt32;
# Default deadline of a call, in milliseconds, when the caller sets none. Must be greater than
# zero; without it the runtime's default applies.

# ---------------------------------------------------------------------------------------------
# Types

struct Fd @0x9bfa998dd387f3df {
  # A file descriptor passed with a call or a reply. On the wire it is not the descriptor number:
  # `index` is the position of the descriptor in that message's descriptor list (the
  # door_desc_t array of door_call(3C) / door_return(3C)), counted from zero. The generated code
  # fills the list and the indexes on the sending side and turns indexes back into descriptors,
  # owned by the receiver, on the other. An index past the end of the list is a bad message.
  # Use it as a field type: `openLog @3 (name :Text) -> (log :Door.Fd)`; `List(Door.Fd)` passes
  # several.

  index @0 :UInt32;
}
