/**
 * A minimal ZIP reader for `torch.save` archives: the central directory (with ZIP64 sizes and
 * offsets), and where each entry's bytes start. PyTorch stores its records uncompressed; a
 * deflated record (a zip re-packed by another tool) is inflated with node's zlib.
 */
import { inflateRawSync } from 'node:zlib';
import { CheckpointError } from '../../errors.js';
import type { CheckpointFile } from '../CheckpointFile.js';

/** One file of the archive, as its central directory describes it. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated; others are rejected when read. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

/**
 * The entries of the zip archive in `file`, by name.
 * @throws CheckpointError when the file is not a zip archive or its directory is truncated or corrupt.
 */
export function readZipDirectory(file: CheckpointFile): Map<string, ZipEntry> {
  const fail = (what: string): never => {
    throw new CheckpointError(`${file.path}: ${what}`);
  };
  const { cdOffset, cdSize, count } = findDirectory(file, fail);
  if (cdOffset + cdSize > file.size) {
    fail(
      `the zip directory spans bytes ${cdOffset}..${cdOffset + cdSize} of a ${file.size}-byte file; the file is truncated or corrupt.`,
    );
  }
  const cd = file.read(cdOffset, cdSize);
  const view = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cd.length || view.getUint32(at, true) !== CENTRAL_SIG) {
      fail(`zip directory entry ${i} of ${count} is missing or corrupt (at byte ${cdOffset + at}).`);
    }
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    let compressedSize = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLen = view.getUint16(at + 28, true);
    const extraLen = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    let localHeaderOffset = view.getUint32(at + 42, true);
    const end = at + 46 + nameLen + extraLen + commentLen;
    if (end > cd.length) fail(`zip directory entry ${i} runs past the directory; the file is corrupt.`);
    const name = new TextDecoder().decode(cd.subarray(at + 46, at + 46 + nameLen));
    if (flags & 1) fail(`zip entry '${name}' is encrypted; expected a plain torch.save archive.`);
    // ZIP64: a field of all ones means "see the 0x0001 extra field", which lists those fields in order.
    const extra = new DataView(cd.buffer, cd.byteOffset + at + 46 + nameLen, extraLen);
    const zip64 = findExtra(extra, 0x0001);
    if (zip64) {
      let p = 0;
      const next = (): number => {
        if (p + 8 > zip64.byteLength) fail(`zip entry '${name}': ZIP64 extra field is too short.`);
        const v = Number(zip64.getBigUint64(p, true));
        p += 8;
        return v;
      };
      if (size === 0xffffffff) size = next();
      if (compressedSize === 0xffffffff) compressedSize = next();
      if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
    }
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    at = end;
  }
  return entries;
}

/**
 * Byte position in the file where `entry`'s data starts (after its local header, whose extra
 * field can differ from the directory's: PyTorch pads it to align tensor data).
 */
export function entryDataStart(file: CheckpointFile, entry: ZipEntry): number {
  const header = file.read(entry.localHeaderOffset, 30);
  const view = new DataView(header.buffer);
  if (view.getUint32(0, true) !== LOCAL_SIG) {
    throw new CheckpointError(
      `${file.path}: zip entry '${entry.name}' has no local header at byte ${entry.localHeaderOffset}; the file is corrupt.`,
    );
  }
  const start = entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
  if (start + entry.compressedSize > file.size) {
    throw new CheckpointError(
      `${file.path}: zip entry '${entry.name}' needs bytes ${start}..${start + entry.compressedSize} ` +
        `but the file has ${file.size}; the file is truncated.`,
    );
  }
  return start;
}

/**
 * The whole (uncompressed) contents of `entry`.
 * @throws CheckpointError for a compression method other than stored or deflate, or bad deflate data.
 */
export function readZipEntry(file: CheckpointFile, entry: ZipEntry): Uint8Array {
  const raw = file.read(entryDataStart(file, entry), entry.compressedSize);
  if (entry.method === 0) return raw;
  if (entry.method !== 8) {
    throw new CheckpointError(
      `${file.path}: zip entry '${entry.name}' uses compression method ${entry.method}; expected 0 (stored) or 8 (deflate).`,
    );
  }
  try {
    return inflateRawSync(raw);
  } catch (e) {
    throw new CheckpointError(
      `${file.path}: zip entry '${entry.name}' cannot be inflated: ${(e as Error).message}`,
    );
  }
}

function findDirectory(
  file: CheckpointFile,
  fail: (what: string) => never,
): { cdOffset: number; cdSize: number; count: number } {
  if (file.size < EOCD_SIZE) fail(`file has ${file.size} bytes; too short for a zip archive. Truncated?`);
  // The end record sits at the very end, followed only by a comment of up to 64 KiB.
  const tailLen = Math.min(file.size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = file.size - tailLen;
  const tail = file.read(tailStart, tailLen);
  const view = new DataView(tail.buffer);
  let eocd = -1;
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (view.getUint32(i, true) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    return fail('no zip end-of-directory record; the file is truncated or not a zip archive (torch.save).');
  }
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  const locator = eocd - 20;
  if (locator >= 0 && view.getUint32(locator, true) === ZIP64_LOCATOR_SIG) {
    const at = Number(view.getBigUint64(locator + 8, true));
    if (at + 56 > file.size)
      fail('the ZIP64 end record points past the end of the file; the file is corrupt.');
    const rec = file.read(at, 56);
    const r = new DataView(rec.buffer);
    if (r.getUint32(0, true) !== ZIP64_EOCD_SIG)
      fail(`no ZIP64 end record at byte ${at}; the file is corrupt.`);
    count = Number(r.getBigUint64(32, true));
    cdSize = Number(r.getBigUint64(40, true));
    cdOffset = Number(r.getBigUint64(48, true));
  }
  return { cdOffset, cdSize, count };
}

function findExtra(extra: DataView, id: number): DataView | undefined {
  let p = 0;
  while (p + 4 <= extra.byteLength) {
    const tag = extra.getUint16(p, true);
    const len = extra.getUint16(p + 2, true);
    if (tag === id)
      return new DataView(extra.buffer, extra.byteOffset + p + 4, Math.min(len, extra.byteLength - p - 4));
    p += 4 + len;
  }
  return undefined;
}
