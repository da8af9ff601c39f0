# A second file whose Point meets schema_text_test.capnp's Point in one printed text.
@0x85606470db244b4e;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("stt::other");

struct Point {
  other @0 :Text;
}
