#include "doors/codegen/names.h"

#include <cctype>
#include <cstdio>

namespace doors::codegen {
namespace {

// C++20 keywords and alternative tokens, capnpc-c++'s list and the C++20 additions, plus names
// the C and C++ libraries (or GCC in GNU modes) define as macros.
// clang-format off
constexpr std::string_view kReserved[] = {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
    "case", "catch", "char", "char8_t", "char16_t", "char32_t", "class", "co_await", "co_return",
    "co_yield", "compl", "concept", "const", "consteval", "constexpr", "constinit", "const_cast",
    "continue", "decltype", "default", "delete", "do", "double", "dynamic_cast", "else", "enum",
    "explicit", "export", "extern", "false", "float", "for", "friend", "goto", "if", "import",
    "inline", "int", "long", "module", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
    "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
    "reinterpret_cast", "requires", "return", "short", "signed", "sizeof", "static",
    "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local", "throw",
    "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using", "virtual", "void",
    "volatile", "wchar_t", "while", "xor", "xor_eq", "final", "override",
    // Macros.
    "assert", "errno", "linux", "unix", "stdin", "stdout", "stderr", "major", "minor", "NULL",
    "EOF",
};
// clang-format on

void append_title_case(std::string& out, std::string_view name) {
  if (name.empty()) return;
  out += static_cast<char>(std::toupper(static_cast<unsigned char>(name.front())));
  out.append(name.substr(1));
}

// Calls f(segment) for each `.`-separated segment of a scope path.
template <typename F>
void for_each_segment(std::string_view path, F&& f) {
  std::size_t start = 0;
  while (start <= path.size()) {
    auto dot = path.find('.', start);
    if (dot == std::string_view::npos) dot = path.size();
    f(path.substr(start, dot - start));
    start = dot + 1;
  }
}

std::string method_struct(const idl::Interface& iface, const idl::Method& method,
                          std::string_view suffix) {
  std::string out = cxx_type_name(iface.ref) + "::";
  append_title_case(out, method.name);
  out.append(suffix);
  return out;
}

constexpr std::string_view kCapnpSuffix = ".capnp";

std::string_view strip_capnp(std::string_view path) {
  if (path.size() > kCapnpSuffix.size() && path.ends_with(kCapnpSuffix)) {
    path.remove_suffix(kCapnpSuffix.size());
  }
  return path;
}

}  // namespace

bool is_reserved_word(std::string_view name) {
  for (auto word : kReserved) {
    if (word == name) return true;
  }
  return false;
}

std::string escape_identifier(std::string_view name, const std::set<std::string>& taken) {
  std::string out(name);
  if (is_reserved_word(name) || taken.count(out) != 0) out += '_';
  return out;
}

std::string title_case(std::string_view name) {
  std::string out;
  append_title_case(out, name);
  return out;
}

std::string namespace_prefix(const std::string& cxx_namespace) {
  if (cxx_namespace.empty()) return {};
  // $Cxx.namespace may be written with a leading `::`.
  return cxx_namespace.starts_with("::") ? cxx_namespace : "::" + cxx_namespace;
}

std::string cxx_type_name(const idl::NamedRef& ref) {
  std::string out = namespace_prefix(ref.cxx_namespace);
  for_each_segment(ref.name, [&](std::string_view segment) {
    out += "::";
    append_title_case(out, segment);
  });
  return out;
}

std::string scope_identifier(const idl::NamedRef& ref) {
  std::string out;
  for_each_segment(ref.name, [&](std::string_view segment) {
    if (!out.empty()) out += '_';
    append_title_case(out, segment);
  });
  return out;
}

std::string door_struct_name(const idl::NamedRef& ref) { return scope_identifier(ref) + "Door"; }

std::string door_type_name(const idl::NamedRef& ref) {
  return namespace_prefix(ref.cxx_namespace) + "::" + door_struct_name(ref);
}

std::string params_type(const idl::Interface& iface, const idl::Method& method) {
  return method_struct(iface, method, "Params");
}

std::string results_type(const idl::Interface& iface, const idl::Method& method) {
  return method_struct(iface, method, "Results");
}

std::string accessor(std::string_view verb, std::string_view field) {
  std::string out(verb);
  append_title_case(out, field);
  return out;
}

std::optional<std::string> convenience_param_type(const idl::Type& type) {
  using idl::TypeKind;
  switch (type.kind) {
    case TypeKind::kVoid:
      return std::string();
    case TypeKind::kBool:
      return "bool";
    case TypeKind::kInt8:
      return "::int8_t";
    case TypeKind::kInt16:
      return "::int16_t";
    case TypeKind::kInt32:
      return "::int32_t";
    case TypeKind::kInt64:
      return "::int64_t";
    case TypeKind::kUInt8:
      return "::uint8_t";
    case TypeKind::kUInt16:
      return "::uint16_t";
    case TypeKind::kUInt32:
      return "::uint32_t";
    case TypeKind::kUInt64:
      return "::uint64_t";
    case TypeKind::kFloat32:
      return "float";
    case TypeKind::kFloat64:
      return "double";
    case TypeKind::kText:
      return "::kj::StringPtr";
    case TypeKind::kData:
      return "::kj::ArrayPtr<const ::kj::byte>";
    case TypeKind::kEnum:
      return cxx_type_name(type.named);
    case TypeKind::kFd:
      return "int";
    case TypeKind::kInterface:
      return "const " + door_type_name(type.named) + "::Client&";
    case TypeKind::kList:
    case TypeKind::kStruct:
    case TypeKind::kGroup:
      return std::nullopt;
  }
  return std::nullopt;
}

bool has_convenience(const idl::Method& method) {
  for (const auto& param : method.params) {
    if (!convenience_param_type(param.type)) return false;
  }
  return true;
}

std::string cxx_string_literal(std::string_view bytes) {
  std::string out = "\"";
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string door_header_name(std::string_view schema_path) {
  return std::string(strip_capnp(schema_path)) + ".door.h";
}

std::string door_source_name(std::string_view schema_path) {
  return std::string(strip_capnp(schema_path)) + ".door.c++";
}

std::string capnp_header_name(std::string_view schema_path) {
  return std::string(schema_path) + ".h";
}

}  // namespace doors::codegen
