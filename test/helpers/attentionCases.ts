// Attention shapes and specs the kernel tests share.
import type { AttentionSpec } from '../../src/backend/kernels/attentionCore.js';

/** One attention shape and spec. */
export interface AttentionCase {
  name: string;
  b: number;
  qLen: number;
  kLen: number;
  h: number;
  g: number;
  dh: number;
  spec: Omit<AttentionSpec, 'padMask'>;
  /** Real-token flags per batch row, over the keys. */
  pad?: number[][];
}

/** The forms attention takes: heads, groups, cached keys, padding, windows, ALiBi, soft caps, wide heads. */
export const ATTENTION_CASES: AttentionCase[] = [
  { name: 'multi-head, scaled', b: 2, qLen: 7, kLen: 7, h: 4, g: 4, dh: 16, spec: { scale: 4, softCap: 0 } },
  {
    name: 'grouped K/V (g = 2)',
    b: 2,
    qLen: 6,
    kLen: 6,
    h: 4,
    g: 2,
    dh: 8,
    spec: { scale: 2.5, softCap: 0 },
  },
  { name: 'multi-query (g = 1)', b: 1, qLen: 5, kLen: 5, h: 6, g: 1, dh: 8, spec: { scale: 1, softCap: 0 } },
  {
    name: 'queries after cached keys (offset 6)',
    b: 2,
    qLen: 3,
    kLen: 9,
    h: 4,
    g: 2,
    dh: 16,
    spec: { scale: 4, softCap: 0 },
  },
  {
    name: 'left padding with all-masked rows',
    b: 3,
    qLen: 6,
    kLen: 6,
    h: 2,
    g: 2,
    dh: 8,
    spec: { scale: 2, softCap: 0 },
    pad: [
      [0, 0, 0, 1, 1, 1],
      [1, 1, 1, 1, 1, 1],
      [0, 1, 1, 1, 1, 1],
    ],
  },
  {
    name: 'padding, offset and grouped heads together',
    b: 2,
    qLen: 2,
    kLen: 5,
    h: 4,
    g: 2,
    dh: 8,
    spec: { scale: 3, softCap: 0 },
    pad: [
      [0, 0, 0, 0, 1],
      [0, 1, 1, 1, 1],
    ],
  },
  {
    name: 'ALiBi and soft cap',
    b: 2,
    qLen: 6,
    kLen: 6,
    h: 4,
    g: 4,
    dh: 8,
    spec: { scale: 1, softCap: 1.5, alibiSlopes: [0.5, 0.25, 0.125, 0.0625] },
  },
  {
    name: 'local window of 3',
    b: 1,
    qLen: 8,
    kLen: 8,
    h: 2,
    g: 1,
    dh: 8,
    spec: { scale: 2, softCap: 0, window: 3 },
  },
  {
    name: 'two key tiles, head wider than a workgroup',
    b: 1,
    qLen: 70,
    kLen: 70,
    h: 2,
    g: 2,
    dh: 80,
    spec: { scale: 9, softCap: 0 },
  },
];
