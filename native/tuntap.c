/*
 * pytcp's TAP/TUN addon: node-api only, C only.
 *
 *   open(name, mode, { netns?, mtu?, offload? }, onbatch) -> handle { fd, name, mtu, mac? }
 *   write(handle, frames) -> frames written    close(handle)
 *   ref(handle) / unref(handle)                liveHandles() -> { fds, polls }
 *
 * Receiving: a uv_poll watches the non-blocking fd; each wake-up drains every frame that
 * is ready (bounded, so one busy device cannot starve the loop) into ONE new ArrayBuffer
 * and calls `onbatch(null, buffer, count)` once. The buffer holds the frames back to back,
 * then, at the next 4-byte boundary, `count` uint32 end offsets (frame i ends at ends[i]
 * & END_MASK; the top bit, CHECKSUM_GOOD, says the device finished or verified the frame's
 * transport checksum, so the stack need not check it again).
 * When the device fails (deleted under us), polling stops and `onbatch(error)` is called.
 *
 * Lifetimes: a `tuntap_t` belongs to its JS handle object and is freed by the wrap's
 * finalizer; the uv_poll_t is allocated apart and freed by its own close callback, so
 * neither outlives what it points at. Closing happens on close(), on GC of the handle,
 * and at env teardown, whichever comes first. The handle object is held strongly only
 * while the poll is active and ref'ed (as Node's own handles are), so an unref'ed device
 * that nobody references is collected and closed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "syserr.h"
#include "tun_open.h"
#include "gso.h"
#include "vnet.h"

/* Frames per wake-up: enough to reach the device's rate (64 per call already does),
 * small enough that other handles on the loop get their turn. */
#define MAX_BATCH 256
/* Room for the largest frame a read can return: 65535-byte IP packet + Ethernet header
 * + VLAN tag (the kernel never hands over more with offloads off). */
#define FRAME_ROOM (65535 + 14 + 4)
/* One staging area per env: frames are copied out of it into the batch's ArrayBuffer
 * before JS runs, so devices on the same loop can share it. 1 MB holds MAX_BATCH
 * 1514-byte frames with FRAME_ROOM to spare. */
#define STAGING_SIZE (1 << 20)

typedef struct {
  uint8_t *staging; /* allocated on the first read */
  uint8_t *joined;  /* a super-segment being written (GSO_MAX_FRAME), allocated on first use */
  int64_t open_fds;
  int64_t live_polls;
} addon_state_t;

typedef struct {
  napi_env env;
  addon_state_t *state;
  int fd;                  /* -1 once closed */
  uv_poll_t *poll;         /* NULL once closing */
  bool polling;            /* uv_poll_start is in effect */
  bool refed;              /* the user wants the device to keep the loop alive */
  napi_ref self;           /* the JS handle object: receiver of onbatch */
  uint32_t self_strength;  /* 1 while polling && refed, else 0 (weak) */
  napi_async_context async_context;
  bool cleanup_hook;       /* registered with napi_add_env_cleanup_hook */
  bool offload;            /* frames carry a virtio-net header on the fd (vnet.h) */
  bool tap;                /* Ethernet frames (else bare IP packets) */
  char name[IFNAMSIZ];
} tuntap_t;

#define CHECK(env, call)                     \
  do {                                       \
    if ((call) != napi_ok) {                 \
      throw_last_error(env);                 \
      return NULL;                           \
    }                                        \
  } while (0)

static void throw_last_error(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  napi_throw_error(env, NULL, info && info->error_message ? info->error_message : "node-api call failed");
}

/* ---- lifetime ---------------------------------------------------------------------- */

static void update_strength(tuntap_t *t) {
  if (t->self == NULL) return;
  uint32_t want = (t->polling && t->refed) ? 1 : 0;
  uint32_t count;
  if (want > t->self_strength) napi_reference_ref(t->env, t->self, &count);
  else if (want < t->self_strength) napi_reference_unref(t->env, t->self, &count);
  t->self_strength = want;
}

static void on_poll_closed(uv_handle_t *handle) {
  addon_state_t *state = handle->data;
  state->live_polls--;
  free(handle);
}

static void stop_polling(tuntap_t *t) {
  if (t->polling) uv_poll_stop(t->poll);
  t->polling = false;
  update_strength(t);
}

static void env_cleanup(void *arg);

/* Releases the fd and the poll; the JS references stay until the finalizer, because
 * env teardown (one of the callers) is no place for them. */
static void release_io(tuntap_t *t) {
  if (t->fd < 0) return;
  stop_polling(t);
  if (t->poll) {
    t->poll->data = t->state;
    uv_close((uv_handle_t *)t->poll, on_poll_closed);
    t->poll = NULL;
  }
  close(t->fd);
  t->fd = -1;
  t->state->open_fds--;
}

static void release_js(tuntap_t *t) {
  if (t->cleanup_hook) {
    napi_remove_env_cleanup_hook(t->env, env_cleanup, t);
    t->cleanup_hook = false;
  }
  if (t->self) {
    napi_delete_reference(t->env, t->self);
    t->self = NULL;
  }
  if (t->async_context) {
    napi_async_destroy(t->env, t->async_context);
    t->async_context = NULL;
  }
}

static void env_cleanup(void *arg) {
  tuntap_t *t = arg;
  t->cleanup_hook = false; /* it has run: nothing to remove */
  release_io(t);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tuntap_t *t = data;
  release_io(t);
  release_js(t);
  free(t);
}

static void finalize_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  addon_state_t *state = data;
  free(state->staging);
  free(state->joined);
  free(state);
}

/* ---- receiving --------------------------------------------------------------------- */

typedef struct {
  size_t bytes;
  uint32_t count;
  uint32_t ends[MAX_BATCH];
  int err;              /* errno of a read that failed for good, else 0 */
} batch_t;

/* The top bit of an end offset: the frame's transport checksum is known good (ends are
 * below STAGING_SIZE, far from it). */
#define CHECKSUM_GOOD 0x80000000u

/* One frame into `into`; with offload its virtio-net header is read apart, and a partial
 * checksum is finished, so the frame is what a device without offload would hand over.
 * `good` says whether its transport checksum is known good: finished here, or verified
 * by the kernel (DATA_VALID). */
static ssize_t read_frame(tuntap_t *t, uint8_t *into, size_t room, bool *good) {
  *good = false;
  if (!t->offload) return read(t->fd, into, room);
  struct virtio_net_hdr hdr;
  struct iovec iov[2] = {{.iov_base = &hdr, .iov_len = VNET_HDR_LEN}, {.iov_base = into, .iov_len = room}};
  ssize_t n = readv(t->fd, iov, 2);
  if (n <= 0) return n;
  if ((size_t)n < VNET_HDR_LEN) return 0; /* cannot happen: handled as a read of nothing */
  n -= (ssize_t)VNET_HDR_LEN;
  /* Offsets that do not fit leave the checksum as it is: the stack's check then drops it. */
  if (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) *good = vnet_finish_checksum(&hdr, into, (size_t)n);
  else *good = (hdr.flags & VIRTIO_NET_HDR_F_DATA_VALID) != 0;
  return n;
}

static void drain(tuntap_t *t, uint8_t *staging, batch_t *b) {
  b->bytes = 0;
  b->count = 0;
  b->err = 0;
  while (b->count < MAX_BATCH && STAGING_SIZE - b->bytes >= FRAME_ROOM) {
    bool good;
    ssize_t n = read_frame(t, staging + b->bytes, STAGING_SIZE - b->bytes, &good);
    if (n > 0) {
      b->bytes += (size_t)n;
      b->ends[b->count++] = (uint32_t)b->bytes | (good ? CHECKSUM_GOOD : 0);
    } else if (n == 0) {
      return;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else {
      b->err = errno;
      return;
    }
  }
}

/* Calls onbatch with the handle as receiver (node-api needs an object there: with
 * undefined the callback silently never runs). Returns false when JS is unreachable. */
static bool call_onbatch(tuntap_t *t, size_t argc, napi_value *argv) {
  napi_env env = t->env;
  napi_value self, onbatch, result;
  if (t->self == NULL || napi_get_reference_value(env, t->self, &self) != napi_ok || self == NULL) return false;
  if (napi_get_named_property(env, self, "onbatch", &onbatch) != napi_ok) return false;
  napi_status status = napi_make_callback(env, t->async_context, self, onbatch, argc, argv, &result);
  if (status == napi_pending_exception) {
    /* Nothing on the stack can catch it: hand it to process 'uncaughtException'. */
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
  return true;
}

static napi_value batch_buffer(napi_env env, const uint8_t *staging, const batch_t *b) {
  size_t ends_at = (b->bytes + 3) & ~(size_t)3;
  size_t total = ends_at + (size_t)b->count * sizeof(uint32_t);
  void *data;
  napi_value buffer;
  if (napi_create_arraybuffer(env, total, &data, &buffer) != napi_ok) return NULL;
  memcpy(data, staging, b->bytes);
  memset((uint8_t *)data + b->bytes, 0, ends_at - b->bytes);
  memcpy((uint8_t *)data + ends_at, b->ends, (size_t)b->count * sizeof(uint32_t));
  return buffer;
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  tuntap_t *t = poll->data;
  napi_env env = t->env;
  addon_state_t *state = t->state;

  if (status < 0) {
    /* libuv stopped the poll on POLLERR (what a deleted TAP reports); the read below
     * tells which error it really is. */
    t->polling = false;
    update_strength(t);
  }
  if (state->staging == NULL) {
    state->staging = malloc(STAGING_SIZE);
    if (state->staging == NULL) return; /* try again on the next wake-up */
  }

  batch_t b;
  drain(t, state->staging, &b);
  int err = b.err;
  const char *syscall = "read";
  if (err == 0 && status < 0 && b.count == 0) {
    err = -status;
    syscall = "poll";
  }
  if (err != 0) stop_polling(t); /* before JS runs: it may close the device */

  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (b.count > 0) {
    napi_value argv[3];
    napi_get_null(env, &argv[0]);
    argv[1] = batch_buffer(env, state->staging, &b);
    napi_create_uint32(env, b.count, &argv[2]);
    if (argv[1] == NULL || !call_onbatch(t, 3, argv)) {
      /* The handle object is gone (its finalizer is on the way) or out of memory. */
      stop_polling(t);
      err = 0;
    }
  }
  if (err != 0 && t->fd >= 0) {
    syserr_t e = {.err = err, .syscall = syscall, .dev = t->name};
    napi_value argv[1] = {syserr_create(env, &e)};
    if (argv[0] != NULL) call_onbatch(t, 1, argv);
  }
  napi_close_handle_scope(env, scope);
}

/* ---- JS entry points --------------------------------------------------------------- */

static tuntap_t *unwrap_handle(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_unwrap(env, value, &data) != napi_ok || data == NULL) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The handle must be one returned by open()");
    return NULL;
  }
  return data;
}

static bool get_string(napi_env env, napi_value value, char *buf, size_t size, const char *what) {
  napi_valuetype type;
  size_t len;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return false;
  }
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok || len >= size) {
    napi_throw_range_error(env, "ERR_INVALID_ARG_VALUE", what);
    return false;
  }
  napi_get_value_string_utf8(env, value, buf, size, &len);
  if (strlen(buf) != len) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", what); /* an embedded NUL */
    return false;
  }
  return true;
}

/* Reads an optional property; false when it exists but is not of `type`. */
static bool get_optional(napi_env env, napi_value obj, const char *key, napi_valuetype type, napi_value *out) {
  napi_valuetype actual;
  *out = NULL;
  if (napi_get_named_property(env, obj, key, out) != napi_ok) return false;
  if (napi_typeof(env, *out, &actual) != napi_ok) return false;
  if (actual == napi_undefined) {
    *out = NULL;
    return true;
  }
  return actual == type;
}

/* A read-only property: the handle's facts do not change, and onbatch is not swappable. */
static bool define_value(napi_env env, napi_value obj, const char *key, napi_value value) {
  napi_property_descriptor d = {.utf8name = key, .value = value, .attributes = napi_enumerable};
  return napi_define_properties(env, obj, 1, &d) == napi_ok;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "open(name, mode, options, onbatch) takes 4 arguments");
    return NULL;
  }

  char name[IFNAMSIZ], mode[8], netns[4096];
  if (!get_string(env, argv[0], name, sizeof name, "The name must be a string of at most 15 bytes without NUL"))
    return NULL;
  if (!get_string(env, argv[1], mode, sizeof mode, "The mode must be 'tap' or 'tun'")) return NULL;
  bool tap = strcmp(mode, "tap") == 0;
  if (!tap && strcmp(mode, "tun") != 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "The mode must be 'tap' or 'tun'");
    return NULL;
  }
  napi_valuetype type;
  CHECK(env, napi_typeof(env, argv[2], &type));
  if (type != napi_object) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The options must be an object");
    return NULL;
  }
  napi_value netns_v, mtu_v, offload_v;
  if (!get_optional(env, argv[2], "netns", napi_string, &netns_v)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "options.netns must be a path string");
    return NULL;
  }
  if (netns_v && !get_string(env, netns_v, netns, sizeof netns, "options.netns must be a path string")) return NULL;
  if (!get_optional(env, argv[2], "mtu", napi_number, &mtu_v)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "options.mtu must be a number");
    return NULL;
  }
  int32_t mtu = 0;
  if (mtu_v) {
    double d;
    CHECK(env, napi_get_value_double(env, mtu_v, &d));
    if (!(d >= 68 && d <= 65535) || d != (int32_t)d) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "options.mtu must be an integer from 68 to 65535");
      return NULL;
    }
    mtu = (int32_t)d;
  }
  if (!get_optional(env, argv[2], "offload", napi_boolean, &offload_v)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "options.offload must be a boolean");
    return NULL;
  }
  bool offload = false;
  if (offload_v) CHECK(env, napi_get_value_bool(env, offload_v, &offload));
  CHECK(env, napi_typeof(env, argv[3], &type));
  if (type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "onbatch must be a function");
    return NULL;
  }

  addon_state_t *state;
  uv_loop_t *loop;
  CHECK(env, napi_get_instance_data(env, (void **)&state));
  CHECK(env, napi_get_uv_event_loop(env, &loop));

  tun_request_t req = {.tap = tap, .name = name, .netns = netns_v ? netns : NULL, .mtu = mtu, .offload = offload};
  tun_device_t dev;
  tun_failure_t fail;
  if (tun_open(&req, &dev, &fail) < 0) {
    syserr_t e = {.err = fail.err, .syscall = fail.syscall, .op = fail.op,
                  .dev = name[0] ? name : NULL, .path = fail.path};
    return syserr_throw(env, &e);
  }

  tuntap_t *t = calloc(1, sizeof *t);
  uv_poll_t *poll = malloc(sizeof *poll);
  if (t == NULL || poll == NULL) {
    free(t);
    free(poll);
    close(dev.fd);
    syserr_t e = {.err = ENOMEM, .syscall = "malloc", .dev = dev.name};
    return syserr_throw(env, &e);
  }
  t->env = env;
  t->state = state;
  t->fd = dev.fd;
  t->refed = true;
  t->offload = offload;
  t->tap = tap;
  memcpy(t->name, dev.name, IFNAMSIZ);
  state->open_fds++;

  napi_value handle;
  if (napi_create_object(env, &handle) != napi_ok || napi_wrap(env, handle, t, finalize_handle, NULL, NULL) != napi_ok) {
    throw_last_error(env);
    release_io(t);
    free(t);
    free(poll);
    return NULL;
  }
  /* From here on the finalizer owns t; a failure below releases the fd and the poll
   * at once and leaves the rest to the finalizer. */
  if (uv_poll_init(loop, poll, t->fd) != 0) {
    free(poll);
    release_io(t);
    syserr_t e = {.err = EBADF, .syscall = "uv_poll_init", .dev = dev.name};
    return syserr_throw(env, &e);
  }
  poll->data = t;
  t->poll = poll;
  state->live_polls++;

  napi_value value, resource_name;
  void *mac;
  if (napi_add_env_cleanup_hook(env, env_cleanup, t) != napi_ok) goto fail;
  t->cleanup_hook = true;
  if (napi_create_string_utf8(env, "PYTCP_TUNTAP", NAPI_AUTO_LENGTH, &resource_name) != napi_ok) goto fail;
  if (napi_async_init(env, NULL, resource_name, &t->async_context) != napi_ok) goto fail;
  if (napi_create_reference(env, handle, 0, &t->self) != napi_ok) goto fail;
  if (napi_create_int32(env, t->fd, &value) != napi_ok || !define_value(env, handle, "fd", value)) goto fail;
  if (napi_create_string_utf8(env, t->name, NAPI_AUTO_LENGTH, &value) != napi_ok ||
      !define_value(env, handle, "name", value))
    goto fail;
  if (napi_create_int32(env, dev.mtu, &value) != napi_ok || !define_value(env, handle, "mtu", value)) goto fail;
  if (tap && (napi_create_buffer_copy(env, 6, dev.mac, &mac, &value) != napi_ok || !define_value(env, handle, "mac", value)))
    goto fail;
  if (!define_value(env, handle, "onbatch", argv[3])) goto fail;

  if (uv_poll_start(poll, UV_READABLE, on_readable) != 0) {
    release_io(t);
    syserr_t e = {.err = EBADF, .syscall = "uv_poll_start", .dev = dev.name};
    return syserr_throw(env, &e);
  }
  t->polling = true;
  update_strength(t);
  return handle;

fail:
  throw_last_error(env);
  release_io(t);
  return NULL;
}

static bool write_is_a_drop(int err) {
  switch (err) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case ENOBUFS: /* the kernel is out of buffers now: a lossy link drops */
    case EIO:     /* the link is administratively down: a NIC drops, it does not fail */
    case EINVAL:  /* the kernel refused this one frame (shorter than a header) */
      return true;
    default:
      return false;
  }
}

/* One write of `len` bytes behind `hdr` (with offload) or bare; errno on failure. */
static int write_one(tuntap_t *t, const struct virtio_net_hdr *hdr, const uint8_t *data, size_t len) {
  ssize_t n;
  if (t->offload) {
    struct iovec iov[2] = {{.iov_base = (void *)hdr, .iov_len = VNET_HDR_LEN}, {.iov_base = (void *)data, .iov_len = len}};
    do n = writev(t->fd, iov, 2);
    while (n < 0 && errno == EINTR);
  } else {
    do n = write(t->fd, data, len);
    while (n < 0 && errno == EINTR);
  }
  return n < 0 ? errno : 0;
}

static napi_value js_write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tuntap_t *t = unwrap_handle(env, argv[0]);
  if (t == NULL) return NULL;
  bool is_array = false;
  if (argc < 2 || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "frames must be an array of Uint8Array");
    return NULL;
  }
  if (t->fd < 0) {
    syserr_t e = {.err = EBADF, .syscall = "write", .dev = t->name};
    return syserr_throw(env, &e);
  }
  uint32_t length;
  CHECK(env, napi_get_array_length(env, argv[1], &length));
  frame_ref_t *frames = malloc((length > 0 ? length : 1) * sizeof *frames);
  if (frames == NULL) {
    syserr_t e = {.err = ENOMEM, .syscall = "malloc", .dev = t->name};
    return syserr_throw(env, &e);
  }
  for (uint32_t i = 0; i < length; i++) {
    napi_value frame, arraybuffer;
    bool is_typedarray = false;
    napi_typedarray_type type;
    size_t count, offset;
    void *data;
    if (napi_get_element(env, argv[1], i, &frame) != napi_ok || napi_is_typedarray(env, frame, &is_typedarray) != napi_ok ||
        (is_typedarray && napi_get_typedarray_info(env, frame, &type, &count, &data, &arraybuffer, &offset) != napi_ok)) {
      free(frames);
      throw_last_error(env);
      return NULL;
    }
    if (!is_typedarray || type != napi_uint8_array) {
      free(frames);
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "frames must be an array of Uint8Array");
      return NULL;
    }
    frames[i] = (frame_ref_t){.data = data, .len = count};
  }

  static const struct virtio_net_hdr plain; /* a whole frame, checksums done, nothing to segment */
  uint32_t written = 0;
  for (uint32_t i = 0; i < length;) {
    size_t run = 1;
    if (t->offload) {
      if (t->state->joined == NULL) t->state->joined = malloc(GSO_MAX_FRAME);
      if (t->state->joined != NULL) run = gso_run(frames + i, length - i, t->tap);
    }
    int err;
    if (run > 1) {
      struct virtio_net_hdr hdr;
      size_t len = gso_build(frames + i, run, t->tap, t->state->joined, &hdr);
      err = write_one(t, &hdr, t->state->joined, len);
    } else {
      err = write_one(t, &plain, frames[i].data, frames[i].len);
    }
    if (err == 0) {
      written += (uint32_t)run;
    } else if (!write_is_a_drop(err)) {
      free(frames);
      syserr_t e = {.err = err, .syscall = "write", .dev = t->name};
      return syserr_throw(env, &e);
    }
    i += (uint32_t)run;
  }
  free(frames);
  napi_value result;
  CHECK(env, napi_create_uint32(env, written, &result));
  return result;
}

static napi_value handle_call(napi_env env, napi_callback_info info, void (*action)(tuntap_t *)) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "The handle is required");
    return NULL;
  }
  tuntap_t *t = unwrap_handle(env, argv[0]);
  if (t == NULL) return NULL;
  action(t);
  return NULL;
}

static void close_action(tuntap_t *t) {
  release_io(t);
  /* The handle object is not needed as a receiver any more; the wrap keeps t until GC. */
  if (t->cleanup_hook) {
    napi_remove_env_cleanup_hook(t->env, env_cleanup, t);
    t->cleanup_hook = false;
  }
}

static void ref_action(tuntap_t *t) {
  t->refed = true;
  if (t->poll) uv_ref((uv_handle_t *)t->poll);
  update_strength(t);
}

static void unref_action(tuntap_t *t) {
  t->refed = false;
  if (t->poll) uv_unref((uv_handle_t *)t->poll);
  update_strength(t);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  return handle_call(env, info, close_action);
}

static napi_value js_ref(napi_env env, napi_callback_info info) {
  return handle_call(env, info, ref_action);
}

static napi_value js_unref(napi_env env, napi_callback_info info) {
  return handle_call(env, info, unref_action);
}

/* For leak tests: fds this env holds open, and poll handles whose close callback has not run. */
static napi_value js_live_handles(napi_env env, napi_callback_info info) {
  (void)info;
  addon_state_t *state;
  napi_value result, fds, polls;
  CHECK(env, napi_get_instance_data(env, (void **)&state));
  CHECK(env, napi_create_object(env, &result));
  CHECK(env, napi_create_int64(env, state->open_fds, &fds));
  CHECK(env, napi_create_int64(env, state->live_polls, &polls));
  CHECK(env, napi_set_named_property(env, result, "fds", fds));
  CHECK(env, napi_set_named_property(env, result, "polls", polls));
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  addon_state_t *state = calloc(1, sizeof *state);
  if (state == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (napi_set_instance_data(env, state, finalize_state, NULL) != napi_ok) {
    free(state);
    throw_last_error(env);
    return NULL;
  }
  napi_property_descriptor props[] = {
      {.utf8name = "open", .method = js_open, .attributes = napi_enumerable},
      {.utf8name = "write", .method = js_write, .attributes = napi_enumerable},
      {.utf8name = "close", .method = js_close, .attributes = napi_enumerable},
      {.utf8name = "ref", .method = js_ref, .attributes = napi_enumerable},
      {.utf8name = "unref", .method = js_unref, .attributes = napi_enumerable},
      {.utf8name = "liveHandles", .method = js_live_handles, .attributes = napi_enumerable},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}
