// The restricted unpickler on hand-written pickles: what it rebuilds, and what it refuses.
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { PickleGlobal, PickleTuple, restrictedUnpickle } from '../../src/loading/torch/restrictedUnpickle.js';
import { TORCH_GLOBALS } from '../../src/loading/torch/torchPickleGlobals.js';

/** Bytes from numbers and latin-1 strings. */
function pickle(...parts: (number | string)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else for (const c of p) out.push(c.charCodeAt(0));
  }
  return Uint8Array.from(out);
}

const str = (s: string) => [0x8c, s.length, s] as const; // SHORT_BINUNICODE
const read = (bytes: Uint8Array) => restrictedUnpickle(bytes, { globals: TORCH_GLOBALS, source: 'test.pkl' });

describe('restrictedUnpickle', () => {
  it('rebuilds dicts, lists, tuples, ints (BININT*, LONG1), floats, strings, None and bools, with the memo', () => {
    const bytes = pickle(
      0x80,
      2, // PROTO 2
      '}',
      'q',
      0, // EMPTY_DICT, BINPUT 0
      '(', // MARK
      ...str('list'),
      ']',
      '(',
      'K',
      7,
      'M',
      0x34,
      0x12,
      'J',
      0xfe,
      0xff,
      0xff,
      0xff,
      'e', // [7, 0x1234, -2]
      ...str('tuple'),
      'N',
      0x88,
      0x89,
      0x87, // (None, True, False)
      ...str('big'),
      0x8a,
      9,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      1, // LONG1 2**64
      ...str('neg'),
      0x8a,
      1,
      0xff, // LONG1 -1
      ...str('float'),
      'G',
      0x3f,
      0xf8,
      0,
      0,
      0,
      0,
      0,
      0, // 1.5, big-endian
      ...str('self'),
      'h',
      0, // BINGET 0: the dict itself
      'u', // SETITEMS
      '.',
    );
    const got = read(bytes) as Map<unknown, unknown>;
    expect(got.get('list')).toEqual([7, 0x1234, -2]);
    expect(got.get('tuple')).toEqual(new PickleTuple([null, true, false]));
    expect(got.get('big')).toBe(2n ** 64n);
    expect(got.get('neg')).toBe(-1);
    expect(got.get('float')).toBe(1.5);
    expect(got.get('self')).toBe(got);
  });

  it('calls allow-listed callables through REDUCE: OrderedDict()', () => {
    const got = read(pickle(0x80, 2, 'c', 'collections\nOrderedDict\n', ')', 'R', '.'));
    expect(got).toEqual(new Map());
  });

  it('refuses a GLOBAL outside the allow-list at the GLOBAL, before anything after it', () => {
    const bytes = pickle(0x80, 2, 'c', 'os\nsystem\n', ...str('touch x'), 0x85, 'R', '.');
    expect(() => read(bytes)).toThrow(CheckpointError);
    expect(() => read(bytes)).toThrow("test.pkl: pickle byte 2: imports 'os.system', which is not allowed");
    const stacked = pickle(0x80, 4, ...str('builtins'), ...str('eval'), 0x93, '.');
    expect(() => read(stacked)).toThrow("pickle byte 18: imports 'builtins.eval', which is not allowed");
  });

  it('refuses REDUCE on an allow-listed global that is not a callable (a storage class)', () => {
    const bytes = pickle(0x80, 2, 'c', 'torch\nFloatStorage\n', ')', 'R', '.');
    expect(() => read(bytes)).toThrow(
      "pickle byte 23: REDUCE calls 'torch.FloatStorage', which is not an allowed callable; nothing was run.",
    );
  });

  it('refuses opcodes outside its set (INST, OBJ, NEWOBJ, PUT) by name', () => {
    expect(() => read(pickle(0x80, 2, 'i', 'os\nsystem\n', '.'))).toThrow("opcode 0x69 'i' is not allowed");
    expect(() => read(pickle(0x80, 2, '(', 'o', '.'))).toThrow(
      "pickle byte 3: opcode 0x6f 'o' is not allowed",
    );
    expect(() => read(pickle(0x80, 2, ')', ')', 0x81, '.'))).toThrow('opcode 0x81 is not allowed');
  });

  it('checks the arguments of _rebuild_tensor_v2 and refuses persistent ids without a resolver', () => {
    const args = pickle(
      0x80,
      2,
      'c',
      'torch._utils\n_rebuild_tensor_v2\n',
      '(',
      'N',
      'K',
      0,
      ')',
      ')',
      0x89,
      'N',
      't',
      'R',
      '.',
    );
    expect(() => read(args)).toThrow(
      'torch._utils._rebuild_tensor_v2: storage argument is None; expected a storage reference.',
    );
    expect(() => read(pickle(0x80, 2, ...str('x'), 'Q', '.'))).toThrow(
      'BINPERSID (a persistent reference) is not allowed here.',
    );
  });

  it('names truncation and corruption', () => {
    expect(() => read(pickle(0x80, 2, 'X', 100, 0, 0, 0, 'ab'))).toThrow(
      'pickle byte 2: needs 100 more bytes but the pickle ends at byte 9; it is truncated.',
    );
    expect(() => read(pickle(0x80, 2, '}'))).toThrow('pickle byte 3: needs 1 more bytes');
    expect(() => read(pickle(0x80, 2, 'h', 5, '.'))).toThrow('memo entry 5 was never stored');
    expect(() => read(pickle(0x80, 2, 'N', 'N', '.'))).toThrow('STOP with values left on the stack');
    expect(() => read(pickle(0x80, 9, 'N', '.'))).toThrow('pickle protocol 9; expected 2 to 5.');
  });

  it('uses only the globals it is given', () => {
    const globals = new Map([['m.f', new PickleGlobal('m.f', (a) => a.length)]]);
    const bytes = pickle(0x80, 2, 'c', 'm\nf\n', 'N', 'N', 0x86, 'R', '.');
    expect(restrictedUnpickle(bytes, { globals, source: 's' })).toBe(2);
    expect(() =>
      restrictedUnpickle(pickle(0x80, 2, 'c', 'collections\nOrderedDict\n', '.'), { globals, source: 's' }),
    ).toThrow("imports 'collections.OrderedDict', which is not allowed");
  });
});
