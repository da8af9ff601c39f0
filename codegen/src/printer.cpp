#include "printer.h"

#include <stdexcept>

namespace doors::codegen::detail {
namespace {

constexpr std::size_t kColumns = 100;

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += sep;
    out += items[i];
  }
  return out;
}

}  // namespace

void Printer::put(std::string_view s) {
  for (char c : s) {
    if (c == '\n') {
      at_line_start_ = true;
      out_ += c;
      continue;
    }
    if (at_line_start_) {
      out_.append(static_cast<std::size_t>(2 * level_), ' ');
      at_line_start_ = false;
    }
    out_ += c;
  }
}

void Printer::print(std::string_view text, const Vars& vars) {
  std::string expanded;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] != '$') {
      expanded += text[i++];
      continue;
    }
    auto end = text.find('$', i + 1);
    if (end == std::string_view::npos) {
      throw std::logic_error("printer: unterminated $ in \"" + std::string(text) + "\"");
    }
    auto name = text.substr(i + 1, end - i - 1);
    if (name.empty()) {
      expanded += '$';
    } else {
      auto it = vars.find(name);
      if (it == vars.end()) {
        throw std::logic_error("printer: unknown variable $" + std::string(name) + "$");
      }
      expanded += it->second;
    }
    i = end + 1;
  }
  put(expanded);
}

void Printer::doc_comment(const std::string& doc) {
  std::size_t start = 0;
  while (start < doc.size()) {
    auto end = doc.find('\n', start);
    if (end == std::string::npos) end = doc.size();
    std::string_view line(doc.data() + start, end - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty()) {
      put("//\n");
    } else {
      put("// ");
      put(line);
      // A comment ending in a backslash would continue onto the next line (-Wcomment).
      put(line.back() == '\\' ? " //\n" : "\n");
    }
    start = end + 1;
  }
}

void Printer::function(const std::string& ret, const std::string& name,
                       const std::vector<std::string>& params, const std::string& tail) {
  const std::size_t indent = static_cast<std::size_t>(2 * level_);
  const std::string head = ret.empty() ? name + "(" : ret + " " + name + "(";
  const std::string args = join(params, ", ");
  if (indent + head.size() + args.size() + 1 + tail.size() <= kColumns) {
    put(head + args + ")" + tail + "\n");
    return;
  }
  if (indent + head.size() > kColumns && !ret.empty()) {
    put(fit(ret, 0, 0) + "\n");
    function("", name, params, tail);
    return;
  }
  put(head + "\n");
  level_ += 2;
  if (indent + 4 + args.size() + 1 + tail.size() <= kColumns) {
    put(args + ")" + tail + "\n");
  } else {
    for (std::size_t i = 0; i < params.size(); ++i) {
      put(params[i] + (i + 1 == params.size() ? ")" + tail : std::string(",")) + "\n");
    }
  }
  level_ -= 2;
}

std::string Printer::fit(const std::string& type, std::size_t column, std::size_t tail) const {
  const std::size_t indent = static_cast<std::size_t>(2 * level_);
  const auto open = type.find('<');
  if (indent + column + type.size() + tail <= kColumns || open == std::string::npos) return type;
  std::string out;
  int depth = 0;
  for (std::size_t i = 0; i < type.size(); ++i) {
    char c = type[i];
    depth += (c == '<') - (c == '>');
    if (c == ',' && depth == 1 && i + 1 < type.size() && type[i + 1] == ' ') {
      out += ",\n" + std::string(column + open + 1, ' ');
      ++i;
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace doors::codegen::detail
