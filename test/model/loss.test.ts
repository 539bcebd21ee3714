// The language-modelling loss on its own: extreme logits, masking and per-token output.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { lmCrossEntropy } from '../../src/model/loss.js';
import { describeBackends } from '../helpers/backends.js';

describeBackends('lmCrossEntropy', () => {
  it('is finite for logits at ±3e38 (no −Inf × 0 from a one-hot)', async () => {
    // Each position is sure of its next token: the loss is exactly 0.
    const logits = tf.tensor3d(
      [
        [
          [-3e38, 3e38, 0, 0],
          [0, -3e38, 3e38, 0],
          [0, 0, 0, 0],
        ],
      ],
      [1, 3, 4],
    );
    const tokens = tf.tensor2d([[0, 1, 2]], [1, 3], 'int32');
    const loss = lmCrossEntropy(logits, tokens);
    expect((await loss.data())[0]).toBeCloseTo(0, 6);
    const perToken = lmCrossEntropy(logits, tokens, { perToken: true });
    for (const x of await perToken.data()) expect(x).toBeCloseTo(0, 6);
    tf.dispose([logits, tokens, loss, perToken]);
  });
});
