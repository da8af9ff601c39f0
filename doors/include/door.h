/*
 * <door.h>: the Solaris/illumos doors API on Linux (libdoors).
 *
 * Names, types, field order and constant values are illumos's (usr/src/head/door.h and
 * usr/src/uts/common/sys/door.h), so that Solaris door programs compile unchanged. Valid C (C99 or
 * later) and C++. Linux-only extensions live in <doors/ext.h>, never here.
 */
#ifndef _DOOR_H
#define _DOOR_H

#include <stddef.h>
#include <sys/types.h>
#include <ucred.h>

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

#ifndef _DOORS_UINT_T_DEFINED
#define _DOORS_UINT_T_DEFINED
/* Solaris gets uint_t from <sys/types.h>; glibc does not define it. */
typedef unsigned int uint_t;
#endif

typedef unsigned long long door_ptr_t; /* handle for a pointer in another process */
typedef unsigned long long door_id_t;  /* system-wide unique door id */
typedef unsigned int door_attr_t;

/* door_create(3C) attributes. */
#define DOOR_UNREF 0x01            /* deliver an unreferenced notification once */
#define DOOR_PRIVATE 0x02          /* served only by threads bound with door_bind(3C) */
#define DOOR_UNREF_MULTI 0x10      /* deliver one each time the count drops to one */
#define DOOR_REFUSE_DESC 0x40      /* calls carrying descriptors fail with ENOTSUP */
#define DOOR_NO_CANCEL 0x80        /* a client abort does not cancel the server thread */
#define DOOR_NO_DEPLETION_CB 0x100 /* door_xcreate(3C) only */

/* Attributes door_info(3C) reports. */
#define DOOR_LOCAL 0x04         /* the door is served by the calling process */
#define DOOR_REVOKED 0x08       /* revoked, or its server exited */
#define DOOR_IS_UNREF 0x20      /* exactly one reference exists */
#define DOOR_PRIVCREATE 0x200   /* the door has a door_xcreate(3C) creation function */
#define DOOR_DEPLETION_CB 0x400 /* set during a depletion callback */

#define DOOR_CREATE_MASK \
  (DOOR_UNREF | DOOR_PRIVATE | DOOR_UNREF_MULTI | DOOR_REFUSE_DESC | DOOR_NO_CANCEL)

/* door_desc_t attributes. */
#define DOOR_DESCRIPTOR 0x10000 /* d_descriptor is a file descriptor */
#define DOOR_HANDLE 0x20000     /* kernel only */
#define DOOR_RELEASE 0x40000    /* close the sender's descriptor once it is passed */

/* Sentinels. */
#define DOOR_INVAL -1
#define DOOR_QUERY -2 /* door_info(3C): the door the calling thread is bound to */
#define DOOR_UNREF_DATA ((void *)1)

/* door_getparam(3C) / door_setparam(3C) parameters. */
#define DOOR_PARAM_DESC_MAX 1
#define DOOR_PARAM_DATA_MAX 2
#define DOOR_PARAM_DATA_MIN 3

/* illumos packs these to 4 bytes on amd64 (door_desc_t is 24 bytes, door_info_t 48). */
#pragma pack(push, 4)

/* A descriptor passed in a call or a reply. */
typedef struct door_desc {
  door_attr_t d_attributes;
  union {
    struct {
      int d_descriptor;
      door_id_t d_id; /* the door's di_uniquifier when the descriptor is a door */
    } d_desc;
    int d_resv[5];
  } d_data;
} door_desc_t;

/* door_info(3C). */
typedef struct door_info {
  pid_t di_target;    /* server process; -1 once it has exited */
  door_ptr_t di_proc; /* server procedure, as an address in the server */
  door_ptr_t di_data; /* cookie given to door_create(3C) */
  door_attr_t di_attributes;
  door_id_t di_uniquifier; /* unique system-wide, equal in every process */
  int di_resv[4];
} door_info_t;

#pragma pack(pop)

/* door_call(3C) arguments and results; every member is in and out. */
typedef struct door_arg {
  char *data_ptr;
  size_t data_size;
  door_desc_t *desc_ptr;
  uint_t desc_num;
  char *rbuf;
  size_t rsize;
} door_arg_t;

/* door_cred(3C) (Obsolete: prefer door_ucred(3C)). */
typedef struct door_cred {
  uid_t dc_euid;
  gid_t dc_egid;
  uid_t dc_ruid;
  gid_t dc_rgid;
  pid_t dc_pid;
  int dc_resv[4];
} door_cred_t;

typedef void door_server_procedure_t(void *, char *, size_t, door_desc_t *, uint_t);
typedef void door_server_func_t(door_info_t *);

int door_create(void (*)(void *, char *, size_t, door_desc_t *, uint_t), void *,
                uint_t) _DOORS_NOTHROW;
int door_revoke(int) _DOORS_NOTHROW;
int door_info(int, struct door_info *) _DOORS_NOTHROW;
int door_call(int, door_arg_t *) _DOORS_NOTHROW;
/* Not _DOORS_NOTHROW: a server thread cancelled for an abandoned call unwinds through it. */
int door_return(char *, size_t, door_desc_t *, uint_t);
int door_cred(door_cred_t *) _DOORS_NOTHROW;
int door_ucred(ucred_t **) _DOORS_NOTHROW;
int door_bind(int) _DOORS_NOTHROW;
int door_unbind(void) _DOORS_NOTHROW;
int door_getparam(int, int, size_t *) _DOORS_NOTHROW;
int door_setparam(int, int, size_t) _DOORS_NOTHROW;
door_server_func_t *door_server_create(door_server_func_t *) _DOORS_NOTHROW;

/* fattach(3C) and fdetach(3C); Solaris declares them in <stropts.h>, which glibc no longer has. */
#ifndef _DOORS_FATTACH_DECLARED
#define _DOORS_FATTACH_DECLARED
int fattach(int, const char *) _DOORS_NOTHROW;
int fdetach(const char *) _DOORS_NOTHROW;
#endif

#ifdef __cplusplus
}
#endif

#endif /* _DOOR_H */
