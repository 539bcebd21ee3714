/** Splitting `org/name@revision` into a Hub repository id and a revision. */

/** A Hub repository and the revision (branch, tag or commit) to load from it. */
export interface HubModelRef {
  /** `org/name`, or a bare `name` for the Hub's few canonical repositories (`gpt2`). */
  repoId: string;
  /** Branch, tag or 40-hex commit; `main` unless one was given after `@`. */
  revision: string;
}

const PART = /^[A-Za-z0-9](?:[\w.-]{0,94}[A-Za-z0-9])?$/;

/** Whether `s` is a valid Hub repository id: `name` or `org/name` (letters, digits, `-`, `_`, `.`). */
export function isRepoId(s: string): boolean {
  const parts = s.split('/');
  if (parts.length > 2) return false;
  return parts.every((p) => PART.test(p) && !p.includes('--') && !p.includes('..'));
}

/**
 * `org/name@revision` (the revision optional) as a repo id and revision, or undefined when `spec`
 * is not shaped like one (so the caller can treat it as a path). `'EleutherAI/pythia-160m@step3000'`
 * gives `{ repoId: 'EleutherAI/pythia-160m', revision: 'step3000' }`.
 */
export function parseHubName(spec: string): HubModelRef | undefined {
  const at = spec.indexOf('@');
  const repoId = at < 0 ? spec : spec.slice(0, at);
  const revision = at < 0 ? 'main' : spec.slice(at + 1);
  if (!isRepoId(repoId) || revision === '' || /\s|\.\./.test(revision)) return undefined;
  return { repoId, revision };
}

/** Whether `revision` is a full commit hash (the cache then needs no `refs/` lookup). */
export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}
