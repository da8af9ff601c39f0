#include "doors/codegen/generate.h"

#include "doors/idl/load.h"

namespace doors::codegen {

GeneratedFiles generate(const std::string& path, const std::vector<std::string>& import_dirs) {
  auto model = idl::load_schema(path, import_dirs);
  EmitOptions emit_options;
  emit_options.import_dirs = import_dirs;
  for (auto& dir : idl::default_import_dirs()) emit_options.import_dirs.push_back(dir);
  return emit(model, emit_options);
}

}  // namespace doors::codegen
