import { randomFillSync } from 'node:crypto';

/**
 * Randomness, injected: initial sequence numbers, ephemeral ports, protocol jitter
 * (ARP probe delays, RFC 5227 §2.1.1). Tests pass a seeded source and get the same
 * run every time.
 */
export interface Random {
  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number;
}

/** A uniform number in [min, max), from the injected source. */
export function uniform(random: Random, min: number, max: number): number {
  return min + (random.u32() / 0x1_0000_0000) * (max - min);
}

/** A uniform integer in [min, max]. */
export function uniformInt(random: Random, min: number, max: number): number {
  return min + Math.floor((random.u32() / 0x1_0000_0000) * (max - min + 1));
}

/** Cryptographic randomness from the operating system, drawn in blocks. */
export class CryptoRandom implements Random {
  private readonly block = new Uint32Array(256);
  private next = this.block.length;

  u32(): number {
    if (this.next === this.block.length) {
      randomFillSync(this.block);
      this.next = 0;
    }
    return this.block[this.next++];
  }
}

/** A small seeded generator (splitmix32) for deterministic tests and fault injection. */
export class SeededRandom implements Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  u32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
}
