/*
 * The classic Solaris door program pair, written in C against <door.h> and linked with libdoors:
 * a forked child creates a door, attaches it to a file and serves; the parent open()s the file
 * and calls it. Exits 0 when every check passes, 1 otherwise; every wait is bounded.
 */
#define _GNU_SOURCE
#include <door.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stropts.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATIENCE_MS 10000

static int failures;

#define CHECK(cond)                                                                          \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      fprintf(stderr, "%s:%d: check failed: %s (errno %d: %s)\n", __FILE__, __LINE__, #cond, \
              errno, strerror(errno));                                                       \
      ++failures;                                                                            \
    }                                                                                        \
  } while (0)

static const char kCookie[] = "cookie";

/* Replies "pong:" + the arguments, or 100000 bytes of 'z' when asked for "big". */
static void server_proc(void *cookie, char *argp, size_t arg_size, door_desc_t *dp, uint_t n_desc) {
  static __thread char reply[100000];
  size_t n;
  (void)dp;
  (void)n_desc;
  if (cookie != (void *)kCookie) {
    door_return(NULL, 0, NULL, 0);
  }
  if (arg_size == 3 && memcmp(argp, "big", 3) == 0) {
    memset(reply, 'z', sizeof reply);
    door_return(reply, sizeof reply, NULL, 0);
  }
  n = arg_size < sizeof reply - 5 ? arg_size : sizeof reply - 5;
  memcpy(reply, "pong:", 5);
  memcpy(reply + 5, argp, n);
  door_return(reply, n + 5, NULL, 0);
}

static void serve(const char *path, int ready_fd, pid_t parent) {
  int d;
  char ok = 1;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(2);
  d = door_create(server_proc, (void *)kCookie, 0);
  if (d < 0 || fattach(d, path) != 0) {
    perror("child: door_create/fattach");
    _exit(3);
  }
  if (write(ready_fd, &ok, 1) != 1) _exit(4);
  for (;;) pause();
}

/* Waits for `pid` to end, at most PATIENCE_MS; returns its wait status, or -1. */
static int reap(pid_t pid) {
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int status = -1;
  if (pidfd >= 0) {
    struct pollfd p = {pidfd, POLLIN, 0};
    poll(&p, 1, PATIENCE_MS);
    close(pidfd);
  }
  if (waitpid(pid, &status, WNOHANG) != pid) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
  }
  return status;
}

int main(void) {
  char dir[] = "/tmp/doors-c-roundtrip-XXXXXX";
  char path[sizeof dir + 8];
  int ready[2], fd, status;
  char byte = 0, rbuf[64];
  struct pollfd p;
  door_arg_t arg;
  door_info_t info;
  pid_t child, parent = getpid();

  if (mkdtemp(dir) == NULL) return perror("mkdtemp"), 1;
  snprintf(path, sizeof path, "%s/door", dir);
  close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (pipe2(ready, O_CLOEXEC) != 0) return perror("pipe2"), 1;

  fflush(NULL);
  child = fork();
  if (child < 0) return perror("fork"), 1;
  if (child == 0) {
    close(ready[0]);
    serve(path, ready[1], parent);
  }
  close(ready[1]);
  p.fd = ready[0];
  p.events = POLLIN;
  p.revents = 0;
  CHECK(poll(&p, 1, PATIENCE_MS) == 1 && read(ready[0], &byte, 1) == 1 && byte == 1);

  fd = open(path, O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0);

  /* door_info: the child serves it, with our cookie. */
  CHECK(door_info(fd, &info) == 0);
  CHECK(info.di_target == child);
  CHECK(!(info.di_attributes & DOOR_LOCAL));
  CHECK(info.di_data == (door_ptr_t)(uintptr_t)kCookie);

  /* A small call: results in rbuf. */
  memset(&arg, 0, sizeof arg);
  arg.data_ptr = "ping";
  arg.data_size = 4;
  arg.rbuf = rbuf;
  arg.rsize = sizeof rbuf;
  CHECK(door_call(fd, &arg) == 0);
  CHECK(arg.rbuf == rbuf && arg.data_ptr == rbuf);
  CHECK(arg.data_size == 9 && memcmp(arg.data_ptr, "pong:ping", 9) == 0);

  /* Results larger than rbuf: a new mapping the caller unmaps. */
  memset(&arg, 0, sizeof arg);
  arg.data_ptr = "big";
  arg.data_size = 3;
  arg.rbuf = rbuf;
  arg.rsize = sizeof rbuf;
  CHECK(door_call(fd, &arg) == 0);
  CHECK(arg.rbuf != rbuf && arg.rsize >= 100000 && arg.data_size == 100000);
  if (arg.rbuf != rbuf && arg.data_size == 100000) {
    CHECK(arg.data_ptr[0] == 'z' && arg.data_ptr[99999] == 'z');
    CHECK(munmap(arg.rbuf, arg.rsize) == 0);
  }

  /* Not a door. */
  errno = 0;
  CHECK(door_call(ready[0], &arg) == -1 && errno == EBADF);

  close(fd);
  kill(child, SIGTERM);
  status = reap(child);
  CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  close(ready[0]);
  unlink(path);
  rmdir(dir);
  if (failures == 0) printf("C door server and client: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
