/*
 * Opening and configuring a TAP/TUN device: plain Linux C, no node-api.
 *
 * Kept apart from the addon so that everything that runs while the thread may be inside
 * another network namespace is in one place, with one exit that restores the namespace.
 */
#ifndef PYTCP_TUN_OPEN_H
#define PYTCP_TUN_OPEN_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
  bool tap;            /* IFF_TAP (Ethernet frames) or IFF_TUN (bare IP packets) */
  const char *name;    /* requested interface name; "" lets the kernel choose */
  const char *netns;   /* path of a network namespace to open the device in, or NULL */
  int mtu;             /* MTU to set on the link, or 0 to leave it */
  bool offload;        /* IFF_VNET_HDR with checksum and TCP segmentation offload (vnet.h) */
} tun_request_t;

typedef struct {
  int fd;                   /* non-blocking, close-on-exec */
  char name[IFNAMSIZ];      /* the name the kernel gave the device */
  int mtu;                  /* the link MTU read back after setup */
  uint8_t mac[6];           /* TAP only: the kernel side's own MAC */
} tun_device_t;

/* Where and why an open failed: errno plus the call that returned it. */
typedef struct {
  int err;                  /* positive errno */
  const char *syscall;      /* "open", "ioctl", "setns", "socket" */
  const char *op;           /* the ioctl request name, or NULL */
  const char *path;         /* the file involved, or NULL */
} tun_failure_t;

/* Returns 0 and fills `out`, or -1 and fills `fail` (nothing is left open then). */
int tun_open(const tun_request_t *req, tun_device_t *out, tun_failure_t *fail);

#endif
