// The front end: load a .capnp file with Cap'n Proto's compiler library and return a checked
// model (model.h). doorc is a build tool, so failures are thrown (LoadError), not returned.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "doors/idl/model.h"

namespace doors::idl {

// One problem in the input: `error: file:line:col: message`. line and col count from 1; col
// counts bytes. A problem that has no place (a file that cannot be read) has line == 0 and
// prints as `error: file: message`.
struct Diagnostic {
  std::string file;
  unsigned line = 0;
  unsigned col = 0;
  std::string message;

  std::string to_string() const;
};

// Thrown by load_schema(): every diagnostic found, in order. what() is their to_string() lines
// joined by '\n' (no final newline), ready to print to stderr.
class LoadError : public std::runtime_error {
 public:
  explicit LoadError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

struct LoadOptions {
  // Searched in order for absolute imports (`import "/x/y.capnp"`), like `capnp compile -I`.
  std::vector<std::string> import_dirs;
  // Then default_import_dirs(): door.capnp's directory and the standard Cap'n Proto ones.
  bool standard_import_dirs = true;
};

// The directories searched after LoadOptions::import_dirs, in order, only those that exist:
// the build tree's copy of doors/door.capnp, the installed one (next to the running program,
// <exe>/../include, then the configured install prefix), /usr/local/include, /usr/include
// (where /capnp/c++.capnp lives, as `capnp compile` does).
std::vector<std::string> default_import_dirs();

// Parses `path` (its imports resolved relative to it, or through the import dirs) and checks
// it. Throws LoadError with every parse error Cap'n Proto reports and every construct the
// framework does not support. `path` is also the file's display name in the model and in
// diagnostics.
Model load_schema(const std::string& path, const LoadOptions& options = {});
Model load_schema(const std::string& path, const std::vector<std::string>& import_dirs);

}  // namespace doors::idl
