// Global test hooks: every test must leave tf's tensor count where it found it.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeEach, expect } from 'vitest';

// tfjs greets every process that starts its pure-JS cpu backend under Node with a banner advising
// tfjs-node; in a suite of many test files that is noise, and tells a reader nothing about a failure.
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]): void => {
  if (typeof args[0] === 'string' && args[0].includes('looks like you are running TensorFlow.js in Node.js'))
    return;
  warn(...args);
};

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors, 'tensors leaked by this test').toBe(before);
});
