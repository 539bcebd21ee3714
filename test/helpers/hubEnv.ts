// Per-test Hub environment: a fresh LocalHub on a random port, and a fresh temporary HF_HOME, with
// every Hub environment variable set for the test and restored after it. Nothing reaches the internet.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { LocalHub } from './localHub.js';

const VARS = [
  'HF_TOKEN_PATH',
  'HF_ENDPOINT',
  'HF_HOME',
  'HF_HUB_CACHE',
  'HF_TOKEN',
  'HUGGING_FACE_HUB_TOKEN',
  'HF_HUB_OFFLINE',
  'TRANSFORMERS_OFFLINE',
];

export interface HubEnv {
  hub: LocalHub;
  /** This test's HF_HOME. */
  home: string;
  /** `$HF_HOME/hub`. */
  cacheDir: string;
}

/** Registers the hooks; the returned object is filled in before each test. */
export function useHubEnv(): HubEnv {
  const env = {} as HubEnv;
  let saved: Record<string, string | undefined> = {};
  beforeEach(async () => {
    saved = Object.fromEntries(VARS.map((k) => [k, process.env[k]]));
    for (const k of VARS) delete process.env[k];
    env.hub = await LocalHub.start();
    env.home = mkdtempSync(join(tmpdir(), 'lazylens-hf-home-'));
    env.cacheDir = join(env.home, 'hub');
    process.env.HF_ENDPOINT = env.hub.url;
    process.env.HF_HOME = env.home;
  });
  afterEach(async () => {
    await env.hub.close();
    rmSync(env.home, { recursive: true, force: true });
    for (const k of VARS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  return env;
}
