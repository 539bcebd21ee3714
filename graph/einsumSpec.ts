/**
 * Parsing and checking two-operand einsum specs (`'...hd,hdm->...hm'`). The executor lowers them to
 * transpose/reshape/matMul because the wasm backend has no `Einsum` kernel; this file is the pure,
 * tensor-free half: letters, sizes and the grouping into batch/contracted/free letters.
 */
import { ShapeError } from './errors.js';

/** A spec with the ellipsis expanded into explicit (upper-case) letters for concrete shapes. */
export interface EinsumLetters {
  readonly a: readonly string[];
  readonly b: readonly string[];
  readonly out: readonly string[];
  /** Size of every letter. */
  readonly sizes: ReadonlyMap<string, number>;
}

const ELLIPSIS_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function splitOperand(text: string, spec: string): { ellipsis: boolean; letters: string[] } {
  const ellipsis = text.includes('...');
  const rest = text.replace('...', '');
  if (ellipsis && !text.startsWith('...')) {
    throw new ShapeError(`einsum: given spec '${spec}', expected '...' only at the start of an operand.`);
  }
  if (!/^[a-zA-Z]*$/.test(rest)) {
    throw new ShapeError(`einsum: given spec '${spec}', expected letters and a leading '...'.`);
  }
  const letters = [...rest];
  if (new Set(letters).size !== letters.length) {
    throw new ShapeError(`einsum: given spec '${spec}', expected no letter twice in one operand.`);
  }
  return { ellipsis, letters };
}

/** Expands and checks `spec` against the operand shapes; throws {@link ShapeError} naming the letter at fault. */
export function einsumLetters(
  spec: string,
  aShape: readonly number[],
  bShape: readonly number[],
): EinsumLetters {
  const m = /^([^,>-]*),([^,>-]*)->([^,>-]*)$/.exec(spec.replace(/\s+/g, ''));
  if (!m) throw new ShapeError(`einsum: given spec '${spec}', expected 'lhs,rhs->out' with two operands.`);
  const [pa, pb, po] = [splitOperand(m[1], spec), splitOperand(m[2], spec), splitOperand(m[3], spec)];
  // Ellipsis dims align from the right, as in numpy; their sizes must agree exactly (no broadcasting).
  const ea = pa.ellipsis ? aShape.length - pa.letters.length : 0;
  const eb = pb.ellipsis ? bShape.length - pb.letters.length : 0;
  if (ea < 0 || eb < 0 || (!pa.ellipsis && ea !== 0) || (!pb.ellipsis && eb !== 0)) {
    throw new ShapeError(
      `einsum: given spec '${spec}' with shapes [${aShape.join(', ')}] and [${bShape.join(', ')}], expected one letter per dim.`,
    );
  }
  const e = Math.max(ea, eb);
  if (po.ellipsis !== (pa.ellipsis || pb.ellipsis) && e > 0) {
    throw new ShapeError(
      `einsum: given spec '${spec}', expected '...' in the output when an operand has it.`,
    );
  }
  // Ellipsis dims get upper-case letters the spec does not use.
  const used = new Set([...pa.letters, ...pb.letters, ...po.letters]);
  const ell = [...ELLIPSIS_LETTERS].filter((c) => !used.has(c)).slice(0, e);
  const a = pa.ellipsis ? [...ell.slice(e - ea), ...pa.letters] : pa.letters;
  const b = pb.ellipsis ? [...ell.slice(e - eb), ...pb.letters] : pb.letters;
  if (a.length !== aShape.length || b.length !== bShape.length) {
    throw new ShapeError(
      `einsum: given spec '${spec}' with shapes [${aShape.join(', ')}] and [${bShape.join(', ')}], expected one letter per dim.`,
    );
  }
  const out = po.ellipsis ? [...ell, ...po.letters] : po.letters;
  const sizes = new Map<string, number>();
  const record = (letters: readonly string[], shape: readonly number[]): void => {
    letters.forEach((l, i) => {
      const seen = sizes.get(l);
      if (seen !== undefined && seen !== shape[i]) {
        throw new ShapeError(
          `einsum '${spec}': given shapes [${aShape.join(', ')}] and [${bShape.join(', ')}], expected equal sizes for letter '${l}' (${seen} vs ${shape[i]}).`,
        );
      }
      sizes.set(l, shape[i]);
    });
  };
  record(a, aShape);
  record(b, bShape);
  for (const l of out) {
    if (!sizes.has(l))
      throw new ShapeError(`einsum: given spec '${spec}', expected output letter '${l}' in an input.`);
  }
  if (new Set(out).size !== out.length) {
    throw new ShapeError(`einsum: given spec '${spec}', expected no letter twice in the output.`);
  }
  return { a, b, out, sizes };
}

/** The letters grouped the way a batched matMul needs them. */
export interface EinsumGroups {
  /** In both operands and the output: the matMul batch. */
  readonly batch: readonly string[];
  /** In both operands, not the output: contracted by the matMul. */
  readonly contract: readonly string[];
  /** Only in `a` (rows) / only in `b` (columns), kept in the output. */
  readonly left: readonly string[];
  readonly right: readonly string[];
  /** Only in one operand and not in the output: summed away before the matMul. */
  readonly sumA: readonly string[];
  readonly sumB: readonly string[];
}

/** Classifies every letter of an expanded spec. */
export function einsumGroups(l: EinsumLetters): EinsumGroups {
  const inB = new Set(l.b);
  const inA = new Set(l.a);
  const inOut = new Set(l.out);
  return {
    batch: l.out.filter((x) => inA.has(x) && inB.has(x)),
    contract: l.a.filter((x) => inB.has(x) && !inOut.has(x)),
    left: l.out.filter((x) => inA.has(x) && !inB.has(x)),
    right: l.out.filter((x) => inB.has(x) && !inA.has(x)),
    sumA: l.a.filter((x) => !inB.has(x) && !inOut.has(x)),
    sumB: l.b.filter((x) => !inA.has(x) && !inOut.has(x)),
  };
}

/** Writes expanded letters back as a spec (ellipsis letters stay explicit). */
export function formatEinsum(a: readonly string[], b: readonly string[], out: readonly string[]): string {
  return `${a.join('')},${b.join('')}->${out.join('')}`;
}
