// doorctl info: what serves a door.
#include <cstdio>
#include <optional>

#include "commands.h"

namespace doorctl {
namespace {

using doors::introspection::ServingStatus;

// What a typed door's server says of itself.
struct Typed {
  std::string interface;
  std::string program, version, runtime_version;
  bool serving = true;
  uint64_t uptime_ns = 0;
  uint32_t min_threads = 0, max_threads = 0;
  std::string error;  // the introspection calls failed: why
};

Typed ask(const Door& d, const GlobalOptions& global) {
  Typed t;
  try {
    doors::IntrospectionClient client(d.client.door());
    auto health = client.health(global.call_options());
    auto h = health->getHealth();
    t.interface = h.getInterfaceName().cStr();
    t.program = h.getProgram().cStr();
    t.version = h.getVersion().cStr();
    t.runtime_version = h.getRuntimeVersion().cStr();
    t.serving = h.getStatus() == ServingStatus::SERVING;
    t.uptime_ns = h.getUptimeNs();
    auto stats = client.stats(global.call_options());
    auto pool = stats->getStats().getPool();
    t.min_threads = pool.getMinThreads();
    t.max_threads = pool.getMaxThreads();
  } catch (const doors::Error& e) {
    t.error = e.what();
  }
  return t;
}

void line(const char* name, const std::string& value) {
  std::printf("%-12s%s\n", name, value.c_str());
}

}  // namespace

int run_info(Args& args, GlobalOptions& global) {
  Door d = open_door(lone_path(args, global));
  std::optional<Typed> typed;
  if (d.typed()) typed = ask(d, global);
  uint64_t id = d.info.di_uniquifier;
  pid_t pid = d.info.di_target;
  std::string command = process_command(pid);
  const doors_server_stats_t& s = d.stats;
  // The server's figures, as it sent them: a busy count never wraps around.
  uint32_t busy = s.dss_threads > s.dss_idle_threads ? s.dss_threads - s.dss_idle_threads : 0;

  if (global.json) {
    JsonWriter w;
    w.begin_object();
    w.key("path").value(d.path);
    w.key("pid").value(static_cast<int64_t>(pid));
    w.key("command").value(command);
    w.key("doorId").value(hex_id(id));
    w.key("attributes").value(attributes_text(d.info.di_attributes));
    w.key("typed").value(d.typed());
    if (d.have_stats) {
      w.key("threads").value(s.dss_threads);
      w.key("idleThreads").value(s.dss_idle_threads);
      w.key("busyThreads").value(busy);
      w.key("connections").value(s.dss_connections);
      w.key("doors").value(s.dss_doors);
      w.key("attachments").value(s.dss_attachments);
      w.key("sharedMemoryBytes").value(s.dss_shm_bytes);
      w.key("calls").value(s.dss_calls);
      w.key("limitRefusals").value(s.dss_refusals);
      w.key("poolFull").value(s.dss_pool_full);
    }
    if (typed) {
      w.key("interface").value(typed->interface);
      w.key("interfaceId").value(hex_id(s.dss_tag));
      w.key("program").value(typed->program);
      w.key("version").value(typed->version);
      w.key("runtimeVersion").value(typed->runtime_version);
      w.key("status").value(typed->serving ? "serving" : "draining");
      w.key("uptimeNs").value(typed->uptime_ns);
      w.key("minThreads").value(typed->min_threads);
      w.key("maxThreads").value(typed->max_threads);
      if (!typed->error.empty()) w.key("error").value(typed->error);
    }
    w.end_object();
    std::printf("%s\n", w.str().c_str());
    return kExitOk;
  }

  line("path", d.path);
  line("server", "pid " + std::to_string(pid) + ": " + command);
  line("door", "id " + hex_id(id) + ", attributes " + attributes_text(d.info.di_attributes));
  if (!typed) {
    line("interface", "none (the server does not use the Doors runtime)");
  } else if (!typed->error.empty()) {
    line("interface", hex_id(s.dss_tag) + " (cannot ask the server: " + typed->error + ")");
  } else {
    line("interface", typed->interface + " (" + hex_id(s.dss_tag) + ")");
    std::string program = typed->program.empty() ? "?" : typed->program;
    if (!typed->version.empty()) program += " " + typed->version;
    line("program", program + " (doors " + typed->runtime_version + "), " +
                        (typed->serving ? "serving" : "draining") + ", up " +
                        format_uptime(typed->uptime_ns));
  }
  if (d.have_stats) {
    std::string pool = std::to_string(s.dss_threads) +
                       " threads: " + std::to_string(s.dss_threads - s.dss_idle_threads) +
                       " busy, " + std::to_string(s.dss_idle_threads) + " idle";
    if (typed && typed->max_threads != 0) {
      pool += " (bounds " + std::to_string(typed->min_threads) + ":" +
              std::to_string(typed->max_threads) + ")";
    }
    line("pool", pool);
    line("clients", std::to_string(s.dss_connections) + " connections; the process serves " +
                        std::to_string(s.dss_doors) + (s.dss_doors == 1 ? " door" : " doors") +
                        " attached at " + std::to_string(s.dss_attachments) +
                        (s.dss_attachments == 1 ? " path" : " paths"));
    line("shared mem", format_bytes(s.dss_shm_bytes) + " mapped for arguments and results");
    line("calls", std::to_string(s.dss_calls) + " to this door");
    // Only when something was hit: a healthy server's output stays as it was.
    if (s.dss_refusals != 0 || s.dss_pool_full != 0) {
      line("limits", std::to_string(s.dss_refusals) + " connections or calls refused at a limit; " +
                         std::to_string(s.dss_pool_full) +
                         " times the pool was full and calls waited (doors/SECURITY.md)");
    }
  } else {
    line("pool", "unknown (the server did not answer)");
  }
  return kExitOk;
}

}  // namespace doorctl
