/**
 * A one-line download progress bar on stderr, drawn only when stderr is a terminal, so logs and
 * pipes never receive escape codes.
 */

const WIDTH = 24;
const REDRAW_MS = 100;

/** Progress of one file's download. */
export interface DownloadProgress {
  /** The Hub repository. */
  repoId: string;
  /** The file's path in the repository. */
  file: string;
  /** Bytes downloaded so far (counting bytes resumed from an earlier attempt). */
  bytes: number;
  /** The file's size, when the Hub announced it. */
  total?: number;
}

function megabytes(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** Draws {@link DownloadProgress} events on a writable terminal stream. */
export class DownloadProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  /** Whether a bar would be drawn here (stderr is a terminal). */
  static available(stream: NodeJS.WriteStream = process.stderr): boolean {
    return stream.isTTY;
  }

  /** Redraws the line for `p` (at most every 100 ms, and always at the end of a file). */
  update(p: DownloadProgress): void {
    const finished = p.total !== undefined && p.bytes >= p.total;
    const now = Date.now();
    if (!finished && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    let line = `${p.repoId} ${p.file} ${megabytes(p.bytes)}`;
    if (p.total !== undefined && p.total > 0) {
      const frac = Math.min(1, p.bytes / p.total);
      const full = Math.round(frac * WIDTH);
      line += ` / ${megabytes(p.total)} [${'#'.repeat(full)}${'.'.repeat(WIDTH - full)}] ${Math.floor(frac * 100)}%`;
    }
    this.stream.write(`\r\x1b[2K${line}`);
    this.drawn = true;
    if (finished) this.done();
  }

  /** Ends the current line (keeps what it showed). */
  done(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
