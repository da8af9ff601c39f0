/*
 * c_classic_unref_client: a client of c_classic_unref_server (Stevens, UNP vol. 2, client1.c).
 * Its open descriptor is a reference to the door: while it is open, the server's DOOR_UNREF
 * notification cannot come, and closing it (or exiting) may be what triggers it.
 *
 *   c_classic_unref_client PATH [N...]
 *
 * Opens PATH once and asks the door for the square of each N, printing "square(N) = M". With no
 * N it reads one number per line from standard input until end of file, so that it can hold the
 * door open as long as its input stays open. Closes the door last. Exits 0 when every call
 * succeeded, 1 when one failed, 2 on bad usage.
 */
#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Calls the door for n; 0 on success, -1 after printing why not. */
static int square(int fd, const char *path, long n) {
  long result;
  door_arg_t arg;

  arg.data_ptr = (char *)&n;
  arg.data_size = sizeof n;
  arg.desc_ptr = NULL;
  arg.desc_num = 0;
  arg.rbuf = (char *)&result;
  arg.rsize = sizeof result;
  if (door_call(fd, &arg) == -1) {
    fprintf(stderr, "c_classic_unref_client: door_call %s: %s\n", path, strerror(errno));
    return -1;
  }
  if (arg.data_size != sizeof result) {
    fprintf(stderr, "c_classic_unref_client: reply of %zu bytes, expected %zu\n", arg.data_size,
            sizeof result);
  } else {
    memcpy(&result, arg.data_ptr, sizeof result);
    printf("square(%ld) = %ld\n", n, result);
    fflush(stdout);
  }
  /* A reply that did not fit in rbuf came in a mapping of its own, which is ours to unmap. */
  if (arg.rbuf != (char *)&result) munmap(arg.rbuf, arg.rsize);
  return arg.data_size == sizeof result ? 0 : -1;
}

/* strtol with the checks it needs; 0 on success. */
static int parse_long(const char *s, long *out) {
  char *end;
  errno = 0;
  *out = strtol(s, &end, 10);
  while (*end == '\n' || *end == ' ') end++;
  return errno == 0 && end != s && *end == '\0' ? 0 : -1;
}

int main(int argc, char **argv) {
  const char *path;
  char line[64];
  long n;
  int fd, i, status = 0;

  if (argc < 2) {
    fprintf(stderr, "usage: %s PATH [N...]\n", argv[0]);
    return 2;
  }
  path = argv[1];
  for (i = 2; i < argc; i++) {
    if (parse_long(argv[i], &n) == -1) {
      fprintf(stderr, "c_classic_unref_client: not a number: %s\n", argv[i]);
      return 2;
    }
  }

  if ((fd = open(path, O_RDONLY)) == -1) {
    fprintf(stderr, "c_classic_unref_client: %s: %s\n", path, strerror(errno));
    return 1;
  }
  if (argc > 2) {
    for (i = 2; i < argc && status == 0; i++) {
      parse_long(argv[i], &n);
      if (square(fd, path, n) == -1) status = 1;
    }
  } else {
    while (status == 0 && fgets(line, sizeof line, stdin) != NULL) {
      if (parse_long(line, &n) == -1) {
        fprintf(stderr, "c_classic_unref_client: not a number: %s", line);
        status = 1;
      } else if (square(fd, path, n) == -1) {
        status = 1;
      }
    }
  }
  /* Our reference to the door goes away here (or at exit, which closes it too). */
  close(fd);
  return status;
}
