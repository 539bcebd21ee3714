/**
 * A pickle reader that builds data and nothing else. Python's pickle can import and call any
 * function while loading (`GLOBAL os system` + `REDUCE` runs a shell command), so this reader
 * knows only the opcodes that rebuild containers and numbers, resolves `GLOBAL` against an
 * allow-list given by the caller, and applies `REDUCE` only to allow-listed callables, whose
 * TypeScript implementations build plain values. Anything else stops the read with an error
 * before any later opcode is looked at; no Python code exists here to run.
 */
import { CheckpointError } from '../../errors.js';

/** A Python tuple (kept apart from lists so argument lists can be checked). */
export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** An allow-listed Python global. `call` exists when `REDUCE` may apply it. */
export class PickleGlobal {
  constructor(
    readonly qualifiedName: string,
    readonly call?: (args: readonly PickleValue[]) => PickleValue,
  ) {}
}

/** What a pickle can rebuild here: Python values, allow-listed globals and what their calls return. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PickleValue[]
  | PickleTuple
  | Map<PickleValue, PickleValue>
  | PickleGlobal
  | { readonly kind: string };

/** Options of {@link restrictedUnpickle}. */
export interface UnpickleOptions {
  /** `module.name` → the global it stands for; every other `GLOBAL` is rejected. */
  globals: ReadonlyMap<string, PickleGlobal>;
  /** Resolves `BINPERSID` ids (PyTorch's storage references); absent: `BINPERSID` is rejected. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
  /** Names the pickle in error messages. */
  source: string;
}

// Opcodes by byte; the reader handles exactly these.
const OP = {
  PROTO: 0x80,
  FRAME: 0x95,
  STOP: 0x2e, // .
  MARK: 0x28, // (
  EMPTY_DICT: 0x7d, // }
  EMPTY_LIST: 0x5d, // ]
  EMPTY_TUPLE: 0x29, // )
  TUPLE: 0x74, // t
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NONE: 0x4e, // N
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  BININT2: 0x4d, // M
  LONG1: 0x8a,
  BINFLOAT: 0x47, // G
  BINUNICODE: 0x58, // X
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  GLOBAL: 0x63, // c
  STACK_GLOBAL: 0x93,
  BINPERSID: 0x51, // Q
  REDUCE: 0x52, // R
  BUILD: 0x62, // b
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  MEMOIZE: 0x94,
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
  SETITEM: 0x73, // s
  SETITEMS: 0x75, // u
  APPEND: 0x61, // a
  APPENDS: 0x65, // e
} as const;

const NAMES = new Map<number, string>(Object.entries(OP).map(([k, v]) => [v, k]));

/**
 * Rebuilds the value a pickle describes, using only allow-listed globals.
 * @throws CheckpointError naming the opcode and byte position for an opcode outside the set
 *   above, a global outside the allow-list, a REDUCE on anything but an allow-listed callable,
 *   or truncated/inconsistent data.
 */
export function restrictedUnpickle(bytes: Uint8Array, options: UnpickleOptions): PickleValue {
  const { source } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = 0;
  let opAt = 0;
  let stack: PickleValue[] = [];
  const marks: PickleValue[][] = [];
  const memo = new Map<number, PickleValue>();

  const fail = (what: string): never => {
    throw new CheckpointError(`${source}: pickle byte ${opAt}: ${what}`);
  };
  const need = (n: number): number => {
    if (pos + n > bytes.length)
      fail(`needs ${n} more bytes but the pickle ends at byte ${bytes.length}; it is truncated.`);
    const at = pos;
    pos += n;
    return at;
  };
  const pop = (): PickleValue => {
    if (stack.length === 0) fail('pops from an empty stack; the pickle is corrupt.');
    return stack.pop()!;
  };
  const popMark = (): PickleValue[] => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) return fail('no MARK to pop to; the pickle is corrupt.');
    stack = prev;
    return items;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) fail('reads the top of an empty stack; the pickle is corrupt.');
    return stack[stack.length - 1];
  };
  const text = (n: number): string => {
    const at = need(n);
    try {
      return utf8.decode(bytes.subarray(at, at + n));
    } catch {
      return fail('a string is not valid UTF-8; the pickle is corrupt.');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('a GLOBAL name has no newline; the pickle is truncated.');
    const s = text(end - pos);
    pos += 1; // the newline
    return s;
  };
  const resolveGlobal = (module: string, name: string): PickleValue => {
    const qualified = `${module}.${name}`;
    const found = options.globals.get(qualified);
    if (!found) {
      fail(
        `imports '${qualified}', which is not allowed: lazylens rebuilds only tensors and containers ` +
          `(${[...options.globals.keys()].join(', ')}). The file may be malicious; nothing in it was run.`,
      );
    }
    return found!;
  };
  const dictOf = (v: PickleValue, op: string): Map<PickleValue, PickleValue> => {
    if (!(v instanceof Map)) fail(`${op} on ${kindOf(v)}; expected a dict.`);
    return v as Map<PickleValue, PickleValue>;
  };
  const listOf = (v: PickleValue, op: string): PickleValue[] => {
    if (!Array.isArray(v)) fail(`${op} on ${kindOf(v)}; expected a list.`);
    return v as PickleValue[];
  };
  const memoGet = (key: number): PickleValue => {
    if (!memo.has(key)) fail(`memo entry ${key} was never stored; the pickle is corrupt.`);
    return memo.get(key)!;
  };

  for (;;) {
    opAt = pos;
    const op = bytes[need(1)];
    switch (op) {
      case OP.PROTO: {
        const v = bytes[need(1)];
        if (v > 5) fail(`pickle protocol ${v}; expected 2 to 5.`);
        break;
      }
      case OP.FRAME:
        need(8); // a length hint for buffered readers; the whole pickle is in memory already
        break;
      case OP.STOP: {
        const result = pop();
        if (stack.length !== 0 || marks.length !== 0)
          fail('STOP with values left on the stack; the pickle is corrupt.');
        return result;
      }
      case OP.MARK:
        marks.push(stack);
        stack = [];
        break;
      case OP.EMPTY_DICT:
        stack.push(new Map());
        break;
      case OP.EMPTY_LIST:
        stack.push([]);
        break;
      case OP.EMPTY_TUPLE:
        stack.push(new PickleTuple([]));
        break;
      case OP.TUPLE: {
        const items = popMark(); // before `stack.push`: popMark swaps which array `stack` is
        stack.push(new PickleTuple(items));
        break;
      }
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3: {
        const n = op - OP.TUPLE1 + 1;
        const items: PickleValue[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        stack.push(new PickleTuple(items));
        break;
      }
      case OP.NONE:
        stack.push(null);
        break;
      case OP.NEWTRUE:
        stack.push(true);
        break;
      case OP.NEWFALSE:
        stack.push(false);
        break;
      case OP.BININT:
        stack.push(view.getInt32(need(4), true));
        break;
      case OP.BININT1:
        stack.push(bytes[need(1)]);
        break;
      case OP.BININT2:
        stack.push(view.getUint16(need(2), true));
        break;
      case OP.LONG1: {
        const n = bytes[need(1)];
        const at = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
        if (n > 0 && bytes[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n); // two's complement
        stack.push(
          v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v,
        );
        break;
      }
      case OP.BINFLOAT:
        stack.push(view.getFloat64(need(8), false));
        break;
      case OP.BINUNICODE:
        stack.push(text(view.getUint32(need(4), true)));
        break;
      case OP.SHORT_BINUNICODE:
        stack.push(text(bytes[need(1)]));
        break;
      case OP.BINUNICODE8: {
        const n = view.getBigUint64(need(8), true);
        if (n > BigInt(bytes.length))
          fail(`a string of ${n} bytes is longer than the pickle; it is corrupt.`);
        stack.push(text(Number(n)));
        break;
      }
      case OP.GLOBAL: {
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings.');
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case OP.BINPERSID: {
        if (!options.persistentLoad) fail('BINPERSID (a persistent reference) is not allowed here.');
        stack.push(options.persistentLoad!(pop()));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PickleGlobal) || !callable.call) {
          fail(
            `REDUCE calls ${callable instanceof PickleGlobal ? `'${callable.qualifiedName}'` : kindOf(callable)}, ` +
              'which is not an allowed callable; nothing was run.',
          );
        }
        if (!(args instanceof PickleTuple)) fail(`REDUCE arguments are ${kindOf(args)}; expected a tuple.`);
        const g = callable as PickleGlobal;
        try {
          stack.push(g.call!((args as PickleTuple).items));
        } catch (e) {
          if (e instanceof CheckpointError) throw e;
          fail(`${g.qualifiedName}: ${(e as Error).message}`);
        }
        break;
      }
      case OP.BUILD: {
        // PyTorch sets attributes on its OrderedDict this way (state_dict._metadata, module
        // versions); lazylens needs only the items, so the state is checked and dropped.
        const state = pop();
        const target = top();
        if (!(target instanceof Map))
          fail(`BUILD on ${kindOf(target)}; only a dict's attributes may be set.`);
        if (state !== null && !(state instanceof Map))
          fail(`BUILD state is ${kindOf(state)}; expected a dict.`);
        break;
      }
      case OP.BINPUT:
        memo.set(bytes[need(1)], top());
        break;
      case OP.LONG_BINPUT:
        memo.set(view.getUint32(need(4), true), top());
        break;
      case OP.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case OP.BINGET:
        stack.push(memoGet(bytes[need(1)]));
        break;
      case OP.LONG_BINGET:
        stack.push(memoGet(view.getUint32(need(4), true)));
        break;
      case OP.SETITEM: {
        const value = pop();
        const key = pop();
        dictOf(top(), 'SETITEM').set(key, value);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        if (items.length % 2) fail('SETITEMS with an odd number of items; the pickle is corrupt.');
        const dict = dictOf(top(), 'SETITEMS');
        for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
        break;
      }
      case OP.APPEND: {
        const value = pop();
        listOf(top(), 'APPEND').push(value);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        listOf(top(), 'APPENDS').push(...items);
        break;
      }
      default: {
        const name = NAMES.get(op);
        const printable = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : '';
        fail(
          `opcode 0x${op.toString(16).padStart(2, '0')}${printable}${name ? ` (${name})` : ''} is not allowed: ` +
            'lazylens reads only the opcodes torch.save writes for tensors. Nothing in the file was run.',
        );
      }
    }
  }
}

/** A short description of a value's kind, for messages. */
export function kindOf(v: PickleValue): string {
  if (v === null) return 'None';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v !== 'object') return typeof v === 'string' ? 'str' : 'bool';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PickleTuple) return 'tuple';
  if (v instanceof Map) return 'dict';
  if (v instanceof PickleGlobal) return `global '${v.qualifiedName}'`;
  return v.kind;
}
