/**
 * Key resolution: how a cache key or a hook matcher written the TransformerLens way (a full name,
 * a shorthand, or a `[name, layer?, layerType?]` tuple with negative layers from the end) becomes
 * one full hook name. The cache's `get` and the model's `namesFilter` / hooks share it.
 */
import { BadLayerError, InvalidArgumentError } from '../errors.js';
import { getActName } from './getActName.js';

/** A cache key: a full hook name, a shorthand, or `[name, layer?, layerType?]` (negative layers count from the end). */
export type CacheKey = string | readonly [string, (number | null)?, (string | null)?];

/** The full hook name a string key refers to: itself when it is a known name, else its expansion as shorthand. */
export function resolveHookName(name: string, isKnown: (name: string) => boolean): string {
  return isKnown(name) ? name : getActName(name);
}

/**
 * The full hook name `key` refers to, without checking that it exists. A string that is already
 * a known name (`isKnown`) stays as it is, so names that happen to look like shorthand survive.
 * @throws BadLayerError for a tuple's layer outside [−nLayers, nLayers − 1].
 */
export function resolveHookKey(key: CacheKey, nLayers: number, isKnown: (name: string) => boolean): string {
  if (typeof key === 'string') return resolveHookName(key, isKnown);
  if (!Array.isArray(key) || typeof key[0] !== 'string') {
    throw new InvalidArgumentError(
      `Cache key ${JSON.stringify(key)} given; expected a hook name, a shorthand or a [name, layer?, layerType?] tuple.`,
    );
  }
  const [name, rawLayer, layerType] = key;
  let layer = rawLayer ?? undefined;
  if (layer !== undefined) {
    if (!Number.isInteger(layer) || layer < -nLayers || layer >= nLayers) {
      throw new BadLayerError(
        `Layer ${layer} given for '${name}'; expected an integer in [${-nLayers}, ${nLayers - 1}].`,
      );
    }
    if (layer < 0) layer += nLayers;
  }
  return getActName(name, layer, layerType);
}
