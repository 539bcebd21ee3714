/**
 * Nearest-name suggestions for error messages: edit distance, with hook names also compared in
 * their short form so shorthand finds its hooks.
 */
/** Up to `n` candidates nearest to `given` by edit distance, nearest first. */
export function closestNames(given: string, candidates: Iterable<string>, n = 3): string[] {
  // Also compare against the short form (`blocks.3.attn.hook_z` → `z`), so shorthand finds its hooks.
  const short = (s: string): string => s.replace(/^blocks\.\d+\./, '').replace(/(^|\.)hook_/, '$1');
  const scored = [...new Set(candidates)].map((c) => ({
    c,
    d: Math.min(editDistance(given, c), editDistance(short(given), short(c)) + 0.5),
  }));
  scored.sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  return scored.slice(0, n).map((s) => s.c);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
