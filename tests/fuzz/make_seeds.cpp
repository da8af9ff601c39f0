// Writes the hand-made seeds of tests/fuzz/corpus/ (valid frames of every kind, valid typed
// requests of every example method built with Cap'n Proto, a few malformed ones). Run by hand
// when the formats change; the checked-in corpus is these seeds grown by fuzzing and minimized
// with -merge=1 (tests/fuzz/README.md):
//   fuzz_make_seeds <tests/fuzz/corpus>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <doors/runtime.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "calculator.door.h"
#include "fd_server.door.h"
#include "kv_store.door.h"
#include "wire.h"

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using namespace doors::detail;

namespace {

fs::path g_root;

void write(const std::string& target, const std::string& name, const Bytes& b) {
  fs::create_directories(g_root / target);
  std::ofstream out(g_root / target / ("seed-" + name), std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void append(Bytes& b, const void* p, size_t n) {
  auto* c = static_cast<const uint8_t*>(p);
  b.insert(b.end(), c, c + n);
}

Bytes frame(FrameKind kind, uint16_t flags, uint32_t desc_num, size_t inline_len,
            uint64_t arena_offset = 0, uint64_t data_size = ~uint64_t{0}) {
  Frame f{};
  f.magic = kFrameMagic;
  f.kind = kind;
  f.flags = flags;
  f.desc_num = desc_num;
  f.error = kind == FrameKind::kError ? 22 : 0;
  f.data_size = data_size != ~uint64_t{0} ? data_size : inline_len;
  f.arena_offset = arena_offset;
  Bytes b;
  append(b, &f, sizeof f);
  for (size_t i = 0; i < inline_len; ++i) b.push_back(static_cast<uint8_t>('a' + i % 26));
  for (uint32_t i = 0; i < desc_num; ++i) {
    DescMeta m{i % 2 ? 0x10u : 0u, 0, i % 2 ? 0x1234u + i : 0};
    append(b, &m, sizeof m);
  }
  return b;
}

void wire_seeds() {
  const FrameKind kinds[] = {FrameKind::kCall,    FrameKind::kReply,      FrameKind::kError,
                             FrameKind::kRevoked, FrameKind::kAttach,     FrameKind::kInfoRequest,
                             FrameKind::kInfo,    FrameKind::kHello,      FrameKind::kWelcome,
                             FrameKind::kClosed,  FrameKind::kDetach,     FrameKind::kStatsRequest,
                             FrameKind::kStats,   FrameKind::kShuttleWake};
  for (FrameKind k : kinds) {
    unsigned desc =
        k == FrameKind::kAttach                                                           ? 2
        : (k == FrameKind::kHello || k == FrameKind::kWelcome || k == FrameKind::kDetach) ? 1
                                                                                          : 0;
    size_t body = k == FrameKind::kInfo || k == FrameKind::kWelcome ? sizeof(WireInfo)
                  : k == FrameKind::kStats                          ? sizeof(WireStats)
                                                                    : 0;
    Bytes b{static_cast<uint8_t>(desc), 0};
    Bytes f = frame(k, 0, desc, body);
    append(b, f.data(), f.size());
    write("wire_frame", "kind" + std::to_string(static_cast<int>(k)), b);
  }
  // Calls: inline data, data in the arena with a new arena, descriptors with metadata, no
  // results wanted; then a few malformed ones.
  auto put = [](const std::string& name, uint8_t nfds, uint8_t flags, const Bytes& f) {
    Bytes b{nfds, flags};
    append(b, f.data(), f.size());
    write("wire_frame", name, b);
  };
  put("call-inline", 0, 0, frame(FrameKind::kCall, 0, 0, 100));
  put("call-arena", 1, 0, frame(FrameKind::kCall, kDataInArena | kNewArena, 0, 0, 64, 100000));
  put("call-descs", 3, 0, frame(FrameKind::kCall, kNoResults, 3, 8));
  put("call-arena-descs", 3, 0, frame(FrameKind::kCall, kDataInArena | kNewArena, 2, 0, 0, 1));
  put("reply-big-inline", 0, 0, frame(FrameKind::kReply, 0, 0, 4096));
  put("call-truncated", 0, 1, frame(FrameKind::kCall, 0, 0, 10));
  put("call-ctrunc", 2, 0x10, frame(FrameKind::kCall, 0, 2, 0));
  put("too-many-descs", 0, 0, frame(FrameKind::kCall, 0, kMaxDescs + 1, 0));
  Bytes shortb = frame(FrameKind::kCall, 0, 0, 0);
  shortb.resize(20);
  put("short", 0, 0, shortb);
}

void descriptor_seeds() {
  // [ndesc] [kinds] [size codes] [48 offset bytes] [frame]
  auto put = [](const std::string& name, const Bytes& kinds, const Bytes& sizes, const Bytes& f) {
    Bytes b{static_cast<uint8_t>(kinds.size())};
    append(b, kinds.data(), kinds.size());
    append(b, sizes.data(), sizes.size());
    for (int i = 0; i < 48; ++i) b.push_back(static_cast<uint8_t>(i * 7));
    append(b, f.data(), f.size());
    write("descriptors_and_creds", name, b);
  };
  put("call-inline", {}, {}, frame(FrameKind::kCall, 0, 0, 40));
  put("arena-sealed", {0}, {2}, frame(FrameKind::kCall, kDataInArena | kNewArena, 0, 0, 16, 100));
  put("arena-unsealed", {1}, {0x02}, frame(FrameKind::kCall, kDataInArena | kNewArena, 0, 0, 0, 8));
  put("arena-big", {0}, {5}, frame(FrameKind::kCall, kDataInArena | kNewArena, 0, 0, 4096, 65536));
  put("arena-empty", {0}, {0}, frame(FrameKind::kReply, kDataInArena | kNewArena, 0, 0, 0, 0));
  put("arena-and-descs", {0, 2, 3, 4}, {3, 0, 0, 0},
      frame(FrameKind::kCall, kDataInArena | kNewArena, 3, 0, 1, 4096));
  put("descs-mix", {2, 3, 4, 5, 6, 1}, {0, 0, 0, 0, 0, 1}, frame(FrameKind::kCall, 0, 6, 12));
  put("descs-mismatch", {4, 4}, {0, 0}, frame(FrameKind::kCall, 0, 1, 12));
  put("attach", {3, 0}, {0, 2}, frame(FrameKind::kAttach, 0, 2, 0));
}

template <class Params>
Bytes request(uint8_t desc_byte, const doors::InterfaceInfo& info, uint16_t ordinal,
              void (*fill)(typename Params::Builder)) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<Params>());
  auto words = capnp::messageToFlatArray(message);
  doors::wire::Header h{doors::wire::kMagic, static_cast<uint16_t>(doors::wire::Kind::kRequest),
                        ordinal, info.id};
  Bytes b{desc_byte};
  append(b, &h, sizeof h);
  append(b, words.asBytes().begin(), words.asBytes().size());
  return b;
}

void calculator_seeds() {
  using C = calc::Calculator;
  const auto& info = calc::CalculatorDoor::kInfo;
  auto put = [](const std::string& n, const Bytes& b) { write("dispatch_calculator", n, b); };
  put("add", request<C::AddParams>(0, info, 0, [](C::AddParams::Builder p) {
        p.setA(40);
        p.setB(2);
      }));
  put("add-overflow", request<C::AddParams>(0, info, 0, [](C::AddParams::Builder p) {
        p.setA(INT64_MAX);
        p.setB(1);
      }));
  put("divide", request<C::DivideParams>(0, info, 1, [](C::DivideParams::Builder p) {
        p.setA(INT64_MIN);
        p.setB(-1);
      }));
  put("total", request<C::TotalParams>(0, info, 2, [](C::TotalParams::Builder p) {
        auto v = p.initValues(3);
        v.set(0, 1.5);
        v.set(1, 2.5);
        v.set(2, 1e308);
      }));
  put("openlog", request<C::OpenLogParams>(0, info, 3,
                                           [](C::OpenLogParams::Builder p) { p.setName("fuzz"); }));
  put("openlog-dotdot", request<C::OpenLogParams>(
                            0, info, 3, [](C::OpenLogParams::Builder p) { p.setName("../x"); }));
  put("session", request<C::SessionParams>(0, info, 4, [](C::SessionParams::Builder) {}));
  put("parse", request<C::ParseParams>(0, info, 5, [](C::ParseParams::Builder p) {
        p.setText("(1 + x) * -3 / (y - 2)");
      }));
  put("evaluate", request<C::EvaluateParams>(1, info, 6, [](C::EvaluateParams::Builder p) {
        auto e = p.initExpression().initOperation();
        e.setOperator(calc::Operator::DIVIDE);
        auto ops = e.initOperands(2);
        ops[0].setLiteral(1);
        ops[1].setVariable("x");
        auto vars = p.initVariables(1);
        vars[0].setName("x");
        vars[0].setValue(0.5);
      }));
  // Introspection, which every typed door answers: its id with a few ordinals.
  for (uint16_t ord = 0; ord < 3; ++ord) {
    Bytes b{0};
    doors::wire::Header h{doors::wire::kMagic, static_cast<uint16_t>(doors::wire::Kind::kRequest),
                          ord, doors::IntrospectionClient::kInfo.id};
    append(b, &h, sizeof h);
    capnp::MallocMessageBuilder m;
    m.initRoot<calc::Calculator::SessionParams>();  // an empty struct: default parameters
    auto words = capnp::messageToFlatArray(m);
    append(b, words.asBytes().begin(), words.asBytes().size());
    put("introspection" + std::to_string(ord), b);
  }
}

void kv_seeds() {
  using K = kv::KvStore;
  const auto& info = kv::KvStoreDoor::kInfo;
  auto put = [](const std::string& n, const Bytes& b) { write("dispatch_kv_store", n, b); };
  put("put", request<K::PutParams>(0, info, 0, [](K::PutParams::Builder p) {
        p.setKey("k");
        const kj::byte v[] = {1, 2, 3};
        p.setValue(kj::arrayPtr(v, 3));
      }));
  put("get", request<K::GetParams>(0, info, 1, [](K::GetParams::Builder p) { p.setKey("k"); }));
  put("delete",
      request<K::DeleteParams>(0, info, 2, [](K::DeleteParams::Builder p) { p.setKey("k"); }));
  put("list",
      request<K::ListParams>(0, info, 3, [](K::ListParams::Builder p) { p.setPrefix(""); }));
  put("waitfor", request<K::WaitForParams>(0, info, 4, [](K::WaitForParams::Builder p) {
        p.setKey("k");
        p.setTimeoutMs(1);
      }));
  put("put-with-fd", request<K::PutParams>(1, info, 0, [](K::PutParams::Builder p) {
        p.setKey(std::string(1025, 'x'));
      }));
}

void fd_server_seeds() {
  using F = fdsrv::FileServer;
  const auto& info = fdsrv::FileServerDoor::kInfo;
  auto put = [](const std::string& n, const Bytes& b) { write("dispatch_fd_server", n, b); };
  const char* paths[] = {"a.txt", "sub/b.txt", "sub/up/a.txt",  "out",         "in",
                         "fifo",  "sub",       "../etc/passwd", "/etc/passwd", ""};
  int i = 0;
  for (const char* path : paths) {
    static std::string p;
    p = path;
    uint8_t desc = i % 2 ? 0x80 : 0;  // bit 7: the --walk server
    put("open" + std::to_string(i++),
        request<F::OpenParams>(desc, info, 0, [](F::OpenParams::Builder b) { b.setPath(p); }));
  }
  put("open-with-fd",
      request<F::OpenParams>(1, info, 0, [](F::OpenParams::Builder b) { b.setPath("a.txt"); }));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds <tests/fuzz/corpus>\n");
    return 2;
  }
  g_root = argv[1];
  wire_seeds();
  descriptor_seeds();
  calculator_seeds();
  kv_seeds();
  fd_server_seeds();
  return 0;
}
