// Types by rank: what `Lazy` says about the rank and dtype of a result must be what runs. The
// expectTypeOf lines are checked by `npm run typecheck`; the runtime lines check that each typed
// rank is the real one, so the types cannot drift from the engine.
import * as tf from '@tensorflow/tfjs';
import { expect, expectTypeOf, it } from 'vitest';
import * as g from '../../graph/index.js';
import { hasLabels, Lazy, Slice, TensorSource, type AnyLazy, type LabelledLazy } from '../../graph/index.js';
import { describeBackends } from '../helpers/backends.js';

/** Depth of nested arrays (0 for a number). */
const depth = (x: unknown): number => (Array.isArray(x) ? 1 + depth(x[0]) : 0);

describeBackends('Lazy types by rank', () => {
  it('tracks the rank through ops, and array() returns arrays of that depth', async () => {
    const t3 = tf.ones<tf.Rank.R3>([2, 3, 4]);
    const t1 = tf.ones<tf.Rank.R1>([4]);
    try {
      const x = Lazy.of(t3);
      expectTypeOf(x).toEqualTypeOf<Lazy<3, g.DType>>();
      const cases = {
        dot: x.dot(t1),
        sliceInt: x.slice(0, 1),
        sliceRange: x.slice(0, { stop: 1 }),
        sliceList: x.slice(1, [0, 2]),
        sumAll: x.sum(),
        sumOne: x.sum(2),
        sumKeep: x.sum(2, true),
        meanOne: x.mean(0),
        mulNumber: x.mul(2),
        addWider: x.slice(0, 0).add(x),
        center: x.center(),
        reshape: x.reshape([6, 4]),
        expandDims: x.expandDims(0),
        transpose: x.transpose([2, 0, 1]),
        stack: Lazy.stack([x, x]),
        concat: Lazy.concat([x, x]),
      };
      expectTypeOf(cases.dot).toEqualTypeOf<Lazy<2, g.DType>>();
      expectTypeOf(cases.sliceInt).toEqualTypeOf<Lazy<2, g.DType>>();
      expectTypeOf(cases.sliceRange).toEqualTypeOf<Lazy<3, g.DType>>();
      expectTypeOf(cases.sliceList).toEqualTypeOf<Lazy<3, g.DType>>();
      expectTypeOf(cases.sumAll).toEqualTypeOf<Lazy<0, g.DType>>();
      expectTypeOf(cases.sumOne).toEqualTypeOf<Lazy<2, g.DType>>();
      expectTypeOf(cases.sumKeep).toEqualTypeOf<Lazy<3, g.DType>>();
      expectTypeOf(cases.meanOne).toEqualTypeOf<Lazy<2, 'float32'>>();
      expectTypeOf(cases.mulNumber).toEqualTypeOf<Lazy<3, g.DType>>();
      expectTypeOf(cases.addWider).toEqualTypeOf<Lazy<3, g.DType>>();
      expectTypeOf(cases.center).toEqualTypeOf<Lazy<3, 'float32'>>();
      expectTypeOf(cases.reshape).toEqualTypeOf<Lazy<2, g.DType>>();
      expectTypeOf(cases.expandDims).toEqualTypeOf<Lazy<4, g.DType>>();
      expectTypeOf(cases.transpose).toEqualTypeOf<Lazy<3, g.DType>>();
      expectTypeOf(cases.stack).toEqualTypeOf<Lazy<4, g.DType>>();
      expectTypeOf(cases.concat).toEqualTypeOf<Lazy<3, g.DType>>();
      expectTypeOf(await cases.dot.array()).toEqualTypeOf<number[][]>();
      expectTypeOf(await cases.sumAll.array()).toEqualTypeOf<number>();
      expectTypeOf(await cases.stack.array()).toEqualTypeOf<number[][][][]>();
      const expected = { dot: 2, sliceInt: 2, sliceRange: 3, sliceList: 3, sumAll: 0, sumOne: 2 };
      const more = { sumKeep: 3, meanOne: 2, mulNumber: 3, addWider: 3, center: 3, reshape: 2 };
      const rest = { expandDims: 4, transpose: 3, stack: 4, concat: 3 };
      for (const [name, rank] of Object.entries({ ...expected, ...more, ...rest })) {
        const lazy: AnyLazy = cases[name as keyof typeof cases];
        expect(lazy.rank, name).toBe(rank);
        expect(depth(await lazy.array()), name).toBe(rank);
      }
    } finally {
      t3.dispose();
      t1.dispose();
    }
  });

  it('keeps the rank unknown where it cannot be known, and a typed Lazy is still a Lazy', () => {
    const src = new TensorSource('types');
    const fromNode = new Lazy(g.leaf('x', src, { shape: [2, 3] }));
    expectTypeOf(fromNode).toEqualTypeOf<Lazy<number, g.DType>>();
    expectTypeOf<Awaited<ReturnType<typeof fromNode.array>>>().toBeUnknown();
    expectTypeOf(fromNode.slice(0, 1)).toEqualTypeOf<Lazy<number, g.DType>>();
    // A Slice may be an integer slice (dropping the dim) or not: unknown.
    expectTypeOf((fromNode as Lazy<2>).slice(0, Slice.from(0))).toEqualTypeOf<Lazy<number, g.DType>>();
    expectTypeOf(fromNode.sum([0, 1])).toEqualTypeOf<Lazy<number, g.DType>>();
    expectTypeOf(fromNode.einsum('ab,ab->a', fromNode)).toEqualTypeOf<Lazy<number, g.DType>>();
    const shape: number[] = [6];
    expectTypeOf(fromNode.reshape(shape)).toEqualTypeOf<Lazy<number, g.DType>>();
    expectTypeOf<ReturnType<typeof Lazy.of<tf.Tensor>>>().toEqualTypeOf<Lazy<number, g.DType>>();
    expectTypeOf<Lazy<2, 'float32'>>().toExtend<Lazy>();
    expectTypeOf<LabelledLazy<3, 'float32'>>().toExtend<Lazy>();
    expectTypeOf<Lazy<2, 'float32'>>().toExtend<Lazy<number, 'float32'>>();
  });

  it('types data() by dtype and labels by presence', async () => {
    const src = new TensorSource('types', [['x', tf.ones([2, 3])]], true);
    try {
      const x = new Lazy<2>(src.leaf('x'));
      expectTypeOf(await x.center().data()).toEqualTypeOf<Float32Array>();
      expectTypeOf(await x.data()).toEqualTypeOf<Float32Array | Int32Array>();
      expect(await x.center().data()).toBeInstanceOf(Float32Array);
      const labelled = Lazy.stack([x, x], { labels: ['a', 'b'] });
      expectTypeOf(labelled).toEqualTypeOf<LabelledLazy<3, g.DType>>();
      expectTypeOf(labelled.labels).toEqualTypeOf<readonly string[]>();
      expect(labelled.labels).toEqual(['a', 'b']);
      const unlabelled = Lazy.stack([x, x]);
      expectTypeOf(unlabelled.labels).toEqualTypeOf<readonly string[] | undefined>();
      expect(hasLabels(unlabelled)).toBe(false);
      expect(hasLabels(labelled)).toBe(true);
      const some: Lazy<3> = unlabelled.slice(0, { stop: 2 });
      if (hasLabels(some)) expectTypeOf(some.labels).toEqualTypeOf<readonly string[]>();
    } finally {
      src.dispose();
    }
  });
});
