// Runs the CLI in-process and captures what it printed.
import { existsSync, readFileSync } from 'node:fs';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

/** The random-weight GPT-2 every CLI test can use (byte-level BPE: any prompt tokenizes). */
export const FIXTURE = 'test/fixtures/gpt2-tiny';
/** The shipped model, when it has been trained into models/. */
export const SHIPPED = 'induction-2l';
export const HAS_SHIPPED = existsSync(`models/${SHIPPED}/config.json`);
/** The training script writes MODEL.md last, once the model has learnt induction. */
export const SHIPPED_TRAINED = existsSync(`models/${SHIPPED}/MODEL.md`);

/** A prompt that would run if a report failed to escape it. */
export const XSS_PROMPT = '<script>window.__xss=1</script>';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `lazylens ...args` in-process. */
export async function cli(...args: string[]): Promise<CliRun> {
  const io = captureIo();
  const code = await main(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** `lazylens ...args --json`, parsed; fails the test when the command failed. */
export async function cliJson<T>(...args: string[]): Promise<T> {
  const r = await cli(...args, '--json');
  if (r.code !== 0) throw new Error(`lazylens ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** The data element of a report, parsed back. */
export function reportData(file: string): { charts: { id: string; spec: Record<string, unknown> }[] } {
  const html = readFileSync(file, 'utf8');
  const m = /<script type="application\/json" id="lazylens-data">([^<]*)<\/script>/.exec(html);
  if (!m) throw new Error(`no data element in ${file}`);
  return JSON.parse(m[1]) as { charts: { id: string; spec: Record<string, unknown> }[] };
}
