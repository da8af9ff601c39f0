/*
 * <stropts.h>: the part of Solaris's STREAMS header that door programs use, fattach(3C) and
 * fdetach(3C). glibc dropped <stropts.h> in 2.30; libdoors provides these two functions.
 */
#ifndef _DOORS_STROPTS_H
#define _DOORS_STROPTS_H

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

#ifndef _DOORS_FATTACH_DECLARED
#define _DOORS_FATTACH_DECLARED
int fattach(int, const char *) _DOORS_NOTHROW;
int fdetach(const char *) _DOORS_NOTHROW;
#endif

#ifdef __cplusplus
}
#endif

#endif /* _DOORS_STROPTS_H */
