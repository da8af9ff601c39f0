// Fuzz target: doorc's front end and generator (doors::codegen::generate, what doorc runs) on the
// text of a .capnp file, which may import "/doors/door.capnp" and "/capnp/c++.capnp" and use
// their annotations. The text is written to a scratch file (the front end reads files, as doorc
// does, and a fresh capnp::SchemaParser is made per load: no state carries from one input to
// the next).
// Properties: no crash, abort, hang or sanitizer report; a refusal is a LoadError or EmitError
// whose every line is a diagnostic (`error: <file>...`); any other exception (a kj::Exception
// escaping the front end, say) is a finding; the same text gives the same output twice.
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "doors/codegen/generate.h"
#include "doors/idl/load.h"
#include "fuzz_support.h"

namespace {

const std::string& schema_path() {
  static const std::string path = [] {
    char tmpl[] = "/tmp/doors-fuzz-doorc-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) doors::fuzz::fail("mkdtemp");
    static const std::string dir = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return dir + "/fuzz.capnp";
  }();
  return path;
}

// Without a valid file id (a missing or unparsable `@0x...;` line), Cap'n Proto makes up a random
// one, and the ids it derives from it for nested declarations appear in some diagnostics
// ("Duplicate ID @0x...", "Add this line to your file: @0x..."): ids in diagnostics are the one
// part of the output that may differ from run to run.
std::string without_ids(std::string text) {
  static const std::string marker = "@0x";
  for (size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1)) {
    size_t digits = at + marker.size();
    size_t end = digits;
    while (end < text.size() && std::isxdigit(static_cast<unsigned char>(text[end]))) ++end;
    text.replace(digits, end - digits, "<id>");
  }
  return text;
}

// The output of one run: the files, or the diagnostics.
std::string run_once(const std::string& path) {
  try {
    auto out = doors::codegen::generate(path, {});
    FUZZ_CHECK(!out.header.empty() && !out.source.empty());
    return "H" + out.header + "\nS" + out.source;
  } catch (const doors::idl::LoadError& e) {
    FUZZ_CHECK(!e.diagnostics().empty());
    for (const auto& d : e.diagnostics()) FUZZ_CHECK(!d.file.empty() && !d.message.empty());
    std::string what = e.what();
    FUZZ_CHECK(what.rfind("error: ", 0) == 0);
    return "L" + without_ids(what);
  } catch (const doors::codegen::EmitError& e) {
    std::string what = e.what();
    FUZZ_CHECK(what.rfind("error: ", 0) == 0);
    return "E" + what;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = schema_path();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) doors::fuzz::fail("cannot write the schema file");
  }
  std::string first = run_once(path);
  std::string second = run_once(path);
  FUZZ_CHECK(first == second);
  return 0;
}
