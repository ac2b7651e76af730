/**
 * The floating-point codes of IGMPv3 and MLDv2: the Max Resp Code (RFC 3376 §4.1.1: 8 bits;
 * RFC 3810 §5.1.3: 16 bits) and the QQIC (RFC 3376 §4.1.7, RFC 3810 §5.1.9: 8 bits). A code
 * with its high bit clear is the value itself; with it set, the bits below are a 3-bit
 * exponent and a `mantBits`-bit mantissa, and the value is (mant | 1 << mantBits) << (exp + 3).
 * The four codes differ only in the mantissa width: 4 bits, or 12 for MLDv2's Max Resp Code.
 */

/** The value of `code`, a code of `mantBits` + 4 bits. */
export function decodeFloatCode(code: number, mantBits: number): number {
  const limit = 1 << (mantBits + 3);
  if (code < limit) return code;
  const mant = (code & ((1 << mantBits) - 1)) | (1 << mantBits);
  return mant * 2 ** (((code >> mantBits) & 0x7) + 3);
}

/** The code for `value`, rounded down to a value the code can express; the largest code above its range. */
export function encodeFloatCode(value: number, mantBits: number): number {
  const limit = 1 << (mantBits + 3);
  const v = Math.max(0, Math.floor(value));
  if (v < limit) return v;
  for (let exp = 0; exp < 8; exp++) {
    const mant = Math.floor(v / 2 ** (exp + 3));
    if (mant < 2 << mantBits) return limit | (exp << mantBits) | (mant & ((1 << mantBits) - 1));
  }
  return limit * 2 - 1;
}
