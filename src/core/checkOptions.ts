/**
 * The options object every public entry point takes is checked here, so that a misspelt or
 * unsupported option is an error naming it rather than a setting silently ignored.
 */
import { InvalidArgumentError } from '../errors.js';
import { closestNames } from '../util/closestNames.js';

/** The accepted keys of an options type, written so the compiler checks the list is complete. */
export type OptionKeys<T> = Readonly<Record<keyof Required<T>, true>>;

/**
 * @param options what the caller passed (undefined is fine: every option has a default).
 * @param accepted the keys `where` understands.
 * @param where the entry point, for the message (`'forward'`, `'HookedTransformer.fromConfig'`).
 * @throws InvalidArgumentError naming the first unknown key, its nearest accepted keys and the full list.
 */
export function checkOptions(
  options: unknown,
  accepted: Readonly<Record<string, true>>,
  where: string,
): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const given = options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options;
    throw new InvalidArgumentError(`${where}: options given as ${given}; expected an object.`);
  }
  const keys = Object.keys(accepted);
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(accepted, key)) continue;
    const near = closestNames(key, keys, 1);
    const hint = near.length ? ` Did you mean '${near[0]}'?` : '';
    throw new InvalidArgumentError(
      `${where}: unknown option '${key}' given; expected one of ${keys.map((k) => `'${k}'`).join(', ')}.${hint}`,
    );
  }
}
