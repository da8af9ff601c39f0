// doorc's emitter: a checked model (doors/idl/model.h) -> the text of `<name>.door.h` and
// `<name>.door.c++`, the typed client and server base of every local interface, in the shape
// runtime/README.md ("Generated code (doorc)") specifies. Pure functions: no files, no Cap'n
// Proto, the same bytes for the same model on every machine.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "doors/idl/model.h"

namespace doors::codegen {

struct EmitOptions {
  // The import path the schema was loaded with. An imported file whose generated header must be
  // included and that lies under one of these is included as `<path/below/the/dir.door.h>`, as
  // Cap'n Proto's generated code includes an absolute import; see door_include().
  std::vector<std::string> import_dirs;
};

// A model doorc cannot generate code for although the front end accepted it (a generated name
// that would clash with a schema declaration). what() is `error: file: message`.
class EmitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GeneratedFiles {
  std::string header;  // <name>.door.h
  std::string source;  // <name>.door.c++
};

// Both files; throws EmitError.
GeneratedFiles emit(const idl::Model& model, const EmitOptions& options = {});
std::string emit_header(const idl::Model& model, const EmitOptions& options = {});
std::string emit_source(const idl::Model& model, const EmitOptions& options = {});

// The #include operand (with its quotes or angle brackets) by which the generated header of
// `including_file` includes the generated header of `imported_file` (both display names as the
// model holds them), the way Cap'n Proto's generated code includes an import:
// `<x/b.door.h>` when the imported file lies under an import dir that does not hold the
// including file (an absolute import, `import "/x/b.capnp"`); else `"sub/b.door.h"` when it lies
// in the including file's directory or below it (a relative import); else `<...>` under any
// import dir; else the relative path with `..`, in quotes.
std::string door_include(const std::string& including_file, const std::string& imported_file,
                         const std::vector<std::string>& import_dirs);

}  // namespace doors::codegen
