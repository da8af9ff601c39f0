// Reflection for tools that meet an interface only at run time (doorctl, a remote client): the
// schema nodes needed to call an interface dynamically, and the interface as Cap'n Proto schema
// text that `capnp compile` accepts again.
#pragma once

#include <capnp/schema.h>

#include <string>
#include <vector>

namespace doors {

// Every schema node a client needs to call `root` dynamically and to print it as schema text:
// root first, then the parameter and result structs of its methods (in ordinal order), then its
// superclasses, and transitively (breadth first) every struct (groups included), enum and
// interface their fields and methods use, each once. Types of door.capnp (Door.Fd) are included
// like any other struct. Annotation declarations are not nodes of the result: schema_text maps
// the door annotations by their fixed ids.
//
// Throws std::invalid_argument for what the IDL front end rejects anyway (generic types,
// AnyPointer and its kin) and for a node that was never loaded (a SchemaLoader placeholder).
std::vector<capnp::Schema> schema_closure(capnp::InterfaceSchema root);

// Cap'n Proto schema text for `root` and every type of schema_closure(root), such that
// `capnp compile` (with import paths for /capnp/*.capnp and /doors/door.capnp) accepts it and
// yields the same interface: same names, ids (@0x... on every declaration), ordinals, field
// types, defaults, unions, groups, enums, method parameter and result lists, and the door
// annotations. Needs only the nodes of schema_closure (e.g. received over the wire and loaded
// into a capnp::SchemaLoader): no file nodes, no annotation declarations, no parents of nested
// types.
//
// The text is a complete file: a comment naming the root, a file id derived from the root's id
// (stable output), `using Door = import "/doors/door.capnp";` when needed, then the root's
// declaration and the others sorted by name, nested types inside their parents. A parent not in
// the closure becomes a shell struct holding only them, with the parent's id when a child names
// it. Types of door.capnp are referenced as `Door.Fd`, never declared; a name that a nested
// declaration would capture where it is used is written from the file's root (`.Point`). A default
// is printed unless it is the type's zero and the schema did not write it out. Doc comments are not
// in compiled nodes and so are not printed. Annotations other than door.capnp's cannot be printed
// without their declarations: each becomes a comment `# $0x<id>(<value>)` on the line before
// what it annotates. All types land in one file, so a name that cannot be kept (two files
// declaring `Foo`, a type named like a built-in such as `Text`) is renamed (`Foo2`, `Text2`)
// with a comment saying so.
//
// Throws std::invalid_argument like schema_closure, and for a node that cannot be expressed in
// schema text (an implicit parameter struct used as a field type, a door annotation whose value
// has the wrong type).
std::string schema_text(capnp::InterfaceSchema root);

}  // namespace doors
