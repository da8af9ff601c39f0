/*
 * <doors/ext.h>: Linux-only extensions of libdoors. Nothing here exists on Solaris; portable door
 * programs do not need this header.
 */
#ifndef DOORS_EXT_H
#define DOORS_EXT_H

#include <door.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef _DOORS_NOTHROW
/* Like glibc's __THROW: C++ callers know these functions never throw. */
#ifdef __cplusplus
#define _DOORS_NOTHROW noexcept
#else
#define _DOORS_NOTHROW
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * fattach(3C) on Linux binds a listening Unix socket in the abstract namespace whose name is
 * derived from the attached file's (st_dev, st_ino). This writes that name (without the leading
 * NUL byte of abstract names, NUL-terminated) into buf and returns its length, or -1 with errno
 * ERANGE when len is too small. Tools use it to find the server of a path.
 */
int doors_attach_name(dev_t dev, ino_t ino, char *buf, size_t len) _DOORS_NOTHROW;

/* Arguments and results larger than this travel through shared memory instead of the socket. */
#define DOORS_INLINE_DATA_MAX (64 * 1024)

/*
 * Data a door procedure receives (argp) and results doors_call() leaves in place are aligned to
 * at least DOORS_DATA_ALIGN bytes, so that word-aligned message formats (Cap'n Proto) can be
 * read where they landed.
 */
#define DOORS_DATA_ALIGN 16

/* doors_call_options_t.flags */
#define DOORS_RESULTS_IN_PLACE 0x1 /* leave the results where they arrived (see doors_call) */

typedef struct doors_call_options {
  /* > 0: the call fails with ETIMEDOUT when no reply came within this many nanoseconds; the
   * server thread running it is cancelled as for an interrupted call (unless DOOR_NO_CANCEL).
   * 0 or less: no deadline. */
  long long timeout_ns;
  unsigned flags; /* DOORS_RESULTS_IN_PLACE or 0 */
} doors_call_options_t;

/*
 * door_call(3C) with options (opts may be NULL: exactly door_call). Errors as door_call, plus
 * ETIMEDOUT when the deadline passed.
 *
 * With DOORS_RESULTS_IN_PLACE the results are not copied into rbuf (rbuf and rsize are ignored
 * and left alone): on success data_ptr/data_size and desc_ptr/desc_num describe them where they
 * arrived, in memory libdoors owns (read-only; aligned to DOORS_DATA_ALIGN). They stay valid
 * until the calling thread's next door operation of any kind (door_call, doors_call, door_info,
 * door_getparam, door_setparam on a door of another process). The descriptors in desc_ptr are
 * the caller's, as with door_call; the door_desc_t array itself follows the same lifetime rule.
 */
int doors_call(int fd, door_arg_t *arg, const doors_call_options_t *opts) _DOORS_NOTHROW;

/*
 * A writable block of at least size bytes in the calling thread's shared-memory argument area for
 * door fd, or NULL with errno (EBADF: not a door; E2BIG: no memory for it). A door_call/doors_call
 * from this thread to the same door whose data lies entirely inside the block sends it without
 * copying it. The block stays valid until such a call returns, or until the thread asks for
 * another block for the same door or calls it with more than DOORS_INLINE_DATA_MAX bytes from
 * elsewhere. Meant for arguments larger than DOORS_INLINE_DATA_MAX; smaller ones travel inline
 * in the socket message anyway. If the thread's connection to the door had to be replaced
 * before the call (the descriptor it was made through was closed), the call still succeeds: it
 * then copies the block like any other data.
 */
void *doors_call_buffer(int fd, size_t size) _DOORS_NOTHROW;

/*
 * Inside a door procedure: a writable block of at least size bytes in the shared-memory result
 * area of the call being served, or NULL with errno (EINVAL: not in a door procedure with a
 * caller waiting; E2BIG: no memory for it). door_return(3C) from this thread with data lying
 * entirely inside the block sends it without copying it. Valid until this invocation ends or the
 * next doors_reply_buffer call in it.
 */
void *doors_reply_buffer(size_t size) _DOORS_NOTHROW;

/*
 * Closes every call channel of the calling thread and unmaps the shared memory they kept; returns
 * how many it closed. libdoors keeps one channel per (thread, door) for the thread's life and
 * notices a dead one lazily: when a call through it fails, or when the thread opens its 16th
 * channel. A long-lived thread that called short-lived doors, or a leak checker, calls this to
 * get those descriptors and that memory back now (in the door's server too, which closes its
 * end). The thread's next call to a door opens a new channel; a doors_call_buffer block
 * becomes invalid.
 */
int doors_release_channels(void) _DOORS_NOTHROW;

/*
 * A new descriptor of door fd, served by this process, that is a reference of its own: unlike a
 * dup(2) of fd (or fd passed in a message, which shares fd's reference, see DEVIATIONS.md), the
 * door's DOOR_UNREF count sees it separately. For a server that hands a door out and keeps its
 * own descriptor, so that it is told when every receiver has let go. -1 with errno: EBADF (not
 * a door, or revoked), EPERM (a door of another process), EMFILE/ENFILE/ENOMEM.
 */
int doors_new_reference(int fd) _DOORS_NOTHROW;

/*
 * What a door's server process says of itself and of the door: the figures behind `doorctl info`.
 * Fields marked (door) are the door's own; the others are the whole server process's. Any
 * holder of a door descriptor may ask; the figures are a snapshot, each read on its own.
 */
typedef struct doors_server_stats {
  pid_t dss_pid;               /* the server process */
  uint32_t dss_threads;        /* server threads in its pools (shared and private) */
  uint32_t dss_idle_threads;   /* of those, the ones waiting for a call */
  uint32_t dss_doors;          /* doors it serves */
  uint32_t dss_attachments;    /* paths it has fattach'ed */
  uint32_t dss_connections;    /* open door descriptors and call channels of its doors' clients */
  uint32_t dss_parked_threads; /* of those, the ones parked on a caller's channel: they wait for
                                 that caller's next call, and are neither idle nor busy */
  uint64_t dss_shm_bytes;      /* shared memory it has mapped for door arguments and results */
  uint64_t dss_calls;          /* (door) invocations of the door procedure so far */
  uint64_t dss_tag;            /* (door) its tag (doors_set_tag), 0 when it has none */
  uint64_t dss_shuttle_calls;  /* (door) of its invocations, those whose call came through the
                                  caller's shuttle page rather than a socket message */
  uint64_t dss_refusals;       /* connections and calls it refused because a limit was reached
                                  (doors_setlimit: DOORS_LIMIT_UID_CONNECTIONS, _ARENA_BYTES) */
  uint64_t dss_pool_full;      /* times a pool of its ran out of idle threads and could not grow,
                                  being at DOORS_LIMIT_POOL_THREADS: calls then wait for a thread */
  uint64_t dss_reserved[1];
} doors_server_stats_t;

/*
 * Fills *out for door fd from its server (locally when the door is served by this process). -1
 * with errno: EBADF (not a door; revoked; its server is gone), EFAULT (out is NULL), EINTR.
 */
int doors_server_stats(int fd, doors_server_stats_t *out) _DOORS_NOTHROW;

/*
 * Sets door fd's tag: a number its server chooses to tell clients what its procedure expects
 * before they call it (the typed runtime sets the Cap'n Proto id of the interface a door serves,
 * so that tools know what to ask it). 0 means none. -1 with errno: EBADF (not a door, or
 * revoked), EPERM (a door of another process).
 */
int doors_set_tag(int fd, uint64_t tag) _DOORS_NOTHROW;

/*
 * Resource limits of this process as a door server (doors/SECURITY.md). Each starts at its
 * default, or at the value of its environment variable when that is set (a decimal number,
 * optionally followed by K, M or G), read once when the process first needs a limit; a value
 * that is not a positive number is reported on stderr and ignored.
 *
 * DOORS_LIMIT_POOL_THREADS (DOORS_MAX_POOL_THREADS, default 1024): threads the default
 *   door_server_create(3C) function keeps in the shared pool. At the limit a pool stops growing,
 *   and calls wait for a thread of it to be free, as on Solaris with a bounded pool. A creation
 *   function installed with door_server_create() decides for itself.
 * DOORS_LIMIT_UID_CONNECTIONS (DOORS_MAX_UID_CONNECTIONS, default 4096): connections one user
 *   (the uid the kernel reports for a client socket) may hold to this process's doors: accepted
 *   connections still in their handshake, door descriptors and per-thread call channels. Beyond
 *   it, opening an attached path or calling fails with EAGAIN ("the server was out of
 *   resources") for that user only.
 * DOORS_LIMIT_ARENA_BYTES (DOORS_MAX_ARENA_BYTES, default 1G): the largest shared-memory arena of
 *   a client this process maps for arguments; it bounds the bytes of a single call. A call whose
 *   arguments need a larger one fails with E2BIG.
 */
#define DOORS_LIMIT_POOL_THREADS 1
#define DOORS_LIMIT_UID_CONNECTIONS 2
#define DOORS_LIMIT_ARENA_BYTES 3

#define DOORS_DEFAULT_POOL_THREADS 1024
#define DOORS_DEFAULT_UID_CONNECTIONS 4096
#define DOORS_DEFAULT_ARENA_BYTES (1ULL << 30)

/*
 * Sets a limit (DOORS_LIMIT_*) for what happens from now on: connections and threads already
 * there stay. -1 with errno EINVAL: an unknown limit, or value 0.
 */
int doors_setlimit(int limit, uint64_t value) _DOORS_NOTHROW;
/* The limit's current value in *value. -1 with errno: EINVAL (unknown limit), EFAULT. */
int doors_getlimit(int limit, uint64_t *value) _DOORS_NOTHROW;

#ifdef __cplusplus
}
#endif

#endif /* DOORS_EXT_H */
