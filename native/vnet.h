/*
 * The virtio-net header (linux/virtio_net.h) that leads every frame on a TAP/TUN opened
 * with IFF_VNET_HDR, and finishing the checksums the kernel leaves partial.
 *
 * With TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) the kernel hands the device
 * TCP super-segments of up to 64 KB (gso_type TCPV4/TCPV6) and frames whose transport
 * checksum holds only the pseudo-header sum (flags NEEDS_CSUM). The addon finishes those
 * checksums before the frames reach the stack, so the stack sees ordinary, verifiable
 * packets, just larger ones.
 */
#ifndef PYTCP_VNET_H
#define PYTCP_VNET_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VNET_HDR_LEN sizeof(struct virtio_net_hdr)

/*
 * Finishes the checksum of a NEEDS_CSUM frame in place (as the kernel's
 * skb_checksum_help): the Internet checksum of frame[csum_start..len), whose checksum
 * field already holds the pseudo-header sum, is stored at csum_start + csum_offset.
 * Returns false, touching nothing, when those offsets do not fit in the frame.
 */
bool vnet_finish_checksum(const struct virtio_net_hdr *hdr, uint8_t *frame, size_t len);

#endif
