/*
 * c_classic_server: a door server written exactly as on Solaris, with door_create(3C),
 * fattach(3C) and door_return(3C). Its procedure answers a string with the same string in upper
 * case and the number of calls the server has answered so far.
 *
 *   c_classic_server PATH
 *
 * Prints "ready" once PATH answers calls, serves until SIGTERM or SIGINT, then detaches the door
 * from PATH, removes PATH and exits 0. Exits 1 when any step fails, 2 on bad usage.
 */

/* sigwait(3) and pthread_sigmask(3) are POSIX, not ISO C; ask for them explicitly so that the
 * file also builds with -std=c11. */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stropts.h>
#include <unistd.h>

/* Longest request accepted. door_setparam(3C) makes door_call fail with ENOBUFS in the client
 * above it, so a too-long request never reaches the procedure. */
#define REQUEST_MAX 4096

/* Server state, handed to every invocation as the door's cookie. */
struct service {
  pthread_mutex_t lock; /* procedures run concurrently, one thread per call in progress */
  unsigned long calls;
};

static void upcase_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
  struct service *svc = cookie;
  /* The reply lives on this thread's stack: door_return(3C) does not return, so nothing
   * allocated here could ever be freed. */
  char reply[REQUEST_MAX + 32];
  unsigned long call;
  size_t len = 0;
  uint_t i;

  /* This service takes no descriptors, but a client may send some anyway. Each one is a new
   * descriptor in this process, and keeping it would leak it. */
  for (i = 0; i < n_desc; i++) {
    if (dp[i].d_attributes & DOOR_DESCRIPTOR) close(dp[i].d_data.d_desc.d_descriptor);
  }

  pthread_mutex_lock(&svc->lock);
  call = ++svc->calls;
  pthread_mutex_unlock(&svc->lock);

  if (arg_size > REQUEST_MAX) {
    /* Unreachable while DOOR_PARAM_DATA_MAX holds, but the bound on the copy below must not
     * depend on a setting made elsewhere. */
    len = (size_t)snprintf(reply, sizeof reply, "error: request longer than %d bytes", REQUEST_MAX);
  } else {
    /* The argument is arg_size bytes, not a C string: there need not be a NUL, and argp is NULL
     * when arg_size is 0. */
    for (len = 0; len < arg_size; len++) reply[len] = (char)toupper((unsigned char)argp[len]);
    len += (size_t)snprintf(reply + len, sizeof reply - len, "%s(call %lu)",
                            arg_size > 0 ? " " : "", call);
  }

  door_return(reply, len, NULL, 0);
  /* door_return(3C) comes back only on failure, e.g. E2BIG when the caller passed no result
   * buffer. The caller is still waiting: release it with an empty reply. */
  door_return(NULL, 0, NULL, 0);
}

int main(int argc, char **argv) {
  static struct service svc = {PTHREAD_MUTEX_INITIALIZER, 0};
  const char *path;
  sigset_t stop;
  int did, fd, sig, err, status = 0;

  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH\n", argv[0]);
    return 2;
  }
  path = argv[1];

  /* Block the stop signals before door_create: the server threads the library starts inherit
   * this mask, so SIGTERM is taken by sigwait below and never interrupts a procedure. */
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  if ((err = pthread_sigmask(SIG_BLOCK, &stop, NULL)) != 0) {
    fprintf(stderr, "c_classic_server: pthread_sigmask: %s\n", strerror(err));
    return 1;
  }

  if ((did = door_create(upcase_proc, &svc, 0)) == -1) {
    perror("c_classic_server: door_create");
    return 1;
  }
  if (door_setparam(did, DOOR_PARAM_DATA_MAX, REQUEST_MAX) == -1) {
    perror("c_classic_server: door_setparam");
    return 1;
  }

  /* fattach(3C) covers an existing file that we own. A file left behind by a server that died
   * is reused; a live server still attached to PATH makes fattach fail with EBUSY, and its file
   * is left alone. */
  if ((fd = open(path, O_CREAT | O_RDWR, 0644)) == -1) {
    fprintf(stderr, "c_classic_server: %s: %s\n", path, strerror(errno));
    return 1;
  }
  close(fd);
  if (fattach(did, path) == -1) {
    fprintf(stderr, "c_classic_server: fattach %s: %s\n", path, strerror(errno));
    return 1;
  }

  /* Whoever started us waits for this line before calling, so it must not sit in a buffer. */
  if (printf("ready\n") < 0 || fflush(stdout) == EOF) {
    perror("c_classic_server: stdout");
    status = 1;
  } else if ((err = sigwait(&stop, &sig)) != 0) {
    fprintf(stderr, "c_classic_server: sigwait: %s\n", strerror(err));
    status = 1;
  }

  /* New calls through PATH fail from here on. Calls in progress are cut short when we exit: a
   * service that must finish them would count them and wait here. */
  if (fdetach(path) == -1) {
    fprintf(stderr, "c_classic_server: fdetach %s: %s\n", path, strerror(errno));
    status = 1;
  }
  if (unlink(path) == -1) {
    fprintf(stderr, "c_classic_server: unlink %s: %s\n", path, strerror(errno));
    status = 1;
  }
  return status;
}
