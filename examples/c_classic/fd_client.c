/*
 * c_classic_fd_client: receives an open file from c_classic_fd_server (Stevens, UNP vol. 2,
 * clientfd1.c). It sends a pathname, gets back a descriptor the server opened, and copies the
 * file to standard output by reading that descriptor.
 *
 *   c_classic_fd_client PATH FILE
 *
 * FILE is opened by the server, so a relative name is relative to the server's working
 * directory. Exits 0 when the file was copied, 1 when the call failed or the server could not
 * open FILE (its reason is printed), 2 on bad usage.
 */
#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *path, *file;
  /* Room for an error message, or for one door_desc_t: the reply lands in rbuf when it fits,
   * descriptors included. door_desc_t holds 8-byte members, hence the union. */
  union {
    char text[512];
    door_desc_t desc;
  } rbuf;
  char buf[4096];
  door_arg_t arg;
  ssize_t n;
  int door, fd, status = 0;

  if (argc != 3) {
    fprintf(stderr, "usage: %s PATH FILE\n", argv[0]);
    return 2;
  }
  path = argv[1];
  file = argv[2];

  if ((door = open(path, O_RDONLY)) == -1) {
    fprintf(stderr, "c_classic_fd_client: %s: %s\n", path, strerror(errno));
    return 1;
  }
  arg.data_ptr = (char *)file;  /* door_call(3C) does not write the argument */
  arg.data_size = strlen(file); /* the server needs no NUL */
  arg.desc_ptr = NULL;
  arg.desc_num = 0;
  arg.rbuf = rbuf.text;
  arg.rsize = sizeof rbuf;
  if (door_call(door, &arg) == -1) {
    fprintf(stderr, "c_classic_fd_client: door_call %s: %s\n", path, strerror(errno));
    return 1;
  }
  close(door); /* the received descriptor does not depend on the door */

  if (arg.desc_num != 1 || !(arg.desc_ptr[0].d_attributes & DOOR_DESCRIPTOR)) {
    /* No descriptor: the reply is the server's explanation. */
    fprintf(stderr, "c_classic_fd_client: %.*s\n", (int)arg.data_size, arg.data_ptr);
    status = 1;
  } else {
    fd = arg.desc_ptr[0].d_data.d_desc.d_descriptor;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
      if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
        perror("c_classic_fd_client: stdout");
        status = 1;
        break;
      }
    }
    if (n == -1) {
      fprintf(stderr, "c_classic_fd_client: read %s: %s\n", file, strerror(errno));
      status = 1;
    }
    if (fflush(stdout) == EOF) {
      perror("c_classic_fd_client: stdout");
      status = 1;
    }
    close(fd);
  }
  /* A reply that did not fit in rbuf came in a mapping of its own, which is ours to unmap. */
  if (arg.rbuf != rbuf.text) munmap(arg.rbuf, arg.rsize);
  return status;
}
