/**
 * Reads a PyTorch `torch.save` checkpoint (`pytorch_model.bin`): a zip archive holding
 * `<dir>/data.pkl` (the state dict, pickled, with tensors as references to storages),
 * `<dir>/data/<key>` (each storage's raw bytes) and `<dir>/byteorder`. The pickle goes through
 * {@link restrictedUnpickle} with {@link TORCH_GLOBALS}, so nothing in the file can run code;
 * tensor bytes are read from the archive only when a converter asks for that tensor.
 */
import { CheckpointError } from '../../errors.js';
import { CheckpointFile } from '../CheckpointFile.js';
import {
  CheckpointTensors,
  numel,
  type CheckpointTensorsOptions,
  type TensorLocation,
} from '../CheckpointTensors.js';
import { restrictedUnpickle, kindOf, type PickleValue } from './restrictedUnpickle.js';
import {
  STORAGE_TYPES,
  storageFromPersistentId,
  TORCH_GLOBALS,
  type StorageRef,
  type TensorRef,
} from './torchPickleGlobals.js';
import { entryDataStart, readZipDirectory, readZipEntry, type ZipEntry } from './zipDirectory.js';

/**
 * Opens a `torch.save` checkpoint whose top-level object is a dict of tensors (a state dict).
 * The caller must `close()` the returned map.
 * @throws CheckpointError naming the path for a legacy (pre-zip) or corrupt file, a pickle that
 *   uses anything outside the allow-list, a non-tensor value, a big-endian archive, or a tensor
 *   whose view runs past its storage.
 */
export function openTorchCheckpoint(path: string, options: CheckpointTensorsOptions = {}): CheckpointTensors {
  const file = CheckpointFile.open(path);
  try {
    return new CheckpointTensors(readLocations(file), [file], path, options);
  } catch (e) {
    file.close();
    throw e;
  }
}

function readLocations(file: CheckpointFile): Map<string, TensorLocation> {
  const path = file.path;
  const fail = (what: string): never => {
    throw new CheckpointError(`${path}: ${what}`);
  };
  const magic = file.size >= 2 ? file.read(0, 2) : new Uint8Array(0);
  if (magic[0] === 0x80) {
    fail(
      'is in the legacy torch.save format (before PyTorch 1.6), which lazylens does not read; ' +
        'expected the zip format. Re-save it with a current torch.save or as safetensors.',
    );
  }
  if (magic[0] !== 0x50 || magic[1] !== 0x4b) {
    fail('does not start with a zip signature; expected a torch.save checkpoint (a zip archive).');
  }
  const entries = readZipDirectory(file);
  const pickles = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    fail(`holds ${pickles.length} '<dir>/data.pkl' records; expected exactly one (a torch.save archive).`);
  }
  const dir = pickles[0].slice(0, -'data.pkl'.length);

  const order = entries.get(`${dir}byteorder`);
  if (order) {
    const text = new TextDecoder().decode(readZipEntry(file, order)).trim();
    if (text !== 'little')
      fail(
        `byteorder is '${text}'; lazylens reads 'little' (the byte order every torch.save on x86/ARM writes).`,
      );
  }

  const root = restrictedUnpickle(readZipEntry(file, entries.get(pickles[0])!), {
    globals: TORCH_GLOBALS,
    persistentLoad: storageFromPersistentId,
    source: `${path} (${pickles[0]})`,
  });
  if (!(root instanceof Map)) fail(`holds ${kindOf(root)}; expected a state dict (a dict of tensors).`);

  const starts = new Map<string, number>();
  const locations = new Map<string, TensorLocation>();
  for (const [key, value] of root as Map<PickleValue, PickleValue>) {
    if (typeof key !== 'string') fail(`has a key of type ${kindOf(key)}; expected tensor names (str).`);
    const name = key as string;
    if (typeof value !== 'object' || value === null || !('kind' in value) || value.kind !== 'tensor') {
      fail(`entry '${name}' is ${kindOf(value)}; expected a tensor (a plain state dict).`);
    }
    const tensor = value as TensorRef;
    const { storage } = tensor;
    const record = entries.get(`${dir}data/${storage.key}`);
    if (!record) fail(`tensor '${name}' refers to storage '${storage.key}', which is not in the archive.`);
    let start = starts.get(storage.key);
    if (start === undefined) {
      start = checkStorage(file, record!, storage, name);
      starts.set(storage.key, start);
    }
    checkView(tensor, name, fail);
    const known = STORAGE_TYPES[storage.storageType];
    locations.set(name, {
      file,
      dtype: known.dtype ?? { unsupported: `torch.${storage.storageType}` },
      shape: tensor.shape,
      storageStart: start,
      storageOffset: tensor.storageOffset,
      strides: tensor.strides,
    });
  }
  return locations;
}

/** The storage's data position, after checking its record holds `numel` elements, uncompressed. */
function checkStorage(file: CheckpointFile, record: ZipEntry, storage: StorageRef, name: string): number {
  const itemSize = STORAGE_TYPES[storage.storageType].itemSize;
  const expected = storage.numel * itemSize;
  if (record.method !== 0) {
    throw new CheckpointError(
      `${file.path}: storage '${storage.key}' (of tensor '${name}') is compressed (method ${record.method}); ` +
        'expected it stored, as torch.save writes it.',
    );
  }
  if (record.size !== expected) {
    throw new CheckpointError(
      `${file.path}: storage '${storage.key}' (of tensor '${name}') holds ${record.size} bytes; ` +
        `expected ${expected} (${storage.numel} × ${itemSize}-byte ${storage.storageType} elements).`,
    );
  }
  return entryDataStart(file, record);
}

/** Fails when any element of the view lies outside its storage. */
function checkView(t: TensorRef, name: string, fail: (what: string) => never): void {
  if (numel(t.shape) === 0) return;
  const last = t.storageOffset + t.shape.reduce((acc, n, d) => acc + (n - 1) * t.strides[d], 0);
  if (last >= t.storage.numel) {
    fail(
      `tensor '${name}' (shape [${t.shape.join(', ')}], stride [${t.strides.join(', ')}], offset ${t.storageOffset}) ` +
        `reaches element ${last} of storage '${t.storage.key}', which has ${t.storage.numel}; the file is corrupt.`,
    );
  }
}
