import { describe, expect, it } from 'vitest';
import { decodeTensorBytes } from '../../src/loading/decodeTensorBytes.js';

const fail = (what: string): never => {
  throw new Error(what);
};

describe('decodeTensorBytes', () => {
  // 1, -2, 0.5 and +Inf in half and in bfloat16, little-endian.
  const cases = {
    F16: { words: [0x3c00, 0xc000, 0x3800, 0x7c00], want: [1, -2, 0.5, Infinity] },
    BF16: { words: [0x3f80, 0xc000, 0x3f00, 0x7f80], want: [1, -2, 0.5, Infinity] },
  } as const;

  for (const [dtype, { words, want }] of Object.entries(cases)) {
    it(`decodes ${dtype} the same from aligned and odd byte offsets`, () => {
      const bytes = new Uint8Array(1 + 2 * words.length);
      words.forEach((w, i) => {
        bytes[1 + 2 * i] = w & 0xff;
        bytes[2 + 2 * i] = w >> 8;
      });
      const odd = bytes.subarray(1); // byteOffset 1: no 16-bit view possible
      const aligned = Uint8Array.from(odd);
      expect([...decodeTensorBytes(odd, dtype as 'F16', 'x', fail)]).toEqual(want);
      expect([...decodeTensorBytes(aligned, dtype as 'F16', 'x', fail)]).toEqual(want);
    });
  }
});
