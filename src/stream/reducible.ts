/**
 * What the stream's reducers accept: a materialized batch (`{ value, size }`) or bare nested arrays.
 */
import type { NestedNumbers } from './materialize.js';

/** A batch result: `materialize()`'s output, any `{ value, size? }`, or a bare nested array. */
export type Reducible =
  | NestedNumbers
  | {
      /** The batch's result. */
      readonly value: NestedNumbers;
      /** Prompts it covers (its weight in a mean); 1 when absent. */
      readonly size?: number;
    };

/** The value of an item. */
export function valueOf(item: Reducible): NestedNumbers {
  return typeof item === 'object' && !Array.isArray(item) ? item.value : item;
}

/** The weight of an item: its `size` (prompts in its batch), else 1. */
export function sizeOf(item: Reducible): number {
  return typeof item === 'object' && !Array.isArray(item) ? (item.size ?? 1) : 1;
}
