// Fusion by counting, memory by budget, from the cost table, never a timer (timers vary by machine
// and load): the full per-neuron logit attribution at GPT-2-small shape, planned without any tensor
// existing.
import { describe, expect, it } from 'vitest';
import { bytesOf, estimate, PlanOptions, plan, type LeafSource, type Node } from '../../graph/index.js';
import { topoOrder } from '../../graph/node.js';
import { buildLogitAttribution, GPT2_SMALL } from '../../bench/graph.js';

// Leaves are declared with shapes; nothing is resolved because nothing runs.
const nowhere: LeafSource = { label: 'declared only', disposed: false, resolve: () => undefined };

describe('full neuron decomposition budget (GPT-2 small, batch 4, pos 64)', () => {
  const lazy = buildLogitAttribution(GPT2_SMALL, nowhere, nowhere);
  const p = plan(lazy.node, PlanOptions.with({ validate: true }));

  it('has the 37,011 labelled components of TransformerLens', () => {
    expect(lazy.shape).toEqual([37011, 4, 64]);
    expect(lazy.labels?.slice(0, 2)).toEqual(['L0H0', 'L0H1']);
    expect(lazy.labels?.slice(144, 146)).toEqual(['L0N0', 'L0N1']);
    expect(lazy.labels?.slice(-3)).toEqual(['embed', 'pos_embed', 'bias']);
    expect(p.root.labels).toBe(lazy.labels);
  });

  it('keeps the planned peak under 100 MiB where the naive stack needs ~29 GB', () => {
    const stackBytes = 37011 * 4 * 64 * 768 * 4;
    expect(p.naiveCost.peakBytes).toBeGreaterThanOrEqual(stackBytes);
    expect(p.fellBack).toBe(false);
    expect(p.plannedCost.peakBytes).toBeLessThan(100 * 2 ** 20);
    expect(p.naiveCost.peakBytes / p.plannedCost.peakBytes).toBeGreaterThan(100);
    expect(estimate([p.root]).peakBytes).toBe(p.plannedCost.peakBytes);
  });

  it('lets no d_model-wide tensor of neuron or component width survive the plan', () => {
    const wide = (n: Node): boolean => n.shape.at(-1) === 768 && n.kind !== 'leaf' && bytesOf(n) > 2 ** 20;
    expect(topoOrder([p.naive]).filter(wide).length).toBeGreaterThan(0);
    expect(topoOrder([p.root]).filter(wide)).toEqual([]);
    // Neuron results become a[..., n] * (W_out v)[n]; head results einsum(z, W_O v).
    const kinds = topoOrder([p.root]).map((n) => n.kind);
    expect(kinds.filter((k) => k === 'einsum')).toHaveLength(12);
    expect(kinds.filter((k) => k === 'mul')).toHaveLength(12);
    expect(p.fired.map((f) => f.rule)).toEqual(
      expect.arrayContaining(['dot-neuron', 'dot-einsum', 'dot-center', 'dot-scale', 'dot-concat']),
    );
  });

  it('shares the centered direction between all components (CSE by interning)', () => {
    const centers = topoOrder([p.root]).filter((n) => n.kind === 'center');
    expect(centers).toHaveLength(1);
  });

  it('fuses per-position directions [batch, pos, d_model] just as well', () => {
    const perPos = buildLogitAttribution(GPT2_SMALL, nowhere, nowhere, true);
    const q = plan(perPos.node, PlanOptions.with({ validate: true }));
    expect(q.fellBack).toBe(false);
    expect(q.plannedCost.peakBytes).toBeLessThan(150 * 2 ** 20);
    expect(q.naiveCost.peakBytes / q.plannedCost.peakBytes).toBeGreaterThan(100);
    expect(q.fired.map((f) => f.rule)).toEqual(
      expect.arrayContaining(['dot-neuron', 'dot-einsum', 'dot-transpose']),
    );
  });
});
