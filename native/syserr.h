/*
 * JS errors shaped like Node's system errors: `errno` (negative, as libuv reports it),
 * `code`, `syscall`, a message in Node's "syscall CODE: description" form, plus `dev`
 * (the interface) and `path` (the file) where they apply, and a hint saying what to do
 * for the failures a user can fix.
 */
#ifndef PYTCP_SYSERR_H
#define PYTCP_SYSERR_H

#include <node_api.h>

typedef struct {
  int err;              /* positive errno */
  const char *syscall;  /* "open", "ioctl", "read", "write", "setns", ... */
  const char *op;       /* ioctl request name, or NULL */
  const char *dev;      /* interface name, or NULL */
  const char *path;     /* file path, or NULL */
} syserr_t;

/* Returns the error object, or NULL when even creating it failed (an exception is then pending). */
napi_value syserr_create(napi_env env, const syserr_t *e);

/* Throws the error; returns NULL so callbacks can `return syserr_throw(...)`. */
napi_value syserr_throw(napi_env env, const syserr_t *e);

#endif
