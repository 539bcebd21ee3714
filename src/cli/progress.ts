/**
 * A tiny progress reporter on stderr. It draws only when stderr is a terminal and the output is
 * not JSON; a step shows up after it has run for a second (loading shows at once), and the line is
 * cleared when the command finishes, so piped output never contains escape codes.
 */
import type { Io } from './io.js';

const WIDTH = 20;
/** Steps that finish faster than this are never drawn. */
const SHOW_AFTER_MS = 1000;
const REDRAW_MS = 100;

export class Progress {
  private index = 0;
  private label = '';
  private started = 0;
  private drawn = false;
  private timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param io where to draw (stderr)
   * @param total how many steps the command has (the bar fills step by step)
   * @param enabled false for JSON output or a non-terminal stderr
   */
  constructor(
    private readonly io: Io,
    private readonly total: number,
    private readonly enabled: boolean,
  ) {}

  /** Runs `fn` as the next step, named `label`. `immediate` draws at once (model loading). */
  async step<T>(label: string, fn: () => T | Promise<T>, immediate = false): Promise<T> {
    this.index++;
    this.label = label;
    this.started = Date.now();
    if (this.enabled) {
      if (immediate) this.draw();
      this.timer ??= setInterval(() => this.tick(), REDRAW_MS);
      this.timer.unref?.();
    }
    // Yield once so a drawn line appears before synchronous tensor work blocks the event loop.
    if (this.enabled && immediate) await new Promise((r) => setImmediate(r));
    return await fn();
  }

  /** Replaces the current step's label (e.g. a running count) without starting a new step. */
  note(label: string): void {
    this.label = label;
  }

  /** Clears the line and stops redrawing. Safe to call twice. */
  done(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) this.io.err('\r\x1b[2K');
    this.drawn = false;
  }

  private tick(): void {
    if (this.drawn || Date.now() - this.started >= SHOW_AFTER_MS) this.draw();
  }

  private draw(): void {
    const filled = Math.round((WIDTH * (this.index - 1)) / Math.max(1, this.total));
    const bar = '█'.repeat(filled) + '░'.repeat(WIDTH - filled);
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    this.io.err(`\r\x1b[2K${bar} ${this.index}/${this.total} ${this.label} ${secs}s`);
    this.drawn = true;
  }
}
