/*
 * c_classic_pool_client: makes several concurrent calls to c_classic_pool_server (Stevens, UNP
 * vol. 2, client6.c) and counts the server threads that answered them.
 *
 *   c_classic_pool_client PATH [NCALLS]
 *
 * Opens PATH once and starts NCALLS threads (default 4, at most 64) that each call the door over
 * that one descriptor, telling the server how many calls come together. Prints each answer
 * ("call I: thread T of C") and then "NCALLS calls served by K server threads". Exits 0 when
 * every call succeeded, 1 when one failed, 2 on bad usage.
 */

/* pthreads are POSIX, not ISO C. */
#define _POSIX_C_SOURCE 200809L

#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_CALLS 64

struct call {
  int fd;
  long together; /* the argument: how many calls run at once */
  char reply[96];
  int ok;
};

static void *caller(void *arg) {
  struct call *c = arg;
  char rbuf[96];
  door_arg_t da;

  da.data_ptr = (char *)&c->together;
  da.data_size = sizeof c->together;
  da.desc_ptr = NULL;
  da.desc_num = 0;
  da.rbuf = rbuf;
  da.rsize = sizeof rbuf;
  /* Each thread may call the same descriptor: door_call(3C) is thread-safe. */
  if (door_call(c->fd, &da) == -1) {
    snprintf(c->reply, sizeof c->reply, "door_call: %s", strerror(errno));
    return NULL;
  }
  snprintf(c->reply, sizeof c->reply, "%.*s", (int)da.data_size, da.data_ptr);
  c->ok = 1;
  if (da.rbuf != rbuf) munmap(da.rbuf, da.rsize);
  return NULL;
}

int main(int argc, char **argv) {
  static struct call calls[MAX_CALLS];
  static pthread_t tids[MAX_CALLS];
  unsigned seen[MAX_CALLS], thread, total;
  const char *path;
  char *end;
  long ncalls = 4;
  int fd, i, j, err, nseen = 0, status = 0;

  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s PATH [NCALLS]\n", argv[0]);
    return 2;
  }
  path = argv[1];
  if (argc == 3) {
    errno = 0;
    ncalls = strtol(argv[2], &end, 10);
    if (errno != 0 || end == argv[2] || *end != '\0' || ncalls < 1 || ncalls > MAX_CALLS) {
      fprintf(stderr, "c_classic_pool_client: NCALLS must be 1 to %d: %s\n", MAX_CALLS, argv[2]);
      return 2;
    }
  }

  if ((fd = open(path, O_RDONLY)) == -1) {
    fprintf(stderr, "c_classic_pool_client: %s: %s\n", path, strerror(errno));
    return 1;
  }
  for (i = 0; i < ncalls; i++) {
    calls[i].fd = fd;
    calls[i].together = ncalls;
    if ((err = pthread_create(&tids[i], NULL, caller, &calls[i])) != 0) {
      fprintf(stderr, "c_classic_pool_client: pthread_create: %s\n", strerror(err));
      return 1;
    }
  }
  for (i = 0; i < ncalls; i++) pthread_join(tids[i], NULL);
  close(fd);

  for (i = 0; i < ncalls; i++) {
    printf("call %d: %s\n", i + 1, calls[i].reply);
    if (!calls[i].ok || sscanf(calls[i].reply, "thread %u of %u", &thread, &total) != 2) {
      status = 1;
      continue;
    }
    for (j = 0; j < nseen && seen[j] != thread; j++) continue;
    if (j == nseen) seen[nseen++] = thread;
  }
  printf("%ld call%s served by %d server thread%s\n", ncalls, ncalls == 1 ? "" : "s", nseen,
         nseen == 1 ? "" : "s");
  return status;
}
