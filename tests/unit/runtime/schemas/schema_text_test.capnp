# Interfaces schema_text_test.cpp prints with doors::schema_text and parses back. Between them
# they use every kind of declaration the printer has to reproduce; Unused and Outer itself must
# stay out of every closure.
@0xde131a6f5fd1fa4a;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("stt");

using Door = import "/doors/door.capnp";
using Other = import "schema_text_other.capnp";

# The small interface of the exact-text test.
interface Calculator $Door.path("calculator") $Door.unref {
  add @0 (a :Int64, b :Int64) -> (sum :Int64);
  divide @1 (a :Float64, b :Float64 = 1) -> (quotient :Float64) $Door.timeoutMs(100);
}

enum Color {
  red @0;
  green @1;
  blue @2;
}

struct Scalars {
  flag @0 :Bool = true;
  i8 @1 :Int8 = -8;
  i16 @2 :Int16 = -16;
  i32 @3 :Int32 = -32;
  i64 @4 :Int64 = -9223372036854775808;
  u8 @5 :UInt8 = 255;
  u16 @6 :UInt16 = 16;
  u32 @7 :UInt32 = 32;
  u64 @8 :UInt64 = 18446744073709551615;
  f32 @9 :Float32 = 0.1;
  f64 @10 :Float64 = -2.5e-300;
  infinity @11 :Float64 = inf;
  notANumber @12 :Float32 = nan;
  negativeZero @13 :Float64 = -0.0;
  text @14 :Text = "quote \" backslash \\ newline \n tab \t é";
  data @15 :Data = 0x"00 01 fe ff";
  color @16 :Color = blue;
  explicitZero @17 :Int32 = 0;
  plain @18 :UInt16;
  emptyText @19 :Text = "";
  nothing @20 :Void;
  plainText @21 :Text;
}

struct Shape {
  name @0 :Text $Cxx.name("label");
  union {
    circle @1 :Float64;
    square :group {
      side @2 :Float64;
      rotated @3 :Bool;
    }
    none @4 :Void;
  }
  style :union {
    solid @5 :Color = green;
    dashed @6 :UInt32;
  }
  position :group {
    x @7 :Int32 = 1;
    y @8 :Int32 = 2;
    label @9 :Text;
  }
}

# Refers to itself, directly and through lists.
struct Tree {
  value @0 :Int32;
  children @1 :List(Tree);
  parent @2 :Tree;
  shapes @3 :List(List(Shape));
  defaults @4 :Shape = (name = "d", circle = 1.5, style = (dashed = 3));
  colors @5 :List(Color) = [red, blue];
  bytes @6 :List(Data) = [0x"01", 0x"02 03"];
}

# Only Outer.Inner (and through it Outer.Inner.Deeper) is used: Outer prints as a shell.
struct Outer {
  unused @0 :Text;

  struct Inner {
    x @0 :UInt8;
    deeper @1 :Deeper;

    struct Deeper {
      y @0 :Int8;
    }
  }

  struct NotUsed {}
}

struct Point {
  x @0 :Float64;
  y @1 :Float64;
}

# Used together with its nested type, whose name hides the top-level Point inside Holder.
struct Holder {
  mine @0 :Point;
  top @1 : .Point;
  deep @2 :Outer.Inner.Deeper;

  struct Point {
    z @0 :Int64;
  }
}

# A named union that kept its ordinal (`@N!`, Cap'n Proto before 0.3), next to one without.
struct Legacy {
  a @0 :Int32;
  u @1! :union {
    b @2 :Int32;
    c @3 :Text;
  }
  v :union {
    d @4 :Int64;
    e @5 :Void;
  }
}

# Parameters and results by name rather than in place.
struct Request {
  a @0 :Int32;
}

struct Response {
  b @0 :List(Text);
}

interface Session $Door.unref $Door.unrefMulti {
  get @0 (key :Text) -> (value :Data);
}

interface Base $Door.refuseDescriptors {
  ping @0 () -> ();
}

interface Everything extends(Base) $Door.path("everything") $Door.noCancel $Door.privatePool
    $Door.maxArgBytes(67174400) $Door.maxDescriptors(16) $Door.timeoutMs(5000) {
  scalars @0 (s :Scalars) -> (s :Scalars);
  named @1 Request -> Response;
  mixed @2 Request -> (shape :Shape);
  tree @3 (t :Tree, depth :UInt32 = 7) -> (count :UInt64)
      $Door.maxArgBytes(1024) $Door.maxDescriptors(0) $Door.timeoutMs(250);
  inner @4 (i :Outer.Inner) -> ();
  holder @5 (h :Holder) -> ();
  session @6 () -> (s :Session);
  openFile @7 (name :Text) -> (file :Door.Fd, files :List(Door.Fd));
  points @8 (p :List(Point)) -> (sum :Point);
  annotated @9 (x :Int32 $Cxx.name("renamedX")) -> () $Cxx.name("annotatedMethod");
  legacy @10 (l :Legacy) -> ();
}

# Names the printed text cannot keep as they are, or must write from the file's root.
interface Odd {
  use @0 (d :Door, t :Text, other :Other.Point, mine :Point, raw :List(Data)) -> ()
      $ .Door.timeoutMs(9);

  struct Door {
    d @0 :Bool;
  }

  struct Text {
    t @0 :Int32;
  }
}

struct Unused {
  e @0 :Everything;
}

# What the IDL front end rejects; so does schema_closure.
struct Box(T) {
  value @0 :T;
}

interface Generic {
  put @0 (box :Box(Text)) -> ();
}

interface Loose {
  put @0 (p :AnyPointer) -> ();
}
