/**
 * The root of every error lazylens throws. It lives in graph/ because graph/ may not import src/;
 * src/errors.ts re-exports it beside the library's own error classes.
 */
export class LazylensError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
