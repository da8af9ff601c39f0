// The source index that places the front end's own diagnostics (idl/src/source_index.h).
#include "source_index.h"

#include <gtest/gtest.h>

namespace {

using doors::idl::detail::SourceIndex;

constexpr const char* kText = R"(@0x1234567890abcdef;
# interface Fake { nope @0 () -> (); }
using D = import "/doors/door.capnp";
interface Outer $D.path("x # not a comment") $D.unref {
  call @0 (a :List(Text) $D.x, b :Int8 = 3) -> (r :Int64) $D.timeoutMs(1);
  struct Inner {
    f @0 :Text;
    union {
      u @1 :Void;
    }
    g :group { h @2 :Bool; }
  }
}
)";

TEST(SourceIndex, Declarations_AreFoundByScopePath) {
  SourceIndex sut(kText);

  auto outer = sut.decl("Outer");
  auto inner = sut.decl("Outer.Inner");
  ASSERT_TRUE(outer.has_value());
  ASSERT_TRUE(inner.has_value());
  EXPECT_EQ(outer->line, 4u);
  EXPECT_EQ(outer->col, 11u);
  EXPECT_EQ(inner->line, 6u);
  EXPECT_EQ(inner->col, 10u);
  EXPECT_FALSE(sut.decl("Fake").has_value());  // inside a comment
}

TEST(SourceIndex, Members_IncludeMethodsParamsUnionAndGroupFields) {
  SourceIndex sut(kText);

  auto call = sut.member("Outer", "call");
  auto b = sut.member("Outer.call$Params", "b");
  auto r = sut.member("Outer.call$Results", "r");
  auto u = sut.member("Outer.Inner", "u");
  auto h = sut.member("Outer.Inner.g", "h");
  ASSERT_TRUE(call && b && r && u && h);
  EXPECT_EQ(call->col, 3u);
  EXPECT_EQ(b->line, 5u);
  EXPECT_EQ(b->col, 32u);
  EXPECT_EQ(r->col, 49u);
  EXPECT_EQ(u->line, 9u);
  EXPECT_EQ(h->line, 11u);
}

TEST(SourceIndex, Annotations_AreCountedPerTargetInOrder) {
  SourceIndex sut(kText);

  auto path = sut.annotation("Outer", 0);
  auto unref = sut.annotation("Outer", 1);
  auto param = sut.annotation("Outer.call$Params#a", 0);
  auto timeout = sut.annotation("Outer#call", 0);
  ASSERT_TRUE(path && unref && param && timeout);
  EXPECT_EQ(path->col, 17u);
  EXPECT_EQ(unref->col, 46u);
  EXPECT_EQ(param->col, 26u);
  EXPECT_EQ(timeout->col, 59u);
  EXPECT_FALSE(sut.annotation("Outer", 2).has_value());
}

}  // namespace
