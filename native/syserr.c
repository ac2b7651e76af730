#include "syserr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

/* libuv has no name for some Linux errnos a TAP produces (EBADFD after the device is deleted). */
static void error_code(int err, char *buf, size_t len) {
  if (err == EBADFD) {
    snprintf(buf, len, "EBADFD");
    return;
  }
  uv_err_name_r(-err, buf, len);
}

static void error_description(int err, char *buf, size_t len) {
  if (err == EBADFD) {
    snprintf(buf, len, "file descriptor in bad state");
    return;
  }
  uv_strerror_r(-err, buf, len);
}

static const char *hint_for(const syserr_t *e) {
  int err = e->err;
  const char *sc = e->syscall;
  if (strcmp(sc, "setns") == 0 && (err == EPERM || err == EACCES))
    return "entering a network namespace needs CAP_SYS_ADMIN: run as root";
  if (err == EPERM || err == EACCES)
    return "opening a TAP/TUN device needs CAP_NET_ADMIN: run as root or grant the capability "
           "(setcap cap_net_admin+ep $(which node))";
  if (strcmp(sc, "open") == 0 && err == ENOENT && e->path && strcmp(e->path, "/dev/net/tun") == 0)
    return "the tun driver is missing: load it (modprobe tun) or create the node (mknod /dev/net/tun c 10 200)";
  if (strcmp(sc, "open") == 0 && err == ENOENT)
    return "no such network namespace";
  if (e->op && strcmp(e->op, "TUNSETIFF") == 0 && err == EBUSY)
    return "another process is attached to this single-queue device";
  if (e->op && strcmp(e->op, "TUNSETIFF") == 0 && err == EINVAL)
    return "an interface of this name exists and is not a TAP/TUN device of this mode";
  if ((strcmp(sc, "read") == 0 || strcmp(sc, "write") == 0 || strcmp(sc, "poll") == 0) &&
      (err == EBADFD || err == EBADF || err == ENODEV || err == ENXIO))
    return "the device is gone (deleted with `ip link del`?)";
  return NULL;
}

#define CHECK(call)                 \
  do {                              \
    if ((call) != napi_ok) return NULL; \
  } while (0)

static napi_status set_string(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  napi_status s = napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, obj, key, v);
}

napi_value syserr_create(napi_env env, const syserr_t *e) {
  char code[64], desc[128], message[768];
  error_code(e->err, code, sizeof code);
  error_description(e->err, desc, sizeof desc);

  int n = snprintf(message, sizeof message, "%s %s: %s", e->syscall, code, desc);
  if (e->op && e->dev) n += snprintf(message + n, sizeof message - n, ", %s %s", e->op, e->dev);
  else if (e->op) n += snprintf(message + n, sizeof message - n, ", %s", e->op);
  else if (e->dev) n += snprintf(message + n, sizeof message - n, ", %s", e->dev);
  if (e->path) n += snprintf(message + n, sizeof message - n, " '%s'", e->path);
  const char *hint = hint_for(e);
  if (hint) snprintf(message + n, sizeof message - n, "; %s", hint);

  napi_value code_v, message_v, error, errno_v;
  CHECK(napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v));
  CHECK(napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_v));
  CHECK(napi_create_error(env, code_v, message_v, &error));
  CHECK(napi_create_int32(env, -e->err, &errno_v));
  CHECK(napi_set_named_property(env, error, "errno", errno_v));
  CHECK(set_string(env, error, "syscall", e->syscall));
  if (e->dev) CHECK(set_string(env, error, "dev", e->dev));
  if (e->path) CHECK(set_string(env, error, "path", e->path));
  return error;
}

napi_value syserr_throw(napi_env env, const syserr_t *e) {
  napi_value error = syserr_create(env, e);
  if (error != NULL) napi_throw(env, error);
  return NULL;
}
