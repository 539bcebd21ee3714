/**
 * Keeps emscripten's process-wide error handlers out of the user's process.
 *
 * When the wasm module starts under Node, its emscripten glue adds `uncaughtException` and
 * `unhandledRejection` listeners to `process` whose only job is to rethrow. Rethrowing from inside
 * Node's handler makes Node print the source line of that `throw`: one line of minified glue,
 * about 39 KB, before the user's message, and exit with code 7 instead of 1. A lazylens user's
 * first typo in a top-level-await script would show that wall of code. Removing the listeners
 * restores Node's own report (the error and its stack, exit code 1).
 */

const EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

type Listener = (...args: unknown[]) => void;

/**
 * Runs `start` (which initialises a wasm module) and then removes the error listeners it added to
 * `process`. Only listeners that appeared during `start` and rethrow are removed, so a handler the
 * user installed meanwhile stays.
 */
export async function withoutEmscriptenErrorHandlers<T>(start: () => Promise<T>): Promise<T> {
  const before = new Map(EVENTS.map((e) => [e, new Set<Listener>(process.listeners(e) as Listener[])]));
  try {
    return await start();
  } finally {
    for (const event of EVENTS) {
      for (const listener of process.listeners(event) as Listener[]) {
        if (!before.get(event)?.has(listener) && /\bthrow\b/.test(String(listener))) {
          process.removeListener(event, listener);
        }
      }
    }
  }
}
