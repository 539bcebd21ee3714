/**
 * A matrix kept as the product of two factors, `A @ B`, with TransformerLens's `FactoredMatrix`
 * operations: products, transpose, SVD, eigenvalues and norm computed from the factors, so a
 * low-rank d_model × d_model matrix (a head's OV or QK circuit) is never formed unless asked.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError, LazylensError } from '../errors.js';
import { factoredSvd, hostSlice, type FactoredSvd } from './factoredSvd.js';
import { hostEigenvalues } from './hostEigenvalues.js';
import { broadcastShapes, fmtShape, sameShape, sizeOf } from './shapes.js';

/** One leading-dim index: a number (drops the dim; negative counts from the end), `[start, stop)` or `null` (all). */
export type LeadingIndex = number | null | readonly [number, number];

/** Eigenvalues as real and imaginary parts [..., mdim], each owned by the caller. */
export interface Eigenvalues {
  /** Real parts [..., mdim]. */
  real: tf.Tensor;
  /** Imaginary parts [..., mdim] (zero for real eigenvalues). */
  imag: tf.Tensor;
}

/**
 * `A @ B` for `A` [..., ldim, mdim] and `B` [..., mdim, rdim]; leading dims broadcast (as
 * TransformerLens, both factors are broadcast to the common leading shape). The matrix owns
 * clones of the factors (cheap: tfjs shares the data) and frees them on {@link dispose}; every
 * method returns new tensors or matrices that the caller owns.
 *
 * TransformerLens properties that build a new tensor (`AB`, `BA`, `T`, `U`, `S`, `Vh`,
 * `eigenvalues`) are methods here, since the caller must dispose their result; those that read
 * data back from the device (`svd`, `eigenvalues`, `collapseL`, `collapseR`, `makeEven`) are async.
 * @example
 * ```ts
 * const [a, b] = [tf.randomNormal([768, 64]), tf.randomNormal([64, 768])];
 * const fm = new FactoredMatrix(a, b);    // keeps its own clones of a and b
 * const norm = fm.norm();                 // [] — without forming the 768 × 768 product
 * const { U, S, Vh } = await fm.svd();    // [768, 64], [64], [768, 64]
 * tf.dispose([a, b, norm, U, S, Vh]); fm.dispose();
 * ```
 */
export class FactoredMatrix {
  private a: tf.Tensor;
  private b: tf.Tensor;
  private svdCache: Promise<FactoredSvd> | undefined;
  private svdDone: FactoredSvd | undefined;
  private disposed = false;

  /**
   * @param A the left factor [..., ldim, mdim] (borrowed: the matrix keeps its own clone).
   * @param B the right factor [..., mdim, rdim] (borrowed).
   * @throws InvalidArgumentError when the inner dims differ or the leading dims do not broadcast.
   */
  constructor(A: tf.Tensor, B: tf.Tensor) {
    const [a, b] = FactoredMatrix.checkAndBroadcast(A, B);
    this.a = a === A ? A.clone() : a;
    this.b = b === B ? B.clone() : b;
  }

  /**
   * A matrix that takes ownership of `A` and `B` instead of cloning them (for tensors just made).
   * @internal
   */
  static adopt(A: tf.Tensor, B: tf.Tensor): FactoredMatrix {
    let made: [tf.Tensor, tf.Tensor];
    try {
      made = FactoredMatrix.checkAndBroadcast(A, B);
    } catch (e) {
      tf.dispose([A, B]);
      throw e;
    }
    const fm = Object.create(FactoredMatrix.prototype) as FactoredMatrix;
    fm.a = made[0];
    fm.b = made[1];
    fm.disposed = false;
    fm.svdCache = undefined;
    fm.svdDone = undefined;
    if (made[0] !== A) A.dispose();
    if (made[1] !== B) B.dispose();
    return fm;
  }

  private static checkAndBroadcast(A: tf.Tensor, B: tf.Tensor): [tf.Tensor, tf.Tensor] {
    if (!(A instanceof tf.Tensor) || !(B instanceof tf.Tensor)) {
      throw new InvalidArgumentError('FactoredMatrix: given a non-tensor factor, expected two tf.Tensors.');
    }
    if (A.rank < 2 || B.rank < 2) {
      throw new InvalidArgumentError(
        `FactoredMatrix: given factors of shapes ${fmtShape(A.shape)} and ${fmtShape(B.shape)}, expected rank ≥ 2 each.`,
      );
    }
    if (A.shape[A.rank - 1] !== B.shape[B.rank - 2]) {
      throw new InvalidArgumentError(
        `FactoredMatrix: given A ${fmtShape(A.shape)} and B ${fmtShape(B.shape)}, expected A's last dim to equal B's second-to-last (the inner dim).`,
      );
    }
    const lead = broadcastShapes(A.shape.slice(0, -2), B.shape.slice(0, -2), 'FactoredMatrix');
    const fit = (t: tf.Tensor): tf.Tensor => {
      const want = [...lead, ...t.shape.slice(-2)];
      return sameShape(t.shape, want) ? t : tf.broadcastTo(t, want);
    };
    return [fit(A), fit(B)];
  }

  /** The left factor [..., ldim, mdim] (owned by the matrix: do not dispose). */
  get A(): tf.Tensor {
    this.assertLive();
    return this.a;
  }

  /** The right factor [..., mdim, rdim] (owned by the matrix: do not dispose). */
  get B(): tf.Tensor {
    this.assertLive();
    return this.b;
  }

  /** `[A, B]` (owned by the matrix). */
  get pair(): [tf.Tensor, tf.Tensor] {
    return [this.A, this.B];
  }

  /** Rows of the product. */
  get ldim(): number {
    return this.a.shape[this.a.rank - 2];
  }

  /** The inner (hidden) dim: the product's rank is at most this. */
  get mdim(): number {
    return this.a.shape[this.a.rank - 1];
  }

  /** Columns of the product. */
  get rdim(): number {
    return this.b.shape[this.b.rank - 1];
  }

  /** The product's shape [..., ldim, rdim]. */
  get shape(): number[] {
    return [...this.a.shape.slice(0, -2), this.ldim, this.rdim];
  }

  /** Number of dims of the product (leading dims + 2). */
  get ndim(): number {
    return this.a.rank;
  }

  /** True once {@link dispose} ran. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The dense product `A @ B` [..., ldim, rdim] (TL's `AB`): expensive for large dims. */
  AB(): tf.Tensor {
    this.assertLive();
    return tf.matMul(this.a, this.b);
  }

  /**
   * The reverse product `B @ A` [..., mdim, mdim] (TL's `BA`): same nonzero eigenvalues as AB.
   * @throws InvalidArgumentError unless the product is square (ldim = rdim).
   */
  BA(): tf.Tensor {
    this.assertLive();
    this.requireSquare('BA');
    return tf.matMul(this.b, this.a);
  }

  /** The transpose, `Bᵀ @ Aᵀ`, still factored (TL's `T`). */
  T(): FactoredMatrix {
    this.assertLive();
    return FactoredMatrix.adopt(swapLast(this.b), swapLast(this.a));
  }

  /**
   * This matrix times `other` (TL's `@`): a tensor [..., rdim, n] or another factored matrix
   * gives a factored matrix, keeping the smaller inner dim (as TL: multiplies into B when
   * rdim > mdim, else factors as AB @ other). For a vector use {@link matvec}.
   * @throws InvalidArgumentError when the dims do not chain.
   */
  matmul(other: tf.Tensor | FactoredMatrix): FactoredMatrix {
    this.assertLive();
    if (other instanceof FactoredMatrix) {
      const left = this.matmul(other.A);
      try {
        return left.matmul(other.B);
      } finally {
        left.dispose();
      }
    }
    if (other.rank < 2) {
      throw new InvalidArgumentError(
        `FactoredMatrix.matmul: given a tensor of shape ${fmtShape(other.shape)}, expected rank ≥ 2 (use matvec for a vector).`,
      );
    }
    if (other.shape[other.rank - 2] !== this.rdim) {
      throw new InvalidArgumentError(
        `FactoredMatrix.matmul: given ${fmtShape(this.shape)} @ ${fmtShape(other.shape)}, expected the right matrix's rows to be ${this.rdim}.`,
      );
    }
    broadcastShapes(this.shape.slice(0, -2), other.shape.slice(0, -2), 'FactoredMatrix.matmul');
    if (this.rdim > this.mdim) return FactoredMatrix.adopt(this.a.clone(), tf.matMul(this.b, other));
    return FactoredMatrix.adopt(this.AB(), other.clone());
  }

  /**
   * `other @ this` (TL's `__rmatmul__`): a tensor [..., n, ldim] or a factored matrix on the left.
   * @throws InvalidArgumentError when the dims do not chain.
   */
  rmatmul(other: tf.Tensor | FactoredMatrix): FactoredMatrix {
    this.assertLive();
    if (other instanceof FactoredMatrix) return other.matmul(this);
    if (other.rank < 2) {
      throw new InvalidArgumentError(
        `FactoredMatrix.rmatmul: given a tensor of shape ${fmtShape(other.shape)}, expected rank ≥ 2 (use vecmat for a vector).`,
      );
    }
    if (other.shape[other.rank - 1] !== this.ldim) {
      throw new InvalidArgumentError(
        `FactoredMatrix.rmatmul: given ${fmtShape(other.shape)} @ ${fmtShape(this.shape)}, expected the left matrix's columns to be ${this.ldim}.`,
      );
    }
    broadcastShapes(this.shape.slice(0, -2), other.shape.slice(0, -2), 'FactoredMatrix.rmatmul');
    if (this.ldim > this.mdim) return FactoredMatrix.adopt(tf.matMul(other, this.a), this.b.clone());
    return FactoredMatrix.adopt(other.clone(), this.AB());
  }

  /** `this @ v` for a vector `v` of shape `[rdim]`: shape `[..., ldim]`, computed as `A @ (B @ v)`. */
  matvec(v: tf.Tensor): tf.Tensor {
    this.assertLive();
    if (v.rank !== 1 || v.shape[0] !== this.rdim) {
      throw new InvalidArgumentError(
        `FactoredMatrix.matvec: given a vector of shape ${fmtShape(v.shape)}, expected [${this.rdim}].`,
      );
    }
    return tf.tidy(() => tf.matMul(this.a, tf.matMul(this.b, v.reshape([this.rdim, 1]))).squeeze([-1]));
  }

  /** `v @ this` for a vector `v` of shape `[ldim]`: shape `[..., rdim]`, computed as `(v @ A) @ B`. */
  vecmat(v: tf.Tensor): tf.Tensor {
    this.assertLive();
    if (v.rank !== 1 || v.shape[0] !== this.ldim) {
      throw new InvalidArgumentError(
        `FactoredMatrix.vecmat: given a vector of shape ${fmtShape(v.shape)}, expected [${this.ldim}].`,
      );
    }
    return tf.tidy(() => tf.matMul(tf.matMul(v.reshape([1, this.ldim]), this.a), this.b).squeeze([-2]));
  }

  /** The matrix times a scalar (scales A, as TL). */
  mul(scalar: number): FactoredMatrix {
    this.assertLive();
    if (typeof scalar !== 'number' || !Number.isFinite(scalar)) {
      throw new InvalidArgumentError(
        `FactoredMatrix.mul: given ${String(scalar)}, expected a finite number.`,
      );
    }
    return FactoredMatrix.adopt(tf.mul(this.a, scalar), this.b.clone());
  }

  /** A new leading dim of size 1 at `dim` (counted over the product's dims, as TL's `unsqueeze`). */
  unsqueeze(dim: number): FactoredMatrix {
    this.assertLive();
    const nd = this.ndim;
    const k = dim < 0 ? dim + nd + 1 : dim;
    if (!Number.isInteger(dim) || k < 0 || k > nd - 2) {
      throw new InvalidArgumentError(
        `FactoredMatrix.unsqueeze: given dim ${dim}, expected an integer in [0, ${nd - 2}] (a leading position).`,
      );
    }
    return FactoredMatrix.adopt(this.a.expandDims(k), this.b.expandDims(k));
  }

  /**
   * Indexes the leading dims (TL's `fm[i, j]`): a number picks one entry and drops the dim,
   * `[start, stop)` keeps a range, `null` keeps the whole dim.
   * @example
   * ```ts
   * const cfg = { nLayers: 2, dModel: 16, nCtx: 8, dHead: 4, dVocab: 20 };
   * const model = HookedTransformer.fromConfig(cfg);
   * const ov = OV(model);                 // [2, 4, 16, 16]
   * const head = ov.index(1, 3);          // layer 1, head 3: [16, 16], still factored
   * const firstHeads = ov.index(null, [0, 2]);   // [2, 2, 16, 16]
   * [head, firstHeads, ov, model].forEach((x) => x.dispose());
   * ```
   */
  index(...idx: LeadingIndex[]): FactoredMatrix {
    this.assertLive();
    const lead = this.shape.slice(0, -2);
    if (idx.length > lead.length) {
      throw new InvalidArgumentError(
        `FactoredMatrix.index: given ${idx.length} indices for leading dims ${fmtShape(lead)}, expected at most ${lead.length}.`,
      );
    }
    const begin: number[] = [];
    const size: number[] = [];
    const keep: number[] = [];
    lead.forEach((n, d) => {
      const e = idx[d] ?? null;
      if (e === null) {
        begin.push(0);
        size.push(n);
        keep.push(n);
      } else if (typeof e === 'number') {
        const k = e < 0 ? e + n : e;
        if (!Number.isInteger(e) || k < 0 || k >= n) {
          throw new InvalidArgumentError(
            `FactoredMatrix.index: given ${e} for leading dim ${d} of size ${n}, expected an integer in [${-n}, ${n - 1}].`,
          );
        }
        begin.push(k);
        size.push(1);
      } else {
        const [s0, e0] = e;
        const s = s0 < 0 ? s0 + n : s0;
        const t = e0 < 0 ? e0 + n : e0;
        if (!Number.isInteger(s0) || !Number.isInteger(e0) || s < 0 || t > n || s > t) {
          throw new InvalidArgumentError(
            `FactoredMatrix.index: given range [${s0}, ${e0}) for leading dim ${d} of size ${n}, expected 0 ≤ start ≤ stop ≤ ${n}.`,
          );
        }
        begin.push(s);
        size.push(t - s);
        keep.push(t - s);
      }
    });
    const cut = (t: tf.Tensor): tf.Tensor =>
      tf.tidy(() =>
        tf.slice(t, [...begin, 0, 0], [...size, -1, -1]).reshape([...keep, ...t.shape.slice(-2)]),
      );
    return FactoredMatrix.adopt(cut(this.a), cut(this.b));
  }

  /**
   * The Frobenius norm of the product [...], without forming it: ‖AB‖² = Σ (AᵀA) ∘ (BBᵀ), two
   * mdim × mdim Gram matrices. (TL sums the squared singular values; the value is the same.)
   */
  norm(): tf.Tensor {
    this.assertLive();
    return tf.tidy(() => {
      const ga = tf.matMul(this.a, this.a, true, false);
      const gb = tf.matMul(this.b, this.b, false, true);
      return tf.sqrt(tf.relu(tf.sum(tf.mul(ga, gb), [-2, -1])));
    });
  }

  /**
   * The SVD of the product, `AB = U · diag(S) · Vhᵀ` (TL's convention: `Vh` holds V's columns),
   * from the factors' QRs and a small core SVD on the host (float64). U [..., ldim, r],
   * S [..., r] descending, Vh [..., rdim, r], r = min(ldim, mdim, rdim). Computed once per
   * matrix; each call returns new tensors the caller owns.
   */
  async svd(): Promise<FactoredSvd> {
    this.assertLive();
    this.svdCache ??= factoredSvd(this.a, this.b).then((r) => {
      // Disposed while the SVD ran: nobody will free these otherwise.
      if (this.disposed) tf.dispose([r.U, r.S, r.Vh]);
      else this.svdDone = r;
      return r;
    });
    const { U, S, Vh } = await this.svdCache;
    this.assertLive();
    return { U: U.clone(), S: S.clone(), Vh: Vh.clone() };
  }

  /** U of {@link svd} [..., ldim, r]. */
  async U(): Promise<tf.Tensor> {
    return this.svdPart('U');
  }

  /** S of {@link svd} [..., r]. */
  async S(): Promise<tf.Tensor> {
    return this.svdPart('S');
  }

  /** Vh of {@link svd} [..., rdim, r] (V itself: `AB = U diag(S) Vhᵀ`). */
  async Vh(): Promise<tf.Tensor> {
    return this.svdPart('Vh');
  }

  private async svdPart(key: keyof FactoredSvd): Promise<tf.Tensor> {
    const parts = await this.svd();
    for (const k of ['U', 'S', 'Vh'] as const) if (k !== key) parts[k].dispose();
    return parts[key];
  }

  /**
   * The eigenvalues of the product (TL's `eigenvalues`): those of the small `B @ A`
   * [..., mdim, mdim], which AB shares apart from zeros. Computed on the host in float64 and
   * sorted by descending modulus (TL returns LAPACK's unspecified order).
   * @returns real and imaginary parts [..., mdim].
   * @throws InvalidArgumentError unless the product is square.
   */
  async eigenvalues(): Promise<Eigenvalues> {
    this.assertLive();
    this.requireSquare('eigenvalues');
    const ba = this.BA();
    const lead = ba.shape.slice(0, -2);
    const m = this.mdim;
    let data: Float32Array | Int32Array | Uint8Array;
    try {
      data = await ba.data();
    } finally {
      ba.dispose();
    }
    const n = sizeOf(lead);
    const re = new Float32Array(n * m);
    const im = new Float32Array(n * m);
    for (let i = 0; i < n; i++) {
      const e = hostEigenvalues(hostSlice(data, i, m, m));
      re.set(Float32Array.from(e.real), i * m);
      im.set(Float32Array.from(e.imag), i * m);
    }
    return { real: tf.tensor(re, [...lead, m]), imag: tf.tensor(im, [...lead, m]) };
  }

  /** `S[..., :, None] * Vhᵀ`, shape `[..., r, rdim]`: the product with its left orthogonal factor removed (TL's `collapse_l`). */
  async collapseL(): Promise<tf.Tensor> {
    const { U, S, Vh } = await this.svd();
    try {
      return tf.tidy(() => tf.mul(S.expandDims(-1), swapLast(Vh)));
    } finally {
      tf.dispose([U, S, Vh]);
    }
  }

  /** `U * S[..., None, :]`, shape `[..., ldim, r]`: the product with its right orthogonal factor removed (TL's `collapse_r`). */
  async collapseR(): Promise<tf.Tensor> {
    const { U, S, Vh } = await this.svd();
    try {
      return tf.tidy(() => tf.mul(U, S.expandDims(-2)));
    } finally {
      tf.dispose([U, S, Vh]);
    }
  }

  /** The same matrix factored evenly, `(U √S) @ (√S Vhᵀ)` (TL's `make_even`). */
  async makeEven(): Promise<FactoredMatrix> {
    const { U, S, Vh } = await this.svd();
    try {
      const [a, b] = tf.tidy((): [tf.Tensor, tf.Tensor] => {
        const root = tf.sqrt(S);
        return [tf.mul(U, root.expandDims(-2)), tf.mul(root.expandDims(-1), swapLast(Vh))];
      });
      return FactoredMatrix.adopt(a, b);
    } finally {
      tf.dispose([U, S, Vh]);
    }
  }

  /**
   * The top-left k × … × k corner of the product (TL's `get_corner`: every dim, leading ones
   * included, cut to its first k entries), formed from the first k rows of A and columns of B only.
   */
  getCorner(k = 3): tf.Tensor {
    this.assertLive();
    if (!Number.isInteger(k) || k < 1) {
      throw new InvalidArgumentError(
        `FactoredMatrix.getCorner: given k = ${k}, expected a positive integer.`,
      );
    }
    return tf.tidy(() => {
      const lead = this.shape.slice(0, -2).map((n) => Math.min(n, k));
      const zeros = lead.map(() => 0);
      const a = tf.slice(this.a, [...zeros, 0, 0], [...lead, Math.min(k, this.ldim), -1]);
      const b = tf.slice(this.b, [...zeros, 0, 0], [...lead, -1, Math.min(k, this.rdim)]);
      return tf.matMul(a, b);
    });
  }

  /** `FactoredMatrix: Shape([...]), Hidden Dim(mdim)`, as TL's repr. */
  toString(): string {
    return `FactoredMatrix: Shape(${fmtShape(this.shape)}), Hidden Dim(${this.mdim})`;
  }

  /** Frees the factors and any cached SVD. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([this.a, this.b]);
    if (this.svdDone) tf.dispose([this.svdDone.U, this.svdDone.S, this.svdDone.Vh]);
    this.svdDone = undefined;
    this.svdCache = undefined;
  }

  private requireSquare(what: string): void {
    if (this.ldim !== this.rdim) {
      throw new InvalidArgumentError(
        `FactoredMatrix.${what}: given a matrix of shape ${fmtShape(this.shape)}, expected a square one (ldim = rdim).`,
      );
    }
  }

  private assertLive(): void {
    if (this.disposed) throw new LazylensError('This FactoredMatrix was disposed; its factors are gone.');
  }
}

/** Swaps the last two dims. */
function swapLast(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  perm[t.rank - 2] = t.rank - 1;
  perm[t.rank - 1] = t.rank - 2;
  return tf.transpose(t, perm);
}
