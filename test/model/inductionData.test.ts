// The induction model's training data: every target the loss calls predictable really is
// predictable by induction, rows have the model's length, and a seed gives the same data.
import { describe, expect, it } from 'vitest';
import {
  EOT_ID,
  BIGRAM,
  SKIP_BIGRAM,
  chunkedBatchWithTargets,
  mixedBatchWithTargets,
  rng,
} from '../../scripts/induction/model.js';
import { WORDS } from '../../scripts/induction/words.js';

const LENGTH = 65;

/** Targets t (predicting t + 1) where an earlier occurrence of token t is followed by token t + 1. */
function inductionCompletes(row: readonly number[], t: number): boolean {
  for (let p = 0; p < t; p++) if (row[p] === row[t] && row[p + 1] === row[t + 1]) return true;
  return false;
}

function checkBatch(batch: { rows: number[][]; predictable: number[][] }): number {
  let marked = 0;
  for (const [b, row] of batch.rows.entries()) {
    expect(row).toHaveLength(LENGTH);
    expect(row[0]).toBe(EOT_ID);
    expect(row.slice(1).every((id) => Number.isInteger(id) && id >= 0 && id < WORDS.length)).toBe(true);
    expect(batch.predictable[b]).toHaveLength(LENGTH - 1);
    batch.predictable[b].forEach((v, t) => {
      if (!v) return;
      marked++;
      expect(inductionCompletes(row, t), `row ${b}, target ${t}`).toBe(true);
    });
  }
  return marked;
}

describe('induction training data', () => {
  it('mixed rows: one repeat each, its second copy marked predictable', () => {
    const batch = mixedBatchWithTargets(rng(1), 64, LENGTH, 2, 28);
    const marked = checkBatch(batch);
    // each row's repeat of L words gives L − 1 predictable targets
    expect(marked).toBeGreaterThan(64);
    expect(mixedBatchWithTargets(rng(1), 64, LENGTH, 2, 28)).toEqual(batch);
  });

  it('chunked rows: short repeats packed through the row, up to maxGap words apart', () => {
    const chunks = { shortShare: 1, shortMax: 4, maxGap: 3 };
    const batch = chunkedBatchWithTargets(rng(2), 64, LENGTH, 2, 28, chunks);
    checkBatch(batch);
    for (const target of batch.predictable) {
      // several separate runs of predictable targets, each at most shortMax − 1 long
      const runs = target.join('').split(/0+/).filter(Boolean);
      expect(runs.length).toBeGreaterThanOrEqual(3);
      expect(Math.max(...runs.map((r) => r.length))).toBeLessThanOrEqual(chunks.shortMax - 1);
    }
    expect(chunkedBatchWithTargets(rng(2), 64, LENGTH, 2, 28, chunks)).toEqual(batch);
  });

  it('chunked rows mix short-repeat rows and long-repeat rows by shortShare', () => {
    const batch = chunkedBatchWithTargets(rng(3), 200, LENGTH, 20, 28, {
      shortShare: 0.5,
      shortMax: 6,
      maxGap: 8,
    });
    checkBatch(batch);
    const long = batch.predictable.filter((t) => t.join('').includes('1'.repeat(19))).length;
    expect(long).toBeGreaterThan(60);
    expect(long).toBeLessThan(140);
  });

  it('skip-bigram rows: triples a, b, SKIP_BIGRAM[a], the third word marked predictable', () => {
    expect([...SKIP_BIGRAM].sort((a, b) => a - b)).toEqual(WORDS.map((_, i) => i));
    const batch = chunkedBatchWithTargets(rng(4), 16, LENGTH, 2, 28, {
      shortShare: 0,
      shortMax: 6,
      maxGap: 0,
      skipShare: 1,
    });
    for (const [b, row] of batch.rows.entries()) {
      expect(row).toHaveLength(LENGTH);
      expect(row[0]).toBe(EOT_ID);
      batch.predictable[b].forEach((v, t) => {
        // position t + 1 = 3, 6, 9, … holds SKIP_BIGRAM of the word at t − 1
        expect(v).toBe((t + 1) % 3 === 0 ? 1 : 0);
        if (v) expect(row[t + 1]).toBe(SKIP_BIGRAM[row[t - 1]]);
      });
    }
  });

  it('bigram rows: each word is the fixed permutation of the word before it', () => {
    expect([...BIGRAM].sort((a, b) => a - b)).toEqual(WORDS.map((_, i) => i));
    const batch = chunkedBatchWithTargets(rng(5), 16, LENGTH, 2, 28, {
      shortShare: 0,
      shortMax: 6,
      maxGap: 0,
      bigramShare: 1,
    });
    for (const [b, row] of batch.rows.entries()) {
      expect(row).toHaveLength(LENGTH);
      expect(row[0]).toBe(EOT_ID);
      batch.predictable[b].forEach((v, t) => {
        expect(v).toBe(t >= 1 ? 1 : 0);
        if (v) expect(row[t + 1]).toBe(BIGRAM[row[t]]);
      });
    }
  });
});
