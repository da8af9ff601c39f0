/*
 * <doors/ext.h>: Linux-only extensions of libdoors. Nothing here exists on Solaris; portable door
 * programs do not need this header.
 */
#ifndef DOORS_EXT_H
#define DOORS_EXT_H

#include <stddef.h>
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

#ifdef __cplusplus
}
#endif

#endif /* DOORS_EXT_H */
