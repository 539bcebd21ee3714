/**
 * Where the CLI writes, and the errors it reports as one line. `main(argv, io)` takes an `Io` so
 * tests run the command in-process and read what it printed.
 */

/** The CLI's outputs: stdout for results, stderr for progress and errors. */
export interface Io {
  /** Writes to standard output (results, tables, JSON). */
  out(text: string): void;
  /** Writes to standard error (progress, errors). */
  err(text: string): void;
  /** Whether stderr is a terminal (progress bars are drawn only then). */
  readonly errIsTTY: boolean;
}

/** The process's own streams. */
export function processIo(): Io {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    errIsTTY: Boolean(process.stderr.isTTY),
  };
}

/** Collects everything written, for tests. */
export interface CapturedIo extends Io {
  readonly stdout: string;
  readonly stderr: string;
}

/** An `Io` that keeps what was written in memory (never a TTY unless asked). */
export function captureIo(errIsTTY = false): CapturedIo {
  let stdout = '';
  let stderr = '';
  return {
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    errIsTTY,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}
