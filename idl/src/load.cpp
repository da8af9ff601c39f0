#include "doors/idl/load.h"

#include <capnp/schema-parser.h>
#include <capnp/schema.h>
#include <kj/exception.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "disk_file.h"
#include "source_index.h"

namespace doors::idl {

std::string Diagnostic::to_string() const {
  std::string out = "error: " + file;
  if (line != 0) out += ":" + std::to_string(line) + ":" + std::to_string(col);
  return out + ": " + message;
}

namespace {

std::string join_lines(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) {
    if (!out.empty()) out += '\n';
    out += d.to_string();
  }
  return out;
}

}  // namespace

LoadError::LoadError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(join_lines(diagnostics)), diagnostics_(std::move(diagnostics)) {}

std::vector<std::string> default_import_dirs() {
  std::vector<std::string> candidates{DOORS_IDL_BUILD_IMPORT_DIR};
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(
        (exe.parent_path() / ".." / DOORS_IDL_INSTALL_INCLUDEDIR).lexically_normal().string());
  }
  candidates.push_back(DOORS_IDL_INSTALL_IMPORT_DIR);
  std::vector<std::string> out;
  for (auto& dir : candidates) {
    if (std::filesystem::is_regular_file(std::filesystem::path(dir) / "doors/door.capnp", ec)) {
      out.push_back(std::move(dir));
      break;  // one door.capnp only: a second copy could only be an older one
    }
  }
  for (const char* dir : {"/usr/local/include", "/usr/include"}) {
    if (std::filesystem::is_directory(dir, ec)) out.emplace_back(dir);
  }
  return out;
}

namespace {

using detail::DiskFile;
using detail::LoadContext;
using detail::SourceIndex;
using detail::SourcePos;

// Fixed ids from door.capnp; they never change.
constexpr std::uint64_t kDoorFileId = 0xa0e8d9f2731b75daULL;
constexpr std::uint64_t kPathId = 0x9c4f55846bde9a17ULL;
constexpr std::uint64_t kUnrefId = 0x9736e03606429727ULL;
constexpr std::uint64_t kUnrefMultiId = 0xf39006cdf7c79265ULL;
constexpr std::uint64_t kRefuseDescriptorsId = 0xbe502fd9f7a0a5abULL;
constexpr std::uint64_t kNoCancelId = 0xb3129ca35d993a43ULL;
constexpr std::uint64_t kPrivatePoolId = 0x979dc4ac04416811ULL;
constexpr std::uint64_t kMaxArgBytesId = 0xb16707efafe9d2d6ULL;
constexpr std::uint64_t kMaxDescriptorsId = 0xe14f04339e8cc606ULL;
constexpr std::uint64_t kTimeoutMsId = 0xa553849acccffa37ULL;
constexpr std::uint64_t kFdStructId = 0x9bfa998dd387f3dfULL;
// /capnp/c++.capnp's `namespace` annotation.
constexpr std::uint64_t kCxxNamespaceId = 0xb9c6f99ebf805f2cULL;

const std::set<std::uint64_t> kKnownDoorAnnotations = {
    kPathId,        kUnrefId,       kUnrefMultiId,     kRefuseDescriptorsId, kNoCancelId,
    kPrivatePoolId, kMaxArgBytesId, kMaxDescriptorsId, kTimeoutMsId};

// A place in a file, found lazily through that file's SourceIndex.
struct Where {
  std::string file;
  std::string scope;   // decl path, e.g. "Calc" or "Calc.add$Params"
  std::string member;  // "" for the declaration itself
};

class Checker {
 public:
  Checker(const capnp::SchemaParser& parser, LoadContext& ctx,
          std::map<std::uint64_t, std::string> door_annotations)
      : parser_(parser), ctx_(ctx), door_annotations_(std::move(door_annotations)) {}

  Model run(capnp::ParsedSchema file) {
    auto proto = file.getProto();
    model_.file = proto.getDisplayName();
    model_.file_id = proto.getId();
    model_.cxx_namespace = cxx_namespace(proto);
    walk_nested(file);
    for (auto& iface : model_.interfaces) iface.local = (iface.ref.file == model_.file);
    finish();
    return std::move(model_);
  }

 private:
  // ---- positions ----------------------------------------------------------------------------

  const SourceIndex& source_index(const std::string& file) {
    auto it = indexes_.find(file);
    if (it == indexes_.end()) {
      auto text = ctx_.texts.find(file);
      it = indexes_
               .emplace(file, std::make_unique<SourceIndex>(
                                  text == ctx_.texts.end() ? std::string() : text->second))
               .first;
    }
    return *it->second;
  }

  // The member, else its declaration, else the enclosing declarations, else the file's start.
  SourcePos position(const Where& w) {
    const SourceIndex& idx = source_index(w.file);
    if (!w.member.empty()) {
      if (auto p = idx.member(w.scope, w.member)) return *p;
    }
    for (std::string scope = w.scope; !scope.empty();) {
      if (auto p = idx.decl(scope)) return *p;
      // "Calc.add$Params" belongs to method "add" of "Calc".
      auto dollar = scope.rfind('$');
      auto dot = scope.rfind('.');
      if (dollar != std::string::npos && (dot == std::string::npos || dollar > dot)) {
        std::string method = scope.substr(0, dollar);
        auto mdot = method.rfind('.');
        if (mdot != std::string::npos) {
          if (auto p = idx.member(method.substr(0, mdot), method.substr(mdot + 1))) return *p;
        }
      }
      scope = dot == std::string::npos ? std::string() : scope.substr(0, dot);
    }
    return {};
  }

  void error(const Where& w, std::string message) {
    SourcePos p = position(w);
    ctx_.diagnostics.push_back({w.file, p.line, p.col, std::move(message)});
  }

  void error_at_annotation(const Where& w, std::size_t index, std::string message) {
    const SourceIndex& idx = source_index(w.file);
    std::string key = w.member.empty() ? w.scope : w.scope + "#" + w.member;
    if (auto p = idx.annotation(key, index)) {
      ctx_.diagnostics.push_back({w.file, p->line, p->col, std::move(message)});
    } else {
      error(w, std::move(message));
    }
  }

  // ---- names ---------------------------------------------------------------------------------

  // The file part of a node's display name ("dir/calc.capnp" of "dir/calc.capnp:Calc.add").
  std::string file_of(capnp::schema::Node::Reader node) const {
    std::string display = node.getDisplayName();
    std::string best;
    for (const auto& [name, text] : ctx_.texts) {
      if (display.size() > name.size() && display.compare(0, name.size(), name) == 0 &&
          display[name.size()] == ':' && name.size() > best.size()) {
        best = name;
      }
    }
    if (best.empty()) best = display.substr(0, display.rfind(':'));
    return best;
  }

  NamedRef ref_of(capnp::Schema schema) {
    auto node = schema.getProto();
    NamedRef ref;
    ref.id = node.getId();
    ref.file = file_of(node);
    std::string display = node.getDisplayName();
    ref.name = display.size() > ref.file.size() ? display.substr(ref.file.size() + 1) : display;
    auto ns = file_namespaces_.find(ref.file);
    ref.cxx_namespace = ns == file_namespaces_.end() ? std::string() : ns->second;
    return ref;
  }

  static std::string short_name(const NamedRef& ref) {
    auto dot = ref.name.rfind('.');
    return dot == std::string::npos ? ref.name : ref.name.substr(dot + 1);
  }

  static std::string cxx_namespace(capnp::schema::Node::Reader node) {
    for (auto a : node.getAnnotations()) {
      if (a.getId() == kCxxNamespaceId && a.getValue().isText()) return a.getValue().getText();
    }
    return {};
  }

  std::string doc_of(capnp::Schema schema) {
    KJ_IF_MAYBE (info, parser_.getSourceInfo(schema)) {
      return info->getDocComment();
    }
    return {};
  }

  std::string member_doc(capnp::Schema schema, unsigned index) {
    KJ_IF_MAYBE (info, parser_.getSourceInfo(schema)) {
      auto members = info->getMembers();
      if (index < members.size()) return members[index].getDocComment();
    }
    return {};
  }

  // ---- declarations --------------------------------------------------------------------------

  void walk_nested(capnp::ParsedSchema scope) {
    for (auto nested : scope.getAllNested()) {
      auto node = nested.getProto();
      switch (node.which()) {
        case capnp::schema::Node::STRUCT:
          visit_struct(nested.asStruct());
          break;
        case capnp::schema::Node::INTERFACE:
          visit_interface(nested.asInterface());
          break;
        case capnp::schema::Node::ENUM:
          visit_enum(nested.asEnum());
          break;
        default:
          break;  // consts and annotations declared by the user are Cap'n Proto's business
      }
      walk_nested(nested);
    }
  }

  // False if the node was seen before.
  bool first_visit(capnp::Schema schema) {
    return visited_.insert(schema.getProto().getId()).second;
  }

  bool reject_generic(capnp::Schema schema, const char* what) {
    if (!schema.getProto().getIsGeneric()) return false;
    NamedRef ref = ref_of(schema);
    error({ref.file, ref.name, ""},
          std::string("generic ") + what + " \"" + short_name(ref) + "\" is not supported");
    return true;
  }

  void visit_enum(capnp::EnumSchema schema) {
    if (!first_visit(schema) || reject_generic(schema, "enum")) return;
    Enum out;
    out.ref = ref_of(schema);
    out.doc = doc_of(schema);
    unsigned i = 0;
    for (auto e : schema.getEnumerants()) {
      out.enumerants.push_back({e.getProto().getName(), e.getOrdinal(), member_doc(schema, i++)});
    }
    model_.enums.push_back(std::move(out));
  }

  void visit_struct(capnp::StructSchema schema) {
    if (!first_visit(schema)) return;
    auto node = schema.getProto();
    if (reject_generic(schema, node.getStruct().getIsGroup() ? "group" : "struct")) return;
    if (schema.getProto().getId() == kFdStructId) return;
    // Reserve the slot first: fields may reach other structs, which must come after this one.
    std::size_t slot = model_.structs.size();
    model_.structs.emplace_back();
    Struct out;
    out.ref = ref_of(schema);
    out.doc = doc_of(schema);
    out.is_group = node.getStruct().getIsGroup();
    out.discriminant_count = node.getStruct().getDiscriminantCount();
    out.fields = fields_of(schema, out.ref, "field");
    model_.structs[slot] = std::move(out);
  }

  std::vector<Field> fields_of(capnp::StructSchema schema, const NamedRef& ref, const char* what) {
    std::vector<Field> out;
    unsigned i = 0;
    for (auto f : schema.getFields()) {
      auto proto = f.getProto();
      Field field;
      field.name = proto.getName();
      field.ordinal = proto.getOrdinal().isExplicit() ? proto.getOrdinal().getExplicit()
                                                      : static_cast<std::uint16_t>(i);
      field.doc = member_doc(schema, i++);
      if (proto.getDiscriminantValue() != capnp::schema::Field::NO_DISCRIMINANT) {
        field.discriminant = proto.getDiscriminantValue();
      }
      Where where{ref.file, ref.name, field.name};
      std::string context = std::string(what) + " \"" + field.name + "\"";
      if (proto.isGroup()) {
        auto group = f.getType().asStruct();
        visit_struct(group);
        field.type.kind = TypeKind::kGroup;
        field.type.named = ref_of(group);
      } else if (auto type = convert(f.getType(), where, context)) {
        field.type = std::move(*type);
      }
      out.push_back(std::move(field));
    }
    return out;
  }

  std::optional<Type> convert(capnp::Type type, const Where& where, const std::string& context) {
    using W = capnp::schema::Type;
    Type out;
    switch (type.which()) {
      case W::VOID:
        out.kind = TypeKind::kVoid;
        break;
      case W::BOOL:
        out.kind = TypeKind::kBool;
        break;
      case W::INT8:
        out.kind = TypeKind::kInt8;
        break;
      case W::INT16:
        out.kind = TypeKind::kInt16;
        break;
      case W::INT32:
        out.kind = TypeKind::kInt32;
        break;
      case W::INT64:
        out.kind = TypeKind::kInt64;
        break;
      case W::UINT8:
        out.kind = TypeKind::kUInt8;
        break;
      case W::UINT16:
        out.kind = TypeKind::kUInt16;
        break;
      case W::UINT32:
        out.kind = TypeKind::kUInt32;
        break;
      case W::UINT64:
        out.kind = TypeKind::kUInt64;
        break;
      case W::FLOAT32:
        out.kind = TypeKind::kFloat32;
        break;
      case W::FLOAT64:
        out.kind = TypeKind::kFloat64;
        break;
      case W::TEXT:
        out.kind = TypeKind::kText;
        break;
      case W::DATA:
        out.kind = TypeKind::kData;
        break;
      case W::LIST: {
        auto element = convert(type.asList().getElementType(), where, context);
        if (!element) return std::nullopt;
        out.kind = TypeKind::kList;
        out.element.push_back(std::move(*element));
        break;
      }
      case W::ENUM:
        visit_enum(type.asEnum());
        out.kind = TypeKind::kEnum;
        out.named = ref_of(type.asEnum());
        break;
      case W::STRUCT: {
        auto s = type.asStruct();
        if (s.getProto().getId() == kFdStructId) {
          out.kind = TypeKind::kFd;
          break;
        }
        if (s.getProto().getIsGeneric()) {
          error(where,
                context + ": generic struct \"" + short_name(ref_of(s)) + "\" is not supported");
          return std::nullopt;
        }
        visit_struct(s);
        out.kind = TypeKind::kStruct;
        out.named = ref_of(s);
        break;
      }
      case W::INTERFACE: {
        auto i = type.asInterface();
        if (i.getProto().getIsGeneric()) {
          error(where,
                context + ": generic interface \"" + short_name(ref_of(i)) + "\" is not supported");
          return std::nullopt;
        }
        visit_interface(i);
        out.kind = TypeKind::kInterface;
        out.named = ref_of(i);
        break;
      }
      case W::ANY_POINTER: {
        if (type.getBrandParameter() != nullptr || type.getImplicitParameter() != nullptr) {
          error(where, context + ": a generic parameter type is not supported");
        } else {
          static const char* const kNames[] = {"AnyPointer", "AnyStruct", "AnyList", "Capability"};
          auto kind = static_cast<unsigned>(type.whichAnyPointerKind());
          error(where,
                context + ": " + (kind < 4 ? kNames[kind] : "AnyPointer") + " is not supported");
        }
        return std::nullopt;
      }
    }
    return out;
  }

  void visit_interface(capnp::InterfaceSchema schema) {
    if (!first_visit(schema) || reject_generic(schema, "interface")) return;
    // Declaration order: methods may reach other interfaces, which come after this one.
    std::size_t slot = model_.interfaces.size();
    model_.interfaces.emplace_back();
    Interface out;
    out.ref = ref_of(schema);
    out.doc = doc_of(schema);
    Where where{out.ref.file, out.ref.name, ""};
    if (schema.getSuperclasses().size() != 0) {
      error(where, "interface \"" + short_name(out.ref) +
                       "\" extends another interface; inheritance is not supported");
    }
    interface_annotations(schema.getProto().getAnnotations(), where, out);

    for (auto m : schema.getMethods()) {
      auto proto = m.getProto();
      Method method;
      method.name = proto.getName();
      method.ordinal = m.getOrdinal();
      method.doc = member_doc(schema, m.getIndex());
      Where mwhere{out.ref.file, out.ref.name, method.name};
      std::string quoted = "\"" + method.name + "\"";
      if (proto.getImplicitParameters().size() != 0) {
        error(mwhere, "generic method " + quoted + " is not supported");
        continue;
      }
      if (m.isStreaming()) {
        error(mwhere, "streaming method " + quoted + " is not supported");
        continue;
      }
      method_annotations(proto.getAnnotations(), mwhere, method.limits);
      auto params = m.getParamType();
      auto results = m.getResultType();
      bool ok = true;
      if (params.getProto().getScopeId() != 0) {
        error(mwhere, "method " + quoted +
                          ": parameters must be a list in parentheses, not "
                          "struct \"" +
                          short_name(ref_of(params)) + "\"");
        ok = false;
      }
      if (results.getProto().getScopeId() != 0) {
        error(mwhere, "method " + quoted +
                          ": results must be a list in parentheses, not "
                          "struct \"" +
                          short_name(ref_of(results)) + "\"");
        ok = false;
      }
      if (!ok) continue;
      method.param_struct_id = params.getProto().getId();
      method.result_struct_id = results.getProto().getId();
      method.params = fields_of(params, ref_of(params), "parameter");
      method.results = fields_of(results, ref_of(results), "result");
      out.methods.push_back(std::move(method));
    }
    model_.interfaces[slot] = std::move(out);
  }

  // ---- annotations ---------------------------------------------------------------------------

  // False (after an error) for an annotation of door.capnp this front end does not know.
  bool known(capnp::schema::Annotation::Reader a, const Where& where, std::size_t index) {
    auto it = door_annotations_.find(a.getId());
    if (it == door_annotations_.end() || kKnownDoorAnnotations.count(a.getId())) return true;
    error_at_annotation(
        where, index,
        "unknown door annotation \"" + it->second + "\" (door.capnp is newer than this doorc)");
    return false;
  }

  template <typename List>
  void interface_annotations(List annotations, const Where& where, Interface& out) {
    std::size_t index = 0;
    for (auto a : annotations) {
      std::size_t i = index++;
      if (!known(a, where, i)) continue;
      switch (a.getId()) {
        case kPathId: {
          std::string path = a.getValue().getText();
          if (path.empty() || path.find('\0') != std::string::npos) {
            error_at_annotation(where, i, "$Door.path must not be empty");
            break;
          }
          auto [it, inserted] = paths_.emplace(path, out.ref.name);
          if (!inserted && it->second != out.ref.name) {
            error_at_annotation(where, i,
                                "$Door.path \"" + path + "\" is already the path of interface \"" +
                                    it->second + "\"");
          }
          out.path = path;
          break;
        }
        case kUnrefId:
          out.attributes.unref = true;
          break;
        case kUnrefMultiId:
          out.attributes.unref_multi = true;
          break;
        case kRefuseDescriptorsId:
          out.attributes.refuse_descriptors = true;
          refuse_where_[out.ref.id] = {where, i};
          break;
        case kNoCancelId:
          out.attributes.no_cancel = true;
          break;
        case kPrivatePoolId:
          out.attributes.private_pool = true;
          break;
        default:
          limit(a, where, i, out.limits);
          break;
      }
    }
  }

  template <typename List>
  void method_annotations(List annotations, const Where& where, Limits& out) {
    std::size_t index = 0;
    for (auto a : annotations) {
      std::size_t i = index++;
      if (known(a, where, i)) limit(a, where, i, out);
    }
  }

  void limit(capnp::schema::Annotation::Reader a, const Where& where, std::size_t i, Limits& out) {
    switch (a.getId()) {
      case kMaxArgBytesId:
        if (a.getValue().getUint64() == 0) {
          error_at_annotation(where, i, "$Door.maxArgBytes must be greater than zero");
        }
        out.max_arg_bytes = a.getValue().getUint64();
        break;
      case kMaxDescriptorsId:
        out.max_descriptors = a.getValue().getUint32();
        zero_descriptors_where_[where.scope + "#" + where.member] = {where, i};
        break;
      case kTimeoutMsId:
        if (a.getValue().getUint32() == 0) {
          error_at_annotation(where, i, "$Door.timeoutMs must be greater than zero");
        }
        out.timeout_ms = a.getValue().getUint32();
        break;
      default:
        break;  // not a door annotation, or one Cap'n Proto already kept off this target
    }
  }

  // ---- whole-model checks --------------------------------------------------------------------

  // Whether a value of `type` carries a descriptor: a Fd, or a door (an interface), anywhere in
  // it. Structs are looked up in the model; `seen` breaks recursive structs.
  bool carries_descriptors(const Type& type, std::set<std::uint64_t>& seen) const {
    switch (type.kind) {
      case TypeKind::kFd:
      case TypeKind::kInterface:
        return true;
      case TypeKind::kList:
        return !type.element.empty() && carries_descriptors(type.element[0], seen);
      case TypeKind::kStruct:
      case TypeKind::kGroup: {
        if (!seen.insert(type.named.id).second) return false;
        for (const auto& s : model_.structs) {
          if (s.ref.id != type.named.id) continue;
          for (const auto& f : s.fields) {
            if (carries_descriptors(f.type, seen)) return true;
          }
        }
        return false;
      }
      default:
        return false;
    }
  }

  bool carries_descriptors(const std::vector<Field>& fields) const {
    std::set<std::uint64_t> seen;
    for (const auto& f : fields) {
      if (carries_descriptors(f.type, seen)) return true;
    }
    return false;
  }

  void finish() {
    for (auto& iface : model_.interfaces) {
      for (auto& m : iface.methods) {
        m.takes_descriptors = carries_descriptors(m.params);
        m.returns_descriptors = carries_descriptors(m.results);
        if (!m.takes_descriptors) continue;
        if (iface.attributes.refuse_descriptors) {
          auto& [where, i] = refuse_where_[iface.ref.id];
          error_at_annotation(where, i,
                              "$Door.refuseDescriptors: method \"" + m.name +
                                  "\" takes descriptors (a Door.Fd or a door)");
        }
        auto limits = effective_limits(iface, m);
        if (limits.max_descriptors && *limits.max_descriptors == 0) {
          std::string key = iface.ref.name + "#" + m.name;
          auto it =
              zero_descriptors_where_.find(m.limits.max_descriptors ? key : iface.ref.name + "#");
          Where where{iface.ref.file, iface.ref.name, m.name};
          std::string message = "$Door.maxDescriptors(0): method \"" + m.name +
                                "\" takes descriptors (a Door.Fd or a door)";
          if (it != zero_descriptors_where_.end()) {
            error_at_annotation(it->second.first, it->second.second, message);
          } else {
            error(where, message);
          }
        }
      }
    }
  }

 public:
  // The $Cxx.namespace of a file, recorded before the walk (file nodes are not reachable from
  // the types inside them through the Schema API).
  void note_file_namespace(const std::string& file, std::string ns) {
    file_namespaces_[file] = std::move(ns);
  }

 private:
  const capnp::SchemaParser& parser_;
  LoadContext& ctx_;
  std::map<std::uint64_t, std::string> door_annotations_;  // declared by door.capnp: id -> name
  Model model_;
  std::set<std::uint64_t> visited_;
  std::map<std::string, std::string> file_namespaces_;
  std::map<std::string, std::unique_ptr<SourceIndex>> indexes_;
  std::map<std::string, std::string> paths_;  // $Door.path -> interface
  std::map<std::uint64_t, std::pair<Where, std::size_t>> refuse_where_;
  std::map<std::string, std::pair<Where, std::size_t>> zero_descriptors_where_;
};

// Runs `f`, turning what Cap'n Proto reports into diagnostics.
template <typename F>
auto capture(LoadContext& ctx, const std::string& file, F&& f) -> std::optional<decltype(f())> {
  try {
    auto result = f();
    if (!ctx.diagnostics.empty()) return std::nullopt;
    return result;
  } catch (const kj::Exception& e) {
    // After errors reported through DiskFile::reportError, the compiler may throw too; those
    // errors already say what went wrong.
    if (ctx.diagnostics.empty()) ctx.diagnostics.push_back({file, 0, 0, e.getDescription().cStr()});
    return std::nullopt;
  }
}

}  // namespace

Model load_schema(const std::string& path, const LoadOptions& options) {
  LoadContext ctx;
  ctx.import_dirs = options.import_dirs;
  if (options.standard_import_dirs) {
    for (auto& dir : default_import_dirs()) ctx.import_dirs.push_back(std::move(dir));
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw LoadError({{path, 0, 0, "cannot open file"}});
  }

  capnp::SchemaParser parser;
  auto file = capture(ctx, path, [&] {
    return parser.parseFile(kj::heap<DiskFile>(ctx, std::filesystem::path(path), path));
  });
  if (!file) throw LoadError(std::move(ctx.diagnostics));

  // door.capnp's declared annotations (by id), to tell "unknown door annotation" from a foreign
  // one. Parsing it again returns the module the schema imported, if it did.
  std::map<std::uint64_t, std::string> door_annotations;
  for (const auto& dir : ctx.import_dirs) {
    auto door = std::filesystem::path(dir) / "doors/door.capnp";
    if (!std::filesystem::is_regular_file(door, ec)) continue;
    auto parsed = capture(ctx, door.string(), [&] {
      return parser.parseFile(
          kj::heap<DiskFile>(ctx, door.lexically_normal(), door.lexically_normal().string()));
    });
    if (!parsed) throw LoadError(std::move(ctx.diagnostics));
    if (parsed->getProto().getId() == kDoorFileId) {
      for (auto nested : parsed->getAllNested()) {
        auto node = nested.getProto();
        if (node.isAnnotation()) {
          std::string display = node.getDisplayName();
          door_annotations.emplace(node.getId(), display.substr(node.getDisplayNamePrefixLength()));
        }
      }
    }
    break;  // the first door.capnp on the path is the one `import "/doors/door.capnp"` finds
  }

  Checker checker(parser, ctx, std::move(door_annotations));
  auto model = capture(ctx, path, [&] {
    // The $Cxx.namespace of every file read (the schema and its imports): types the model names
    // carry it. Parsing a file again returns the module already loaded.
    auto disk_paths = ctx.disk_paths;
    for (const auto& [display, disk] : disk_paths) {
      auto parsed = parser.parseFile(kj::heap<DiskFile>(ctx, disk, display));
      std::string ns;
      for (auto a : parsed.getProto().getAnnotations()) {
        if (a.getId() == kCxxNamespaceId && a.getValue().isText()) ns = a.getValue().getText();
      }
      checker.note_file_namespace(display, std::move(ns));
    }
    return checker.run(*file);
  });
  if (!model) throw LoadError(std::move(ctx.diagnostics));
  return std::move(*model);
}

Model load_schema(const std::string& path, const std::vector<std::string>& import_dirs) {
  return load_schema(path, LoadOptions{import_dirs, true});
}

}  // namespace doors::idl
