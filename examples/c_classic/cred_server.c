/*
 * c_classic_cred_server: door_ucred(3C) and door_cred(3C), after Stevens, UNP vol. 2,
 * section 15.5 (server4.c). The procedure asks who is calling and answers with the caller's
 * credentials as text: "pid=P ruid=U euid=U rgid=G egid=G". They are the caller's credentials at
 * the time of the call, not when it opened the door: a client that changes uid between open(2)
 * and door_call(3C) is seen with its new ids.
 *
 *   c_classic_cred_server PATH
 *
 * Prints "ready" once PATH answers calls, serves until SIGTERM or SIGINT, then detaches the door
 * from PATH, removes PATH and exits 0. Exits 1 when any step fails, 2 on bad usage.
 */

/* sigwait(3) and pthread_sigmask(3) are POSIX, not ISO C. */
#define _POSIX_C_SOURCE 200809L

#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stropts.h>
#include <ucred.h>
#include <unistd.h>

static void cred_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
  ucred_t *uc = NULL;
  door_cred_t dc;
  char reply[256];
  int len;
  uint_t i;

  (void)cookie;
  (void)argp;
  (void)arg_size;
  for (i = 0; i < n_desc; i++) { /* not expected; do not leak them */
    if (dp[i].d_attributes & DOOR_DESCRIPTOR) close(dp[i].d_data.d_desc.d_descriptor);
  }

  /* door_ucred(3C) allocates the ucred when *uc is NULL; ucred_free releases it. It must be
   * freed before door_return, which does not return. */
  if (door_ucred(&uc) == -1) {
    len = snprintf(reply, sizeof reply, "error: door_ucred: %s", strerror(errno));
  } else {
    len = snprintf(reply, sizeof reply, "pid=%ld ruid=%ld euid=%ld rgid=%ld egid=%ld",
                   (long)ucred_getpid(uc), (long)ucred_getruid(uc), (long)ucred_geteuid(uc),
                   (long)ucred_getrgid(uc), (long)ucred_getegid(uc));
    /* door_cred(3C), the older interface Stevens uses, must tell the same story. */
    if (door_cred(&dc) == -1) {
      len = snprintf(reply, sizeof reply, "error: door_cred: %s", strerror(errno));
    } else if (dc.dc_pid != ucred_getpid(uc) || dc.dc_ruid != ucred_getruid(uc) ||
               dc.dc_euid != ucred_geteuid(uc) || dc.dc_rgid != ucred_getrgid(uc) ||
               dc.dc_egid != ucred_getegid(uc)) {
      len = snprintf(
          reply, sizeof reply, "error: door_cred says pid=%ld ruid=%ld euid=%ld rgid=%ld egid=%ld",
          (long)dc.dc_pid, (long)dc.dc_ruid, (long)dc.dc_euid, (long)dc.dc_rgid, (long)dc.dc_egid);
    }
    ucred_free(uc);
  }
  if (len < 0) len = 0;
  if ((size_t)len >= sizeof reply) len = sizeof reply - 1;
  door_return(reply, (size_t)len, NULL, 0);
  door_return(NULL, 0, NULL, 0); /* E2BIG: the caller passed no result buffer */
}

int main(int argc, char **argv) {
  const char *path;
  sigset_t stop;
  int did, fd, sig, err, status = 0;

  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH\n", argv[0]);
    return 2;
  }
  path = argv[1];

  /* Before door_create, so that the library's server threads inherit the mask. */
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  if ((err = pthread_sigmask(SIG_BLOCK, &stop, NULL)) != 0) {
    fprintf(stderr, "c_classic_cred_server: pthread_sigmask: %s\n", strerror(err));
    return 1;
  }

  if ((did = door_create(cred_proc, NULL, 0)) == -1) {
    perror("c_classic_cred_server: door_create");
    return 1;
  }
  /* Readable by everyone: opening PATH is the only access check a door path has, and this door
   * answers anyone. */
  if ((fd = open(path, O_CREAT | O_RDWR, 0644)) == -1) {
    fprintf(stderr, "c_classic_cred_server: %s: %s\n", path, strerror(errno));
    return 1;
  }
  close(fd);
  if (fattach(did, path) == -1) {
    fprintf(stderr, "c_classic_cred_server: fattach %s: %s\n", path, strerror(errno));
    return 1;
  }

  printf("ready\n");
  fflush(stdout);
  if ((err = sigwait(&stop, &sig)) != 0) {
    fprintf(stderr, "c_classic_cred_server: sigwait: %s\n", strerror(err));
    status = 1;
  }

  if (fdetach(path) == -1) {
    fprintf(stderr, "c_classic_cred_server: fdetach %s: %s\n", path, strerror(errno));
    status = 1;
  }
  if (unlink(path) == -1) {
    fprintf(stderr, "c_classic_cred_server: unlink %s: %s\n", path, strerror(errno));
    status = 1;
  }
  return status;
}
