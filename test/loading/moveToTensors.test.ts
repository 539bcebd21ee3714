import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { moveToTensors, type HostArray } from '../../src/loading/toTensor.js';
import { describeBackends } from '../helpers/backends.js';

describeBackends('moveToTensors', () => {
  it('makes one tensor per entry, in order, and empties the host map', async () => {
    const host = new Map<string, HostArray>([
      ['a', { shape: [2], data: Float32Array.from([1, 2]) }],
      ['b', { shape: [1, 2], data: Int32Array.from([3, 4]) }],
    ]);
    const params = moveToTensors(host);
    expect(host.size).toBe(0);
    expect([...params.keys()]).toEqual(['a', 'b']);
    expect(params.get('b')!.dtype).toBe('int32');
    expect(await params.get('a')!.data()).toEqual(Float32Array.from([1, 2]));
    tf.dispose([...params.values()]);
  });

  it('disposes what it made when an entry is bad, leaving the rest in the host map', () => {
    const host = new Map<string, HostArray>([
      ['a', { shape: [2], data: Float32Array.from([1, 2]) }],
      ['bad', { shape: [3], data: Float32Array.from([1, 2]) }],
    ]);
    const before = tf.memory().numTensors;
    expect(() => moveToTensors(host)).toThrow(CheckpointError);
    expect(tf.memory().numTensors).toBe(before);
    expect([...host.keys()]).toEqual(['bad']);
  });
});
