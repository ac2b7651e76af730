/*
 * Segmentation offload on the way out: consecutive TCP segments of one flow in a batch of
 * frames to write are joined into one super-segment, written once behind a virtio-net
 * header that asks the kernel to cut it back into those very segments (GSO). The kernel's
 * per-frame work (bridge, veth, the peer's receive path) then runs once per super-segment
 * instead of once per MSS. The stack above is unaware: it sent ordinary segments.
 *
 * Only what the kernel rebuilds exactly is joined: IPv4 without options and unfragmented,
 * or IPv6 with TCP as the next header; the same addresses, ports, ACK, window and options;
 * contiguous sequence numbers; every segment but the last of the same size (the kernel's
 * gso_size); flags ACK, with PSH allowed on the last (the kernel puts PSH and FIN on the
 * last segment only, CWR on the first only, so neither FIN nor CWR is joined).
 */
#ifndef PYTCP_GSO_H
#define PYTCP_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vnet.h"

typedef struct {
  const uint8_t *data;
  size_t len;
} frame_ref_t;

/* The largest super-segment built: an IPv4 total length fits 16 bits. */
#define GSO_MAX_FRAME (65535 + 14)
/* Segments per super-segment at most (the LAB-NOTES sweep peaks at 44 of 1448 bytes). */
#define GSO_MAX_SEGMENTS 64

/* How many frames from frames[0] on form one super-segment: 1 when frames[0] is not joined. */
size_t gso_run(const frame_ref_t *frames, size_t count, bool ethernet);

/* Writes the super-segment of frames[0..run) into `out` (GSO_MAX_FRAME bytes) and its
 * header into `hdr`; returns its length. `run` is what gso_run returned, and at least 2. */
size_t gso_build(const frame_ref_t *frames, size_t run, bool ethernet, uint8_t *out, struct virtio_net_hdr *hdr);

#endif
