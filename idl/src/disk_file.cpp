#include "disk_file.h"

#include <fstream>
#include <functional>
#include <sstream>
#include <system_error>

namespace doors::idl::detail {

DiskFile::DiskFile(LoadContext& ctx, std::filesystem::path disk, std::string display)
    : ctx_(ctx), disk_(std::move(disk)), display_(std::move(display)) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(disk_, ec);
  identity_ = ec ? disk_.lexically_normal().string() : canonical.string();
}

kj::StringPtr DiskFile::getDisplayName() const { return {display_.c_str(), display_.size()}; }

kj::Array<const char> DiskFile::readContent() const {
  std::ifstream in(disk_, std::ios::binary);
  if (!in) {
    // The compiler turns this into an error at the import, if there is one.
    KJ_FAIL_REQUIRE("cannot read file", disk_.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string s = std::move(text).str();
  auto out = kj::heapArray<const char>(s.data(), s.size());
  ctx_.texts[display_] = std::move(s);
  ctx_.disk_paths[display_] = disk_;
  return out;
}

kj::Maybe<kj::Own<capnp::SchemaFile>> DiskFile::import(kj::StringPtr path) const {
  std::string p(path.cStr());
  std::error_code ec;
  if (!p.empty() && p.front() == '/') {
    for (const auto& dir : ctx_.import_dirs) {
      auto candidate = (std::filesystem::path(dir) / p.substr(1)).lexically_normal();
      if (std::filesystem::is_regular_file(candidate, ec)) {
        return kj::Own<capnp::SchemaFile>(kj::heap<DiskFile>(ctx_, candidate, candidate.string()));
      }
    }
    return nullptr;
  }
  auto candidate = (disk_.parent_path() / p).lexically_normal();
  if (!std::filesystem::is_regular_file(candidate, ec)) return nullptr;
  auto display = (std::filesystem::path(display_).parent_path() / p).lexically_normal();
  return kj::Own<capnp::SchemaFile>(kj::heap<DiskFile>(ctx_, candidate, display.string()));
}

bool DiskFile::operator==(const capnp::SchemaFile& other) const {
  auto* o = dynamic_cast<const DiskFile*>(&other);
  return o != nullptr && o->identity_ == identity_;
}

bool DiskFile::operator!=(const capnp::SchemaFile& other) const { return !(*this == other); }

size_t DiskFile::hashCode() const { return std::hash<std::string>{}(identity_); }

void DiskFile::reportError(SourcePos start, SourcePos /*end*/, kj::StringPtr message) const {
  // SchemaParser counts lines and columns from zero.
  ctx_.diagnostics.push_back({display_, start.line + 1, start.column + 1, message.cStr()});
}

}  // namespace doors::idl::detail
