// Where declarations are in a .capnp file. SchemaParser (Cap'n Proto 0.9) reports positions for
// its own errors but keeps none in the parsed nodes, so the front end finds the place of a
// semantic error by scanning the source text itself: a small tokenizer (comments and strings
// skipped) that follows braces and records declarations, members, method parameters and
// annotation applications by their scope path, the same path Cap'n Proto puts in a node's
// display name ("Outer.Inner", "Calc.add$Params"). It is not a parser: input has already been
// accepted by Cap'n Proto, and a lookup that fails falls back to the enclosing declaration.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace doors::idl::detail {

struct SourcePos {
  unsigned line = 1;  // from 1
  unsigned col = 1;   // from 1, in bytes
};

class SourceIndex {
 public:
  explicit SourceIndex(std::string_view text);

  // `struct|interface|enum|group` named by its scope path: the position of its name.
  std::optional<SourcePos> decl(const std::string& path) const;
  // A field, enumerant, method (in scope `path`) or parameter (scope "Iface.m$Params"/"$Results").
  std::optional<SourcePos> member(const std::string& path, const std::string& name) const;
  // The index-th `$annotation` applied to `key` (a decl path, or "path#member"); the '$'.
  std::optional<SourcePos> annotation(const std::string& key, std::size_t index) const;

 private:
  std::map<std::string, SourcePos> decls_;
  std::map<std::string, SourcePos> members_;  // "path#name"
  std::map<std::string, std::vector<SourcePos>> annotations_;
};

}  // namespace doors::idl::detail
