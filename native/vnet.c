#include "vnet.h"

#include <string.h>

/* The ones'-complement sum of 16-bit words in host order, folded to 16 bits: the
 * Internet checksum is byte-order independent (RFC 1071 §2(B)) when stored back in the
 * same order it was read. */
static uint16_t fold_sum(const uint8_t *p, size_t len) {
  uint64_t sum = 0;
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    sum += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    sum += w;
    p += 2;
    len -= 2;
  }
  if (len == 1) {
    uint16_t w = 0;
    memcpy(&w, p, 1); /* the odd byte, padded with a zero byte after it */
    sum += w;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

bool vnet_finish_checksum(const struct virtio_net_hdr *hdr, uint8_t *frame, size_t len) {
  size_t start = hdr->csum_start;
  size_t field = start + hdr->csum_offset;
  if (start >= len || field + 2 > len) return false;
  uint16_t folded = (uint16_t)~fold_sum(frame + start, len - start);
  memcpy(frame + field, &folded, 2);
  return true;
}
