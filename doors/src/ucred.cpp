// ucred_get(3C) and friends, door_ucred(3C) and door_cred(3C).
//
// The caller's pid, real uid and real gid come from the kernel with each request
// (SCM_CREDENTIALS), as they were when the request was sent. The effective and saved ids and the
// groups are read from /proc/<pid>/status while the caller is blocked in its door_call, and used
// only if that process still has the real ids the kernel vouched for (otherwise the pid was
// reused, or the caller changed ids again since sending, and only the kernel's figures are used).
#include <door.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucred.h>
#include <unistd.h>

#include <vector>

#include "server.h"
#include "sys.h"

struct ucred_s {
  pid_t pid;
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  int ngroups;
  gid_t* groups;  // malloc'ed; ngroups entries
};

namespace doors::detail {
namespace {

bool read_proc_status(pid_t pid, ucred_s* out, std::vector<gid_t>* groups) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(pid));
  FILE* f = fopen(path, "re");
  if (f == nullptr) return false;
  char line[4096];
  bool have_uid = false, have_gid = false;
  while (fgets(line, sizeof(line), f) != nullptr) {
    unsigned a, b, c;
    if (sscanf(line, "Uid:\t%u\t%u\t%u", &a, &b, &c) == 3) {
      out->ruid = a;
      out->euid = b;
      out->suid = c;
      have_uid = true;
    } else if (sscanf(line, "Gid:\t%u\t%u\t%u", &a, &b, &c) == 3) {
      out->rgid = a;
      out->egid = b;
      out->sgid = c;
      have_gid = true;
    } else if (strncmp(line, "Groups:", 7) == 0) {
      char* p = line + 7;
      for (;;) {
        char* end;
        unsigned long g = strtoul(p, &end, 10);
        if (end == p) break;
        groups->push_back(static_cast<gid_t>(g));
        p = end;
      }
    }
  }
  fclose(f);
  out->pid = pid;
  return have_uid && have_gid;
}

// The current caller's credentials; false (errno EINVAL) outside an invocation.
bool caller_creds(ucred_s* out, std::vector<gid_t>* groups) {
  SenderCreds c;
  if (!current_caller(&c) || !c.valid) {
    errno = EINVAL;  // door_ucred(3C): not invoked from a door invocation
    return false;
  }
  if (read_proc_status(c.pid, out, groups) && out->ruid == c.uid && out->rgid == c.gid) {
    return true;
  }
  groups->clear();
  *out = ucred_s{c.pid, c.uid, c.uid, c.uid, c.gid, c.gid, c.gid, 0, nullptr};
  return true;
}

// Stores creds into *uc, allocating it when NULL. On failure *uc is unchanged.
int store(ucred_t** uc, const ucred_s& creds, const std::vector<gid_t>& groups) {
  gid_t* g = nullptr;
  if (!groups.empty()) {
    g = static_cast<gid_t*>(malloc(groups.size() * sizeof(gid_t)));
    if (g == nullptr) {
      errno = ENOMEM;
      return -1;
    }
    memcpy(g, groups.data(), groups.size() * sizeof(gid_t));
  }
  ucred_s* target = *uc;
  if (target == nullptr) {
    target = static_cast<ucred_s*>(malloc(sizeof(ucred_s)));
    if (target == nullptr) {
      free(g);
      errno = ENOMEM;
      return -1;
    }
  } else {
    free(target->groups);
  }
  *target = creds;
  target->ngroups = static_cast<int>(groups.size());
  target->groups = g;
  *uc = target;
  return 0;
}

}  // namespace
}  // namespace doors::detail

using namespace doors::detail;

extern "C" {

DOORS_EXPORT ucred_t* ucred_get(pid_t pid) noexcept {
  NoCancel no_cancel;  // see sys.h
  if (pid == P_MYID) pid = ::getpid();
  ucred_s creds{};
  std::vector<gid_t> groups;
  if (pid <= 0 || !read_proc_status(pid, &creds, &groups)) {
    errno = ESRCH;
    return nullptr;
  }
  ucred_t* uc = nullptr;
  return store(&uc, creds, groups) == 0 ? uc : nullptr;
}

DOORS_EXPORT void ucred_free(ucred_t* uc) noexcept {
  if (uc == nullptr) return;
  free(uc->groups);
  free(uc);
}

DOORS_EXPORT size_t ucred_size(void) noexcept { return sizeof(ucred_s); }

#define DOORS_UCRED_GETTER(type, name, field)          \
  DOORS_EXPORT type name(const ucred_t* uc) noexcept { \
    if (uc == nullptr) {                               \
      errno = EINVAL;                                  \
      return static_cast<type>(-1);                    \
    }                                                  \
    return uc->field;                                  \
  }
DOORS_UCRED_GETTER(uid_t, ucred_geteuid, euid)
DOORS_UCRED_GETTER(uid_t, ucred_getruid, ruid)
DOORS_UCRED_GETTER(uid_t, ucred_getsuid, suid)
DOORS_UCRED_GETTER(gid_t, ucred_getegid, egid)
DOORS_UCRED_GETTER(gid_t, ucred_getrgid, rgid)
DOORS_UCRED_GETTER(gid_t, ucred_getsgid, sgid)
DOORS_UCRED_GETTER(pid_t, ucred_getpid, pid)
#undef DOORS_UCRED_GETTER

DOORS_EXPORT int ucred_getgroups(const ucred_t* uc, const gid_t** groups) noexcept {
  if (uc == nullptr || groups == nullptr) {
    errno = EINVAL;
    return -1;
  }
  *groups = uc->groups;
  return uc->ngroups;
}

DOORS_EXPORT int door_ucred(ucred_t** uc) noexcept {
  NoCancel no_cancel;  // see sys.h
  if (uc == nullptr) {
    errno = EFAULT;
    return -1;
  }
  ucred_s creds{};
  std::vector<gid_t> groups;
  if (!caller_creds(&creds, &groups)) return -1;
  return store(uc, creds, groups);
}

DOORS_EXPORT int door_cred(door_cred_t* dc) noexcept {
  NoCancel no_cancel;  // see sys.h
  if (dc == nullptr) {
    errno = EFAULT;
    return -1;
  }
  ucred_s creds{};
  std::vector<gid_t> groups;
  if (!caller_creds(&creds, &groups)) return -1;
  memset(dc, 0, sizeof(*dc));
  dc->dc_euid = creds.euid;
  dc->dc_egid = creds.egid;
  dc->dc_ruid = creds.ruid;
  dc->dc_rgid = creds.rgid;
  dc->dc_pid = creds.pid;
  return 0;
}

}  // extern "C"
