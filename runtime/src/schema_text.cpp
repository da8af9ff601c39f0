#include "doors/runtime/schema_text.h"

#include <capnp/dynamic.h>
#include <capnp/schema.capnp.h>
#include <kj/string.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace doors {
namespace {

namespace cs = capnp::schema;

// A default value is checked against its field's type by comparing the two unions' tags, which
// schema.capnp declares in the same order.
static_assert(static_cast<int>(cs::Type::VOID) == static_cast<int>(cs::Value::VOID));
static_assert(static_cast<int>(cs::Type::STRUCT) == static_cast<int>(cs::Value::STRUCT));
static_assert(static_cast<int>(cs::Type::ANY_POINTER) == static_cast<int>(cs::Value::ANY_POINTER));

// idl/door.capnp. Its ids are fixed for ever, which is what lets the annotations be recognised
// without their declaration nodes (a remote tool never receives those).
constexpr uint64_t kDoorFileId = 0xa0e8d9f2731b75daull;
constexpr std::string_view kDoorFileName = "doors/door.capnp";

struct DoorAnnotation {
  uint64_t id;
  const char* name;
  cs::Value::Which type;  // as declared in door.capnp
};

constexpr DoorAnnotation kDoorAnnotations[] = {
    {0x9c4f55846bde9a17ull, "path", cs::Value::TEXT},
    {0x9736e03606429727ull, "unref", cs::Value::VOID},
    {0xf39006cdf7c79265ull, "unrefMulti", cs::Value::VOID},
    {0xbe502fd9f7a0a5abull, "refuseDescriptors", cs::Value::VOID},
    {0xb3129ca35d993a43ull, "noCancel", cs::Value::VOID},
    {0x979dc4ac04416811ull, "privatePool", cs::Value::VOID},
    {0xb16707efafe9d2d6ull, "maxArgBytes", cs::Value::UINT64},
    {0xe14f04339e8cc606ull, "maxDescriptors", cs::Value::UINT32},
    {0xa553849acccffa37ull, "timeoutMs", cs::Value::UINT32},
};

// Names the schema language resolves to built-in types after every declaration of the file: a
// declaration with one of these names would hide the built-in from the whole text.
constexpr std::string_view kBuiltinNames[] = {
    "Void",   "Bool",       "Int8",      "Int16",   "Int32",      "Int64",  "UInt8",
    "UInt16", "UInt32",     "UInt64",    "Float32", "Float64",    "Text",   "Data",
    "List",   "AnyPointer", "AnyStruct", "AnyList", "Capability", "Object",
};

[[noreturn]] void unsupported(const std::string& what) {
  throw std::invalid_argument("schema_text: " + what);
}

std::string hex_id(uint64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(id));
  return buf;
}

// kj::String, kj::StringPtr and capnp::Text::Reader alike.
template <class S>
std::string to_std(const S& s) {
  return std::string(s.begin(), s.size());
}

uint64_t id_of(capnp::Schema s) { return s.getProto().getId(); }

std::string display_name(capnp::Schema s) { return to_std(s.getProto().getDisplayName()); }

// A display name is "<file>:<Outer>.<Inner>"; names never contain ':', file names hardly ever.
std::string file_part(capnp::Schema s) {
  std::string name = display_name(s);
  size_t colon = name.rfind(':');
  return colon == std::string::npos ? std::string() : name.substr(0, colon);
}

std::string name_part(capnp::Schema s) {
  std::string name = display_name(s);
  size_t colon = name.rfind(':');
  return colon == std::string::npos ? name : name.substr(colon + 1);
}

std::vector<std::string> split_name(const std::string& name) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t dot = name.find('.', start);
    parts.push_back(name.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

// A SchemaLoader makes a placeholder for a type a loaded node refers to until that type is
// loaded itself: an empty node named "(unknown type; seen as dependency of <user's name>)" (Cap'n
// Proto 0.9), which holds the user's ':', so the start of the name is what tells.
void require_loaded(capnp::Schema s) {
  std::string name = display_name(s);
  if (name.rfind("(unknown type", 0) == 0 || name.find(':') == std::string::npos) {
    unsupported("type " + hex_id(id_of(s)) + " is not loaded: " + name);
  }
}

bool from_door_file(capnp::Schema s) {
  return file_part(s) == kDoorFileName || s.getProto().getScopeId() == kDoorFileId;
}

// A parameter or result list written in place, `(a :Int64)`: the compiler gives its struct no
// scope (schema.capnp: scopeId is zero for them).
bool is_implicit_params(capnp::Schema s) {
  return s.getProto().isStruct() && s.getProto().getScopeId() == 0;
}

const DoorAnnotation* door_annotation(uint64_t id) {
  for (const DoorAnnotation& a : kDoorAnnotations) {
    if (a.id == id) return &a;
  }
  return nullptr;
}

// Members in the order of the source, which is also how the compiler saw them.
template <class List>
auto sorted_by_code_order(List list) {
  std::vector<std::decay_t<decltype(list[0])>> items;
  for (auto item : list) items.push_back(item);
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return a.getProto().getCodeOrder() < b.getProto().getCodeOrder();
  });
  return items;
}

// ---------------------------------------------------------------------------------------------
// The closure

class ClosureBuilder {
 public:
  std::vector<capnp::Schema> run(capnp::InterfaceSchema root) {
    add(root);
    // nodes_ grows while it is walked: breadth first, each node once.
    for (size_t i = 0; i < nodes_.size(); ++i) expand(nodes_[i]);
    return std::move(nodes_);
  }

 private:
  void add(capnp::Schema s) {
    if (seen_.insert(id_of(s)).second) nodes_.push_back(s);
  }

  void add_type(capnp::Type type, capnp::Schema user) {
    switch (type.which()) {
      case cs::Type::STRUCT:
        add(type.asStruct());
        break;
      case cs::Type::ENUM:
        add(type.asEnum());
        break;
      case cs::Type::INTERFACE:
        add(type.asInterface());
        break;
      case cs::Type::LIST:
        add_type(type.asList().getElementType(), user);
        break;
      case cs::Type::ANY_POINTER:
        unsupported(display_name(user) + " uses AnyPointer or a generic parameter");
      default:
        break;
    }
  }

  void expand(capnp::Schema s) {
    require_loaded(s);
    auto proto = s.getProto();
    if (proto.getIsGeneric()) unsupported(display_name(s) + " is generic");
    switch (proto.which()) {
      case cs::Node::STRUCT:
        // A group's type is its group node, so groups join like any struct.
        for (auto field : s.asStruct().getFields()) add_type(field.getType(), s);
        break;
      case cs::Node::ENUM:
        break;
      case cs::Node::INTERFACE: {
        auto iface = s.asInterface();
        for (auto method : iface.getMethods()) {
          if (method.getProto().getImplicitParameters().size() != 0) {
            unsupported(display_name(s) + "." + to_std(method.getProto().getName()) +
                        " is generic");
          }
          add(method.getParamType());
          add(method.getResultType());
        }
        for (auto super : iface.getSuperclasses()) add(super);
        break;
      }
      default:
        unsupported(display_name(s) + " is neither a struct, an enum nor an interface");
    }
  }

  std::vector<capnp::Schema> nodes_;
  std::unordered_set<uint64_t> seen_;
};

// ---------------------------------------------------------------------------------------------
// Values

std::string float_text(double value, bool is_float32) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // "-0" would be read back as the integer zero, losing the sign.
  if (value == 0 && std::signbit(value)) return "-0.0";
  return is_float32 ? to_std(kj::str(static_cast<float>(value))) : to_std(kj::str(value));
}

bool is_zero(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits == 0;
}

// The `= value` of a field, or nothing for the type's zero (a default the schema author wrote
// out, even a zero one, is kept: the node records that it was explicit).
std::optional<std::string> default_text(capnp::StructSchema::Field field) {
  auto slot = field.getProto().getSlot();
  auto value = slot.getDefaultValue();
  capnp::Type type = field.getType();
  bool keep = slot.getHadExplicitDefault();
  if (static_cast<int>(value.which()) != static_cast<int>(type.which())) {
    unsupported("the default of " + to_std(field.getProto().getName()) +
                " does not match its type");
  }
  auto number = [keep](auto x) -> std::optional<std::string> {
    if (x == 0 && !keep) return std::nullopt;
    return std::to_string(x);
  };
  auto real = [keep](double x, bool is_float32) -> std::optional<std::string> {
    if (is_zero(x) && !keep) return std::nullopt;
    return float_text(x, is_float32);
  };
  switch (value.which()) {
    case cs::Value::VOID:
      return keep ? std::optional<std::string>("void") : std::nullopt;
    case cs::Value::BOOL:
      if (!value.getBool() && !keep) return std::nullopt;
      return value.getBool() ? "true" : "false";
    case cs::Value::INT8:
      return number(static_cast<int>(value.getInt8()));
    case cs::Value::INT16:
      return number(value.getInt16());
    case cs::Value::INT32:
      return number(value.getInt32());
    case cs::Value::INT64:
      return number(value.getInt64());
    case cs::Value::UINT8:
      return number(static_cast<unsigned>(value.getUint8()));
    case cs::Value::UINT16:
      return number(value.getUint16());
    case cs::Value::UINT32:
      return number(value.getUint32());
    case cs::Value::UINT64:
      return number(value.getUint64());
    case cs::Value::FLOAT32:
      return real(value.getFloat32(), true);
    case cs::Value::FLOAT64:
      return real(value.getFloat64(), false);
    case cs::Value::TEXT:
      if (!value.hasText()) return std::nullopt;
      return to_std(kj::str(capnp::DynamicValue::Reader(value.getText())));
    case cs::Value::DATA:
      if (!value.hasData()) return std::nullopt;
      return to_std(kj::str(capnp::DynamicValue::Reader(value.getData())));
    case cs::Value::LIST:
      if (!value.hasList()) return std::nullopt;
      return to_std(kj::str(value.getList().getAs<capnp::DynamicList>(type.asList())));
    case cs::Value::ENUM: {
      if (value.getEnum() == 0 && !keep) return std::nullopt;
      auto enumerants = type.asEnum().getEnumerants();
      if (value.getEnum() >= enumerants.size()) {
        unsupported("the default of " + to_std(field.getProto().getName()) +
                    " is not an enumerant");
      }
      return to_std(enumerants[value.getEnum()].getProto().getName());
    }
    case cs::Value::STRUCT:
      if (!value.hasStruct()) return std::nullopt;
      return to_std(kj::str(value.getStruct().getAs<capnp::DynamicStruct>(type.asStruct())));
    case cs::Value::INTERFACE:  // always null
    case cs::Value::ANY_POINTER:
      return std::nullopt;
  }
  return std::nullopt;
}

// An annotation value whose type is unknown (its declaration is not available), for a comment.
// The value's own union tag says the type of scalars and blobs; lists and structs would need
// the declaration.
std::string comment_value(cs::Value::Reader value) {
  switch (value.which()) {
    case cs::Value::VOID:
      return "";
    case cs::Value::BOOL:
      return value.getBool() ? "(true)" : "(false)";
    case cs::Value::INT8:
      return "(" + std::to_string(value.getInt8()) + ")";
    case cs::Value::INT16:
      return "(" + std::to_string(value.getInt16()) + ")";
    case cs::Value::INT32:
      return "(" + std::to_string(value.getInt32()) + ")";
    case cs::Value::INT64:
      return "(" + std::to_string(value.getInt64()) + ")";
    case cs::Value::UINT8:
      return "(" + std::to_string(value.getUint8()) + ")";
    case cs::Value::UINT16:
      return "(" + std::to_string(value.getUint16()) + ")";
    case cs::Value::UINT32:
      return "(" + std::to_string(value.getUint32()) + ")";
    case cs::Value::UINT64:
      return "(" + std::to_string(value.getUint64()) + ")";
    case cs::Value::FLOAT32:
      return "(" + float_text(value.getFloat32(), true) + ")";
    case cs::Value::FLOAT64:
      return "(" + float_text(value.getFloat64(), false) + ")";
    case cs::Value::TEXT:
      return "(" + to_std(kj::str(capnp::DynamicValue::Reader(value.getText()))) + ")";
    case cs::Value::DATA:
      return "(" + to_std(kj::str(capnp::DynamicValue::Reader(value.getData()))) + ")";
    case cs::Value::ENUM:
      return "(enumerant " + std::to_string(value.getEnum()) + ")";
    case cs::Value::LIST:
      return "(<a list>)";
    case cs::Value::STRUCT:
      return "(<a struct>)";
    case cs::Value::INTERFACE:
      return "(<a capability>)";
    case cs::Value::ANY_POINTER:
      return "(<a pointer>)";
  }
  return "(<unknown value>)";
}

// ---------------------------------------------------------------------------------------------
// The text

// One named declaration of the text: a type of the closure, or a shell standing for a parent
// that is not in it.
struct Decl {
  std::string name;             // as printed
  std::string original;         // the name in the schema
  std::string file;             // the file of the schema, for the comment on a renamed declaration
  std::string renamed_because;  // empty unless name != original
  std::optional<capnp::Schema> schema;  // nullopt: a shell
  uint64_t shell_id = 0;                // a shell's id when a child names it, else 0
  Decl* parent = nullptr;
  std::vector<std::unique_ptr<Decl>> children;

  Decl* child(const std::string& original_name) const {
    for (const auto& c : children) {
      if (c->original == original_name) return c.get();
    }
    return nullptr;
  }
  bool has_child_named(const std::string& printed_name) const {
    for (const auto& c : children) {
      if (c->name == printed_name) return true;
    }
    return false;
  }
};

bool is_builtin_name(const std::string& name) {
  return std::find(std::begin(kBuiltinNames), std::end(kBuiltinNames), name) !=
         std::end(kBuiltinNames);
}

// Names already used in a scope, each with why, for the comment on a declaration renamed to
// avoid it.
using TakenNames = std::unordered_map<std::string, std::string>;

// Names `d`: its own name unless that would hide a built-in type or is taken, else the name
// with the first free numeric suffix (the schema language allows no underscores in names).
void pick_name(Decl& d, const TakenNames& taken) {
  d.name = d.original;
  if (is_builtin_name(d.original)) {
    d.renamed_because = d.original + " is a built-in type";
  } else if (auto it = taken.find(d.original); it != taken.end()) {
    d.renamed_because = it->second;
  } else {
    return;
  }
  for (int n = 2; d.name == d.original || taken.count(d.name) != 0; ++n) {
    d.name = d.original + std::to_string(n);
  }
}

class Printer {
 public:
  explicit Printer(capnp::InterfaceSchema root) : root_(root) {}

  std::string run() {
    std::vector<capnp::Schema> closure = ClosureBuilder().run(root_);
    uses_door_ = mentions_door(closure);
    build_tree(closure);
    check_implicit_params(closure);

    std::string body;
    for (const auto& d : top_) {
      body += "\n";
      print_decl(*d, body, 0);
    }

    // Doc comments are not part of compiled nodes; say so rather than let a reader wonder.
    std::string text =
        "# " + display_name(root_) + ": schema text from compiled nodes, without doc comments\n";
    text += "@" + hex_id(file_id()) + ";\n";
    if (uses_door_) text += "\nusing Door = import \"/doors/door.capnp\";\n";
    return text + body;
  }

 private:
  // Stable for a root, never the id of a real file (those are random), and a valid file id:
  // bit 63 set, as `capnp id` makes them. splitmix64's finaliser spreads the root's bits.
  uint64_t file_id() const {
    uint64_t z = id_of(root_) + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) | (uint64_t{1} << 63);
  }

  static bool has_door_annotation(capnp::List<cs::Annotation>::Reader annotations) {
    for (auto a : annotations) {
      if (door_annotation(a.getId()) != nullptr) return true;
    }
    return false;
  }

  static bool mentions_door(const std::vector<capnp::Schema>& closure) {
    for (capnp::Schema s : closure) {
      auto proto = s.getProto();
      if (from_door_file(s) || has_door_annotation(proto.getAnnotations())) return true;
      if (proto.isStruct()) {
        for (auto f : proto.getStruct().getFields()) {
          if (has_door_annotation(f.getAnnotations())) return true;
        }
      } else if (proto.isEnum()) {
        for (auto e : proto.getEnum().getEnumerants()) {
          if (has_door_annotation(e.getAnnotations())) return true;
        }
      } else if (proto.isInterface()) {
        for (auto m : proto.getInterface().getMethods()) {
          if (has_door_annotation(m.getAnnotations())) return true;
        }
      }
    }
    return false;
  }

  // Types of the closure printed as declarations: not door.capnp's (imported), not groups and
  // parameter lists (printed where they are used).
  bool is_declared(capnp::Schema s) const {
    auto proto = s.getProto();
    if (from_door_file(s) || is_implicit_params(s)) return false;
    return !(proto.isStruct() && proto.getStruct().getIsGroup());
  }

  void build_tree(const std::vector<capnp::Schema>& closure) {
    std::vector<capnp::Schema> declared;
    for (capnp::Schema s : closure) {
      if (is_declared(s)) declared.push_back(s);
    }
    // Parents before their children ("A" sorts before "A.B"), and a stable order of files: the
    // root's file first, then the others by name, so renaming is stable too.
    std::string root_file = file_part(root_);
    auto key = [&](capnp::Schema s) {
      return std::make_tuple(file_part(s) != root_file, file_part(s), name_part(s));
    };
    std::sort(declared.begin(), declared.end(),
              [&](capnp::Schema a, capnp::Schema b) { return key(a) < key(b); });

    TakenNames top_names;
    if (uses_door_) top_names.emplace("Door", "Door stands for door.capnp here");
    // (file, first name) -> its top-level declaration.
    std::vector<std::pair<std::pair<std::string, std::string>, Decl*>> tops;
    for (capnp::Schema s : declared) {
      std::vector<std::string> path = split_name(name_part(s));
      std::pair<std::string, std::string> top_key(file_part(s), path[0]);
      Decl* d = nullptr;
      for (auto& [k, decl] : tops) {
        if (k == top_key) d = decl;
      }
      if (d == nullptr) {
        auto owned = std::make_unique<Decl>();
        owned->original = path[0];
        owned->file = file_part(s);
        pick_name(*owned, top_names);
        top_names.emplace(owned->name, "another " + owned->name + " is declared here");
        d = owned.get();
        tops.emplace_back(top_key, d);
        top_.push_back(std::move(owned));
      }
      for (size_t i = 1; i < path.size(); ++i) {
        Decl* c = d->child(path[i]);
        if (c == nullptr) {
          auto owned = std::make_unique<Decl>();
          owned->original = path[i];
          owned->file = d->file;
          owned->parent = d;
          TakenNames siblings;
          for (const auto& sib : d->children) {
            siblings.emplace(sib->name, "another " + sib->name + " is declared here");
          }
          pick_name(*owned, siblings);
          c = owned.get();
          d->children.push_back(std::move(owned));
        }
        d = c;
      }
      d->schema = s;
      decls_[id_of(s)] = d;
      if (d->parent != nullptr && !d->parent->schema && d->parent->shell_id == 0) {
        d->parent->shell_id = s.getProto().getScopeId();
      }
    }

    // The root's declaration (or the one holding it) first, the others by name.
    const Decl* root_top = decls_.at(id_of(root_));
    while (root_top->parent != nullptr) root_top = root_top->parent;
    auto order = [root_top](const std::unique_ptr<Decl>& a, const std::unique_ptr<Decl>& b) {
      if ((a.get() == root_top) != (b.get() == root_top)) return a.get() == root_top;
      return a->name < b->name;
    };
    std::stable_sort(top_.begin(), top_.end(), order);
    sort_children(top_);
  }

  static void sort_children(std::vector<std::unique_ptr<Decl>>& decls) {
    for (auto& d : decls) {
      std::stable_sort(d->children.begin(), d->children.end(),
                       [](const auto& a, const auto& b) { return a->name < b->name; });
      sort_children(d->children);
    }
  }

  // A parameter list in place is a flat list of fields numbered in order; anything else cannot
  // be written in place, and an implicit struct has no name to write it by.
  void check_implicit_params(const std::vector<capnp::Schema>& closure) const {
    for (capnp::Schema s : closure) {
      if (!is_implicit_params(s)) continue;
      auto proto = s.getProto().getStruct();
      bool flat = proto.getDiscriminantCount() == 0;
      for (auto f : proto.getFields()) flat = flat && f.isSlot();
      if (!flat) unsupported(display_name(s) + " has no name and is not a flat parameter list");
    }
  }

  // The name of a type at a place inside `scope` (nullptr: the file's top level).
  std::string ref(capnp::Schema target, const Decl* scope) const {
    if (from_door_file(target)) return qualify("Door", "Door." + name_part(target), scope);
    auto it = decls_.find(id_of(target));
    if (it == decls_.end()) {
      unsupported(display_name(target) + " is used as a type but has no name of its own");
    }
    std::string path;
    std::string first;
    for (const Decl* d = it->second; d != nullptr; d = d->parent) {
      path = path.empty() ? d->name : d->name + "." + path;
      first = d->name;
    }
    return qualify(first, path, scope);
  }

  // `path`, a name from the file's top level starting with `first`, as written inside `scope`:
  // when a nested declaration on the way out has the name `first`, it would capture the name,
  // so the name is written from the file's root, `.Foo`.
  static std::string qualify(const std::string& first, const std::string& path, const Decl* scope) {
    for (const Decl* d = scope; d != nullptr; d = d->parent) {
      if (d->has_child_named(first)) return "." + path;
    }
    return path;
  }

  // `sigil` followed by a name: the lexer reads ":." and "$." as one operator, hence the space.
  static std::string with_sigil(const char* sigil, const std::string& name) {
    return name[0] == '.' ? std::string(sigil) + " " + name : sigil + name;
  }

  std::string type_text(capnp::Type type, const Decl* scope) const {
    switch (type.which()) {
      case cs::Type::VOID:
        return "Void";
      case cs::Type::BOOL:
        return "Bool";
      case cs::Type::INT8:
        return "Int8";
      case cs::Type::INT16:
        return "Int16";
      case cs::Type::INT32:
        return "Int32";
      case cs::Type::INT64:
        return "Int64";
      case cs::Type::UINT8:
        return "UInt8";
      case cs::Type::UINT16:
        return "UInt16";
      case cs::Type::UINT32:
        return "UInt32";
      case cs::Type::UINT64:
        return "UInt64";
      case cs::Type::FLOAT32:
        return "Float32";
      case cs::Type::FLOAT64:
        return "Float64";
      case cs::Type::TEXT:
        return "Text";
      case cs::Type::DATA:
        return "Data";
      case cs::Type::LIST:
        return "List(" + type_text(type.asList().getElementType(), scope) + ")";
      case cs::Type::ENUM:
        return ref(type.asEnum(), scope);
      case cs::Type::STRUCT:
        return ref(type.asStruct(), scope);
      case cs::Type::INTERFACE:
        return ref(type.asInterface(), scope);
      case cs::Type::ANY_POINTER:
        break;
    }
    unsupported("AnyPointer cannot be printed");
  }

  // " $Door.x(...)" for each door annotation; every other annotation goes to `comments` as
  // "# $0x<id>(<value>)", followed by `where` when the comment is not right above its target.
  std::string annotations(capnp::List<cs::Annotation>::Reader list, const Decl* scope,
                          std::vector<std::string>& comments, const std::string& where = "") const {
    std::string suffix;
    for (auto a : list) {
      auto value = a.getValue();
      const DoorAnnotation* door = door_annotation(a.getId());
      if (door == nullptr) {
        comments.push_back("# $" + hex_id(a.getId()) + comment_value(value) + where);
        continue;
      }
      if (value.which() != door->type) {
        unsupported("$Door." + std::string(door->name) + " has a value of the wrong type");
      }
      suffix += " " + with_sigil("$", qualify("Door", std::string("Door.") + door->name, scope));
      if (door->type != cs::Value::VOID) suffix += comment_value(value);
    }
    return suffix;
  }

  static void line(std::string& out, int indent, const std::string& text) {
    out.append(static_cast<size_t>(indent) * 2, ' ');
    out += text;
    out += '\n';
  }

  static void lines(std::string& out, int indent, const std::vector<std::string>& texts) {
    for (const auto& t : texts) line(out, indent, t);
  }

  void print_decl(const Decl& d, std::string& out, int indent) const {
    if (!d.renamed_because.empty()) {
      line(out, indent,
           "# " + d.name + " is " + d.original + " of " + d.file +
               " (renamed: " + d.renamed_because + ")");
    }
    std::vector<std::string> comments;
    std::string head;
    std::string members;
    if (!d.schema) {
      line(out, indent, "# " + d.name + " itself is not used; it holds the types below");
      head = "struct " + d.name + (d.shell_id != 0 ? " @" + hex_id(d.shell_id) : "");
    } else {
      capnp::Schema s = *d.schema;
      auto proto = s.getProto();
      // Looked up from inside the declaration: a superset of the names that can capture it.
      std::string ann = annotations(proto.getAnnotations(), &d, comments);
      std::string id = " @" + hex_id(proto.getId());
      switch (proto.which()) {
        case cs::Node::STRUCT:
          head = "struct " + d.name + id + ann;
          print_fields(s.asStruct(), &d, members, indent + 1);
          break;
        case cs::Node::ENUM:
          head = "enum " + d.name + id + ann;
          print_enumerants(s.asEnum(), &d, members, indent + 1);
          break;
        case cs::Node::INTERFACE:
          head = "interface " + d.name + id + superclasses(s.asInterface(), &d) + ann;
          print_methods(s.asInterface(), &d, members, indent + 1);
          break;
        default:
          unsupported(display_name(s) + " cannot be declared");
      }
    }
    lines(out, indent, comments);
    if (members.empty() && d.children.empty()) {
      line(out, indent, head + " {}");
      return;
    }
    line(out, indent, head + " {");
    out += members;
    bool first = true;
    for (const auto& c : d.children) {
      if (!first || !members.empty()) out += "\n";
      first = false;
      print_decl(*c, out, indent + 1);
    }
    line(out, indent, "}");
  }

  std::string superclasses(capnp::InterfaceSchema iface, const Decl* scope) const {
    auto supers = iface.getSuperclasses();
    if (supers.size() == 0) return "";
    std::string text = " extends(";
    for (unsigned i = 0; i < supers.size(); ++i) {
      if (i != 0) text += ", ";
      text += ref(supers[i], scope);
    }
    return text + ")";
  }

  void print_fields(capnp::StructSchema s, const Decl* scope, std::string& out, int indent) const {
    // The members of the unnamed union are adjacent in code order (the union is one block in
    // the source): print the block where its first member was.
    bool union_printed = false;
    for (auto field : sorted_by_code_order(s.getFields())) {
      if (field.getProto().getDiscriminantValue() == cs::Field::NO_DISCRIMINANT) {
        print_field(field, scope, out, indent);
      } else if (!union_printed) {
        union_printed = true;
        line(out, indent, "union {");
        for (auto member : sorted_by_code_order(s.getUnionFields())) {
          print_field(member, scope, out, indent + 1);
        }
        line(out, indent, "}");
      }
    }
  }

  void print_field(capnp::StructSchema::Field field, const Decl* scope, std::string& out,
                   int indent) const {
    auto proto = field.getProto();
    std::string name = to_std(proto.getName());
    std::vector<std::string> comments;
    std::string ann = annotations(proto.getAnnotations(), scope, comments);
    if (proto.isGroup()) {
      capnp::StructSchema group = field.getType().asStruct();
      auto group_proto = group.getProto();
      ann += annotations(group_proto.getAnnotations(), scope, comments);
      lines(out, indent, comments);
      auto node = group_proto.getStruct();
      // A group holding nothing but a union is what `name :union { ... }` compiles to. Its
      // ordinal is explicit only when the source kept one for compatibility (`@N!`).
      bool is_union = node.getDiscriminantCount() != 0 &&
                      node.getDiscriminantCount() == node.getFields().size();
      std::string ordinal = proto.getOrdinal().isExplicit()
                                ? " @" + std::to_string(proto.getOrdinal().getExplicit()) + "!"
                                : "";
      line(out, indent, name + ordinal + (is_union ? " :union" : " :group") + ann + " {");
      if (is_union) {
        for (auto member : sorted_by_code_order(group.getFields())) {
          print_field(member, scope, out, indent + 1);
        }
      } else {
        print_fields(group, scope, out, indent + 1);
      }
      line(out, indent, "}");
      return;
    }
    if (!proto.getOrdinal().isExplicit()) {
      unsupported("field " + name + " of a named struct has no ordinal");
    }
    lines(out, indent, comments);
    std::optional<std::string> def = default_text(field);
    line(out, indent,
         name + " @" + std::to_string(proto.getOrdinal().getExplicit()) + " " +
             with_sigil(":", type_text(field.getType(), scope)) + (def ? " = " + *def : "") + ann +
             ";");
  }

  void print_enumerants(capnp::EnumSchema s, const Decl* scope, std::string& out,
                        int indent) const {
    for (auto e : sorted_by_code_order(s.getEnumerants())) {
      std::vector<std::string> comments;
      std::string ann = annotations(e.getProto().getAnnotations(), scope, comments);
      lines(out, indent, comments);
      line(out, indent,
           to_std(e.getProto().getName()) + " @" + std::to_string(e.getOrdinal()) + ann + ";");
    }
  }

  // `(a :Int64, b :Int64 = 5)` for a list written in place, else the struct's name.
  std::string param_list(capnp::StructSchema s, const Decl* scope,
                         std::vector<std::string>& comments, const char* kind) const {
    if (!is_implicit_params(s)) return ref(s, scope);
    std::string text = "(";
    bool first = true;
    for (auto f : sorted_by_code_order(s.getFields())) {
      std::string name = to_std(f.getProto().getName());
      std::string ann = annotations(f.getProto().getAnnotations(), scope, comments,
                                    std::string(" (on ") + kind + " " + name + ")");
      std::optional<std::string> def = default_text(f);
      if (!first) text += ", ";
      first = false;
      text += name + " " + with_sigil(":", type_text(f.getType(), scope)) +
              (def ? " = " + *def : "") + ann;
    }
    // The schema language has no place for a door annotation on a parameter list.
    if (!annotations(s.getProto().getAnnotations(), scope, comments,
                     std::string(" (on the ") + kind + " list)")
             .empty()) {
      unsupported(display_name(s) + " carries a door annotation");
    }
    return text + ")";
  }

  void print_methods(capnp::InterfaceSchema s, const Decl* scope, std::string& out,
                     int indent) const {
    for (auto m : sorted_by_code_order(s.getMethods())) {
      auto proto = m.getProto();
      std::vector<std::string> comments;
      std::string ann = annotations(proto.getAnnotations(), scope, comments);
      std::string params = param_list(m.getParamType(), scope, comments, "parameter");
      std::string results = param_list(m.getResultType(), scope, comments, "result");
      lines(out, indent, comments);
      line(out, indent,
           to_std(proto.getName()) + " @" + std::to_string(m.getOrdinal()) + " " + params + " -> " +
               results + ann + ";");
    }
  }

  capnp::InterfaceSchema root_;
  bool uses_door_ = false;
  std::unordered_map<uint64_t, Decl*> decls_;
  std::vector<std::unique_ptr<Decl>> top_;
};

}  // namespace

std::vector<capnp::Schema> schema_closure(capnp::InterfaceSchema root) {
  return ClosureBuilder().run(root);
}

std::string schema_text(capnp::InterfaceSchema root) { return Printer(root).run(); }

}  // namespace doors
