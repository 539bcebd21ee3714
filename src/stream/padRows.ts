/**
 * Pads token rows of different lengths into one rectangle, with the attention mask and each row's
 * last real position — the bookkeeping that keeps a padded batch equal to its prompts run alone.
 */
import type { PaddingSide } from '../core/tokens.js';

export interface PaddedRows {
  ids: number[][];
  /** 1 for a real token, 0 for padding. */
  mask: number[][];
  lengths: number[];
  lastPositions: number[];
}

/** Pads `rows` to the longest on `side` with `padId`. */
export function padRows(rows: readonly (readonly number[])[], side: PaddingSide, padId: number): PaddedRows {
  const width = Math.max(...rows.map((r) => r.length));
  const out: PaddedRows = { ids: [], mask: [], lengths: [], lastPositions: [] };
  for (const row of rows) {
    const pad = width - row.length;
    const fill = new Array<number>(pad).fill(padId);
    const zeros = new Array<number>(pad).fill(0);
    const ones = new Array<number>(row.length).fill(1);
    out.ids.push(side === 'left' ? [...fill, ...row] : [...row, ...fill]);
    out.mask.push(side === 'left' ? [...zeros, ...ones] : [...ones, ...zeros]);
    out.lengths.push(row.length);
    out.lastPositions.push(side === 'left' ? width - 1 : row.length - 1);
  }
  return out;
}
