/**
 * An open checkpoint file read by position. Loaders read one tensor's bytes at a time, so a
 * checkpoint is never held in memory whole (and files over Node's 2 GiB `readFile` limit load).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CheckpointError } from '../errors.js';

// One readSync call moves at most this many bytes (Node rejects lengths of 2 GiB and more).
const CHUNK = 1 << 30;

export class CheckpointFile {
  /** Size of the file in bytes. */
  readonly size: number;
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
    this.size = fstatSync(fd).size;
  }

  /**
   * Opens `path` for reading.
   * @throws CheckpointError naming the path when it cannot be opened.
   */
  static open(path: string): CheckpointFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new CheckpointError(`Cannot read checkpoint file ${path}: ${(e as Error).message}`);
    }
    try {
      return new CheckpointFile(path, fd);
    } catch (e) {
      closeSync(fd);
      throw new CheckpointError(`Cannot read checkpoint file ${path}: ${(e as Error).message}`);
    }
  }

  /** `length` bytes from `position`, in a new buffer. */
  read(position: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.readInto(out, position);
    return out;
  }

  /**
   * Fills `target` with the bytes at `position`.
   * @throws CheckpointError when the file ends first (a truncated file) or is closed.
   */
  readInto(target: Uint8Array, position: number): void {
    if (this.fd === undefined) throw new CheckpointError(`${this.path}: read after the file was closed.`);
    if (position + target.length > this.size) {
      throw new CheckpointError(
        `${this.path}: needs bytes ${position}..${position + target.length} but the file has ${this.size} bytes; ` +
          'the file is truncated or corrupt.',
      );
    }
    let done = 0;
    while (done < target.length) {
      const want = Math.min(CHUNK, target.length - done);
      const got = readSync(this.fd, target, done, want, position + done);
      if (got === 0) {
        throw new CheckpointError(`${this.path}: unexpected end of file at byte ${position + done}.`);
      }
      done += got;
    }
  }

  /** Closes the file; later reads fail. Closing twice is harmless. */
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
