// doorc's whole pipeline for one schema, as a library call: load it through the checked front
// end (doors/idl/load.h) and emit its files (emit.h). doorc calls this; so does the fuzz target
// of tests/fuzz/, which is how malformed schemas reach exactly what doorc runs.
#pragma once

#include <string>
#include <vector>

#include "doors/codegen/emit.h"

namespace doors::codegen {

// The generated files of the schema at `path`, its absolute imports searched in `import_dirs`
// and then the default ones (idl::default_import_dirs()). Throws idl::LoadError for a schema the
// front end refuses and EmitError for one it cannot generate code for; both are diagnostics
// (`error: ...` lines). Nothing is written.
GeneratedFiles generate(const std::string& path, const std::vector<std::string>& import_dirs);

}  // namespace doors::codegen
