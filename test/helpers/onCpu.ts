// Computing a reference on the cpu backend from tensors of another backend.
import * as tf from '@tensorflow/tfjs';

/**
 * `f` applied on the cpu backend to copies of `inputs`; its shape and values. The backend in use
 * before is restored afterwards.
 */
export async function onCpu(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  ...inputs: tf.Tensor[]
): Promise<{ shape: number[]; values: number[] }> {
  const values = await Promise.all(inputs.map((x) => x.data()));
  const was = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    const copies = inputs.map((x, i) => tf.tensor(values[i], x.shape, x.dtype));
    const y = tf.tidy(() => f(...copies)); // its intermediates are freed, not counted as leaks
    const out = { shape: y.shape, values: Array.from(await y.data()) };
    tf.dispose([...copies, y]);
    return out;
  } finally {
    await tf.setBackend(was);
  }
}
