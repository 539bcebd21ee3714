// Which padded batches need attention's guard for a query that sees no real key (someQueryBlind),
// and that leaving the guard out where none does changes nothing.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { attentionCoreComposition, someQueryBlind } from '../../src/backend/kernels/attentionCore.js';
import { describeBackends } from '../helpers/backends.js';

it('right padding leaves no query blind; left padding does', () => {
  expect(
    someQueryBlind(
      [
        [1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1],
      ],
      5,
      5,
      undefined,
    ),
  ).toBe(false);
  expect(
    someQueryBlind(
      [
        [0, 0, 1, 1, 1],
        [1, 1, 1, 1, 1],
      ],
      5,
      5,
      undefined,
    ),
  ).toBe(true);
  expect(someQueryBlind([[1, 1, 1, 1, 1]], 5, 5, undefined)).toBe(false);
});

it('a local window can blind a padding query of a right-padded row', () => {
  // Query 3 sees keys 2 and 3 only, both padding.
  expect(someQueryBlind([[1, 1, 0, 0]], 4, 4, 2)).toBe(true);
  expect(someQueryBlind([[1, 1, 0, 0]], 4, 4, 3)).toBe(false);
});

it('with cached keys, queries are the last positions', () => {
  // One new query at position 3: it sees the cached real keys 0 and 1.
  expect(someQueryBlind([[1, 1, 0, 0]], 1, 4, undefined)).toBe(false);
  expect(someQueryBlind([[0, 0, 0, 1]], 2, 4, undefined)).toBe(true); // query at 2 sees only padding
});

describeBackends('padded attention without the blind-query guard', () => {
  it('is bit for bit the guarded result where no query is blind', async () => {
    const [b, p, h, dh] = [3, 6, 2, 4];
    const rows = [
      [1, 1, 1, 1, 1, 1],
      [1, 1, 1, 0, 0, 0],
      [1, 0, 0, 0, 0, 0],
    ];
    expect(someQueryBlind(rows, p, p, undefined)).toBe(false);
    const q = tf.randomNormal([b, p, h, dh], 0, 1, 'float32', 5);
    const k = tf.randomNormal([b, p, h, dh], 0, 1, 'float32', 6);
    const v = tf.randomNormal([b, p, h, dh], 0, 1, 'float32', 7);
    const padMask = tf.tensor2d(rows);
    const spec = { scale: 2, softCap: 0, padMask };
    const run = (blindQueries: boolean | undefined): tf.Tensor[] =>
      tf.tidy(() => {
        let pattern: tf.Tensor | undefined;
        const z = attentionCoreComposition(
          q,
          k,
          v,
          { ...spec, blindQueries },
          { pattern: (t) => (pattern = t) },
        );
        return [z, pattern ?? tf.zeros([0])];
      });
    const guarded = run(undefined);
    const unguarded = run(false);
    for (let i = 0; i < 2; i++)
      expect(Array.from(await unguarded[i].data())).toEqual(Array.from(await guarded[i].data()));
    tf.dispose([q, k, v, padMask, ...guarded, ...unguarded]);
  });
});
