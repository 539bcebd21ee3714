// Slice: Python semantics (Python's own results for each slice), rejection of bad inputs.
import { describe, expect, it } from 'vitest';
import { Slice, SliceError, type SliceInput } from '../../graph/index.js';

describe('Slice', () => {
  // Python's results on a dim of length 5 (bools excluded: we reject them).
  const examples: [SliceInput, number[], boolean][] = [
    [null, [0, 1, 2, 3, 4], false],
    [undefined, [0, 1, 2, 3, 4], false],
    [-1, [4], true],
    [2, [2], true],
    [{ stop: 3 }, [0, 1, 2], false],
    [{ start: 1, stop: 4 }, [1, 2, 3], false],
    [{ start: 1, stop: 5, step: 2 }, [1, 3], false],
    [{ start: -2 }, [3, 4], false],
    [{ stop: -1 }, [0, 1, 2, 3], false],
    [[0, 3], [0, 3], false],
    [Int32Array.from([4, -5]), [4, 0], false],
  ];
  it.each(examples)('%j selects %j', (input, indices, collapses) => {
    const s = Slice.from(input);
    expect(s.indices(5)).toEqual(indices);
    expect(s.collapses).toBe(collapses);
    expect(s.length(5)).toBe(collapses ? 0 : indices.length);
  });

  it('follows Python for negative steps and clamping', () => {
    expect(Slice.from({ step: -1 }).indices(5)).toEqual([4, 3, 2, 1, 0]);
    expect(Slice.from({ start: -2, step: -1 }).indices(5)).toEqual([3, 2, 1, 0]);
    expect(Slice.from({ start: 10, stop: -10, step: -2 }).indices(5)).toEqual([4, 2, 0]);
    expect(Slice.from({ start: -100, stop: 100 }).indices(5)).toEqual([0, 1, 2, 3, 4]);
    expect(Slice.from({ start: 3, stop: 1 }).indices(5)).toEqual([]);
    expect(Slice.from({ start: 1, stop: 3 }).indices(0)).toEqual([]);
  });

  it('is identity only when it keeps every index in order', () => {
    expect(Slice.from(null).isIdentity(3)).toBe(true);
    expect(Slice.from({ start: 0 }).isIdentity(3)).toBe(true);
    expect(Slice.from([0, 1, 2]).isIdentity(3)).toBe(true);
    expect(Slice.from([0, 2]).isIdentity(3)).toBe(false);
    expect(Slice.from(0).isIdentity(1)).toBe(false);
  });

  it('prints Python-like text', () => {
    expect([null, -1, { start: 1, step: 2 }, [0, 3]].map((x) => Slice.from(x).toString())).toEqual([
      ':',
      '-1',
      '1::2',
      '[0, 3]',
    ]);
  });

  it('unwraps an int into a one-element list so the dim survives', () => {
    const s = Slice.unwrap(3);
    expect(s.collapses).toBe(false);
    expect(s.indices(5)).toEqual([3]);
  });

  it('passes a Slice through unchanged', () => {
    const s = Slice.from({ start: 1 });
    expect(Slice.from(s)).toBe(s);
  });

  it('rejects an out-of-range index naming given and expected', () => {
    expect(() => Slice.from(5).indices(5)).toThrow(SliceError);
    expect(() => Slice.from(5).indices(5)).toThrow(
      /given 5 for a dimension of length 5, expected -5 <= index < 5/,
    );
    expect(() => Slice.from([0, -6]).indices(5)).toThrow(/given -6/);
  });

  it('rejects booleans, non-integers, a zero step and unknown keys', () => {
    expect(() => Slice.from(true as unknown as SliceInput)).toThrow(/given boolean true/);
    expect(() => Slice.from(1.5)).toThrow(/given 1.5, expected an integer/);
    expect(() => Slice.from([0, 0.5])).toThrow(SliceError);
    expect(() => Slice.from({ step: 0 })).toThrow(/step 0/);
    expect(() => Slice.from({ begin: 1 } as unknown as SliceInput)).toThrow(/given keys begin/);
    expect(() => Slice.from('1' as unknown as SliceInput)).toThrow(/given '1'/);
  });
});
