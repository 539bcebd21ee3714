/**
 * Type-level ranks for `Lazy`: what a materialized value looks like for a tensor of rank `R`, and
 * how ops change the rank. Ranks 0 to 8 are tracked; `number` means "not known statically" (a node
 * from elsewhere, an einsum, a reshape to a computed shape), and every helper keeps it unknown.
 * The helpers are lookups in tables (not conditional types) so that `Lazy<2>` stays assignable to
 * `Lazy<number>`: TypeScript relates `T[A]` to `T[B]` when `A` is related to `B`.
 */
import type * as tf from '@tensorflow/tfjs';
import type { DType } from './node.js';

/** A rank the types track exactly. */
export type KnownRank = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

interface NestedByRank {
  [rank: number]: unknown;
  0: number;
  1: number[];
  2: number[][];
  3: number[][][];
  4: number[][][][];
  5: number[][][][][];
  6: number[][][][][][];
  7: number[][][][][][][];
  8: number[][][][][][][][];
}

/** Nested arrays of a rank-`R` tensor's values (`number` for rank 0); `unknown` when `R` is not known. */
export type NestedArray<R extends number> = NestedByRank[R];

interface TypedArrayByDType {
  float32: Float32Array;
  int32: Int32Array;
}

/** The flat typed array `data()` returns for dtype `D`. */
export type TypedArrayOf<D extends DType> = TypedArrayByDType[D];

interface Succ {
  [rank: number]: number;
  0: 1;
  1: 2;
  2: 3;
  3: 4;
  4: 5;
  5: 6;
  6: 7;
  7: 8;
}

interface Pred {
  [rank: number]: number;
  1: 0;
  2: 1;
  3: 2;
  4: 3;
  5: 4;
  6: 5;
  7: 6;
  8: 7;
}

/** One dim more (`expandDims`, `stack`). */
export type RankPlus1<R extends number> = Succ[R];

/** One dim fewer (an integer slice, a reduction over one axis, `dot`). */
export type RankMinus1<R extends number> = Pred[R];

interface Max {
  [rank: number]: { [rank: number]: number };
  0: { [rank: number]: number; 0: 0; 1: 1; 2: 2; 3: 3; 4: 4; 5: 5; 6: 6; 7: 7; 8: 8 };
  1: { [rank: number]: number; 0: 1; 1: 1; 2: 2; 3: 3; 4: 4; 5: 5; 6: 6; 7: 7; 8: 8 };
  2: { [rank: number]: number; 0: 2; 1: 2; 2: 2; 3: 3; 4: 4; 5: 5; 6: 6; 7: 7; 8: 8 };
  3: { [rank: number]: number; 0: 3; 1: 3; 2: 3; 3: 3; 4: 4; 5: 5; 6: 6; 7: 7; 8: 8 };
  4: { [rank: number]: number; 0: 4; 1: 4; 2: 4; 3: 4; 4: 4; 5: 5; 6: 6; 7: 7; 8: 8 };
  5: { [rank: number]: number; 0: 5; 1: 5; 2: 5; 3: 5; 4: 5; 5: 5; 6: 6; 7: 7; 8: 8 };
  6: { [rank: number]: number; 0: 6; 1: 6; 2: 6; 3: 6; 4: 6; 5: 6; 6: 6; 7: 7; 8: 8 };
  7: { [rank: number]: number; 0: 7; 1: 7; 2: 7; 3: 7; 4: 7; 5: 7; 6: 7; 7: 7; 8: 8 };
  8: { [rank: number]: number; 0: 8; 1: 8; 2: 8; 3: 8; 4: 8; 5: 8; 6: 8; 7: 8; 8: 8 };
}

/** The rank of a broadcast of ranks `A` and `B`: the larger one. */
export type MaxRank<A extends number, B extends number> = Max[A][B];

type TfRank<T extends tf.Rank> = tf.Rank extends T
  ? number
  : T extends tf.Rank.R0
    ? 0
    : T extends tf.Rank.R1
      ? 1
      : T extends tf.Rank.R2
        ? 2
        : T extends tf.Rank.R3
          ? 3
          : T extends tf.Rank.R4
            ? 4
            : T extends tf.Rank.R5
              ? 5
              : T extends tf.Rank.R6
                ? 6
                : number;

/** The rank of a tensor type: known for `tf.Tensor2D` and the like, `number` for a plain `tf.Tensor`. */
export type RankOfTensor<T> = T extends tf.Tensor<infer TR> ? TfRank<TR> : number;
