/*
 * c_classic_pool_server: door_server_create(3C) and a private server pool, after Stevens, UNP
 * vol. 2, section 15.9 (server6.c). The server installs its own thread-creation function, and
 * creates its door with DOOR_PRIVATE: only threads that called door_bind(3C) on that door serve
 * it. The library calls the creation function with the door's door_info_t when the door is
 * created and again whenever its pool runs out of idle threads, so the pool grows with the
 * number of concurrent calls.
 *
 *   c_classic_pool_server PATH
 *
 * Each call carries a long N, the number of calls its client makes at once. The procedure waits
 * (at most 10 s) until N calls are inside it together, so that N concurrent calls are provably
 * served by N different threads -- a sleep, as in Stevens, would only make that likely -- and
 * answers "thread T of C": this thread's number and how many the creation function has made.
 *
 * Prints "ready" once PATH answers calls, serves until SIGTERM or SIGINT, then detaches the door
 * from PATH, removes PATH and exits 0. Exits 1 when any step fails, 2 on bad usage.
 */

/* sigwait(3), pthread_sigmask(3) and clock_gettime(3) are POSIX, not ISO C. */
#define _POSIX_C_SOURCE 200809L

#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stropts.h>
#include <time.h>
#include <unistd.h>

#define MAX_TOGETHER 64 /* the most calls one client may ask to run at once */

/* The private door's state, its cookie. The creation function finds it again through
 * di_data, which door_info_t carries for exactly that. */
struct pool {
  pthread_mutex_t lock;
  pthread_cond_t have_fd; /* fd was set */
  pthread_cond_t arrived; /* a group is complete */
  int fd;                 /* the door; -1 until door_create has returned it */
  unsigned threads;       /* server threads created for this door */
  unsigned waiting;       /* calls waiting for the rest of their group */
  unsigned long group;    /* bumped each time a group is complete */
};

static struct pool private_pool = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, -1, 0, 0, 0};

/* This server thread's number, counted per private door; 0 in shared-pool threads. */
static _Thread_local unsigned thread_number;

static void *server_thread(void *arg) {
  door_info_t *dip = arg; /* a copy of the creation function's argument, or NULL */
  struct pool *p;
  int fd;

  /* As the default creation function does: a client giving up on a call cancels the thread
   * serving it only through the library, never at an arbitrary point of ours. */
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
  if (dip != NULL) {
    p = (struct pool *)(uintptr_t)dip->di_data;
    free(dip);
    /* The first thread is created inside door_create, before it returns the descriptor. */
    pthread_mutex_lock(&p->lock);
    thread_number = ++p->threads;
    while (p->fd == -1) pthread_cond_wait(&p->have_fd, &p->lock);
    fd = p->fd;
    pthread_mutex_unlock(&p->lock);
    if (door_bind(fd) == -1) {
      perror("c_classic_pool_server: door_bind");
      return NULL;
    }
  }
  /* No caller yet: this parks the thread in its pool (the private one when bound, else the
   * shared one) until an invocation comes. It does not return. */
  door_return(NULL, 0, NULL, 0);
  return NULL;
}

/* The door_server_create(3C) function: one detached thread per request. It runs inside
 * door_create and inside invocations, so it must be quick and thread-safe. */
static void create_server_thread(door_info_t *dip) {
  door_info_t *copy = NULL;
  pthread_attr_t attr;
  pthread_t tid;
  int err;

  if (dip != NULL) {
    /* dip is only valid during this call, and the thread outlives it. */
    if ((copy = malloc(sizeof *copy)) == NULL) return; /* the pool keeps the threads it has */
    *copy = *dip;
  }
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if ((err = pthread_create(&tid, &attr, server_thread, copy)) != 0) {
    fprintf(stderr, "c_classic_pool_server: pthread_create: %s\n", strerror(err));
    free(copy);
  }
  pthread_attr_destroy(&attr);
}

static void pool_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
  struct pool *p = cookie;
  door_info_t info;
  struct timespec deadline;
  unsigned long group;
  unsigned threads;
  long together = 1;
  char reply[96];
  int len, cancel_state, err = 0;
  uint_t i;

  for (i = 0; i < n_desc; i++) { /* not expected; do not leak them */
    if (dp[i].d_attributes & DOOR_DESCRIPTOR) close(dp[i].d_data.d_desc.d_descriptor);
  }
  if (arg_size == sizeof together) memcpy(&together, argp, sizeof together);
  if (together < 1 || together > MAX_TOGETHER) together = 1;

  /* Wait for the rest of the group. pthread_cond_timedwait is a cancellation point, and the
   * library enables cancellation while a procedure runs, so that a client giving up cancels the
   * thread serving it. Ending here would leave the lock held and the pool stuck, so the wait is
   * not cancellable: a call whose client gave up waits for its group or its deadline. */
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 10;
  pthread_mutex_lock(&p->lock);
  group = p->group;
  if (++p->waiting >= (unsigned long)together) {
    p->waiting = 0;
    p->group++;
    pthread_cond_broadcast(&p->arrived);
  } else {
    while (p->group == group && err != ETIMEDOUT) {
      err = pthread_cond_timedwait(&p->arrived, &p->lock, &deadline);
    }
    /* On a timeout the call is answered anyway, and its client sees fewer threads. */
    if (p->group == group) p->waiting--;
  }
  threads = p->threads;
  pthread_mutex_unlock(&p->lock);
  pthread_setcancelstate(cancel_state, NULL);

  /* door_info(3C) with DOOR_QUERY: the door this thread is bound to. */
  if (door_info(DOOR_QUERY, &info) == -1) {
    len = snprintf(reply, sizeof reply, "error: door_info(DOOR_QUERY): %s", strerror(errno));
  } else if (!(info.di_attributes & DOOR_PRIVATE)) {
    len = snprintf(reply, sizeof reply, "error: served by a thread not bound to a private door");
  } else {
    len = snprintf(reply, sizeof reply, "thread %u of %u", thread_number, threads);
  }
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

  /* Before door_create, so that every server thread inherits the mask. */
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  if ((err = pthread_sigmask(SIG_BLOCK, &stop, NULL)) != 0) {
    fprintf(stderr, "c_classic_pool_server: pthread_sigmask: %s\n", strerror(err));
    return 1;
  }

  /* Before the first door_create, which already calls it. */
  door_server_create(create_server_thread);

  /* The lock makes the first server thread, created inside door_create, wait for did. */
  pthread_mutex_lock(&private_pool.lock);
  did = door_create(pool_proc, &private_pool, DOOR_PRIVATE);
  private_pool.fd = did;
  pthread_cond_broadcast(&private_pool.have_fd);
  pthread_mutex_unlock(&private_pool.lock);
  if (did == -1) {
    perror("c_classic_pool_server: door_create");
    return 1;
  }

  if ((fd = open(path, O_CREAT | O_RDWR, 0644)) == -1) {
    fprintf(stderr, "c_classic_pool_server: %s: %s\n", path, strerror(errno));
    return 1;
  }
  close(fd);
  if (fattach(did, path) == -1) {
    fprintf(stderr, "c_classic_pool_server: fattach %s: %s\n", path, strerror(errno));
    return 1;
  }

  printf("ready\n");
  fflush(stdout);
  if ((err = sigwait(&stop, &sig)) != 0) {
    fprintf(stderr, "c_classic_pool_server: sigwait: %s\n", strerror(err));
    status = 1;
  }

  if (fdetach(path) == -1) {
    fprintf(stderr, "c_classic_pool_server: fdetach %s: %s\n", path, strerror(errno));
    status = 1;
  }
  if (unlink(path) == -1) {
    fprintf(stderr, "c_classic_pool_server: unlink %s: %s\n", path, strerror(errno));
    status = 1;
  }
  return status;
}
