/*
 * c_classic_client: calls the door c_classic_server attached to PATH, as a Solaris client does
 * with open(2) and door_call(3C), and prints the reply.
 *
 *   c_classic_client PATH [WORDS...]
 *
 * Sends WORDS joined by single spaces (nothing when there are none). Exits 0 when the call
 * succeeded, 1 when it failed, 2 on bad usage.
 */
#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *path;
  char *request = NULL;
  size_t request_size = 0, max;
  /* Deliberately small: a reply longer than this arrives in a fresh mapping instead, which is
   * the case every door client has to handle. */
  char rbuf[64];
  door_arg_t arg;
  int fd, i, status = 0;

  if (argc < 2) {
    fprintf(stderr, "usage: %s PATH [WORDS...]\n", argv[0]);
    return 2;
  }
  path = argv[1];

  for (i = 2; i < argc; i++) request_size += strlen(argv[i]) + 1;
  if (request_size > 0) {
    if ((request = malloc(request_size)) == NULL) {
      perror("c_classic_client: malloc");
      return 1;
    }
    request_size = 0;
    for (i = 2; i < argc; i++) {
      if (i > 2) request[request_size++] = ' ';
      memcpy(request + request_size, argv[i], strlen(argv[i]));
      request_size += strlen(argv[i]);
    }
  }

  if ((fd = open(path, O_RDONLY)) == -1) {
    fprintf(stderr, "c_classic_client: %s: %s\n", path, strerror(errno));
    free(request);
    return 1;
  }

  arg.data_ptr = request; /* the door sends data_size bytes; no terminating NUL is needed */
  arg.data_size = request_size;
  arg.desc_ptr = NULL;
  arg.desc_num = 0;
  arg.rbuf = rbuf;
  arg.rsize = sizeof rbuf;
  if (door_call(fd, &arg) == -1) {
    int saved = errno;
    fprintf(stderr, "c_classic_client: door_call %s: %s\n", path, strerror(saved));
    /* door_call(3C): ENOBUFS when the argument exceeds the door's DOOR_PARAM_DATA_MAX. */
    if (saved == ENOBUFS && door_getparam(fd, DOOR_PARAM_DATA_MAX, &max) == 0) {
      fprintf(stderr, "c_classic_client: the request has %zu bytes; the door accepts %zu\n",
              request_size, max);
    }
    close(fd);
    free(request);
    return 1;
  }

  /* The reply is data_size bytes of text without a NUL; data_ptr points into rbuf, or into the
   * new mapping when the reply did not fit. */
  if (fwrite(arg.data_ptr, 1, arg.data_size, stdout) != arg.data_size || putchar('\n') == EOF ||
      fflush(stdout) == EOF) {
    perror("c_classic_client: stdout");
    status = 1;
  }

  /* door_call(3C): results that did not fit were placed in a region the system mapped for us,
   * and rbuf/rsize now describe it. It is ours to unmap. */
  if (arg.rbuf != rbuf && munmap(arg.rbuf, arg.rsize) == -1) {
    perror("c_classic_client: munmap");
    status = 1;
  }
  close(fd);
  free(request);
  return status;
}
