/*
 * c_classic_unref_server: DOOR_UNREF, after Stevens, UNP vol. 2, section 15.4 (server1.c). The
 * door squares a long; when its last client lets go, the procedure is invoked once more with
 * argp == DOOR_UNREF_DATA, prints "door unreferenced" and the server exits.
 *
 *   c_classic_unref_server PATH
 *
 * Prints "ready" once PATH answers calls, and "square(N) = M" for every call. On SIGTERM or
 * SIGINT it detaches the door from PATH, removes PATH, prints "detached" and keeps serving the
 * clients that still hold the door open; the last one to close it triggers the unreferenced
 * invocation, after which the server exits 0. Exits 1 when any step fails, 2 on bad usage.
 *
 * Why the server keeps its own descriptor open. A door's references are its descriptors (in
 * every process) plus its fattach(3C) attachments, and DOOR_UNREF fires when they drop to one
 * after more than one existed. door_create gives 1, fattach 2, each client that opens PATH 3,
 * 4, ... (libdoors counts a client from its first door call: DEVIATIONS.md, row 2). Closing the
 * server's descriptor right after fattach is 2 -> 1, and the notification arrives at once,
 * before any client came (Stevens' first example shows exactly that). This server keeps the
 * descriptor instead, so clients come and go (3 -> 2 -> 3 ...) without one, and the count can
 * reach one only once the attachment is gone: fdetach at SIGTERM is 2 -> 1 when no client holds
 * the door (the notification comes at once), or n -> n-1 when some do, and then the last
 * client's close is 2 -> 1. That makes a graceful stop: new clients are refused (PATH is gone),
 * existing ones finish, and the notification says when they have.
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
#include <unistd.h>

/* Server state, the door's cookie. */
struct service {
  pthread_mutex_t lock;
  pthread_cond_t unreferenced_cond;
  int unreferenced;
};

static void square_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
  struct service *svc = cookie;
  long arg, result;
  uint_t i;

  if (argp == DOOR_UNREF_DATA) {
    /* door_create(3C): the unreferenced invocation; arg_size is 0 and there are no descriptors.
     * With DOOR_UNREF (not DOOR_UNREF_MULTI) it comes once. */
    pthread_mutex_lock(&svc->lock);
    printf("door unreferenced\n");
    fflush(stdout);
    svc->unreferenced = 1;
    pthread_cond_signal(&svc->unreferenced_cond);
    pthread_mutex_unlock(&svc->lock);
    door_return(NULL, 0, NULL, 0);
    return;
  }

  for (i = 0; i < n_desc; i++) { /* not expected; do not leak them */
    if (dp[i].d_attributes & DOOR_DESCRIPTOR) close(dp[i].d_data.d_desc.d_descriptor);
  }
  if (arg_size != sizeof arg) {
    door_return(NULL, 0, NULL, 0); /* a malformed request gets an empty reply */
    return;
  }
  memcpy(&arg, argp, sizeof arg); /* argp need not be aligned for a long */
  result = arg * arg;
  printf("square(%ld) = %ld\n", arg, result);
  fflush(stdout);
  door_return((char *)&result, sizeof result, NULL, 0);
  door_return(NULL, 0, NULL, 0); /* E2BIG: the caller passed no result buffer */
}

int main(int argc, char **argv) {
  static struct service svc = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
  const char *path;
  sigset_t stop;
  int did, fd, sig, err;

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
    fprintf(stderr, "c_classic_unref_server: pthread_sigmask: %s\n", strerror(err));
    return 1;
  }

  if ((did = door_create(square_proc, &svc, DOOR_UNREF)) == -1) {
    perror("c_classic_unref_server: door_create");
    return 1;
  }
  if ((fd = open(path, O_CREAT | O_RDWR, 0644)) == -1) {
    fprintf(stderr, "c_classic_unref_server: %s: %s\n", path, strerror(errno));
    return 1;
  }
  close(fd);
  if (fattach(did, path) == -1) { /* references: 2 */
    fprintf(stderr, "c_classic_unref_server: fattach %s: %s\n", path, strerror(errno));
    return 1;
  }
  /* did stays open until exit: see the comment at the top. */

  printf("ready\n");
  fflush(stdout);
  if ((err = sigwait(&stop, &sig)) != 0) {
    fprintf(stderr, "c_classic_unref_server: sigwait: %s\n", strerror(err));
    return 1;
  }

  /* Refuse new clients; the ones holding the door keep it referenced. With none, fdetach is
   * the last reference but ours and the notification comes at once, on another thread: the lock
   * makes it wait until "detached" is out, so that the lines come in the order things happen. */
  pthread_mutex_lock(&svc.lock);
  if (fdetach(path) == -1) {
    fprintf(stderr, "c_classic_unref_server: fdetach %s: %s\n", path, strerror(errno));
    return 1;
  }
  if (unlink(path) == -1) {
    fprintf(stderr, "c_classic_unref_server: unlink %s: %s\n", path, strerror(errno));
    return 1;
  }
  printf("detached\n");
  fflush(stdout);
  while (!svc.unreferenced) pthread_cond_wait(&svc.unreferenced_cond, &svc.lock);
  pthread_mutex_unlock(&svc.lock);
  return 0;
}
