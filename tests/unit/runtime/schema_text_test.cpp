// schema_closure and schema_text: the nodes a remote tool receives print as schema text that
// Cap'n Proto's own compiler turns back into the same nodes.
#include "doors/runtime/schema_text.h"

#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema-loader.h>
#include <capnp/schema-parser.h>
#include <capnp/schema.capnp.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <kj/exception.h>
#include <kj/filesystem.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime_test.capnp.h"
#include "schema_text_test.capnp.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

namespace cs = capnp::schema;

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

// "file.capnp:Outer.Inner" -> "Outer.Inner": what stays the same in another file.
std::string local_name(capnp::Schema s) {
  std::string name = str(s.getProto().getDisplayName());
  return name.substr(name.rfind(':') + 1);
}

std::vector<uint64_t> ids(const std::vector<capnp::Schema>& schemas) {
  std::vector<uint64_t> out;
  for (capnp::Schema s : schemas) out.push_back(s.getProto().getId());
  return out;
}

// The nodes as a remote tool has them: each node of the closure sent as a message of its own
// and loaded into a fresh loader; no file node, no annotation declaration, no unused parent.
// `leave_out`: the id of a node that gets lost on the way.
class WireNodes {
 public:
  explicit WireNodes(capnp::InterfaceSchema root, uint64_t leave_out = 0) {
    for (capnp::Schema s : schema_closure(root)) {
      if (s.getProto().getId() == leave_out) continue;
      capnp::MallocMessageBuilder message;
      message.setRoot(s.getProto());
      kj::Array<capnp::word> wire = capnp::messageToFlatArray(message);
      capnp::FlatArrayMessageReader reader(wire);
      loader_.load(reader.getRoot<cs::Node>());
    }
    root_ = loader_.get(root.getProto().getId()).asInterface();
  }

  capnp::InterfaceSchema root() const { return root_; }
  size_t node_count() const { return loader_.getAllLoaded().size(); }

 private:
  capnp::SchemaLoader loader_;
  capnp::InterfaceSchema root_;
};

// Schema text written to a file and compiled by Cap'n Proto's compiler library, importing
// /capnp/*.capnp and /doors/door.capnp from where the build has them.
class Compiled {
 public:
  explicit Compiled(const std::string& text)
      : fs_(kj::newDiskFilesystem()),
        dir_(open(dir_holder_.path())),
        capnp_dir_(open(DOORS_TEST_CAPNP_IMPORT_DIR)),
        door_dir_(open(DOORS_TEST_DOOR_IMPORT_DIR)),
        imports_{capnp_dir_.get(), door_dir_.get()} {
    std::ofstream(dir_holder_.file("printed.capnp")) << text;
    file_ = parser_.parseFromDirectory(*dir_, kj::Path::parse("printed.capnp"), imports_);
  }

  capnp::ParsedSchema file() const { return file_; }

  // The ids of the annotations door.capnp declares, from the file itself.
  std::set<uint64_t> door_annotation_ids() const {
    capnp::ParsedSchema door =
        parser_.parseFromDirectory(*door_dir_, kj::Path::parse("doors/door.capnp"), imports_);
    std::set<uint64_t> out;
    for (auto nested : door.getProto().getNestedNodes()) {
      capnp::Schema s = door.getNested(nested.getName());
      if (s.getProto().isAnnotation()) out.insert(s.getProto().getId());
    }
    return out;
  }

 private:
  kj::Own<const kj::ReadableDirectory> open(const std::string& path) {
    return fs_->getRoot().openSubdir(fs_->getCurrentPath().eval(path));
  }

  TempDir dir_holder_;
  kj::Own<kj::Filesystem> fs_;
  kj::Own<const kj::ReadableDirectory> dir_;
  kj::Own<const kj::ReadableDirectory> capnp_dir_;
  kj::Own<const kj::ReadableDirectory> door_dir_;
  const kj::ReadableDirectory* imports_[2];
  capnp::SchemaParser parser_;
  capnp::ParsedSchema file_;
};

// Keeps the annotations of `from` that door.capnp declares (the others are printed as comments).
template <class Builder>
void keep_door_annotations(capnp::List<cs::Annotation>::Reader from,
                           const std::set<uint64_t>& door_ids, Builder target) {
  std::vector<cs::Annotation::Reader> kept;
  for (auto a : from) {
    if (door_ids.count(a.getId()) != 0) kept.push_back(a);
  }
  auto list = target.initAnnotations(static_cast<unsigned>(kept.size()));
  for (unsigned i = 0; i < kept.size(); ++i) list.setWithCaveats(i, kept[i]);
}

// A node as text, without what printing it into another file changes by design: the file in
// its display name, the file as its scope, nested nodes left out of the closure, annotations
// whose declarations were not available. With keep_names false, display names too (renamed
// declarations).
std::string comparable(capnp::Schema s, const std::set<uint64_t>& door_ids, bool keep_names) {
  cs::Node::Reader from = s.getProto();
  capnp::MallocMessageBuilder message;
  message.setRoot(from);
  auto node = message.getRoot<cs::Node>();
  std::string name = local_name(s);
  node.setDisplayName(keep_names ? name : "");
  node.setDisplayNamePrefixLength(0);
  if (name.find('.') == std::string::npos) node.setScopeId(0);
  node.initNestedNodes(0);
  keep_door_annotations(from.getAnnotations(), door_ids, node);
  if (from.isStruct()) {
    for (unsigned i = 0; i < from.getStruct().getFields().size(); ++i) {
      auto field = node.getStruct().getFields()[i];
      keep_door_annotations(from.getStruct().getFields()[i].getAnnotations(), door_ids, field);
    }
  } else if (from.isEnum()) {
    for (unsigned i = 0; i < from.getEnum().getEnumerants().size(); ++i) {
      auto enumerant = node.getEnum().getEnumerants()[i];
      keep_door_annotations(from.getEnum().getEnumerants()[i].getAnnotations(), door_ids,
                            enumerant);
    }
  } else if (from.isInterface()) {
    for (unsigned i = 0; i < from.getInterface().getMethods().size(); ++i) {
      auto method = node.getInterface().getMethods()[i];
      keep_door_annotations(from.getInterface().getMethods()[i].getAnnotations(), door_ids, method);
    }
  }
  return kj::str(node.asReader()).cStr();
}

// Pointer defaults (structs, lists) print as "<opaque pointer>" in the node's text: compare
// their values.
std::vector<std::string> pointer_defaults(capnp::Schema s) {
  std::vector<std::string> out;
  if (!s.getProto().isStruct()) return out;
  for (auto field : s.asStruct().getFields()) {
    if (!field.getProto().isSlot()) continue;
    auto value = field.getProto().getSlot().getDefaultValue();
    if (value.isStruct() && value.hasStruct()) {
      auto v = value.getStruct().getAs<capnp::DynamicStruct>(field.getType().asStruct());
      out.push_back(str(field.getProto().getName()) + " = " + kj::str(v).cStr());
    } else if (value.isList() && value.hasList()) {
      auto v = value.getList().getAs<capnp::DynamicList>(field.getType().asList());
      out.push_back(str(field.getProto().getName()) + " = " + kj::str(v).cStr());
    }
  }
  return out;
}

// Prints `root` from the nodes of its closure alone, compiles the text and expects node for
// node what the schema compiler made of the original file.
void expect_round_trip(capnp::InterfaceSchema root, const std::string& printed_path,
                       bool keep_names = true) {
  WireNodes wire(root);
  std::string text = schema_text(wire.root());
  try {
    Compiled compiled(text);
    capnp::ParsedSchema parsed = compiled.file();
    size_t start = 0;
    for (size_t dot = 0; dot != std::string::npos; start = dot + 1) {
      dot = printed_path.find('.', start);
      parsed = parsed.getNested(printed_path.substr(start, dot - start));
    }
    ASSERT_TRUE(parsed.getProto().isInterface()) << text;
    std::vector<capnp::Schema> want = schema_closure(root);
    std::vector<capnp::Schema> got = schema_closure(parsed.asInterface());
    ASSERT_EQ(ids(got), ids(want)) << text;
    std::set<uint64_t> door_ids = compiled.door_annotation_ids();
    ASSERT_EQ(door_ids.size(), 9u);
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(comparable(got[i], door_ids, keep_names), comparable(want[i], door_ids, keep_names))
          << local_name(want[i]) << "\n"
          << text;
      EXPECT_EQ(pointer_defaults(got[i]), pointer_defaults(want[i])) << local_name(want[i]);
    }
  } catch (const kj::Exception& e) {
    FAIL() << e.getDescription().cStr() << "\n" << text;
  }
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(SchemaText, Closure_RootFirstThenItsParameterListsThenEveryUsedTypeOnce) {
  capnp::InterfaceSchema root = capnp::Schema::from<stt::Everything>();

  std::vector<capnp::Schema> sut = schema_closure(root);

  ASSERT_GE(sut.size(), 3u);
  EXPECT_EQ(sut[0], root);
  EXPECT_EQ(local_name(sut[1]), "Everything.scalars$Params");
  EXPECT_EQ(local_name(sut[2]), "Everything.scalars$Results");
  std::vector<uint64_t> unique = ids(sut);
  std::sort(unique.begin(), unique.end());
  EXPECT_EQ(std::unique(unique.begin(), unique.end()), unique.end());
  std::multiset<std::string> names;
  for (capnp::Schema s : sut) names.insert(local_name(s));
  std::multiset<std::string> want = {"Everything",
                                     "Everything.scalars$Params",
                                     "Everything.scalars$Results",
                                     "Request",
                                     "Response",
                                     "Everything.mixed$Results",
                                     "Everything.tree$Params",
                                     "Everything.tree$Results",
                                     "Everything.inner$Params",
                                     "Everything.inner$Results",
                                     "Everything.holder$Params",
                                     "Everything.holder$Results",
                                     "Everything.session$Params",
                                     "Everything.session$Results",
                                     "Everything.openFile$Params",
                                     "Everything.openFile$Results",
                                     "Everything.points$Params",
                                     "Everything.points$Results",
                                     "Everything.annotated$Params",
                                     "Everything.annotated$Results",
                                     "Everything.legacy$Params",
                                     "Everything.legacy$Results",
                                     "Legacy",
                                     "Legacy.u",
                                     "Legacy.v",
                                     "Base",
                                     "Base.ping$Params",
                                     "Base.ping$Results",
                                     "Scalars",
                                     "Color",
                                     "Shape",
                                     "Shape.square",
                                     "Shape.style",
                                     "Shape.position",
                                     "Tree",
                                     "Outer.Inner",
                                     "Outer.Inner.Deeper",
                                     "Holder",
                                     "Holder.Point",
                                     "Point",
                                     "Session",
                                     "Session.get$Params",
                                     "Session.get$Results",
                                     "Fd"};
  EXPECT_EQ(names, want);
}

TEST(SchemaText, Closure_DoorFd_IncludedAsTheStructOfDoorCapnp) {
  capnp::InterfaceSchema root = capnp::Schema::from<rt::Tester>();

  std::vector<capnp::Schema> sut = schema_closure(root);

  auto fd = std::find_if(sut.begin(), sut.end(), [](capnp::Schema s) {
    return s.getProto().getId() == 0x9bfa998dd387f3dfull;
  });
  ASSERT_NE(fd, sut.end());
  EXPECT_EQ(str(fd->getProto().getDisplayName()), "doors/door.capnp:Fd");
}

TEST(SchemaText, Closure_GenericType_ThrowsInvalidArgument) {
  capnp::InterfaceSchema root = capnp::Schema::from<stt::Generic>();

  EXPECT_THROW(schema_closure(root), std::invalid_argument);
}

TEST(SchemaText, Closure_AnyPointer_ThrowsInvalidArgument) {
  capnp::InterfaceSchema root = capnp::Schema::from<stt::Loose>();

  EXPECT_THROW(schema_closure(root), std::invalid_argument);
  EXPECT_THROW(schema_text(root), std::invalid_argument);
}

TEST(SchemaText, WireNodes_OnlyTheClosureIsLoaded) {
  capnp::InterfaceSchema root = capnp::Schema::from<stt::Everything>();

  WireNodes sut(root);

  // No placeholders either: every type a loaded node names is itself in the closure.
  EXPECT_EQ(sut.node_count(), schema_closure(root).size());
}

TEST(SchemaText, Closure_NodeNeverLoaded_ThrowsInvalidArgument) {
  WireNodes wire(capnp::Schema::from<stt::Everything>(),
                 /*leave_out=*/capnp::Schema::from<stt::Point>().getProto().getId());

  EXPECT_THROW(schema_closure(wire.root()), std::invalid_argument);
  EXPECT_THROW(schema_text(wire.root()), std::invalid_argument);
}

TEST(SchemaText, Everything_CompilesBackToTheSameNodes) {
  expect_round_trip(capnp::Schema::from<stt::Everything>(), "Everything");
}

TEST(SchemaText, Tester_CompilesBackToTheSameNodes) {
  expect_round_trip(capnp::Schema::from<rt::Tester>(), "Tester");
}

TEST(SchemaText, Calculator_CompilesBackToTheSameNodes) {
  expect_round_trip(capnp::Schema::from<stt::Calculator>(), "Calculator");
}

TEST(SchemaText, RenamedAndCapturedNames_CompileBackToTheSameNodes) {
  expect_round_trip(capnp::Schema::from<stt::Odd>(), "Odd", /*keep_names=*/false);
}

TEST(SchemaText, WireNodes_SameTextAsTheCompiledInSchema) {
  capnp::InterfaceSchema root = capnp::Schema::from<stt::Everything>();
  WireNodes wire(root);

  std::string sut = schema_text(wire.root());

  EXPECT_EQ(sut, schema_text(root));
}

TEST(SchemaText, Calculator_ExactText) {
  WireNodes wire(capnp::Schema::from<stt::Calculator>());

  std::string sut = schema_text(wire.root());

  EXPECT_EQ(sut,
            "# schema_text_test.capnp:Calculator: schema text from compiled nodes, without doc "
            "comments\n"
            "@0x93d55bf06c2f1790;\n"
            "\n"
            "using Door = import \"/doors/door.capnp\";\n"
            "\n"
            "interface Calculator @0xcc253cde12b8f8ac $Door.path(\"calculator\") $Door.unref {\n"
            "  add @0 (a :Int64, b :Int64) -> (sum :Int64);\n"
            "  divide @1 (a :Float64, b :Float64 = 1) -> (quotient :Float64) "
            "$Door.timeoutMs(100);\n"
            "}\n");
}

TEST(SchemaText, Everything_NestedTypesShellsUnionsAndDoorTypes) {
  WireNodes wire(capnp::Schema::from<stt::Everything>());

  std::string sut = schema_text(wire.root());

  EXPECT_EQ(sut.find("\ninterface Everything @"), sut.find("\ninterface "));
  EXPECT_TRUE(
      contains(sut, "\n# Outer itself is not used; it holds the types below\nstruct Outer @"))
      << sut;
  EXPECT_TRUE(contains(sut, "  named @1 Request -> Response;\n")) << sut;
  EXPECT_TRUE(contains(sut, "  mixed @2 Request -> (shape :Shape);\n")) << sut;
  EXPECT_TRUE(contains(sut, "(file :Door.Fd, files :List(Door.Fd))")) << sut;
  EXPECT_TRUE(contains(sut, "  top @1 : .Point;\n")) << sut;
  EXPECT_TRUE(contains(sut, "  union {\n    circle @1 :Float64;\n    square :group {\n")) << sut;
  EXPECT_TRUE(contains(sut, "  style :union {\n    solid @5 :Color = green;\n")) << sut;
  EXPECT_TRUE(contains(sut, "  u @1! :union {\n    b @2 :Int32;\n")) << sut;
  EXPECT_TRUE(contains(sut, "  # $0xf264a779fef191ce(\"label\")\n  name @0 :Text;\n")) << sut;
  EXPECT_TRUE(contains(sut, " $Door.maxArgBytes(67174400) $Door.maxDescriptors(16)")) << sut;
  EXPECT_FALSE(contains(sut, "Unused")) << sut;
  EXPECT_FALSE(contains(sut, "NotUsed")) << sut;
  EXPECT_FALSE(contains(sut, "struct Fd")) << sut;
}

TEST(SchemaText, Odd_RenamesWhatTheTextCannotKeepAndSaysSo) {
  WireNodes wire(capnp::Schema::from<stt::Odd>());

  std::string sut = schema_text(wire.root());

  EXPECT_TRUE(contains(sut,
                       "# Text2 is Text of schema_text_test.capnp (renamed: Text is a "
                       "built-in type)\n  struct Text2 @"))
      << sut;
  EXPECT_TRUE(contains(sut,
                       "# Point2 is Point of schema_text_other.capnp (renamed: another "
                       "Point is declared here)\nstruct Point2 @"))
      << sut;
  EXPECT_TRUE(contains(sut, "-> () $ .Door.timeoutMs(9);\n")) << sut;
}

}  // namespace
}  // namespace doors::test
