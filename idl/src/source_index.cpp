#include "source_index.h"

#include <cctype>
#include <cstddef>

namespace doors::idl::detail {
namespace {

enum class Tok { kIdent, kOrdinal, kNumber, kString, kPunct };

struct Token {
  Tok kind;
  std::string text;
  SourcePos pos;
};

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> out;
  unsigned line = 1;
  std::size_t line_start = 0;
  std::size_t i = 0;
  auto pos_at = [&](std::size_t at) {
    return SourcePos{line, static_cast<unsigned>(at - line_start + 1)};
  };
  while (i < s.size()) {
    char c = s[i];
    if (c == '\n') {
      ++line;
      line_start = ++i;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      SourcePos p = pos_at(i);
      std::size_t j = i + 1;
      while (j < s.size() && s[j] != c && s[j] != '\n') j += (s[j] == '\\') ? 2 : 1;
      out.push_back({Tok::kString, std::string(s.substr(i, j + 1 - i)), p});
      i = j + 1;
    } else if (is_ident_start(c)) {
      std::size_t j = i;
      while (j < s.size() && is_ident_char(s[j])) ++j;
      out.push_back({Tok::kIdent, std::string(s.substr(i, j - i)), pos_at(i)});
      i = j;
    } else if (c == '@' || std::isdigit(static_cast<unsigned char>(c))) {
      std::size_t j = i + 1;
      while (j < s.size() && (is_ident_char(s[j]) || s[j] == '.')) ++j;
      out.push_back(
          {c == '@' ? Tok::kOrdinal : Tok::kNumber, std::string(s.substr(i, j - i)), pos_at(i)});
      i = j;
    } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '>') {
      out.push_back({Tok::kPunct, "->", pos_at(i)});
      i += 2;
    } else {
      out.push_back({Tok::kPunct, std::string(1, c), pos_at(i)});
      ++i;
    }
  }
  return out;
}

}  // namespace

SourceIndex::SourceIndex(std::string_view text) {
  const std::vector<Token> t = tokenize(text);
  const std::size_t n = t.size();
  auto is = [&](std::size_t k, Tok kind, std::string_view s = {}) {
    return k < n && t[k].kind == kind && (s.empty() || t[k].text == s);
  };
  auto punct = [&](std::size_t k, std::string_view s) { return is(k, Tok::kPunct, s); };
  auto join = [](const std::string& scope, const std::string& name) {
    return scope.empty() ? name : scope + "." + name;
  };
  // Skips a balanced (...) or [...] starting at k; returns the index after it.
  auto skip_balanced = [&](std::size_t k) {
    int depth = 0;
    for (; k < n; ++k) {
      if (punct(k, "(") || punct(k, "[")) ++depth;
      if (punct(k, ")") || punct(k, "]")) {
        if (--depth == 0) return k + 1;
      }
    }
    return k;
  };
  // Records one `$Name.name(value)` at k on `target`; returns the index after it.
  auto annotation_at = [&](std::size_t k, const std::string& target) {
    annotations_[target].push_back(t[k].pos);
    ++k;
    while (is(k, Tok::kIdent) || punct(k, ".")) ++k;
    if (punct(k, "(")) k = skip_balanced(k);
    return k;
  };
  // A parameter list "( name :Type $ann, ... )" at k, recorded under `scope`.
  auto param_list = [&](std::size_t k, const std::string& scope) {
    std::string target = scope;
    ++k;
    while (k < n && !punct(k, ")")) {
      if (is(k, Tok::kIdent) && punct(k + 1, ":")) {
        members_.emplace(scope + "#" + t[k].text, t[k].pos);
        target = scope + "#" + t[k].text;
        k += 2;
      } else if (punct(k, "$")) {
        k = annotation_at(k, target);
      } else if (punct(k, "(") || punct(k, "[")) {
        k = skip_balanced(k);
      } else {
        ++k;
      }
    }
    return k + 1;
  };

  std::vector<std::string> scopes{""};
  std::optional<std::string> pending;  // the scope the next '{' opens
  std::string target;                  // what a '$' applies to; "" is the file
  std::size_t k = 0;
  while (k < n) {
    const std::string& cur = scopes.back();
    const Token& tok = t[k];
    if (tok.kind == Tok::kIdent &&
        (tok.text == "struct" || tok.text == "interface" || tok.text == "enum") &&
        is(k + 1, Tok::kIdent)) {
      std::string path = join(cur, t[k + 1].text);
      decls_.emplace(path, t[k + 1].pos);
      target = path;
      pending = path;
      k += 2;
    } else if (tok.kind == Tok::kIdent &&
               (tok.text == "using" || tok.text == "const" || tok.text == "annotation")) {
      // Not a declaration the front end reports on: skip to the end of the statement.
      while (k < n && !punct(k, ";"))
        k = (punct(k, "(") || punct(k, "[")) ? skip_balanced(k) : k + 1;
    } else if (tok.kind == Tok::kIdent && is(k + 1, Tok::kOrdinal)) {
      // A field, enumerant or method: `name @N ...`.
      std::string key = cur + "#" + tok.text;
      members_.emplace(key, tok.pos);
      target = key;
      std::string method = join(cur, tok.text);
      k += 2;
      if (punct(k, "[")) k = skip_balanced(k);  // implicit generic parameters
      if (punct(k, "(")) {
        k = param_list(k, method + "$Params");
        if (punct(k, "->") && punct(k + 1, "(")) k = param_list(k + 1, method + "$Results");
      }
    } else if (tok.kind == Tok::kIdent && punct(k + 1, ":") &&
               (is(k + 2, Tok::kIdent, "group") || is(k + 2, Tok::kIdent, "union"))) {
      std::string path = join(cur, tok.text);
      members_.emplace(cur + "#" + tok.text, tok.pos);
      decls_.emplace(path, tok.pos);
      target = cur + "#" + tok.text;
      pending = path;
      k += 3;
    } else if (is(k, Tok::kIdent, "union") && punct(k + 1, "{")) {
      pending = cur;  // members of an unnamed union belong to the enclosing struct
      ++k;
    } else if (punct(k, "{")) {
      scopes.push_back(pending ? *pending : cur);
      pending.reset();
      target.clear();
      ++k;
    } else if (punct(k, "}")) {
      if (scopes.size() > 1) scopes.pop_back();
      target.clear();
      ++k;
    } else if (punct(k, ";")) {
      target.clear();
      ++k;
    } else if (punct(k, "$")) {
      k = annotation_at(k, target);
    } else if (punct(k, "(") || punct(k, "[")) {
      k = skip_balanced(k);
    } else {
      ++k;
    }
  }
}

std::optional<SourcePos> SourceIndex::decl(const std::string& path) const {
  auto it = decls_.find(path);
  if (it == decls_.end()) return std::nullopt;
  return it->second;
}

std::optional<SourcePos> SourceIndex::member(const std::string& path,
                                             const std::string& name) const {
  auto it = members_.find(path + "#" + name);
  if (it == members_.end()) return std::nullopt;
  return it->second;
}

std::optional<SourcePos> SourceIndex::annotation(const std::string& key, std::size_t index) const {
  auto it = annotations_.find(key);
  if (it == annotations_.end() || index >= it->second.size()) return std::nullopt;
  return it->second[index];
}

}  // namespace doors::idl::detail
