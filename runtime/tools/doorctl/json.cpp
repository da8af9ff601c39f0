// Cap'n Proto values as JSON for doorctl (json.h).
#include "json.h"

#include <kj/encoding.h>
#include <kj/exception.h>
#include <limits.h>
#include <unistd.h>

#include <string>

#include "common.h"

namespace doorctl {
namespace {

// Door.Fd (idl/door.capnp; its id is fixed).
constexpr uint64_t kFdStructId = 0x9bfa998dd387f3df;

class DataHandler final : public capnp::JsonCodec::Handler<capnp::Data> {
 public:
  void encode(const capnp::JsonCodec&, capnp::Data::Reader input,
              capnp::JsonValue::Builder output) const override {
    output.setString(kj::encodeBase64(input));
  }
  capnp::Orphan<capnp::Data> decode(const capnp::JsonCodec&, capnp::JsonValue::Reader input,
                                    capnp::Orphanage orphanage) const override {
    if (input.isString()) {
      auto text = input.getString();
      auto bytes = kj::decodeBase64(text.asArray());
      if (bytes.hadErrors)
        throw UsageError{"not base64 data: \"" + std::string(text.cStr()) + "\""};
      return orphanage.newOrphanCopy(capnp::Data::Reader(bytes));
    }
    if (input.isArray()) {
      auto items = input.getArray();
      auto out = orphanage.newOrphan<capnp::Data>(items.size());
      auto b = out.get();
      for (unsigned i = 0; i < items.size(); ++i) {
        double v = items[i].isNumber() ? items[i].getNumber() : -1;
        if (!(v >= 0 && v <= 255 && v == static_cast<int>(v)))
          throw UsageError{"Data as an array takes numbers from 0 to 255"};
        b[i] = static_cast<kj::byte>(v);
      }
      return out;
    }
    throw UsageError{"Data takes a base64 string or an array of bytes"};
  }
};

class FdHandler final : public capnp::JsonCodec::Handler<capnp::DynamicStruct> {
 public:
  mutable doors::detail::ReplyBase* reply = nullptr;  // set while results are encoded

  void encode(const capnp::JsonCodec&, capnp::DynamicStruct::Reader input,
              capnp::JsonValue::Builder output) const override {
    uint32_t index = input.get("index").as<uint32_t>();
    auto fields = output.initObject(2);
    fields[0].setName("index");
    fields[0].initValue().setNumber(index);
    fields[1].setName("fd");
    std::string target = "?";
    if (reply != nullptr) {
      try {
        doors::OwnedFd fd = reply->take_fd(index);
        char link[PATH_MAX];
        std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
        ssize_t n = ::readlink(proc.c_str(), link, sizeof link - 1);
        if (n >= 0) target.assign(link, static_cast<size_t>(n));
      } catch (const doors::Error& e) {
        target = std::string("(") + e.message() + ")";
      }
    }
    fields[1].initValue().setString(target);
  }
  void decode(const capnp::JsonCodec&, capnp::JsonValue::Reader input,
              capnp::DynamicStruct::Builder output) const override {
    auto fields =
        input.isObject() ? input.getObject() : capnp::List<capnp::JsonValue::Field>::Reader();
    if (!input.isObject() || fields.size() != 1) {
      throw UsageError{"a Door.Fd takes {\"index\": N} (the Nth --fd)"};
    }
    for (auto field : fields) {
      if (field.getName() != "index" || !field.getValue().isNumber()) {
        throw UsageError{"a Door.Fd takes {\"index\": N} (the Nth --fd)"};
      }
      double v = field.getValue().getNumber();
      if (!(v >= 0 && v < 4096 && v == static_cast<int>(v)))
        throw UsageError{"a Door.Fd index is a small whole number"};
      output.set("index", static_cast<uint32_t>(v));
    }
  }
};

// One per interface type of the described schema: Cap'n Proto's codec looks handlers up by the
// exact type, and a decoded door must be a capability of that type.
class DoorHandler final : public capnp::JsonCodec::Handler<capnp::DynamicCapability> {
 public:
  DoorHandler(const doors::RemoteInterface& interface, capnp::InterfaceSchema type)
      : interface_(interface), type_(type) {}

  void encode(const capnp::JsonCodec&, capnp::DynamicCapability::Client dynamic,
              capnp::JsonValue::Builder output) const override {
    capnp::Capability::Client input = kj::mv(dynamic);
    auto fields = output.initObject(2);
    fields[0].setName("door");
    fields[1].setName("pid");
    std::shared_ptr<const doors::DoorHandle> door;
    try {
      door = doors::door_of(input);
    } catch (const doors::Error&) {
      fields[0].initValue().setNull();
      fields[1].initValue().setNull();
      return;
    }
    doors_server_stats_t stats{};
    bool known = ::doors_server_stats(door->fd(), &stats) == 0;
    std::string name;
    if (known && stats.dss_tag != 0) {
      if (auto type = interface_.type(stats.dss_tag)) name = type->getShortDisplayName().cStr();
    }
    if (name.empty()) {
      fields[0].initValue().setNull();
    } else {
      fields[0].initValue().setString(name);
    }
    if (known) {
      fields[1].initValue().setNumber(stats.dss_pid);
    } else {
      fields[1].initValue().setNull();
    }
  }
  capnp::DynamicCapability::Client decode(const capnp::JsonCodec&,
                                          capnp::JsonValue::Reader input) const override {
    if (!input.isString()) throw UsageError{"a door takes the path of a door, as a string"};
    try {
      auto door = std::make_shared<const doors::DoorHandle>(
          doors::DoorHandle::open(input.getString().cStr()));
      return doors::door_capability(std::move(door)).castAs<capnp::DynamicCapability>(type_);
    } catch (const doors::Error& e) {
      throw UsageError{e.message()};
    }
  }

 private:
  const doors::RemoteInterface& interface_;
  capnp::InterfaceSchema type_;
};

// Cap'n Proto's descriptions read "expected <condition>; <what>; <values>": keep what a user
// can act on.
std::string readable(const kj::Exception& e) {
  std::string d = e.getDescription().cStr();
  if (d.rfind("expected ", 0) == 0) {
    if (size_t semi = d.find("; "); semi != std::string::npos) d.erase(0, semi + 2);
  }
  return d;
}

// Cap'n Proto 0.9.2's JSON parser reads the hex digits a-f of a \uXXXX escape as 0-5 and does not
// join surrogate pairs, so "\u00e9" would reach the server as "I". This rewrites every \u escape
// inside a string as the UTF-8 bytes it stands for ('"' and '\\' as their short escapes, NUL kept
// as \u0000, which the parser reads right) and leaves all else alone. Throws UsageError for a
// surrogate that is not half of a pair.
std::string decode_unicode_escapes(std::string_view json) {
  auto hex4 = [&](size_t at, uint32_t* out) {
    if (at + 4 > json.size()) return false;
    uint32_t v = 0;
    for (size_t i = at; i < at + 4; ++i) {
      char c = json[i];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    *out = v;
    return true;
  };
  std::string out;
  out.reserve(json.size());
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (!in_string) {
      in_string = c == '"';
      out += c;
      continue;
    }
    if (c == '"') {
      in_string = false;
      out += c;
      continue;
    }
    if (c != '\\' || i + 1 >= json.size()) {
      out += c;
      continue;
    }
    uint32_t cp = 0;
    if (json[i + 1] != 'u' || !hex4(i + 2, &cp)) {
      out.append(json.substr(i, 2));  // another escape, or a bad one the parser reports
      ++i;
      continue;
    }
    size_t end = i + 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      uint32_t low = 0;
      if (end + 1 < json.size() && json[end] == '\\' && json[end + 1] == 'u' &&
          hex4(end + 2, &low) && low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        end += 6;
      } else {
        cp = 0xdc00;  // a lone high surrogate: refused below
      }
    }
    if (cp >= 0xdc00 && cp <= 0xdfff) {
      throw UsageError{"the parameters do not fit: \"" + std::string(json.substr(i, 6)) +
                       "\" is half of a UTF-16 surrogate pair"};
    }
    if (cp == 0) {
      out += "\\u0000";
    } else if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
    i = end - 1;
  }
  return out;
}

}  // namespace

struct ValueCodec::Handlers {
  DataHandler data;
  FdHandler fd;
  std::vector<std::unique_ptr<DoorHandler>> doors;
};

ValueCodec::ValueCodec(std::shared_ptr<const doors::RemoteInterface> interface, bool pretty)
    : interface_(std::move(interface)), handlers_(std::make_unique<Handlers>()) {
  codec_.setPrettyPrint(pretty);
  codec_.setRejectUnknownFields(true);
  codec_.setMaxNestingDepth(64);  // as the runtime's reader: deeper messages are refused anyway
  codec_.addTypeHandler(handlers_->data);
  for (capnp::Schema type : interface_->types()) {
    if (type.getProto().isInterface()) {
      auto h = std::make_unique<DoorHandler>(*interface_, type.asInterface());
      codec_.addTypeHandler(type.asInterface(), *h);
      handlers_->doors.push_back(std::move(h));
    } else if (type.getProto().getId() == kFdStructId && type.getProto().isStruct()) {
      codec_.addTypeHandler(type.asStruct(), handlers_->fd);
    }
  }
}

ValueCodec::~ValueCodec() = default;

void ValueCodec::decode(std::string_view json, capnp::DynamicStruct::Builder params) const {
  std::string text = decode_unicode_escapes(json);
  try {
    codec_.decode(kj::ArrayPtr<const char>(text.data(), text.size()), params);
  } catch (const kj::Exception& e) {
    throw UsageError{"the parameters do not fit: " + readable(e)};
  }
}

std::string ValueCodec::encode(capnp::DynamicStruct::Reader results,
                               doors::detail::ReplyBase& reply) const {
  handlers_->fd.reply = &reply;
  struct Reset {
    FdHandler& h;
    ~Reset() { h.reply = nullptr; }
  } reset{handlers_->fd};
  try {
    kj::String text = codec_.encode(results);
    return std::string(text.cStr(), text.size());
  } catch (const kj::Exception& e) {
    throw Failure{kExitCallFailed, "the results cannot be shown: " + readable(e)};
  }
}

}  // namespace doorctl
