/*
 * c_classic_cred_client: asks c_classic_cred_server who it is (Stevens, UNP vol. 2, client4.c),
 * and shows that a door server sees the caller's credentials at call time.
 *
 *   c_classic_cred_client PATH [UID]
 *
 * Opens PATH, prints its own ids ("client pid=P ruid=U euid=U rgid=G egid=G") and calls the door,
 * which answers with the ids it sees ("server pid=P ..."). With UID (which needs root), it then
 * calls setuid(UID) -- after open(2), on the descriptor it already holds -- and does both again:
 * the server sees the new uid. Exits 0 when every call succeeded, 1 when one failed, 2 on bad
 * usage.
 */
#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Prints our ids, then the ids the door sees; 0 on success, -1 after printing why not. */
static int ask(int fd, const char *path) {
  char rbuf[256];
  door_arg_t arg;

  printf("client pid=%ld ruid=%ld euid=%ld rgid=%ld egid=%ld\n", (long)getpid(), (long)getuid(),
         (long)geteuid(), (long)getgid(), (long)getegid());
  arg.data_ptr = NULL; /* the door needs no argument: who calls is the question */
  arg.data_size = 0;
  arg.desc_ptr = NULL;
  arg.desc_num = 0;
  arg.rbuf = rbuf;
  arg.rsize = sizeof rbuf;
  if (door_call(fd, &arg) == -1) {
    fprintf(stderr, "c_classic_cred_client: door_call %s: %s\n", path, strerror(errno));
    return -1;
  }
  printf("server %.*s\n", (int)arg.data_size, arg.data_ptr);
  fflush(stdout);
  if (arg.rbuf != rbuf) munmap(arg.rbuf, arg.rsize);
  return 0;
}

int main(int argc, char **argv) {
  const char *path;
  char *end;
  long uid = -1;
  int fd;

  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s PATH [UID]\n", argv[0]);
    return 2;
  }
  path = argv[1];
  if (argc == 3) {
    errno = 0;
    uid = strtol(argv[2], &end, 10);
    if (errno != 0 || end == argv[2] || *end != '\0' || uid < 0) {
      fprintf(stderr, "c_classic_cred_client: not a uid: %s\n", argv[2]);
      return 2;
    }
  }

  if ((fd = open(path, O_RDONLY)) == -1) {
    fprintf(stderr, "c_classic_cred_client: %s: %s\n", path, strerror(errno));
    return 1;
  }
  if (ask(fd, path) == -1) return 1;

  if (uid != -1) {
    /* As root, setuid(2) sets the real, effective and saved uids: there is no way back. */
    if (setuid((uid_t)uid) == -1) {
      fprintf(stderr, "c_classic_cred_client: setuid(%ld): %s\n", uid, strerror(errno));
      return 1;
    }
    printf("setuid(%ld)\n", uid);
    if (ask(fd, path) == -1) return 1;
  }
  close(fd);
  return 0;
}
