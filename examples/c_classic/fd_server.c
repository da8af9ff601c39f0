/*
 * c_classic_fd_server: descriptor passing, after Stevens, UNP vol. 2, section 15.8 (serverfd1.c).
 * The client sends a pathname; the server opens that file and returns the open descriptor with
 * DOOR_DESCRIPTOR | DOOR_RELEASE, so the client reads a file it never opened itself and the
 * server's copy is closed once it has been passed.
 *
 *   c_classic_fd_server PATH
 *
 * Prints "ready" once PATH answers calls, serves until SIGTERM or SIGINT, then detaches the door
 * from PATH, removes PATH and exits 0. Exits 1 when any step fails, 2 on bad usage.
 *
 * As Stevens warns, this opens whatever the client names with the server's privileges. A real
 * server would check the caller with door_ucred(3C) first; this one only opens read-only.
 */

/* sigwait(3) and pthread_sigmask(3) are POSIX, not ISO C. */
#define _POSIX_C_SOURCE 200809L

#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stropts.h>
#include <unistd.h>

static void open_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
  char name[PATH_MAX];
  char reply[PATH_MAX + 64];
  door_desc_t desc;
  int fd, len;
  uint_t i;

  (void)cookie;
  for (i = 0; i < n_desc; i++) { /* not expected; do not leak them */
    if (dp[i].d_attributes & DOOR_DESCRIPTOR) close(dp[i].d_data.d_desc.d_descriptor);
  }

  /* The argument is arg_size bytes, not necessarily NUL-terminated. */
  if (arg_size == 0 || arg_size >= sizeof name) {
    len = snprintf(reply, sizeof reply, "error: expected a pathname of 1 to %zu bytes",
                   sizeof name - 1);
    door_return(reply, (size_t)len, NULL, 0);
    door_return(NULL, 0, NULL, 0);
    return;
  }
  memcpy(name, argp, arg_size);
  name[arg_size] = '\0';

  if ((fd = open(name, O_RDONLY)) == -1) {
    /* No descriptor: the reply text says why, and the client prints it. */
    len = snprintf(reply, sizeof reply, "error: %s: %s", name, strerror(errno));
    door_return(reply, (size_t)len, NULL, 0);
    door_return(NULL, 0, NULL, 0);
    return;
  }

  /* DOOR_RELEASE: door_return(3C) closes fd here once the client has its own copy; without it
   * every call would leak a descriptor, since door_return does not return to close it. */
  desc.d_attributes = DOOR_DESCRIPTOR | DOOR_RELEASE;
  desc.d_data.d_desc.d_descriptor = fd;
  door_return(NULL, 0, &desc, 1);
  /* Failed (e.g. E2BIG: the caller passed no result buffer): close it ourselves. */
  close(fd);
  door_return(NULL, 0, NULL, 0);
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
    fprintf(stderr, "c_classic_fd_server: pthread_sigmask: %s\n", strerror(err));
    return 1;
  }

  if ((did = door_create(open_proc, NULL, 0)) == -1) {
    perror("c_classic_fd_server: door_create");
    return 1;
  }
  if ((fd = open(path, O_CREAT | O_RDWR, 0644)) == -1) {
    fprintf(stderr, "c_classic_fd_server: %s: %s\n", path, strerror(errno));
    return 1;
  }
  close(fd);
  if (fattach(did, path) == -1) {
    fprintf(stderr, "c_classic_fd_server: fattach %s: %s\n", path, strerror(errno));
    return 1;
  }

  printf("ready\n");
  fflush(stdout);
  if ((err = sigwait(&stop, &sig)) != 0) {
    fprintf(stderr, "c_classic_fd_server: sigwait: %s\n", strerror(err));
    status = 1;
  }

  if (fdetach(path) == -1) {
    fprintf(stderr, "c_classic_fd_server: fdetach %s: %s\n", path, strerror(errno));
    status = 1;
  }
  if (unlink(path) == -1) {
    fprintf(stderr, "c_classic_fd_server: unlink %s: %s\n", path, strerror(errno));
    status = 1;
  }
  return status;
}
