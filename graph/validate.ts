/**
 * The plan validator, a safety net for the rewrite rules: planning must keep the root's shape, dtype,
 * dims and labels, and every node of a plan must still satisfy its kind's shape rule. Runs after
 * every planner pass when `PlanOptions.validate` is on (all tests turn it on).
 */
import { PlanError } from './errors.js';
import { topoOrder, type Node } from './node.js';
import { shapeRules } from './shapeRules.js';

const same = (
  a: readonly (string | number)[] | undefined,
  b: readonly (string | number)[] | undefined,
): boolean =>
  a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]));

/** What differs between two nodes' signatures (shape, dtype, dims, labels), or undefined when none. */
export function signatureDiff(before: Node, after: Node): string | undefined {
  if (!same(before.shape, after.shape))
    return `shape [${before.shape.join(', ')}] became [${after.shape.join(', ')}]`;
  if (before.dtype !== after.dtype) return `dtype ${before.dtype} became ${after.dtype}`;
  if (!same(before.dims, after.dims))
    return `dims (${before.dims.join(', ')}) became (${after.dims.join(', ')})`;
  if (!same(before.labels, after.labels)) return 'labels changed';
  return undefined;
}

/** Throws {@link PlanError} unless `planned` has `naive`'s signature and every node re-infers as stored. */
export function validatePlan(naive: Node, planned: Node): void {
  const diff = signatureDiff(naive, planned);
  if (diff)
    throw new PlanError(`plan validation: given a plan whose root ${diff}, expected the naive root's.`);
  for (const n of topoOrder([planned])) {
    const again = (shapeRules[n.kind] as (i: readonly Node[], p: unknown) => Pick<Node, 'shape'>)(
      n.inputs,
      n.params,
    );
    if (!same(again.shape, n.shape)) {
      throw new PlanError(
        `plan validation: given a ${n.kind} node of shape [${n.shape.join(', ')}], expected [${again.shape.join(', ')}].`,
      );
    }
  }
}
