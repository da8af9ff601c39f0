// The checked model of a schema: what the front end (load.h) returns and what doorc's emitters
// read. Plain, copyable values with no Cap'n Proto types in them, so emitters can be tested with
// hand-built models. Everything here has passed the front end's checks: no generics, no
// streaming, no superclasses, no AnyPointer, parameters written as lists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace doors::idl {

// A named declaration: struct, enum or interface, in this file or an imported one.
struct NamedRef {
  std::uint64_t id = 0;       // the Cap'n Proto type id
  std::string name;           // scope path inside its file, e.g. "Calculator" or "Outer.Inner"
  std::string file;           // display name of the declaring file (the path as it was opened)
  std::string cxx_namespace;  // the file's $Cxx.namespace, "" when it has none
};

enum class TypeKind {
  kVoid,
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kFloat32,
  kFloat64,
  kText,
  kData,
  kList,       // element[0] is the element type
  kEnum,       // named
  kStruct,     // named; a user struct (never Door.Fd)
  kGroup,      // named: the group's own node (scope path "Struct.group")
  kInterface,  // named: a door; passing one passes a door to a server of that interface
  kFd,         // Door.Fd: a file descriptor, carried as an index into the descriptor list
};

struct Type {
  TypeKind kind = TypeKind::kVoid;
  std::vector<Type> element;  // one element for kList, empty otherwise
  NamedRef named;             // kEnum, kStruct, kGroup, kInterface; empty otherwise
};

// A struct field or a method parameter / result (which Cap'n Proto stores as struct fields).
struct Field {
  std::string name;
  std::uint16_t ordinal = 0;  // the @N of a struct field; position for parameters
  Type type;
  std::string doc;  // doc comment as Cap'n Proto keeps it (lines end in '\n'), "" when none
  // Set for a member of the struct's unnamed union: the member's discriminant value.
  std::optional<std::uint16_t> discriminant;
};

struct Struct {
  NamedRef ref;
  std::string doc;
  std::vector<Field> fields;             // in ordinal (code) order
  std::uint16_t discriminant_count = 0;  // members of the unnamed union, 0 when none
  bool is_group = false;
};

struct Enumerant {
  std::string name;
  std::uint16_t ordinal = 0;
  std::string doc;
};

struct Enum {
  NamedRef ref;
  std::string doc;
  std::vector<Enumerant> enumerants;
};

// door_create(3C) attributes from door.capnp's interface annotations.
struct Attributes {
  bool unref = false;               // $Door.unref: DOOR_UNREF
  bool unref_multi = false;         // $Door.unrefMulti: DOOR_UNREF_MULTI
  bool refuse_descriptors = false;  // $Door.refuseDescriptors: DOOR_REFUSE_DESC
  bool no_cancel = false;           // $Door.noCancel: DOOR_NO_CANCEL
  bool private_pool = false;        // $Door.privatePool: DOOR_PRIVATE
};

// Per-call limits as written; unset means "the runtime's default". See effective_limits().
struct Limits {
  std::optional<std::uint64_t> max_arg_bytes;    // $Door.maxArgBytes, > 0
  std::optional<std::uint32_t> max_descriptors;  // $Door.maxDescriptors
  std::optional<std::uint32_t> timeout_ms;       // $Door.timeoutMs, > 0
};

struct Method {
  std::string name;
  std::uint16_t ordinal = 0;  // @N: what the generated door procedure dispatches on
  std::string doc;
  std::vector<Field> params;
  std::vector<Field> results;
  std::uint64_t param_struct_id = 0;   // Cap'n Proto's implicit "$Params" struct
  std::uint64_t result_struct_id = 0;  // Cap'n Proto's implicit "$Results" struct
  Limits limits;                       // the method's own annotations only
  // A descriptor is reachable from the parameters / results: a Door.Fd, or a door (an
  // interface-typed value travels as a door descriptor), in a field, list or nested struct.
  bool takes_descriptors = false;
  bool returns_descriptors = false;
};

struct Interface {
  NamedRef ref;
  std::string doc;
  bool local = false;  // declared in the loaded file (generate code for it), not an import
  std::optional<std::string> path;  // $Door.path
  Attributes attributes;
  Limits limits;                // defaults for every method
  std::vector<Method> methods;  // in ordinal order
};

struct Model {
  std::string file;  // display name of the loaded file
  std::uint64_t file_id = 0;
  std::string cxx_namespace;  // the file's $Cxx.namespace, "" when it has none
  // Each list is in the order the front end first reaches a declaration: the file's own
  // declarations depth-first, each followed by the not yet listed types its methods or fields
  // name (which may come from imported files). Interface::local and NamedRef::file tell where a
  // declaration lives. The implicit parameter/result structs are not listed in `structs` (they
  // are Method::params / results); Door.Fd is not listed either (it is TypeKind::kFd).
  std::vector<Interface> interfaces;
  std::vector<Struct> structs;
  std::vector<Enum> enums;
};

// A method's limits with the interface's defaults filled in where the method sets none.
inline Limits effective_limits(const Interface& iface, const Method& method) {
  Limits out = method.limits;
  if (!out.max_arg_bytes) out.max_arg_bytes = iface.limits.max_arg_bytes;
  if (!out.max_descriptors) out.max_descriptors = iface.limits.max_descriptors;
  if (!out.timeout_ms) out.timeout_ms = iface.limits.timeout_ms;
  return out;
}

}  // namespace doors::idl
