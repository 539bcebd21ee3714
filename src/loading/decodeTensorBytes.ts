/**
 * Little-endian tensor bytes → the float32 / int32 arrays lazylens computes with. Shared by the
 * safetensors reader and the PyTorch `.bin` reader, which store the same element encodings.
 */

/** The element encodings lazylens reads (safetensors' names). Floats decode to Float32Array, integers to Int32Array. */
export type TensorDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64';

/** One decoded tensor. */
export interface DecodedTensor {
  /** The dtype as stored in the file. */
  dtype: TensorDtype;
  shape: number[];
  /** Row-major values: Float32Array for F32/F16/BF16, Int32Array for I32/I64. */
  data: Float32Array | Int32Array;
}

/** Bytes per element of each dtype. */
export const ITEM_SIZE: Readonly<Record<TensorDtype, number>> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };

/** Every dtype lazylens reads, in a stable order for messages. */
export const TENSOR_DTYPES = Object.keys(ITEM_SIZE) as TensorDtype[];

/** Whether `dtype` decodes to floats (and so is checked for NaN/Inf and accepted as a weight). */
export function isFloatDtype(dtype: TensorDtype): boolean {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

// Typed-array views use the platform's byte order; both formats store little-endian.
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes `raw` (a whole number of `dtype` elements). The result never aliases `raw`.
 * @param fail reports a value that cannot be represented (an I64 outside int32), naming `name`.
 */
export function decodeTensorBytes(
  raw: Uint8Array,
  dtype: TensorDtype,
  name: string,
  fail: (what: string) => never,
): Float32Array | Int32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (dtype) {
    case 'F32':
      return LITTLE_ENDIAN
        ? copyInto(new Float32Array(raw.length / 4), raw)
        : Float32Array.from({ length: raw.length / 4 }, (_, i) => view.getFloat32(4 * i, true));
    case 'I32':
      return LITTLE_ENDIAN
        ? copyInto(new Int32Array(raw.length / 4), raw)
        : Int32Array.from({ length: raw.length / 4 }, (_, i) => view.getInt32(4 * i, true));
    case 'F16': {
      const table = halfTable();
      const halves = halfWords(raw);
      const out = new Float32Array(raw.length / 2);
      if (halves) for (let i = 0; i < out.length; i++) out[i] = table[halves[i]];
      else for (let i = 0; i < out.length; i++) out[i] = table[view.getUint16(2 * i, true)];
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shifting the bits up is the exact conversion.
      const out = new Float32Array(raw.length / 2);
      const bits = new Uint32Array(out.buffer);
      const halves = halfWords(raw);
      if (halves) for (let i = 0; i < out.length; i++) bits[i] = halves[i] << 16;
      else for (let i = 0; i < out.length; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'I64': {
      const out = new Int32Array(raw.length / 8);
      for (let i = 0; i < out.length; i++) {
        const lo = view.getInt32(8 * i, true);
        const hi = view.getInt32(8 * i + 4, true);
        // Fits in int32 exactly when the high word is the sign extension of the low word.
        if (hi !== (lo < 0 ? -1 : 0)) {
          fail(
            `tensor '${name}': I64 value ${view.getBigInt64(8 * i, true)} at index ${i} does not fit in int32; ` +
              'expected values in [-2147483648, 2147483647].',
          );
        }
        out[i] = lo;
      }
      return out;
    }
    default:
      return dtype satisfies never;
  }
}

// The bytes as 16-bit words when a typed view reads them correctly (little-endian host, even
// offset): several times faster than DataView reads on billion-element checkpoints.
function halfWords(raw: Uint8Array): Uint16Array | undefined {
  if (!LITTLE_ENDIAN || raw.byteOffset % 2 !== 0) return undefined;
  return new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
}

// Copies bytes into a fresh, aligned array (never a view of the file: Buffer.slice would alias it).
function copyInto<T extends Float32Array | Int32Array>(out: T, raw: Uint8Array): T {
  new Uint8Array(out.buffer).set(raw);
  return out;
}

let halfLookup: Float32Array | undefined;

// All 65536 half-precision values, built once: decoding becomes one table read per element.
function halfTable(): Float32Array {
  if (halfLookup) return halfLookup;
  halfLookup = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) halfLookup[h] = sign * frac * 2 ** -24;
    else if (exp === 31) halfLookup[h] = frac ? NaN : sign * Infinity;
    else halfLookup[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return halfLookup;
}
