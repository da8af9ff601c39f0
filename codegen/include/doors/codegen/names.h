// How doorc names things in the C++ it emits: Cap'n Proto's C++ names for the schema's types
// (so generated code refers to what `capnp compile -oc++` declares) and the names of the
// generated door types. Pure functions over the model, shared by the emitters and their tests.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "doors/idl/model.h"

namespace doors::codegen {

// True for a C++ keyword or alternative token (`delete`, `and`), or a name the C/C++ library
// defines as a macro (`errno`, `assert`), which no generated identifier may be.
bool is_reserved_word(std::string_view name);

// `name` with `_` appended when it is a reserved word or in `taken`, as capnpc-c++ does for
// keywords (`delete` -> `delete_`). Cap'n Proto names contain no underscore, so an escaped name
// never meets a schema name.
std::string escape_identifier(std::string_view name, const std::set<std::string>& taken = {});

// The first letter upper-cased: `openLog` -> `OpenLog` (Cap'n Proto's toTitleCase).
std::string title_case(std::string_view name);

// `a::b` -> `::a::b`; the global namespace ("") -> "".
std::string namespace_prefix(const std::string& cxx_namespace);

// The Cap'n Proto C++ type of a named declaration: `::ns::Outer::Inner` (a group's name is
// title-cased, as capnpc-c++ does: `Struct.group` -> `::ns::Struct::Group`).
std::string cxx_type_name(const idl::NamedRef& ref);

// The generated door struct of an interface, unqualified: `Calculator` -> `CalculatorDoor`,
// a nested `Outer.Inner` -> `Outer_InnerDoor` (the `_` cannot clash with a schema name).
std::string door_struct_name(const idl::NamedRef& ref);

// The same, qualified: `::ns::CalculatorDoor`.
std::string door_type_name(const idl::NamedRef& ref);

// The identifier-safe form of a scope path (`Outer.Inner` -> `Outer_Inner`), for helpers the
// generated .c++ defines in an anonymous namespace.
std::string scope_identifier(const idl::NamedRef& ref);

// Cap'n Proto's implicit parameter and result structs: `::ns::Foo::OpenLogParams`,
// `::ns::Foo::OpenLogResults`.
std::string params_type(const idl::Interface& iface, const idl::Method& method);
std::string results_type(const idl::Interface& iface, const idl::Method& method);

// Cap'n Proto's accessor of a field: `set` + `A` for field `a`, `init` + `Log`.
std::string accessor(std::string_view verb, std::string_view field);

// The C++ type a convenience method takes for a parameter of this type, or nullopt when the
// type cannot be passed that way (structs, lists, groups): `::int64_t`, `::kj::StringPtr`,
// `::kj::ArrayPtr<const ::kj::byte>`, `int` (Door.Fd), `const ::ns::BarDoor::Client&`, an
// enum's Cap'n Proto type. Void gives "" (the parameter is left out of the signature).
std::optional<std::string> convenience_param_type(const idl::Type& type);

// True when every parameter has a convenience_param_type(), i.e. the method gets the
// convenience overload `m(a, b, options)` beside `mRequest(options)`.
bool has_convenience(const idl::Method& method);

// A C++ string literal with quotes that means exactly these bytes: `"` and `\` escaped with a
// backslash, every byte outside printable ASCII as a three-digit octal escape.
std::string cxx_string_literal(std::string_view bytes);

// The names of the files doorc writes for a schema: `dir/calc.capnp` -> `dir/calc.door.h` /
// `dir/calc.door.c++` (a name not ending in `.capnp` keeps it: `x.schema` -> `x.schema.door.h`),
// and of the header `capnp compile -oc++` writes beside it (`dir/calc.capnp.h`).
std::string door_header_name(std::string_view schema_path);
std::string door_source_name(std::string_view schema_path);
std::string capnp_header_name(std::string_view schema_path);

}  // namespace doors::codegen
