// doorctl ls: the doors attached under directories.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <unordered_set>

#include "commands.h"

namespace doorctl {
namespace {

// The abstract names of the Unix sockets that listen on this machine (in this network
// namespace), from /proc/net/unix: a file has a door attached when the listener of its
// (dev, ino) name is among them (fattach's emulation, DESIGN.md). Reading it opens nothing.
std::unordered_set<std::string> listening_names() {
  std::unordered_set<std::string> names;
  std::ifstream in("/proc/net/unix");
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    // Num RefCount Protocol Flags Type St Inode Path; abstract paths start with '@'.
    size_t at = line.find(" @");
    if (at == std::string::npos) continue;
    unsigned flags = 0;
    if (std::sscanf(line.c_str(), "%*s %*s %*s %x", &flags) != 1 || (flags & 0x10000) == 0)
      continue;  // not listening (__SO_ACCEPTCON)
    names.insert(line.substr(at + 2));
  }
  return names;
}

struct Entry {
  std::string path;
  pid_t pid = 0;
  std::string command;
  std::string interface;  // empty: not typed or not known
  uint64_t interface_id = 0;
  std::string status;
  std::string error;
};

// What can be told of the door at path (attached, so a door is there).
Entry look_at(const std::string& path, const GlobalOptions& global) {
  Entry e;
  e.path = path;
  try {
    Door d = open_door(path);
    e.pid = d.info.di_target;
    e.command = process_command(e.pid);
    if (d.typed()) {
      e.interface_id = d.stats.dss_tag;
      try {
        doors::IntrospectionClient client(d.client.door());
        auto health = client.health(global.call_options());
        e.interface = health->getHealth().getInterfaceName().cStr();
        e.status = health->getHealth().getStatus() == doors::introspection::ServingStatus::SERVING
                       ? "serving"
                       : "draining";
      } catch (const doors::Error& err) {
        e.error = err.what();
      }
    }
  } catch (const Failure& f) {
    e.error = f.message;
  }
  return e;
}

// Where servers put doors by default (doors::resolve_door_path): $XDG_RUNTIME_DIR/doors for a
// user other than root with XDG_RUNTIME_DIR set, and /run/doors (system services), those that
// exist.
std::vector<std::string> default_dirs() {
  std::vector<std::string> dirs;
  const char* xdg = ::getenv("XDG_RUNTIME_DIR");
  if (::geteuid() != 0 && xdg != nullptr && xdg[0] != '\0')
    dirs.push_back(std::string(xdg) + "/doors");
  dirs.push_back("/run/doors");
  std::vector<std::string> existing;
  for (auto& d : dirs) {
    struct stat st;
    if (::stat(d.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) existing.push_back(d);
  }
  return existing;
}

}  // namespace

int run_ls(Args& args, GlobalOptions& global) {
  std::vector<std::string> dirs;
  while (!args.done()) {
    if (global_option(args, global)) continue;
    dirs.push_back(operand(args, "DIR"));
  }
  if (dirs.empty()) dirs = default_dirs();

  std::unordered_set<std::string> listening = listening_names();
  std::vector<Entry> entries;
  int status = kExitOk;
  for (const std::string& dir : dirs) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
      // The other directories are still listed; the status says that one was not.
      std::fprintf(stderr, "doorctl: error: cannot read %s: %s\n", dir.c_str(),
                   std::strerror(errno));
      status = kExitUnreachable;
      continue;
    }
    std::vector<std::string> files;
    while (dirent* ent = ::readdir(d)) {
      std::string path = dir + (dir.back() == '/' ? "" : "/") + ent->d_name;
      // A symbolic link to a door is listed under its own name, as it is opened by it.
      struct stat st;
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      char name[128];
      if (::doors_attach_name(st.st_dev, st.st_ino, name, sizeof name) < 0) continue;
      if (listening.count(name) != 0) files.push_back(path);
    }
    ::closedir(d);
    for (const std::string& f : files) entries.push_back(look_at(f, global));
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.path < b.path; });

  if (global.json) {
    JsonWriter w;
    w.begin_array();
    for (const Entry& e : entries) {
      w.begin_object().key("path").value(e.path).key("pid");
      e.pid > 0 ? w.value(static_cast<int64_t>(e.pid)) : w.null();
      w.key("command");
      e.pid > 0 ? w.value(e.command) : w.null();
      w.key("interface");
      e.interface.empty() ? w.null() : w.value(e.interface);
      w.key("interfaceId");
      e.interface_id != 0 ? w.value(hex_id(e.interface_id)) : w.null();
      w.key("status");
      e.status.empty() ? w.null() : w.value(e.status);
      w.key("error");
      e.error.empty() ? w.null() : w.value(e.error);
      w.end_object();
    }
    w.end_array();
    std::printf("%s\n", w.str().c_str());
    return status;
  }
  size_t width = 4;
  for (const Entry& e : entries) width = std::max(width, e.path.size());
  std::printf("%-*s  %7s  %-14s  %s\n", static_cast<int>(width), "PATH", "PID", "INTERFACE",
              "COMMAND");
  for (const Entry& e : entries) {
    std::string pid = e.pid > 0 ? std::to_string(e.pid) : "-";
    std::string iface = e.interface.empty() ? "-" : e.interface;
    if (e.status == "draining") iface += " (draining)";
    std::string rest = e.pid > 0 ? e.command : "";
    if (!e.error.empty()) rest += (rest.empty() ? "" : "  ") + ("[" + e.error + "]");
    std::printf("%-*s  %7s  %-14s  %s\n", static_cast<int>(width), e.path.c_str(), pid.c_str(),
                iface.c_str(), rest.c_str());
  }
  return status;
}

}  // namespace doorctl
