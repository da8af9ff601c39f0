# The schema the runtime's integration tests call through (tests/integration/runtime).
@0xa6e5b55610218c59;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rt");

using Door = import "/doors/door.capnp";

enum Color {
  red @0;
  green @1;
  blue @2;
}

struct Scalars {
  b @0 :Bool;
  i8 @1 :Int8;
  i16 @2 :Int16;
  i32 @3 :Int32;
  i64 @4 :Int64;
  u8 @5 :UInt8;
  u16 @6 :UInt16;
  u32 @7 :UInt32;
  u64 @8 :UInt64;
  f32 @9 :Float32;
  f64 @10 :Float64;
  color @11 :Color;
}

struct Address {
  street @0 :Text;
  zip @1 :UInt32;
}

struct Person {
  name @0 :Text;
  age @1 :UInt32;
  tags @2 :List(Text);
  address @3 :Address;
  friends @4 :List(Person);
}

struct Node {
  next @0 :Node;
}

interface Session $Door.unref {
  put @0 (key :Text, value :Data) -> ();
  get @1 (key :Text) -> (value :Data);
}

interface Tester $Door.path("runtime-tester") {
  null @0 () -> ();
  add @1 (a :Int64, b :Int64) -> (sum :Int64);
  echoScalars @2 (s :Scalars) -> (s :Scalars);
  echoText @3 (t :Text) -> (t :Text);
  echoData @4 (d :Data) -> (d :Data, digest :UInt64);
  makeData @5 (size :UInt64, seed :UInt64) -> (d :Data);
  sumList @6 (values :List(Float64)) -> (total :Float64, count :UInt32);
  echoPerson @7 (p :Person) -> (p :Person);
  joinTexts @8 (texts :List(Text)) -> (joined :Text, count :UInt32);
  fail @9 (code :UInt16, message :Text) -> ();
  failStd @10 (message :Text) -> ();
  notImplemented @11 () -> ();
  openFile @12 (content :Text) -> (file :Door.Fd);
  readFd @13 (file :Door.Fd) -> (content :Text);
  readFds @14 (files :List(Door.Fd)) -> (contents :List(Text));
  session @15 () -> (s :Session);
  useSession @16 (s :Session, key :Text) -> (value :Data);
  block @17 (millis :UInt32) -> ();
  limited @18 (d :Data) -> () $Door.maxArgBytes(1024) $Door.maxDescriptors(0);
  slowDefault @19 (millis :UInt32) -> () $Door.timeoutMs(200);
  depth @20 (n :Node) -> (depth :UInt32);
  countVoids @21 (v :List(Void)) -> (count :UInt64);
  caller @22 () -> (pid :Int32, uid :UInt32, euid :UInt32, gid :UInt32, egid :UInt32);
}
