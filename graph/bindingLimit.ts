/**
 * The most bytes one kernel may bind per tensor. WebGPU binds each tensor a shader reads or writes
 * as one storage buffer, at most `maxStorageBufferBindingSize` bytes (128 MiB on Mesa's llvmpipe), and
 * a larger binding is a validation error that leaves the result silently wrong. Matrix products
 * split along a free axis to stay under the limit ({@link chunkedMatMul}).
 *
 * Two limits: the *device* limit is what the running backend can bind (the library sets it when it
 * starts webgpu; `Infinity` elsewhere), and the *planning* limit is what splits are sized by: the
 * device limit, or lower when `LAZYLENS_MAX_BINDING_BYTES` (or {@link setPlanningLimit}) asks, so
 * the split path can be exercised, and checked exact, on any backend.
 */
import { ResourceLimitError } from './errors.js';

let device = Infinity;
let forced: number | undefined;

/** Sets the running backend's binding limit in bytes (`Infinity` for none). */
export function setDeviceBindingLimit(bytes: number): void {
  device = bytes;
}

/** The running backend's binding limit in bytes; `Infinity` where it has none. */
export function deviceBindingLimit(): number {
  return device;
}

/** Lowers the planning limit to `bytes` (`undefined` restores the default). */
export function setPlanningLimit(bytes: number | undefined): void {
  if (bytes !== undefined) checkBytes(bytes, 'setPlanningLimit');
  forced = bytes;
}

function checkBytes(bytes: number, source: string): void {
  if (!Number.isInteger(bytes) || bytes < 4) {
    throw new ResourceLimitError(`${source}: given ${bytes}, expected a whole number of bytes ≥ 4.`);
  }
}

function fromEnv(): number | undefined {
  const text = typeof process === 'undefined' ? undefined : process.env.LAZYLENS_MAX_BINDING_BYTES;
  if (text === undefined || text === '') return undefined;
  const bytes = Number(text);
  checkBytes(bytes, `LAZYLENS_MAX_BINDING_BYTES='${text}'`);
  return bytes;
}

/** The limit splits are sized by: the smallest of the device limit and any forced limit. */
export function planningLimit(): number {
  return Math.min(device, forced ?? fromEnv() ?? Infinity);
}
