/**
 * The options commands declare, in short: a flag, a string option, and the options several
 * commands share (where runs, models, checkpoints and datasets are written), spelled once.
 * `parseCommandArgs` in `args.ts` parses them.
 *
 * @module
 */
import { CHECKPOINTS_DIR, MODELS_DIR, RESULTS_DIR } from "../paths.ts";
import type { OptionSpec } from "./args.ts";

/** A flag: `--name`, true when given. */
export const FLAG = { type: "boolean" } as const satisfies OptionSpec;

/**
 * A string option, `--name VALUE`.
 *
 * @param value the value's name in messages, e.g. `DIR`
 * @param more what else the option is: its `default`, whether it is `multiple`, what it `writes`
 * @returns the option
 * @example
 * ```ts
 * const options = { seed: stringOption("N"), out: stringOption("DIR", { writes: "folder" }) };
 * ```
 */
export function stringOption<const M extends Omit<OptionSpec, "type" | "value"> = object>(
  value: string,
  more?: M,
): { type: "string"; value: string } & M {
  return { type: "string", value, ...more } as { type: "string"; value: string } & M;
}

/**
 * A string option that may repeat (`--set a=1 --set b=2`): its values are collected in order.
 *
 * @param value the value's name in messages, e.g. `KEY=VALUE`
 * @returns the option
 */
export function repeatedOption(value: string): { type: "string"; value: string; multiple: true } {
  return stringOption(value, { multiple: true });
}

/** `--results DIR`: the results folder a command writes runs into. */
export const RESULTS_OPTION = stringOption("DIR", { default: RESULTS_DIR, writes: "folder" });
/** `--store DIR` (`run`, `analyze`), `--models DIR` (`store pull`): the local model folder. */
export const MODELS_OPTION = stringOption("DIR", { default: MODELS_DIR, writes: "folder" });
/** `--checkpoints DIR`: where training checkpoints are kept. */
export const CHECKPOINTS_OPTION = stringOption("DIR", {
  default: CHECKPOINTS_DIR,
  writes: "folder",
});
/** `--out DIR`: the dataset folder a `data` subcommand writes. */
export const DATASET_OUT_OPTION = stringOption("DIR", { writes: "folder" });
