/** Options for loading from the Hugging Face Hub, and how they combine with the environment. */
import { InvalidArgumentError } from '../../errors.js';
import type { DownloadProgress } from './DownloadProgressBar.js';
import { hubSettingsFromEnv, type HubSettings } from './hubSettings.js';

/**
 * How `fromPretrained` downloads a model by name. Every field is optional; the environment
 * (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_CACHE`/`HF_HOME`, `HF_HUB_OFFLINE`) supplies the rest.
 */
export interface HubOptions {
  /** Called as each file downloads (not for files already in the cache). */
  onProgress?: (progress: DownloadProgress) => void;
  /** Draw a progress bar on stderr; by default only when stderr is a terminal. */
  progressBar?: boolean;
  /** The Hub's base URL, instead of `HF_ENDPOINT`. */
  endpoint?: string;
  /** An access token for gated or private models, instead of `HF_TOKEN`. */
  token?: string;
  /** The cache folder, instead of `HF_HUB_CACHE` / `$HF_HOME/hub`. */
  cacheDir?: string;
  /** Use the cache only, instead of `HF_HUB_OFFLINE`. */
  offline?: boolean;
}

const KEYS: readonly (keyof HubOptions)[] = [
  'onProgress',
  'progressBar',
  'endpoint',
  'token',
  'cacheDir',
  'offline',
];

/**
 * The settings for a download: `options` over the environment.
 * @throws InvalidArgumentError for an option lazylens does not know.
 */
export function hubSettings(options: HubOptions = {}): HubSettings {
  const unknown = Object.keys(options).filter((k) => !(KEYS as readonly string[]).includes(k));
  if (unknown.length) {
    throw new InvalidArgumentError(
      `Hub options: given ${unknown.map((k) => `'${k}'`).join(', ')}; expected only ${KEYS.join(', ')}.`,
    );
  }
  const env = hubSettingsFromEnv();
  const settings: HubSettings = {
    endpoint: options.endpoint?.replace(/\/+$/, '') ?? env.endpoint,
    cacheDir: options.cacheDir ?? env.cacheDir,
    offline: options.offline ?? env.offline,
  };
  const token = options.token ?? env.token;
  if (token) settings.token = token;
  return settings;
}
