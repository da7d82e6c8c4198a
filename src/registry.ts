/**
 * The one lookup of a name in a registry (backtest strategies, model families): the entry, or an
 * error that lists the names there are.
 *
 * @module
 */

/**
 * The entry of a registry under a name.
 *
 * @param registry entries by name
 * @param name the name asked for
 * @param what what an entry is, for the message (`"model family"`)
 * @returns the entry
 * @throws {RangeError} `Unknown <what> "<name>": expected one of "a", "b"` when there is none
 * @example
 * ```ts
 * lookup({ simple: 1, nuanced: 2 }, "simple", "backtest strategy"); // 1
 * ```
 */
export function lookup<T>(registry: Readonly<Record<string, T>>, name: string, what: string): T {
  if (!Object.hasOwn(registry, name)) {
    const names = Object.keys(registry).map((k) => `"${k}"`).join(", ");
    throw new RangeError(`Unknown ${what} "${name}": expected one of ${names}`);
  }
  return registry[name];
}
