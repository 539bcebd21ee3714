/**
 * The first line of an error's message (or of a thrown non-error, as a string): what lazylens
 * puts in its one-line reasons, where a dependency's message may carry a stack or a dump after it.
 */
export function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
