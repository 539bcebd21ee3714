/**
 * Where the Hub is and how to talk to it, read from the same environment variables
 * huggingface_hub reads, so a machine set up for Python tools works here unchanged.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The Hub endpoint, credentials, cache folder and offline switch in effect for a download. */
export interface HubSettings {
  /** Base URL without a trailing slash, e.g. `https://huggingface.co`. */
  endpoint: string;
  /** A user access token, sent as `Authorization: Bearer …` to the endpoint only. */
  token?: string;
  /** The hub cache root (holds `models--org--name` folders). */
  cacheDir: string;
  /** Use the cache only; never make a request. */
  offline: boolean;
}

const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** huggingface_hub's truthy spellings of a boolean environment variable. */
function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['1', 'on', 'yes', 'true'].includes(value.trim().toLowerCase());
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

/** The token `huggingface-cli login` saved (`$HF_TOKEN_PATH`, else `$HF_HOME/token`), if any. */
function savedToken(env: NodeJS.ProcessEnv, home: string): string | undefined {
  try {
    return nonEmpty(readFileSync(nonEmpty(env.HF_TOKEN_PATH) ?? join(home, 'token'), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The settings from the environment: `HF_ENDPOINT`, `HF_TOKEN` (or the older
 * `HUGGING_FACE_HUB_TOKEN`, or the token `huggingface-cli login` saved), `HF_HUB_CACHE` (else `$HF_HOME/hub`, else
 * `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`) and `HF_HUB_OFFLINE`.
 */
export function hubSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): HubSettings {
  const endpoint = (nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const home =
    nonEmpty(env.HF_HOME) ?? join(nonEmpty(env.XDG_CACHE_HOME) ?? join(homedir(), '.cache'), 'huggingface');
  const token = nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN) ?? savedToken(env, home);
  const cacheDir = resolve(nonEmpty(env.HF_HUB_CACHE) ?? join(home, 'hub'));
  const offline = isTrue(env.HF_HUB_OFFLINE) || isTrue(env.TRANSFORMERS_OFFLINE);
  return { endpoint, ...(token ? { token } : {}), cacheDir, offline };
}
