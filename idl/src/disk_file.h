// capnp::SchemaFile over the real disk, written here instead of using
// SchemaFile::newFromDirectory() because that one reports an error as a kj exception carrying
// only a line: this one records every error with its column, and keeps each file's text so that
// the front end can place its own errors (source_index.h).
#pragma once

#include <capnp/schema-parser.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "doors/idl/load.h"

namespace doors::idl::detail {

// State shared by every file of one load_schema() call.
struct LoadContext {
  std::vector<std::string> import_dirs;
  std::map<std::string, std::string> texts;  // display name -> content, for every file read
  std::map<std::string, std::filesystem::path> disk_paths;  // display name -> where it was read
  std::vector<Diagnostic> diagnostics;
};

class DiskFile final : public capnp::SchemaFile {
 public:
  // `display` names the file in nodes and diagnostics; `disk` is where it is read from.
  DiskFile(LoadContext& ctx, std::filesystem::path disk, std::string display);

  kj::StringPtr getDisplayName() const override;
  kj::Array<const char> readContent() const override;
  kj::Maybe<kj::Own<capnp::SchemaFile>> import(kj::StringPtr path) const override;
  bool operator==(const capnp::SchemaFile& other) const override;
  bool operator!=(const capnp::SchemaFile& other) const override;
  size_t hashCode() const override;
  void reportError(SourcePos start, SourcePos end, kj::StringPtr message) const override;

 private:
  LoadContext& ctx_;
  std::filesystem::path disk_;
  std::string display_;
  std::string identity_;  // canonical path: two imports of one file are one module
};

}  // namespace doors::idl::detail
