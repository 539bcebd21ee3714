/**
 * The Python globals a `torch.save` state dict refers to, and the plain values lazylens builds
 * for them: storage references (`BINPERSID` ids) and tensor views of those storages. This is
 * the whole allow-list the restricted unpickler resolves `GLOBAL` against.
 */
import type { TensorDtype } from '../decodeTensorBytes.js';
import { kindOf, PickleGlobal, PickleTuple, type PickleValue } from './restrictedUnpickle.js';

/** A typed storage: `data/<key>` in the archive, `numel` elements of `storageType`. */
export interface StorageRef {
  readonly kind: 'storage';
  /** PyTorch's class name, e.g. 'FloatStorage'. */
  readonly storageType: string;
  readonly key: string;
  readonly numel: number;
}

/** `torch._utils._rebuild_tensor_v2`'s arguments: a strided view of a storage. */
export interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  readonly storageOffset: number;
  readonly shape: number[];
  readonly strides: number[];
}

/** Storage classes by name: the dtype lazylens decodes them to (null: known but not read) and bytes per element. */
export const STORAGE_TYPES: Readonly<Record<string, { dtype: TensorDtype | null; itemSize: number }>> = {
  FloatStorage: { dtype: 'F32', itemSize: 4 },
  HalfStorage: { dtype: 'F16', itemSize: 2 },
  BFloat16Storage: { dtype: 'BF16', itemSize: 2 },
  IntStorage: { dtype: 'I32', itemSize: 4 },
  LongStorage: { dtype: 'I64', itemSize: 8 },
  DoubleStorage: { dtype: null, itemSize: 8 },
  ShortStorage: { dtype: null, itemSize: 2 },
  CharStorage: { dtype: null, itemSize: 1 },
  ByteStorage: { dtype: null, itemSize: 1 },
  BoolStorage: { dtype: null, itemSize: 1 },
};

const isCount = (v: PickleValue): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function ints(v: PickleValue, what: string): number[] {
  if (!(v instanceof PickleTuple) || !v.items.every(isCount)) {
    throw new Error(`${what} is ${kindOf(v)}; expected a tuple of non-negative ints.`);
  }
  return [...(v.items as number[])];
}

function rebuildTensor(args: readonly PickleValue[]): TensorRef {
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.length < 6 || args.length > 7) throw new Error(`given ${args.length} arguments; expected 6 or 7.`);
  const [storage, offset, size, stride] = args;
  if (typeof storage !== 'object' || storage === null || !('kind' in storage) || storage.kind !== 'storage') {
    throw new Error(`storage argument is ${kindOf(storage)}; expected a storage reference.`);
  }
  if (!isCount(offset)) throw new Error(`storage_offset is ${kindOf(offset)}; expected a non-negative int.`);
  const shape = ints(size, 'size');
  const strides = ints(stride, 'stride');
  if (strides.length !== shape.length) {
    throw new Error(
      `size has ${shape.length} dims but stride has ${strides.length}; expected one stride per dim.`,
    );
  }
  return { kind: 'tensor', storage: storage as StorageRef, storageOffset: offset, shape, strides };
}

function unwrapParameter(args: readonly PickleValue[]): PickleValue {
  // (data, requires_grad, backward_hooks[, state]): a Parameter is its data for loading purposes.
  const data = args[0];
  if (typeof data !== 'object' || data === null || !('kind' in data) || data.kind !== 'tensor') {
    throw new Error(`data is ${kindOf(data ?? null)}; expected a tensor.`);
  }
  return data;
}

/** `module.name` → global, for {@link restrictedUnpickle}'s `globals`. */
export const TORCH_GLOBALS: ReadonlyMap<string, PickleGlobal> = new Map([
  [
    'collections.OrderedDict',
    new PickleGlobal('collections.OrderedDict', (args) => {
      if (args.length !== 0) throw new Error(`given ${args.length} arguments; expected none.`);
      return new Map();
    }),
  ],
  ['torch._utils._rebuild_tensor_v2', new PickleGlobal('torch._utils._rebuild_tensor_v2', rebuildTensor)],
  ['torch._utils._rebuild_parameter', new PickleGlobal('torch._utils._rebuild_parameter', unwrapParameter)],
  ...Object.keys(STORAGE_TYPES).map((t): [string, PickleGlobal] => [
    `torch.${t}`,
    new PickleGlobal(`torch.${t}`),
  ]),
]);

/**
 * PyTorch's persistent id for a storage, `('storage', torch.XStorage, key, location, numel)`,
 * as a {@link StorageRef}.
 */
export function storageFromPersistentId(pid: PickleValue): StorageRef {
  const items = pid instanceof PickleTuple ? pid.items : [];
  const [tag, type, key, , numel] = items;
  if (items.length !== 5 || tag !== 'storage') {
    throw new Error(
      `persistent id is ${kindOf(pid)} of ${items.length} items; expected ('storage', type, key, location, numel).`,
    );
  }
  if (!(type instanceof PickleGlobal))
    throw new Error(`storage type is ${kindOf(type)}; expected a torch storage class.`);
  if (typeof key !== 'string' || !isCount(numel)) {
    throw new Error('storage key must be a string and its size a non-negative int.');
  }
  return { kind: 'storage', storageType: type.qualifiedName.slice('torch.'.length), key, numel };
}
