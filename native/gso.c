#include "gso.h"

#include <string.h>

#define TCP_ACK 0x10
#define TCP_PSH 0x08
#define PROTO_TCP 6

typedef struct {
  size_t l3;      /* where the IP header starts */
  size_t l4;      /* where the TCP header starts */
  size_t payload; /* where the TCP payload starts */
  size_t len;     /* the whole frame */
  int version;
  uint32_t seq;
  uint8_t flags;
} segment_t;

static uint16_t be16(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* A TCP segment this module may join, described; false for anything else. */
static bool parse(const frame_ref_t *f, bool ethernet, segment_t *s) {
  const uint8_t *d = f->data;
  size_t len = f->len;
  s->l3 = 0;
  if (ethernet) {
    if (len < 14) return false;
    uint16_t type = be16(d + 12);
    if (type != 0x0800 && type != 0x86dd) return false;
    s->l3 = 14;
  }
  if (len < s->l3 + 40) return false;
  const uint8_t *ip = d + s->l3;
  s->version = ip[0] >> 4;
  if (s->version == 4) {
    /* No options, TCP, not a fragment, and a total length that is the whole frame. */
    if ((ip[0] & 0x0f) != 5 || ip[9] != PROTO_TCP || (be16(ip + 6) & 0x3fff) != 0) return false;
    if (be16(ip + 2) != len - s->l3) return false;
    s->l4 = s->l3 + 20;
  } else if (s->version == 6) {
    if (ip[6] != PROTO_TCP || be16(ip + 4) != len - s->l3 - 40) return false;
    s->l4 = s->l3 + 40;
  } else {
    return false;
  }
  if (len < s->l4 + 20) return false;
  const uint8_t *tcp = d + s->l4;
  size_t doff = (size_t)(tcp[12] >> 4) * 4;
  if (doff < 20 || s->l4 + doff > len) return false;
  if (be16(tcp + 18) != 0) return false; /* an urgent pointer: not joined */
  s->payload = s->l4 + doff;
  s->len = len;
  s->seq = be32(tcp + 4);
  s->flags = tcp[13];
  return true;
}

/* Whether `b` may follow `a` in one super-segment whose segment size is `size`. */
static bool follows(const frame_ref_t *fa, const segment_t *a, const frame_ref_t *fb, const segment_t *b, size_t size) {
  if (b->version != a->version || b->l4 != a->l4 || b->payload != a->payload) return false;
  size_t a_len = a->len - a->payload, b_len = b->len - b->payload;
  if (a_len != size || b_len == 0 || b_len > size) return false;
  if (b->seq != a->seq + (uint32_t)a_len) return false;
  if (b->flags != TCP_ACK && b->flags != (TCP_ACK | TCP_PSH)) return false;
  const uint8_t *x = fa->data, *y = fb->data;
  /* The link header, then the IP fields the kernel copies to every segment. */
  if (memcmp(x, y, a->l3) != 0) return false;
  const uint8_t *ix = x + a->l3, *iy = y + a->l3;
  if (a->version == 4) {
    if (ix[1] != iy[1] || ix[6] != iy[6] || ix[8] != iy[8] || memcmp(ix + 12, iy + 12, 8) != 0) return false;
  } else {
    if (memcmp(ix, iy, 4) != 0 || ix[7] != iy[7] || memcmp(ix + 8, iy + 8, 32) != 0) return false;
  }
  /* Ports; then ACK number, data offset and window; then the options. */
  const uint8_t *tx = x + a->l4, *ty = y + a->l4;
  return memcmp(tx, ty, 4) == 0 && memcmp(tx + 8, ty + 8, 5) == 0 && memcmp(tx + 14, ty + 14, 2) == 0 &&
         memcmp(tx + 20, ty + 20, a->payload - a->l4 - 20) == 0;
}

size_t gso_run(const frame_ref_t *frames, size_t count, bool ethernet) {
  segment_t first, prev, next;
  if (count < 2 || !parse(&frames[0], ethernet, &first) || first.flags != TCP_ACK) return 1;
  size_t size = first.len - first.payload;
  if (size == 0) return 1;
  size_t run = 1, total = first.len;
  prev = first;
  while (run < count && run < GSO_MAX_SEGMENTS) {
    if (!parse(&frames[run], ethernet, &next) || !follows(&frames[run - 1], &prev, &frames[run], &next, size)) break;
    size_t added = next.len - next.payload;
    if (total + added > GSO_MAX_FRAME || total + added - first.l3 > 65535) break;
    total += added;
    run++;
    if (next.flags & TCP_PSH) break; /* PSH marks the last segment */
    prev = next;
  }
  return run;
}

/* The TCP pseudo-header sum (RFC 9293 §3.1), folded, not inverted: what the checksum field
 * holds for the kernel to finish (CHECKSUM_PARTIAL). */
static uint16_t pseudo_sum(const uint8_t *ip, int version, size_t tcp_len) {
  uint32_t sum = PROTO_TCP + (uint32_t)tcp_len;
  const uint8_t *addrs = version == 4 ? ip + 12 : ip + 8;
  size_t bytes = version == 4 ? 8 : 32;
  for (size_t i = 0; i < bytes; i += 2) sum += be16(addrs + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

static uint16_t ipv4_header_checksum(const uint8_t *ip) {
  uint32_t sum = 0;
  for (size_t i = 0; i < 20; i += 2)
    if (i != 10) sum += be16(ip + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

size_t gso_build(const frame_ref_t *frames, size_t run, bool ethernet, uint8_t *out, struct virtio_net_hdr *hdr) {
  segment_t first, last;
  parse(&frames[0], ethernet, &first);
  parse(&frames[run - 1], ethernet, &last);
  memcpy(out, frames[0].data, first.payload);
  size_t at = first.payload;
  for (size_t i = 0; i < run; i++) {
    size_t skip = first.payload; /* every segment's headers are as long as the first's */
    memcpy(out + at, frames[i].data + skip, frames[i].len - skip);
    at += frames[i].len - skip;
  }
  uint8_t *ip = out + first.l3;
  uint8_t *tcp = out + first.l4;
  if (first.version == 4) {
    put16(ip + 2, (uint16_t)(at - first.l3));
    put16(ip + 10, ipv4_header_checksum(ip));
  } else {
    put16(ip + 4, (uint16_t)(at - first.l3 - 40));
  }
  tcp[13] = last.flags;
  put16(tcp + 16, pseudo_sum(ip, first.version, at - first.l4));

  memset(hdr, 0, sizeof *hdr);
  hdr->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  hdr->gso_type = first.version == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
  hdr->hdr_len = (uint16_t)first.payload;
  hdr->gso_size = (uint16_t)(first.len - first.payload);
  hdr->csum_start = (uint16_t)first.l4;
  hdr->csum_offset = 16;
  return at;
}
