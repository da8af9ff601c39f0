// doors::idl::load_schema on the schemas in schemas/: the model of a valid schema, and the exact
// diagnostic for each construct the front end rejects.
#include "doors/idl/load.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using doors::idl::Interface;
using doors::idl::LoadError;
using doors::idl::LoadOptions;
using doors::idl::Method;
using doors::idl::Model;
using doors::idl::TypeKind;

const std::string kDir = DOORS_IDL_TEST_SCHEMAS;

std::string schema(const std::string& name) { return kDir + "/" + name; }

Model load_calculator() {
  return doors::idl::load_schema(schema("calculator.capnp"), {kDir + "/importdir"});
}

const Interface* find_interface(const Model& model, const std::string& name) {
  for (const auto& i : model.interfaces) {
    if (i.ref.name == name) return &i;
  }
  return nullptr;
}

// The what() of the LoadError that loading `file` throws, or "" when it loads.
std::string load_error(const std::string& file, const std::vector<std::string>& dirs) {
  try {
    doors::idl::load_schema(schema(file), dirs);
  } catch (const LoadError& e) {
    return e.what();
  }
  return "";
}

TEST(LoadSchema, ValidSchema_ListsInterfacesInDeclarationOrder) {
  Model sut = load_calculator();

  ASSERT_EQ(sut.interfaces.size(), 2u);
  EXPECT_EQ(sut.interfaces[0].ref.name, "Calculator");
  EXPECT_EQ(sut.interfaces[1].ref.name, "Session");
  EXPECT_TRUE(sut.interfaces[0].local);
  EXPECT_TRUE(sut.interfaces[1].local);
  EXPECT_EQ(sut.file, schema("calculator.capnp"));
  EXPECT_EQ(sut.file_id, 0xc0ffee0123456789ULL);
}

TEST(LoadSchema, CxxNamespace_IsReadFromTheImportedCxxAnnotation) {
  Model sut = load_calculator();

  EXPECT_EQ(sut.cxx_namespace, "calc");
  ASSERT_FALSE(sut.interfaces.empty());
  EXPECT_EQ(sut.interfaces[0].ref.cxx_namespace, "calc");
}

TEST(LoadSchema, InterfaceAnnotations_BecomePathAndAttributes) {
  Model sut = load_calculator();

  const Interface* calc = find_interface(sut, "Calculator");
  const Interface* session = find_interface(sut, "Session");
  ASSERT_NE(calc, nullptr);
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(calc->path, "calculator");
  EXPECT_TRUE(calc->attributes.unref);
  EXPECT_TRUE(calc->attributes.no_cancel);
  EXPECT_FALSE(calc->attributes.unref_multi);
  EXPECT_FALSE(calc->attributes.refuse_descriptors);
  EXPECT_FALSE(calc->attributes.private_pool);
  EXPECT_EQ(session->path, std::nullopt);
  EXPECT_TRUE(session->attributes.unref_multi);
  EXPECT_TRUE(session->attributes.refuse_descriptors);
  EXPECT_TRUE(session->attributes.private_pool);
  EXPECT_FALSE(session->attributes.unref);
}

TEST(LoadSchema, Limits_MethodOverridesInterfaceDefault) {
  Model sut = load_calculator();

  const Interface* calc = find_interface(sut, "Calculator");
  ASSERT_NE(calc, nullptr);
  ASSERT_EQ(calc->methods.size(), 7u);
  EXPECT_EQ(calc->limits.timeout_ms, 5000u);
  const Method& add = calc->methods[0];
  const Method& divide = calc->methods[1];
  const Method& total = calc->methods[2];
  const Method& send = calc->methods[6];
  EXPECT_EQ(add.limits.timeout_ms, std::nullopt);
  EXPECT_EQ(effective_limits(*calc, add).timeout_ms, 5000u);
  EXPECT_EQ(divide.limits.timeout_ms, 100u);
  EXPECT_EQ(effective_limits(*calc, divide).timeout_ms, 100u);
  EXPECT_EQ(total.limits.max_arg_bytes, 65536u);
  EXPECT_EQ(send.limits.max_descriptors, 8u);
  EXPECT_EQ(effective_limits(*calc, add).max_arg_bytes, std::nullopt);
}

TEST(LoadSchema, Methods_KeepOrdinalsParamsAndResults) {
  Model sut = load_calculator();

  const Interface* calc = find_interface(sut, "Calculator");
  ASSERT_NE(calc, nullptr);
  ASSERT_EQ(calc->methods.size(), 7u);
  const Method& add = calc->methods[0];
  EXPECT_EQ(add.name, "add");
  EXPECT_EQ(add.ordinal, 0);
  ASSERT_EQ(add.params.size(), 2u);
  EXPECT_EQ(add.params[0].name, "a");
  EXPECT_EQ(add.params[0].type.kind, TypeKind::kInt64);
  EXPECT_EQ(add.params[1].name, "b");
  ASSERT_EQ(add.results.size(), 1u);
  EXPECT_EQ(add.results[0].name, "sum");
  EXPECT_NE(add.param_struct_id, 0u);
  EXPECT_NE(add.result_struct_id, 0u);
  EXPECT_EQ(calc->methods[4].name, "session");
  EXPECT_EQ(calc->methods[4].ordinal, 4);
  EXPECT_TRUE(calc->methods[4].params.empty());
}

TEST(LoadSchema, Types_ListFdDoorAndImportedStructAreModelled) {
  Model sut = load_calculator();

  const Interface* calc = find_interface(sut, "Calculator");
  ASSERT_NE(calc, nullptr);
  ASSERT_EQ(calc->methods.size(), 7u);
  const auto& values = calc->methods[2].params.at(0).type;
  EXPECT_EQ(values.kind, TypeKind::kList);
  ASSERT_EQ(values.element.size(), 1u);
  EXPECT_EQ(values.element[0].kind, TypeKind::kFloat64);
  EXPECT_EQ(calc->methods[3].results.at(0).type.kind, TypeKind::kFd);
  const auto& door = calc->methods[4].results.at(0).type;
  EXPECT_EQ(door.kind, TypeKind::kInterface);
  EXPECT_EQ(door.named.name, "Session");
  const auto& point = calc->methods[5].params.at(0).type;
  EXPECT_EQ(point.kind, TypeKind::kStruct);
  EXPECT_EQ(point.named.name, "Point");
  EXPECT_EQ(point.named.file, kDir + "/importdir/shared/types.capnp");
  EXPECT_EQ(point.named.cxx_namespace, "");
  EXPECT_EQ(calc->methods[5].params.at(1).type.kind, TypeKind::kEnum);
  EXPECT_EQ(calc->methods[5].params.at(1).type.named.name, "Color");
}

TEST(LoadSchema, Descriptors_FdOrDoorMarksTheMethod) {
  Model sut = load_calculator();

  const Interface* calc = find_interface(sut, "Calculator");
  ASSERT_NE(calc, nullptr);
  ASSERT_EQ(calc->methods.size(), 7u);
  EXPECT_FALSE(calc->methods[0].takes_descriptors);
  EXPECT_FALSE(calc->methods[0].returns_descriptors);
  EXPECT_TRUE(calc->methods[3].returns_descriptors);  // openLog -> Fd
  EXPECT_TRUE(calc->methods[4].returns_descriptors);  // session -> a door
  EXPECT_TRUE(calc->methods[6].takes_descriptors);    // send (List(Fd))
  EXPECT_FALSE(calc->methods[6].returns_descriptors);
}

TEST(LoadSchema, DocComments_AreKept) {
  Model sut = load_calculator();

  const Interface* calc = find_interface(sut, "Calculator");
  ASSERT_NE(calc, nullptr);
  ASSERT_FALSE(calc->methods.empty());
  EXPECT_EQ(calc->doc, "Adds and divides.\n");
  EXPECT_EQ(calc->methods[0].doc, "Returns a + b.\n");
  EXPECT_EQ(calc->methods[1].doc, "");
}

TEST(LoadSchema, Structs_KeepUnionAndGroupMembers) {
  Model sut = load_calculator();

  const doors::idl::Struct* entry = nullptr;
  for (const auto& s : sut.structs) {
    if (s.ref.name == "Entry") entry = &s;
  }
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->discriminant_count, 2);
  ASSERT_EQ(entry->fields.size(), 4u);
  EXPECT_EQ(entry->fields[0].discriminant, std::nullopt);
  EXPECT_EQ(entry->fields[1].name, "none");
  EXPECT_EQ(entry->fields[1].discriminant, 0);
  EXPECT_EQ(entry->fields[2].discriminant, 1);
  EXPECT_EQ(entry->fields[3].type.kind, TypeKind::kGroup);
  EXPECT_EQ(entry->fields[3].type.named.name, "Entry.meta");
}

TEST(LoadSchema, MissingFile_FailsWithCannotOpen) {
  std::string sut = load_error("no_such_file.capnp", {});

  EXPECT_EQ(sut, "error: " + schema("no_such_file.capnp") + ": cannot open file");
}

TEST(LoadSchema, WithoutStandardImportDirs_DoorCapnpIsNotFound) {
  LoadOptions options{{kDir + "/importdir"}, /*standard_import_dirs=*/false};
  std::string what;
  try {
    doors::idl::load_schema(schema("calculator.capnp"), options);
  } catch (const LoadError& e) {
    what = e.what();
  }

  // Cap'n Proto reports the imports in its own order; this one is among them.
  EXPECT_NE(
      what.find("error: " + schema("calculator.capnp") + ":5:21: Import failed: /doors/door.capnp"),
      std::string::npos)
      << what;
}

TEST(LoadSchema, LoadError_ListsEveryDiagnostic) {
  try {
    doors::idl::load_schema(schema("bad_missing_import.capnp"), std::vector<std::string>{});
    FAIL() << "no LoadError";
  } catch (const LoadError& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u);
    EXPECT_EQ(e.diagnostics()[0].line, 2u);
    EXPECT_EQ(e.diagnostics()[0].col, 24u);
    EXPECT_EQ(e.diagnostics()[1].message, "Not defined: Missing");
  }
}

// One bad schema per rejection rule, and the exact diagnostics it gets.
struct Rejection {
  const char* name;  // the test's name
  const char* file;
  const char* import_dir;             // under schemas/, searched before the defaults; "" for none
  std::vector<std::string> expected;  // "line:col: message" per diagnostic
};

class LoadSchemaRejects : public testing::TestWithParam<Rejection> {};

TEST_P(LoadSchemaRejects, FailsWithExactDiagnostic) {
  const Rejection& row = GetParam();
  std::vector<std::string> dirs;
  if (*row.import_dir != '\0') dirs.push_back(kDir + "/" + row.import_dir);
  std::string expected;
  for (const auto& e : row.expected) {
    if (!expected.empty()) expected += '\n';
    expected += "error: " + schema(row.file) + ":" + e;
  }

  std::string sut = load_error(row.file, dirs);

  EXPECT_EQ(sut, expected);
}

const Rejection kRejections[] = {
    {"ParseError", "bad_syntax.capnp", "", {"4:25: Parse error."}},
    {"MissingImport",
     "bad_missing_import.capnp",
     "",
     {"2:24: Import failed: /nowhere/missing.capnp", "3:18: Not defined: Missing"}},
    {"GenericStruct",
     "bad_generic_struct.capnp",
     "",
     {"3:8: generic struct \"Box\" is not supported"}},
    {"GenericInterface",
     "bad_generic_interface.capnp",
     "",
     {"3:11: generic interface \"Store\" is not supported"}},
    {"GenericMethod",
     "bad_generic_method.capnp",
     "",
     {"5:3: generic method \"echo\" is not supported"}},
    {"StreamingMethod",
     "bad_stream.capnp",
     "",
     {"4:3: streaming method \"write\" is not supported"}},
    {"Superclass",
     "bad_superclass.capnp",
     "",
     {"7:11: interface \"Derived\" extends another interface; inheritance is not supported"}},
    {"AnyPointerField",
     "bad_anypointer.capnp",
     "",
     {"5:3: field \"payload\": AnyPointer is not supported"}},
    {"AnyStructParameter",
     "bad_anypointer_param.capnp",
     "",
     {"5:12: parameter \"thing\": AnyStruct is not supported"}},
    {"NamedStructParameters",
     "bad_named_params.capnp",
     "",
     {"8:3: method \"call\": parameters must be a list in parentheses, not struct \"Request\""}},
    {"MisappliedAnnotation",
     "bad_misapplied.capnp",
     "",
     {"4:24: 'Door.path' cannot be applied to this kind of declaration."}},
    {"EmptyPath", "bad_empty_path.capnp", "", {"4:28: $Door.path must not be empty"}},
    {"DuplicatePath",
     "bad_duplicate_path.capnp",
     "",
     {"8:18: $Door.path \"same\" is already the path of interface \"First\""}},
    {"ZeroMaxArgBytes",
     "bad_zero_limit.capnp",
     "",
     {"5:20: $Door.maxArgBytes must be greater than zero"}},
    {"RefuseDescriptorsWithFdParameter",
     "bad_refuse_fd.capnp",
     "",
     {"8:17: $Door.refuseDescriptors: method \"store\" takes descriptors (a Door.Fd or a door)"}},
    {"ZeroMaxDescriptorsWithDoorParameter",
     "bad_zero_descriptors.capnp",
     "",
     {"7:30: $Door.maxDescriptors(0): method \"join\" takes descriptors (a Door.Fd or a door)"}},
    {"UnknownDoorAnnotation",
     "bad_unknown_annotation.capnp",
     "newer_door",
     {"4:35: unknown door annotation \"frobnicate\" (door.capnp is newer than this doorc)"}},
    {"UnknownDoorAnnotationWithCurrentDoorCapnp",
     "bad_unknown_annotation.capnp",
     "",
     {"4:41: 'Door' has no member named 'frobnicate'"}},
};

INSTANTIATE_TEST_SUITE_P(Table, LoadSchemaRejects, testing::ValuesIn(kRejections),
                         [](const testing::TestParamInfo<Rejection>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
