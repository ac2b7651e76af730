#define _GNU_SOURCE
#include "tun_open.h"
#include "vnet.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define TUN_PATH "/dev/net/tun"
/* The namespace of this thread, not of the process: setns(2) moves only the caller. */
#define OWN_NETNS_PATH "/proc/thread-self/ns/net"

static int failed(tun_failure_t *fail, const char *syscall, const char *op, const char *path) {
  fail->err = errno;
  fail->syscall = syscall;
  fail->op = op;
  fail->path = path;
  return -1;
}

static void close_keeping_errno(int fd) {
  int saved = errno;
  close(fd);
  errno = saved;
}

/*
 * Brings the link up and sets/reads its MTU through an AF_INET datagram socket, which
 * must live in the device's namespace (interface ioctls resolve names there).
 */
static int configure_link(const tun_request_t *req, tun_device_t *out, tun_failure_t *fail) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return failed(fail, "socket", NULL, NULL);

  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, out->name, IFNAMSIZ);

  if (req->tap) {
    if (ioctl(sock, SIOCGIFHWADDR, &ifr) < 0) goto fail_hwaddr;
    memcpy(out->mac, ifr.ifr_hwaddr.sa_data, 6);
  }
  if (req->mtu > 0) {
    ifr.ifr_mtu = req->mtu;
    if (ioctl(sock, SIOCSIFMTU, &ifr) < 0) goto fail_setmtu;
  }
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) goto fail_getflags;
  if (!(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) goto fail_setflags;
  }
  if (ioctl(sock, SIOCGIFMTU, &ifr) < 0) goto fail_getmtu;
  out->mtu = ifr.ifr_mtu;
  close(sock);
  return 0;

fail_hwaddr:
  failed(fail, "ioctl", "SIOCGIFHWADDR", NULL);
  goto out;
fail_setmtu:
  failed(fail, "ioctl", "SIOCSIFMTU", NULL);
  goto out;
fail_getflags:
  failed(fail, "ioctl", "SIOCGIFFLAGS", NULL);
  goto out;
fail_setflags:
  failed(fail, "ioctl", "SIOCSIFFLAGS", NULL);
  goto out;
fail_getmtu:
  failed(fail, "ioctl", "SIOCGIFMTU", NULL);
out:
  close(sock);
  return -1;
}

/* Everything that must happen inside the device's namespace. */
static int open_in_current_netns(const tun_request_t *req, tun_device_t *out, tun_failure_t *fail) {
  int fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return failed(fail, "open", NULL, TUN_PATH);

  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  /* IFF_NO_PI: no 4-byte packet-information prefix; frames are bare. Creates the device
   * when it does not exist, attaches to it when it is a persistent one. */
  ifr.ifr_flags = (req->tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (req->offload ? IFF_VNET_HDR : 0);
  strncpy(ifr.ifr_name, req->name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    failed(fail, "ioctl", "TUNSETIFF", NULL);
    close_keeping_errno(fd);
    return -1;
  }
  memcpy(out->name, ifr.ifr_name, IFNAMSIZ);
  out->name[IFNAMSIZ - 1] = '\0';

  /* Offload settings outlive the fd on a persistent device: a previous opener may have
   * left segmentation offload on, and without the virtio-net header we would then read
   * 64 KB super-frames with unfinished checksums. With the header, the kernel may hand
   * over partial checksums and TCP super-segments (the addon finishes the checksums). */
  int vnet_len = (int)VNET_HDR_LEN;
  if (req->offload && ioctl(fd, TUNSETVNETHDRSZ, &vnet_len) < 0) {
    failed(fail, "ioctl", "TUNSETVNETHDRSZ", NULL);
    close_keeping_errno(fd);
    return -1;
  }
  unsigned long offloads = req->offload ? (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) : 0;
  if (ioctl(fd, TUNSETOFFLOAD, offloads) < 0) {
    failed(fail, "ioctl", "TUNSETOFFLOAD", NULL);
    close_keeping_errno(fd);
    return -1;
  }
  if (configure_link(req, out, fail) < 0) {
    close(fd);
    return -1;
  }
  out->fd = fd;
  return 0;
}

static void restore_netns_or_die(int own_ns) {
  if (setns(own_ns, CLONE_NEWNET) == 0) return;
  /* The thread would go on in the wrong namespace: every later socket would be there. */
  fprintf(stderr, "pytcp tuntap: cannot return to the original network namespace: %s\n", strerror(errno));
  abort();
}

int tun_open(const tun_request_t *req, tun_device_t *out, tun_failure_t *fail) {
  memset(out, 0, sizeof *out);
  out->fd = -1;
  if (req->netns == NULL) return open_in_current_netns(req, out, fail);

  int own_ns = open(OWN_NETNS_PATH, O_RDONLY | O_CLOEXEC);
  if (own_ns < 0) return failed(fail, "open", NULL, OWN_NETNS_PATH);
  int target_ns = open(req->netns, O_RDONLY | O_CLOEXEC);
  if (target_ns < 0) {
    failed(fail, "open", NULL, req->netns);
    close(own_ns);
    return -1;
  }
  int rc;
  if (setns(target_ns, CLONE_NEWNET) < 0) {
    rc = failed(fail, "setns", NULL, req->netns);
  } else {
    rc = open_in_current_netns(req, out, fail);
    restore_netns_or_die(own_ns);
  }
  close(target_ns);
  close(own_ns);
  return rc;
}
