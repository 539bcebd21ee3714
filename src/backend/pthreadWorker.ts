/**
 * A `Worker` that lets tfjs-backend-wasm's threaded build start its pthreads under Node.
 *
 * The emscripten glue in tfjs-backend-wasm 4.22 was written for browsers: it asks for each pthread
 * with `new Worker(url)` where `url` is a `blob:nodedata:` URL of the worker script, and it hands
 * each worker the main script as a `Blob`. Node's `worker_threads.Worker` refuses blob URLs
 * (ERR_WORKER_PATH) and the worker script's `importScripts` reads files only. This class, put in
 * place of `worker_threads.Worker` while the wasm module starts (the glue copies it to the global
 * `Worker`), starts an eval worker instead: a small prelude reads both blobs and then runs the
 * glue's own worker script unchanged.
 */
import { resolveObjectURL } from 'node:buffer';
import { Worker as NodeWorker, type WorkerOptions } from 'node:worker_threads';

/**
 * Runs inside each pthread worker. `workerData.script` is the glue's worker script; `distDir` is
 * tfjs-backend-wasm's dist folder. The main script the glue sends with its `load` message was cut
 * out of tfjs's Node bundle by `Function.prototype.toString`, so it names a few of that bundle's
 * module-scope bindings (its `require`s of fs/path/perf_hooks/os, `commonjsGlobal`, `__dirname`,
 * and TypeScript's iteration helpers): the prelude defines them as globals first.
 */
const PRELUDE = String.raw`
'use strict';
const { workerData } = require('node:worker_threads');
Object.assign(globalThis, {
  require$$0: require('node:fs'),
  require$$1: require('node:path'),
  require$$3: require('node:perf_hooks'),
  require$$4: require('node:os'),
  commonjsGlobal: globalThis,
  __dirname: workerData.distDir,
  __values: (o) => o[Symbol.iterator](),
  __read: (o, n) => {
    const out = [];
    for (const x of o) { if (n !== undefined && out.length >= n) break; out.push(x); }
    return out;
  },
  __spreadArray: (to, from) => to.concat(Array.from(from)),
});
const MAIN_SCRIPT = 'lazylens:wasm-main-script';
let mainSource = '';
// The glue's worker script registers its 'message' listener on parentPort only once it has run;
// until then Node queues what the main thread posts, so nothing is lost while the blob is read.
workerData.script.text().then((source) => {
  (0, eval)(source);
  const readFile = globalThis.importScripts;
  globalThis.importScripts = (url) => (url === MAIN_SCRIPT ? (0, eval)(mainSource) : readFile(url));
  const handle = globalThis.onmessage;
  let queue = null;
  globalThis.onmessage = (event) => {
    if (queue) return void queue.push(event);
    const blob = event.data && event.data.cmd === 'load' && event.data.urlOrBlob;
    if (!blob || typeof blob === 'string') return handle(event);
    // Reading the main script is asynchronous: hold later messages until 'load' has run.
    queue = [];
    blob.text().then((text) => {
      mainSource = text;
      event.data.urlOrBlob = MAIN_SCRIPT;
      const held = queue;
      queue = null;
      handle(event);
      for (const e of held) globalThis.onmessage(e);
    });
  };
});
`;

/** The workers started while a start-up is watched, and where their errors go meanwhile. */
interface StartupWatch {
  readonly workers: PthreadWorker[];
  readonly onError: (error: unknown) => void;
}

let watch: StartupWatch | undefined;

/**
 * Watches the pthreads started until `stop()`: their 'error' events go to `onError` instead of the
 * glue (whose handler rethrows them as uncaught exceptions, which would end the process rather than
 * let the caller fall back to the single-thread build), and `workers` lists them so a failed
 * start-up can terminate them.
 */
export function watchPthreadStartup(onError: (error: unknown) => void): {
  workers: readonly PthreadWorker[];
  stop: () => void;
} {
  const current: StartupWatch = { workers: [], onError };
  watch = current;
  return {
    workers: current.workers,
    stop: () => {
      if (watch === current) watch = undefined;
    },
  };
}

/** Where tfjs-backend-wasm's files are: the glue's `__dirname` inside a pthread. */
let distDir = '';

/** Sets the folder a pthread's glue takes as its own (tfjs-backend-wasm's `dist`). */
export function setPthreadDistDir(dir: string): void {
  distDir = dir;
}

function workerArgs(url: string | URL, options?: WorkerOptions): [string | URL, WorkerOptions?] {
  const script = typeof url === 'string' && url.startsWith('blob:') ? resolveObjectURL(url) : undefined;
  if (!script) return [url, options];
  return [PRELUDE, { ...options, eval: true, workerData: { script, distDir } }];
}

/**
 * `worker_threads.Worker`, except that a `blob:` URL starts the script that blob holds (with the
 * prelude above), as a browser's `Worker` would.
 */
export class PthreadWorker extends NodeWorker {
  constructor(url: string | URL, options?: WorkerOptions) {
    super(...workerArgs(url, options));
    // A pthread here only serves kernels the main thread is waiting for, so it must never keep the
    // process alive once the user's script ends. The glue refs a worker when it starts a pthread
    // on it (see ref below), and Node refs a worker's port again whenever a first 'message'
    // listener is added (the glue adds one as it loads the worker).
    this.unref();
    this.on('newListener', () => queueMicrotask(() => this.unref()));
    watch?.workers.push(this);
  }

  /** Does nothing: the XNNPACK pool's pthreads live as long as the process and never hold it open. */
  override ref(): void {}

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error' && watch) {
      watch.onError(args[0]);
      return true;
    }
    return super.emit(event, ...args);
  }
}
