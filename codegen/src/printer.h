// A small text printer for the emitters: `$name$` placeholders, indentation by two spaces.
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace doors::codegen::detail {

using Vars = std::map<std::string, std::string, std::less<>>;

class Printer {
 public:
  // Appends `text` with every `$var$` replaced by vars[var] (`$$` is a literal `$`). Each line
  // that is not empty is indented by the current level. An unknown or unterminated `$var$` is a
  // bug in an emitter: std::logic_error.
  void print(std::string_view text, const Vars& vars = {});
  void print(std::string_view text,
             std::initializer_list<std::pair<const std::string, std::string>> vars) {
    print(text, Vars(vars));
  }

  // One line per line of `doc` (Cap'n Proto's doc comment text), each as `// line`.
  void doc_comment(const std::string& doc);

  // A function declaration or definition head, wrapped to 100 columns the way clang-format
  // does: `<ret> <name>(<params>)<tail>` on one line; else the parameters on the next line
  // indented by four; else one parameter per line; and `<ret>` on a line of its own when even
  // `<ret> <name>(` does not fit. `ret` is empty for a constructor.
  void function(const std::string& ret, const std::string& name,
                const std::vector<std::string>& params, const std::string& tail);

  // `type` (`X<A, B>`) as it is when it fits on the line from `column` (counted from the current
  // indentation) with `tail` more characters after it; else with its template arguments one per
  // line, aligned after the `<`.
  std::string fit(const std::string& type, std::size_t column, std::size_t tail) const;

  void indent() { level_ += 1; }
  void outdent() { level_ -= 1; }

  const std::string& text() const { return out_; }

 private:
  void put(std::string_view s);  // raw text, indenting at line starts

  std::string out_;
  int level_ = 0;
  bool at_line_start_ = true;
};

}  // namespace doors::codegen::detail
