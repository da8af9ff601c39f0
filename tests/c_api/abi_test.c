/*
 * <door.h> compiled as C (C11, -pedantic): the illumos amd64 layout of every structure and the
 * illumos value of every constant, so that Solaris door programs and their binary formats carry
 * over unchanged. Prints each mismatch and exits 1 if there is any.
 */
#define _GNU_SOURCE
#include <door.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stropts.h>
#include <ucred.h>

static int failures;

#define CHECK_EQ(actual, expected)                                                                \
  do {                                                                                            \
    long long a_ = (long long)(actual), e_ = (long long)(expected);                               \
    if (a_ != e_) {                                                                               \
      fprintf(stderr, "%s:%d: %s is %lld, expected %s (%lld)\n", __FILE__, __LINE__, #actual, a_, \
              #expected, e_);                                                                     \
      ++failures;                                                                                 \
    }                                                                                             \
  } while (0)

/* The prototypes are the illumos ones: each assignment below fails to compile otherwise. */
static void check_prototypes(void) {
  int (*create)(void (*)(void *, char *, size_t, door_desc_t *, uint_t), void *, uint_t) =
      door_create;
  int (*revoke)(int) = door_revoke;
  int (*info)(int, struct door_info *) = door_info;
  int (*call)(int, door_arg_t *) = door_call;
  int (*ret)(char *, size_t, door_desc_t *, uint_t) = door_return;
  int (*cred)(door_cred_t *) = door_cred;
  int (*ucred)(ucred_t **) = door_ucred;
  int (*bind)(int) = door_bind;
  int (*unbind)(void) = door_unbind;
  int (*getparam)(int, int, size_t *) = door_getparam;
  int (*setparam)(int, int, size_t) = door_setparam;
  door_server_func_t *(*server_create)(door_server_func_t *) = door_server_create;
  int (*attach)(int, const char *) = fattach;
  int (*detach)(const char *) = fdetach;
  door_server_procedure_t *proc = 0;
  door_ptr_t ptr = 0;
  door_id_t id = 0;
  door_attr_t attr = 0;
  (void)create, (void)revoke, (void)info, (void)call, (void)ret, (void)cred, (void)ucred;
  (void)bind, (void)unbind, (void)getparam, (void)setparam, (void)server_create;
  (void)attach, (void)detach, (void)proc;
  CHECK_EQ(sizeof ptr, 8);
  CHECK_EQ(sizeof id, 8);
  CHECK_EQ(sizeof attr, 4);
  CHECK_EQ(sizeof(uint_t), 4);
}

static void check_layouts(void) {
  /* door_desc_t: packed to 4 on amd64. */
  CHECK_EQ(sizeof(door_desc_t), 24);
  CHECK_EQ(_Alignof(door_desc_t), 4);
  CHECK_EQ(offsetof(door_desc_t, d_attributes), 0);
  CHECK_EQ(offsetof(door_desc_t, d_data), 4);
  CHECK_EQ(offsetof(door_desc_t, d_data.d_desc.d_descriptor), 4);
  CHECK_EQ(offsetof(door_desc_t, d_data.d_desc.d_id), 8);
  CHECK_EQ(offsetof(door_desc_t, d_data.d_resv), 4);
  CHECK_EQ(sizeof(((door_desc_t *)0)->d_data), 20);

  /* door_info_t: 48 bytes, 4-aligned. */
  CHECK_EQ(sizeof(door_info_t), 48);
  CHECK_EQ(sizeof(struct door_info), 48);
  CHECK_EQ(_Alignof(door_info_t), 4);
  CHECK_EQ(offsetof(door_info_t, di_target), 0);
  CHECK_EQ(offsetof(door_info_t, di_proc), 4);
  CHECK_EQ(offsetof(door_info_t, di_data), 12);
  CHECK_EQ(offsetof(door_info_t, di_attributes), 20);
  CHECK_EQ(offsetof(door_info_t, di_uniquifier), 24);
  CHECK_EQ(offsetof(door_info_t, di_resv), 32);

  /* door_arg_t: natural alignment. */
  CHECK_EQ(sizeof(door_arg_t), 48);
  CHECK_EQ(offsetof(door_arg_t, data_ptr), 0);
  CHECK_EQ(offsetof(door_arg_t, data_size), 8);
  CHECK_EQ(offsetof(door_arg_t, desc_ptr), 16);
  CHECK_EQ(offsetof(door_arg_t, desc_num), 24);
  CHECK_EQ(offsetof(door_arg_t, rbuf), 32);
  CHECK_EQ(offsetof(door_arg_t, rsize), 40);

  /* door_cred_t. */
  CHECK_EQ(sizeof(door_cred_t), 36);
  CHECK_EQ(offsetof(door_cred_t, dc_euid), 0);
  CHECK_EQ(offsetof(door_cred_t, dc_egid), 4);
  CHECK_EQ(offsetof(door_cred_t, dc_ruid), 8);
  CHECK_EQ(offsetof(door_cred_t, dc_rgid), 12);
  CHECK_EQ(offsetof(door_cred_t, dc_pid), 16);
  CHECK_EQ(offsetof(door_cred_t, dc_resv), 20);
}

static void check_constants(void) {
  CHECK_EQ(DOOR_UNREF, 0x01);
  CHECK_EQ(DOOR_PRIVATE, 0x02);
  CHECK_EQ(DOOR_LOCAL, 0x04);
  CHECK_EQ(DOOR_REVOKED, 0x08);
  CHECK_EQ(DOOR_UNREF_MULTI, 0x10);
  CHECK_EQ(DOOR_IS_UNREF, 0x20);
  CHECK_EQ(DOOR_REFUSE_DESC, 0x40);
  CHECK_EQ(DOOR_NO_CANCEL, 0x80);
  CHECK_EQ(DOOR_NO_DEPLETION_CB, 0x100);
  CHECK_EQ(DOOR_PRIVCREATE, 0x200);
  CHECK_EQ(DOOR_DEPLETION_CB, 0x400);
  CHECK_EQ(DOOR_CREATE_MASK,
           DOOR_UNREF | DOOR_PRIVATE | DOOR_UNREF_MULTI | DOOR_REFUSE_DESC | DOOR_NO_CANCEL);
  CHECK_EQ(DOOR_DESCRIPTOR, 0x10000);
  CHECK_EQ(DOOR_HANDLE, 0x20000);
  CHECK_EQ(DOOR_RELEASE, 0x40000);
  CHECK_EQ(DOOR_INVAL, -1);
  CHECK_EQ(DOOR_QUERY, -2);
  {
    void *unref_data = DOOR_UNREF_DATA; /* a void *, as on illumos */
    CHECK_EQ((uintptr_t)unref_data, 1);
  }
  CHECK_EQ(DOOR_PARAM_DESC_MAX, 1);
  CHECK_EQ(DOOR_PARAM_DATA_MAX, 2);
  CHECK_EQ(DOOR_PARAM_DATA_MIN, 3);
}

int main(void) {
  check_prototypes();
  check_layouts();
  check_constants();
  if (failures == 0) printf("door.h ABI: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
