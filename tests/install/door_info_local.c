/*
 * Out-of-tree consumer of an installed libdoors, written as a Solaris C program would be:
 * create a door, ask door_info(3C) about it, and expect DOOR_LOCAL, since this process serves it.
 * Exits 0 on success, 1 with a message otherwise.
 */
#include <door.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void serve(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
  (void)cookie;
  (void)dp;
  (void)n_desc;
  door_return(argp, arg_size, NULL, 0); /* echo; door_return does not return */
}

int main(void) {
  int fd = door_create(serve, NULL, 0);
  if (fd < 0) {
    fprintf(stderr, "error: door_create: %s\n", strerror(errno));
    return 1;
  }
  door_info_t info;
  memset(&info, 0, sizeof info);
  if (door_info(fd, &info) != 0) {
    fprintf(stderr, "error: door_info: %s\n", strerror(errno));
    return 1;
  }
  if (!(info.di_attributes & DOOR_LOCAL)) {
    fprintf(stderr, "error: door_info: DOOR_LOCAL not set (attributes 0x%x)\n", info.di_attributes);
    return 1;
  }
  printf("door %d: DOOR_LOCAL set, served by pid %ld\n", fd, (long)info.di_target);
  close(fd);
  return 0;
}
