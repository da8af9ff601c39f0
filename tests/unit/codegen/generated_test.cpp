// The code doorc generates for golden/*.capnp, built by doors_generate() against the real
// runtime: the shapes the runtime README specifies exist (checked at compile time), kInfo says
// what the schemas say, and a generated server answers a generated client through a real door.
#include <door.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "annotated.door.h"
#include "calculator.door.h"
#include "global.door.h"
#include "importer.door.h"
#include "nested.door.h"
#include "temp_dir.h"

namespace {

using doors::test::TempDir;

// ---- shapes, at compile time -------------------------------------------------------------------

// What must not exist is asked through concepts: a requires-expression outside a template must
// be valid.
template <class C>
concept HasTotal = requires(const C& c) {
  c.total();
};
template <class C>
concept HasPoint = requires(const C& c) {
  c.point();
};
template <class C>
concept HasDefaultOpen = requires {
  C::open();
};

// The convenience overload exists exactly when every parameter is scalar/enum/Text/Data/Fd/door.
static_assert(requires(const calc::CalculatorDoor::Client& c) { c.add(1, 2); });
static_assert(requires(const calc::CalculatorDoor::Client& c) { c.openLog("x"); });
static_assert(requires(const calc::CalculatorDoor::Client& c) { c.session(); });
static_assert(requires(const calc::CalculatorDoor::Client& c) { c.totalRequest(); });
static_assert(!HasTotal<calc::CalculatorDoor::Client>);
static_assert(requires(const ScalarsDoor::Client& c, const KeywordsDoor::Client& k) {
  c.all(true, 1, 2, 3, 4, 5, 6, 7, 8, 1.0f, 2.0, Mode::SAFE, "t", kj::ArrayPtr<const kj::byte>(), 0,
        k);
});
static_assert(!HasPoint<ScalarsDoor::Client>);
// Escaped names.
static_assert(requires(const KeywordsDoor::Client& c) { c.delete_("a", 1u); });
static_assert(requires(const KeywordsDoor::Client& c) { c.open_("a"); });
static_assert(requires(const KeywordsDoor::Client& c) { c.getRequest_(true); });
static_assert(requires(const KeywordsDoor::Client& c) { c.getRequestRequest(); });
// Default paths.
static_assert(!HasDefaultOpen<calc::SessionDoor::Client>);
static_assert(HasDefaultOpen<calc::CalculatorDoor::Client>);
static_assert(calc::SessionDoor::kDefaultPath == nullptr);
// Imported interfaces are taken as their own generated clients.
static_assert(requires(const app::ImporterDoor::Client& c, const lib::StoreDoor::Client& s,
                       const shapes::CanvasDoor::Client& v) {
  c.useStore(s);
  c.draw(v, shapes::Color::GREEN);
});

// Servers override what they implement; the rest stays callable (answering UNIMPLEMENTED).
class KeywordsImpl final : public KeywordsDoor::Server {
  void delete_(DeleteContext& context) override { context.results().setThis(true); }
  void dispatch_(DispatchContext&) override {}
};
class NestedImpl final : public deep::nested::Outer_InnerDoor::Server {
  void resize(ResizeContext& context) override {
    context.results().setKind(context.params().getKind());
  }
};
class EmptyImpl final : public EmptyDoor::Server {};

std::string_view str(const char* s) { return s == nullptr ? std::string_view() : s; }

// ---- kInfo -----------------------------------------------------------------------------------

TEST(GeneratedInfo, Calculator_NameIdPathMethods) {
  const auto& sut = calc::CalculatorDoor::kInfo;
  EXPECT_EQ(str(sut.name), "Calculator");
  EXPECT_EQ(sut.id, calc::CalculatorDoor::kInterfaceId);
  EXPECT_EQ(sut.id, capnp::typeId<calc::Calculator>());
  EXPECT_EQ(str(sut.default_path), "calculator");
  EXPECT_EQ(sut.door_attributes, 0u);
  ASSERT_EQ(sut.method_count, 5u);
  for (size_t i = 0; i < sut.method_count; ++i) EXPECT_EQ(sut.methods[i].ordinal, i);
  EXPECT_EQ(str(sut.methods[3].name), "openLog");
  EXPECT_EQ(sut.schema().getProto().getId(), sut.id);
}

TEST(GeneratedInfo, Annotated_AttributesAndLimits) {
  const auto& sut = annotated::EverythingDoor::kInfo;
  EXPECT_EQ(str(sut.default_path), "run/doors/\"every\" thing\\");
  EXPECT_EQ(sut.door_attributes,
            uint32_t{DOOR_UNREF | DOOR_UNREF_MULTI | DOOR_NO_CANCEL | DOOR_PRIVATE});
  ASSERT_EQ(sut.method_count, 2u);
  EXPECT_EQ(sut.methods[0].limits.max_arg_bytes, 4096u);
  EXPECT_EQ(sut.methods[0].limits.max_descriptors, 2u);
  EXPECT_EQ(sut.methods[0].limits.timeout_ms, 250u);
  EXPECT_EQ(sut.methods[1].limits.max_arg_bytes, 1048576u);
  EXPECT_EQ(sut.methods[1].limits.max_descriptors, 0u);
  EXPECT_EQ(sut.methods[1].limits.timeout_ms, 60000u);
  EXPECT_EQ(annotated::RefusingDoor::kInfo.door_attributes, uint32_t{DOOR_REFUSE_DESC});
}

TEST(GeneratedInfo, Plain_RuntimeDefaults) {
  const auto& sut = annotated::PlainDoor::kInfo;
  EXPECT_EQ(sut.door_attributes, 0u);
  ASSERT_EQ(sut.method_count, 1u);
  EXPECT_EQ(sut.methods[0].limits.max_arg_bytes, 0u);
  EXPECT_EQ(sut.methods[0].limits.max_descriptors, UINT32_MAX);
  EXPECT_EQ(sut.methods[0].limits.timeout_ms, 0u);
}

TEST(GeneratedInfo, EmptyInterface_NoMethods) {
  EXPECT_EQ(EmptyDoor::kInfo.method_count, 0u);
  EXPECT_EQ(EmptyDoor::kInfo.methods, nullptr);
  EmptyImpl sut;
  EXPECT_EQ(&sut.interface_info(), &EmptyDoor::kInfo);
}

TEST(GeneratedInfo, NestedInterface_ScopedName) {
  EXPECT_EQ(str(deep::nested::Outer_InnerDoor::kInfo.name), "Outer.Inner");
  EXPECT_EQ(deep::nested::Outer_InnerDoor::kInterfaceId,
            capnp::typeId<deep::nested::Outer::Inner>());
  EXPECT_EQ(str(deep::nested::Outer_InnerDoor::kInfo.default_path), "outer/inner");
}

// ---- a call through a real door ----------------------------------------------------------------

class Calc final : public calc::CalculatorDoor::Server {
  void add(AddContext& context) override {
    auto p = context.params();
    context.results().setSum(p.getA() + p.getB());
  }
  void divide(DivideContext& context) override {
    if (context.params().getB() == 0) {
      throw doors::Error(doors::Code::kInvalidArgument, "division by zero");
    }
    context.results().setQuotient(context.params().getA() / context.params().getB());
  }
};

TEST(GeneratedCall, ClientCallsServer_ThroughADoor) {
  TempDir dir;
  doors::Service service(std::make_shared<Calc>());
  service.attach(dir.file("calc"));
  auto sut = calc::CalculatorDoor::Client::open(dir.file("calc"));

  EXPECT_EQ(sut.add(2, 3)->getSum(), 5);
  try {
    sut.divide(1, 0);
    FAIL() << "no error";
  } catch (const doors::Error& e) {
    EXPECT_EQ(e.code(), doors::Code::kInvalidArgument);
    EXPECT_EQ(e.message(), "division by zero");
  }
  // Not overridden: the generated default.
  try {
    sut.openLog("x");
    FAIL() << "no error";
  } catch (const doors::Error& e) {
    EXPECT_EQ(e.code(), doors::Code::kUnimplemented);
    EXPECT_EQ(e.message(), "Calculator.openLog: this server does not provide the method");
  }
}

}  // namespace
