/**
 * The `lazylens` command. `main(argv, io)` runs it in-process and returns the exit code; run
 * directly (`tsx src/cli/main.ts dla`) or through bin/lazylens.js it uses the process's streams.
 */
import { Command, CommanderError, Option } from 'commander';
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { BACKEND_NAMES, backendInfo, selectBackend, type BackendName } from '../backend/index.js';
import { CliError, LazylensError, UsageError } from '../errors.js';
import { registerAttention } from './commands/attention.js';
import { registerDemo } from './commands/demo.js';
import { registerDla } from './commands/dla.js';
import { registerExplain } from './commands/explain.js';
import { registerInfo } from './commands/info.js';
import { registerLens } from './commands/lens.js';
import { registerPatch } from './commands/patch.js';
import { registerRun } from './commands/run.js';
import { registerTestPrompt } from './commands/testPrompt.js';
import { processIo, type Io } from './io.js';
import { removePendingTemps } from './atomicFile.js';
import { tokenList } from './tokensPrompt.js';
import { DEFAULT_MODEL } from './session.js';

/** Exit codes: 1 for a failure, 2 for bad usage (as commander's own errors). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** 128 + SIGINT's number, what shells report for a command stopped by Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

/** The version in the package's own package.json. */
function packageVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function buildProgram(io: Io): Command {
  const program = new Command('lazylens')
    .description('Mechanistic interpretability of small transformers: attributions, logit lens, attention.')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: (s, write) => write(`lazylens: ${s.trim().replace(/\s*\n\s*/g, ' ')}\n`),
    })
    .option(
      '--model <name|folder>',
      'a shipped model, a model folder, or a Hugging Face Hub model (gpt2, EleutherAI/pythia-70m@main)',
      DEFAULT_MODEL,
    )
    .option('--prompt <text>', 'the prompt (default: a built-in sequence repeated twice)')
    .addOption(
      new Option('--tokens <ids>', 'the prompt as comma-separated token ids (e.g. 1,2,3)')
        .argParser(tokenList)
        .conflicts('prompt'),
    )
    .option('--html <file>', 'also write a self-contained HTML report to FILE')
    .option('--json', 'print machine-readable JSON instead of tables')
    .option(
      '--verbose',
      'print stack traces on errors, and the backend used (its BLAS library, why webgpu was passed over)',
    )
    .addOption(
      new Option(
        '--backend <name>',
        'the tfjs backend (default: LAZYLENS_BACKEND, else the fastest that starts)',
      ).choices(BACKEND_NAMES),
    )
    // The backend starts before any command runs, so an unavailable one fails before a model loads.
    .hook('preAction', async (_program, action) => {
      const { backend } = action.optsWithGlobals<{ backend?: BackendName }>();
      if (backend) await selectBackend({ backend });
    })
    .version(packageVersion(), '--version', 'print the version')
    // Each command's --help lists the options every command takes, too.
    .configureHelp({ showGlobalOptions: true });
  registerRun(program, io);
  registerDla(program, io);
  registerLens(program, io);
  registerAttention(program, io);
  registerExplain(program, io);
  registerDemo(program, io);
  registerTestPrompt(program, io);
  registerPatch(program, io);
  registerInfo(program, io);
  return program;
}

/**
 * One line on stderr: the backend that ran, the BLAS library its products went through (if any)
 * and, if the automatic choice passed webgpu over, why.
 */
async function reportBackend(io: Io): Promise<void> {
  const info = await backendInfo();
  const why = info.passedOver.find((l) => l.startsWith('webgpu:'));
  const blas = info.blas.library ? `, matrix products through ${info.blas.library}` : '';
  const simd = info.simdKernels ? ', activations and norms in SIMD kernels' : '';
  io.err(`lazylens: backend ${info.backend}${blas}${simd}${why ? ` (passed over ${why})` : ''}\n`);
}

/** The first line of an error's message (the library's errors are one line already). */
function oneLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.trim().split('\n')[0] || (e instanceof Error ? e.name : 'unknown error');
}

/**
 * Runs the CLI on `argv` (the arguments after the command name) and returns the exit code.
 * Errors are printed as one line on stderr (with the stack trace under `--verbose`); nothing throws.
 */
export async function main(argv: readonly string[], io?: Io): Promise<number> {
  // Only a run that owns the process handles Ctrl-C (tests pass their own Io).
  if (io === undefined) process.once('SIGINT', onInterrupt);
  return run(argv, io ?? processIo());
}

/**
 * Ctrl-C: drop the half-written temporary files (the previous outputs stay as they were) and
 * exit 130, as shells expect for SIGINT.
 */
function onInterrupt(): void {
  removePendingTemps();
  process.stderr.write('\nlazylens: interrupted; no output file was changed\n');
  process.exit(EXIT_INTERRUPTED);
}

async function run(argv: readonly string[], io: Io): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    await buildProgram(io).parseAsync([...argv], { from: 'user' });
    if (verbose) await reportBackend(io);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE; // commander printed it
    const known = e instanceof LazylensError || e instanceof CliError || e instanceof UsageError;
    const hint = known || verbose ? '' : ' (run with --verbose for the stack trace)';
    io.err(`lazylens: error: ${oneLine(e)}${hint}\n`);
    if (verbose && e instanceof Error && e.stack) io.err(`${e.stack}\n`);
    return e instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) process.exitCode = await main(process.argv.slice(2));
