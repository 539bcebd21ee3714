// The package's public surface: what a user's script names is exported, internals are not.
import { describe, expect, it } from 'vitest';
import * as lazylens from '../src/index.js';

describe('public surface', () => {
  it('exports the lazy result, the planner options and every error class', () => {
    for (const name of [
      'HookedTransformer',
      'ActivationCache',
      'Lazy',
      'PlanOptions',
      'Slice',
      'getActName',
      'attributionPatching',
    ]) {
      expect(lazylens, name).toHaveProperty(name);
    }
    const errors = Object.entries(lazylens).filter(([name]) => name.endsWith('Error'));
    for (const [name, cls] of errors) {
      expect(new (cls as new (m: string) => Error)('m'), name).toBeInstanceOf(lazylens.LazylensError);
    }
    expect(errors.map(([n]) => n)).toEqual(expect.arrayContaining(['UsageError', 'CliError', 'ShapeError']));
  });

  it('keeps helpers internal', () => {
    expect(lazylens).not.toHaveProperty('closestNames');
    expect(lazylens).not.toHaveProperty('resolveHookKey');
  });
});
