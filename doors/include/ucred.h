/*
 * <ucred.h>: user credentials as illumos's ucred_get(3C) family describes them. <door.h>
 * includes it, as on illumos, so that door_ucred(3C) callers need nothing more.
 */
#ifndef _UCRED_H
#define _UCRED_H

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

/* Opaque; allocated by door_ucred(3C) or ucred_get(3C), released with ucred_free(3C). */
typedef struct ucred_s ucred_t;

/* ucred_get(3C): the credentials of a live process; P_MYID (-1) means the caller. */
#ifndef P_MYID
#define P_MYID (-1)
#endif
ucred_t *ucred_get(pid_t) _DOORS_NOTHROW;
void ucred_free(ucred_t *) _DOORS_NOTHROW;
size_t ucred_size(void) _DOORS_NOTHROW;

/* Each returns -1 (and sets errno to EINVAL) when the value is not available. */
uid_t ucred_geteuid(const ucred_t *) _DOORS_NOTHROW;
uid_t ucred_getruid(const ucred_t *) _DOORS_NOTHROW;
uid_t ucred_getsuid(const ucred_t *) _DOORS_NOTHROW;
gid_t ucred_getegid(const ucred_t *) _DOORS_NOTHROW;
gid_t ucred_getrgid(const ucred_t *) _DOORS_NOTHROW;
gid_t ucred_getsgid(const ucred_t *) _DOORS_NOTHROW;
pid_t ucred_getpid(const ucred_t *) _DOORS_NOTHROW;
/* Stores a pointer to the supplementary groups (owned by the ucred) and returns their count. */
int ucred_getgroups(const ucred_t *, const gid_t **) _DOORS_NOTHROW;

#ifdef __cplusplus
}
#endif

#endif /* _UCRED_H */
