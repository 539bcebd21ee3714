// The rule-pattern matcher on its own: what matches, what declines, what is captured (nested too),
// and how kind tests see through memos that hold nothing yet.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import * as g from '../../graph/index.js';
import { Memo, TensorSource } from '../../graph/index.js';
import { any, exact, is, match, peel } from '../../graph/pattern.js';
import { rule } from '../../graph/rules.js';

const src = new TensorSource('test');
const x = (shape: number[], name = `p${shape.join('x')}`) => g.leaf(name, src, { shape });

describe('pattern', () => {
  it('matches a root and its children and captures each by name', () => {
    const st = g.stack([x([2, 3]), x([2, 3], 'q')]);
    const v = x([3]);
    const n = g.dot(st, v);
    const c = match(is('dot', 'n', is('stack', 'st'), any('v')), n);
    expect(c).toEqual({ n, st, v });
    expect(c?.n).toBe(n);
    expect(c?.st).toBe(st);
  });

  it('declines a wrong root kind, a wrong child kind, and a child the node does not have', () => {
    const a = x([2, 3]);
    const n = g.center(a);
    expect(match(is('dot', 'n'), n)).toBeUndefined();
    expect(match(is('center', 'n', is('stack', 's')), n)).toBeUndefined();
    expect(match(is('center', 'n', any('x'), any('y')), n)).toBeUndefined();
    expect(match(is('leaf', 'n', any('x')), a)).toBeUndefined();
  });

  it('accepts any of several kinds, and leaves unlisted inputs unlooked-at', () => {
    const [a, b] = [x([3]), x([3], 'b')];
    const p = is('dot', 'n', is(['add', 'sub'], 'e'));
    expect(match(p, g.dot(g.add(a, b), a))?.e.kind).toBe('add');
    expect(match(p, g.dot(g.sub(a, b), a))?.e.kind).toBe('sub');
    expect(match(p, g.dot(g.mul(a, b), a))).toBeUndefined();
    // Only input 0 is constrained; input 1 (any kind) is not captured.
    expect(Object.keys(match(p, g.dot(g.add(a, b), g.center(a))) ?? {})).toEqual(['n', 'e']);
  });

  it('matches nested children at any depth and captures them all', () => {
    const [a, s, v] = [x([2, 3]), x([2, 1], 's'), x([3], 'v')];
    const n = g.dot(g.scale(g.center(a), s), v);
    const p = is('dot', 'n', is('scale', 'sc', is('center', 'c', any('x')), any('s')), any('v'));
    const c = match(p, n);
    expect(c?.x).toBe(a);
    expect(c?.s).toBe(s);
    expect(c?.v).toBe(v);
    expect(c?.c.kind).toBe('center');
    // The same shape one level off does not match.
    expect(match(p, g.dot(g.scale(a, s), v))).toBeUndefined();
  });

  it('rejects a capture name used twice', () => {
    expect(() => is('dot', 'n', any('n'))).toThrow(/capture name 'n' twice/);
    expect(() => is('dot', 'n', is('center', 'c', any('x')), any('x'))).toThrow(/'x' twice/);
  });

  it('sees through an empty memo below the root, but not a filled one, an exact() test, or an any()', () => {
    const memo = new Memo();
    const a = x([2, 3]);
    const st = g.stack([a, a]);
    const m = g.memo(st, memo);
    const n = g.slice(m, 0, 1);
    try {
      expect(peel(m)).toBe(st);
      expect(match(is('slice', 'n', is('stack', 'st')), n)?.st).toBe(st);
      expect(match(is('slice', 'n', exact(is('stack', 'st'))), n)).toBeUndefined();
      expect(match(is('slice', 'n', any('m')), n)?.m).toBe(m);
      // The root itself is never peeled.
      expect(match(is('stack', 'st'), m)).toBeUndefined();
      memo.set(st, tf.zeros([2, 2, 3]));
      expect(peel(m)).toBe(m);
      expect(match(is('slice', 'n', is('stack', 'st')), n)).toBeUndefined();
      expect(match(is('slice', 'n', is('memo', 'm')), n)?.m).toBe(m);
    } finally {
      memo.dispose();
    }
    // A disposed memo is opaque too (materializing it reports the disposal).
    expect(peel(m)).toBe(m);
  });

  it('builds a rule whose root is the pattern root, and refuses a pattern with several root kinds', () => {
    const r = rule(
      'dot-center',
      'dotThroughCenter',
      is('dot', 'n', is('center', 'c', any('x')), any('v')),
      ({ x, v }) => g.dot(x, g.center(v)),
    );
    expect(r.root).toBe('dot');
    const [a, v] = [x([2, 3]), x([3], 'v')];
    const c = match(r.pattern, g.dot(g.center(a), v));
    expect(c && r.rewrite(c)).toBe(g.dot(a, g.center(v)));
    expect(() => rule('two', 'simplify', is(['add', 'sub'], 'n'), () => undefined)).toThrow(/2 root kinds/);
  });
});
