import { describe, expect, it } from 'vitest';
import { FrameSlab } from '../../lib/iface/frame-slab';

describe('FrameSlab', () => {
  it('hands out zero-filled frames of the asked length that never overlap, 8-byte aligned', () => {
    const slab = new FrameSlab();
    const frames = Array.from({ length: 200 }, (_, i) => slab.alloc(60 + ((i * 97) % 1455)));
    frames.forEach((f, i) => {
      expect(f.length).toBe(60 + ((i * 97) % 1455));
      expect(f.every((b) => b === 0)).toBe(true);
      expect(f.byteOffset % 8).toBe(0);
      f.fill(i + 1);
    });
    // Writing every frame to its own index left every other frame intact.
    frames.forEach((f, i) => expect(f.every((b) => b === ((i + 1) & 0xff))).toBe(true));
    // 200 frames of ~800 bytes do not fit one 64 KiB slab: later ones come from fresh slabs.
    expect(new Set(frames.map((f) => f.buffer)).size).toBeGreaterThan(1);
  });

  it('gives a large frame a buffer of its own', () => {
    const slab = new FrameSlab();
    const jumbo = slab.alloc(9018);
    expect(jumbo.byteOffset).toBe(0);
    expect(jumbo.buffer.byteLength).toBe(9018);
  });
});
