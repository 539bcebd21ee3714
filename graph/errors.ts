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

// Graph errors. Each message says what was given and what was expected, so a user can fix the call
// without reading the engine.

/** A node's inputs have incompatible shapes or dtypes; thrown when the node is built. */
export class ShapeError extends LazylensError {}

/** A slice was malformed or indexes outside its dimension. */
export class SliceError extends LazylensError {}

/** A leaf's source had no tensor under the leaf's name when the graph was materialized. */
export class UnresolvedLeafError extends LazylensError {}

/** Something the graph needs (a tensor, a source, a memo) was disposed before materializing. */
export class DisposedError extends LazylensError {}

/** The planner broke an invariant (a rewrite changed the root's shape): a bug in a rule. */
export class PlanError extends LazylensError {}

/** A tensor one kernel would bind is larger than the backend allows and cannot be split further. */
export class ResourceLimitError extends LazylensError {}
