// doorc: the Doors IDL compiler. Loads each schema through the checked front end (doors_idl) and
// writes <name>.door.h / <name>.door.c++ beside what `capnp compile -oc++:DIR` writes for it.
// Exit status: 0 success, 1 a schema error or a file that could not be written, 2 bad usage.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "doors/codegen/emit.h"
#include "doors/codegen/generate.h"
#include "doors/codegen/names.h"
#include "doors/idl/load.h"

#ifndef DOORS_VERSION
#error "DOORS_VERSION must be defined by the build"
#endif

namespace {

namespace fs = std::filesystem;

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

constexpr std::string_view kHelp = R"(NAME
    doorc - generate typed door clients and servers from Cap'n Proto schemas

SYNOPSIS
    doorc [OPTION]... FILE.capnp...

DESCRIPTION
    For each schema FILE.capnp, doorc writes FILE.door.h and FILE.door.c++: for every interface
    Foo declared in the file, a struct FooDoor with the interface's id, default path
    ($Door.path) and door attributes, a typed client FooDoor::Client and a server base class
    FooDoor::Server whose virtual methods a server overrides. The generated code uses the
    Cap'n Proto C++ code of `capnp compile -oc++` (FILE.capnp.h, which it includes) and the
    Doors runtime (<doors/runtime.h>, library Doors::runtime). Interfaces of imported files
    are not generated; run doorc on those files too.

    Output files are written only when their content changes, each atomically (a temporary
    file renamed over the old one), so that a build does not recompile what did not change.
    Output paths follow `capnp compile`: the input path, relative to the current directory
    and with the --src-prefix removed, under the output directory.

OPTIONS
    -I DIR, --import-path=DIR
        Search DIR for absolute imports (`import "/x/y.capnp"`), like `capnp compile -I`.
        Repeatable; searched in order, then the directory holding doors/door.capnp and the
        standard directories (/usr/local/include, /usr/include).

    -o DIR, --output=DIR
        Write the output files under DIR (default: the current directory).

    --src-prefix=PREFIX
        Remove PREFIX from the path of each input file that starts with it before placing its
        output under the output directory, like `capnp compile --src-prefix`.

    --help
        Print this help and exit.

    --version
        Print the version and exit.

EXIT STATUS
    0   all files generated
    1   a schema error (`error: FILE:LINE:COL: MESSAGE` on stderr), or a file that could not
        be read or written
    2   bad usage

EXAMPLE
    capnp compile -I /usr/include -oc++:gen --src-prefix=src src/calc.capnp
    doorc -o gen --src-prefix=src src/calc.capnp

    In CMake: doors_generate(TARGET calc FILES calc.capnp) runs both.
)";

struct Options {
  std::vector<std::string> import_dirs;
  std::string output_dir = ".";
  std::optional<std::string> src_prefix;
  std::vector<std::string> files;
};

struct UsageError {
  std::string message;
};

// Parses argv. Returns nullopt after --help / --version (printed here).
std::optional<Options> parse(int argc, char** argv) {
  Options opts;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  bool only_files = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (only_files || a.empty() || a[0] != '-' || a == "-") {
      opts.files.emplace_back(a);
      continue;
    }
    if (a == "--") {
      only_files = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return std::nullopt;
    }
    if (a == "--version") {
      std::cout << "doorc " DOORS_VERSION "\n";
      return std::nullopt;
    }
    // An option with a value: -XVALUE, -X VALUE, --name=VALUE, --name VALUE.
    auto value = [&](std::string_view shortname,
                     std::string_view longname) -> std::optional<std::string> {
      std::string_view v;
      if (!shortname.empty() && a.starts_with(shortname)) {
        v = a.substr(shortname.size());
      } else if (a == longname) {
        v = {};
      } else if (a.starts_with(longname) && a.size() > longname.size() &&
                 a[longname.size()] == '=') {
        v = a.substr(longname.size() + 1);
        if (v.empty()) throw UsageError{"option " + std::string(longname) + " needs a value"};
        return std::string(v);
      } else {
        return std::nullopt;
      }
      if (v.empty()) {
        if (i + 1 >= args.size()) throw UsageError{"option " + std::string(a) + " needs a value"};
        v = args[++i];
      }
      return std::string(v);
    };
    if (auto v = value("-I", "--import-path")) {
      opts.import_dirs.push_back(*v);
    } else if (auto v = value("-o", "--output")) {
      opts.output_dir = *v;
    } else if (auto v = value("", "--src-prefix")) {
      opts.src_prefix = *v;
    } else {
      throw UsageError{"unknown option '" + std::string(a) + "'"};
    }
  }
  if (opts.files.empty()) throw UsageError{"no input files"};
  return opts;
}

// `path` lies in `dir` or below it: the rest of it.
std::optional<fs::path> below(const fs::path& path, const fs::path& dir) {
  fs::path rel = path.lexically_relative(dir);
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  return rel;
}

// Where `capnp compile -oc++:OUT --src-prefix=P` writes the output of `file`, relative to OUT,
// with `.capnp.h` and the like left off: the path with the prefix removed, else relative to the
// current directory, else (outside it) the absolute path without its root.
fs::path output_stem(const std::string& file, const std::optional<std::string>& src_prefix) {
  const fs::path abs = fs::absolute(file).lexically_normal();
  if (src_prefix) {
    if (auto rel = below(abs, fs::absolute(*src_prefix).lexically_normal())) return *rel;
  }
  fs::path in = fs::path(file).lexically_normal();
  if (in.is_relative() && *in.begin() != "..") return in;
  if (auto rel = below(abs, fs::current_path())) return *rel;
  std::cerr << "doorc: warning: " << file
            << ": not in the current directory and not under --src-prefix; its output goes to "
               "the output directory plus its absolute path\n";
  return abs.relative_path();
}

// Writes `content` to `path` unless it already holds exactly that: through a temporary file in
// the same directory renamed over it, so that no reader ever sees a partial file. Throws
// std::runtime_error (`error: path: reason`).
void write_if_changed(const fs::path& path, const std::string& content) {
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::string old((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (old == content) return;
    }
  }
  auto fail = [&](const char* what) {
    int saved = errno;
    throw std::runtime_error("error: " + path.string() + ": " + what + ": " + std::strerror(saved));
  };
  std::error_code ec;
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      throw std::runtime_error("error: " + path.parent_path().string() + ": " + ec.message());
    }
  }
  std::string tmp = (path.parent_path() / ("." + path.filename().string() + ".XXXXXX")).string();
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) fail("cannot create a temporary file");
  auto cleanup = [&] {
    ::close(fd);
    ::unlink(tmp.c_str());
  };
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      cleanup();
      errno = saved;
      fail("cannot write");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  // mkstemp makes the file 0600; generated sources are ordinary files (0666 less the umask).
  mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd, 0666 & ~mask) != 0 || ::close(fd) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    fail("cannot write");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    fail("cannot rename the temporary file");
  }
}

// Generates the files of one schema; false after printing its errors.
bool generate(const Options& opts, const std::string& file) {
  try {
    auto out = doors::codegen::generate(file, opts.import_dirs);
    fs::path stem = fs::path(opts.output_dir) / output_stem(file, opts.src_prefix);
    write_if_changed(doors::codegen::door_header_name(stem.string()), out.header);
    write_if_changed(doors::codegen::door_source_name(stem.string()), out.source);
    return true;
  } catch (const std::exception& e) {
    // LoadError / EmitError / write failures: each line already reads `error: ...`.
    std::cerr << e.what() << '\n';
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Options> opts;
  try {
    opts = parse(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "doorc: " << e.message << "; see doorc --help\n";
    return kExitUsage;
  }
  if (!opts) return 0;
  bool ok = true;
  for (const auto& file : opts->files) ok = generate(*opts, file) && ok;
  return ok ? 0 : kExitError;
}
