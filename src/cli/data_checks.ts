/**
 * Checking experiments against their datasets before any long work, for `deno task validate`
 * and `deno task run`: the run's own checks (`checkData` in `src/pipeline.ts`), each problem
 * located `FILE:LINE:COL path: message` in the YAML where the config says where it comes from.
 *
 * @module
 */
import { type LoadOptions, locateConfigPath } from "../config/load.ts";
import type { Experiment } from "../config/schema.ts";
import { type Dataset, DatasetError, loadDataset, MissingTableError } from "../data/dataset.ts";
import { TickerSelectionError } from "../data/select.ts";
import { MissingColumnError } from "../features/families.ts";
import { checkData, type DataCheckName } from "../pipeline.ts";

/**
 * The config key an error found in the data comes from, where it says: the ticker list of a
 * selection error, the feature family that needs a missing table or column, or the key that
 * needs a missing market series (`backtest.benchmark`).
 *
 * @param error the error
 * @returns a path such as `data.train_tickers[1]`, or null
 * @example
 * ```ts
 * configPathOf(new TickerSelectionError("Unknown ticker", "data.eval_tickers[0]", "ZZ"));
 * // "data.eval_tickers[0]"
 * ```
 */
export function configPathOf(error: unknown): string | null {
  if (error instanceof TickerSelectionError) return error.path;
  if (error instanceof MissingColumnError || error instanceof MissingTableError) {
    const neededBy = error.neededBy ?? "";
    if (/^[a-z_]+(\.[a-z_]+)+$/.test(neededBy)) return neededBy;
    const family = neededBy.match(/"(\w+)" feature family/)?.[1];
    return family ? `features.families.${family}` : null;
  }
  return null;
}

/**
 * An error's message, located in the config file when its config key is known:
 * `FILE:LINE:COL path: message` (following `extends` and `--set`).
 *
 * @param file the experiment file
 * @param error the error
 * @param options the `--set` overrides in use, and the 0-based sweep point the error came from
 * @returns the located message, or null when the error names no config key
 * @example
 * ```ts
 * await locatedMessage("experiments/x.yaml", error);
 * // "experiments/x.yaml:4:23 data.train_tickers[1]: Unknown ticker ..."
 * ```
 */
export async function locatedMessage(
  file: string,
  error: Error,
  options: LoadOptions & { point?: number } = {},
): Promise<string | null> {
  const path = configPathOf(error);
  const loc = path ? await locateConfigPath(file, path, options) : null;
  return loc ? `${loc.file}:${loc.line}:${loc.col} ${path}: ${error.message}` : null;
}

/** What checking a config's experiments against their datasets found. */
export interface DataReport {
  /** Each problem, one line: located `FILE:LINE:COL path: message`, else `FILE: check: message`. */
  problems: string[];
  /** The datasets checked against and the checks made, e.g. `dataset "x": tickers, benchmark`. */
  checked: string[];
  /** The checks not made and why, e.g. `tickers, benchmark: dataset "x" not found under data/`. */
  notChecked: string[];
}

/** The parts of an experiment its data checks read: points equal in these check the same. */
function checkKey(e: Experiment): string {
  return JSON.stringify([e.data, e.split, e.features.families.market?.series ?? null, {
    market: e.features.families.market !== undefined,
    benchmark: e.backtest.benchmark ?? null,
  }]);
}

/** The checks that apply to an experiment whatever its dataset holds. */
function checksFor(e: Experiment): DataCheckName[] {
  return e.features.families.market
    ? ["tickers", "series", "benchmark", "risk-free"]
    : ["tickers", "benchmark", "risk-free"];
}

/** Names in a first-seen order without repeats. */
function union<T>(lists: T[][]): T[] {
  return [...new Set(lists.flat())];
}

/**
 * Checks each experiment of a config against its dataset with the run's own checks
 * (`checkData`): tickers, the market series the features name, the benchmark index and the
 * risk-free series. A dataset that is not there is not an error: its checks are reported as not
 * made. In a sweep, a problem found in only some points names them.
 *
 * @param file the experiment file the experiments came from (problems are located in it)
 * @param points its resolved experiments (one per sweep point)
 * @param options the `--set` overrides in use
 * @returns the problems, the checks made and the checks not made
 * @example
 * ```ts
 * const report = await checkAgainstData(file, await loadExperiments(file));
 * for (const line of report.problems) console.error(line);
 * ```
 */
export async function checkAgainstData(
  file: string,
  points: Experiment[],
  options: LoadOptions = {},
): Promise<DataReport> {
  const datasets = new Map<string, Promise<Dataset | Error>>();
  const open = (ref: string) => {
    if (!datasets.has(ref)) {
      datasets.set(ref, loadDataset(ref).catch((e) => e instanceof Error ? e : new Error(e)));
    }
    return datasets.get(ref)!;
  };
  const problems = new Map<string, number[]>();
  const problem = (line: string, point: number) => {
    if (!problems.has(line)) problems.set(line, []);
    problems.get(line)!.push(point);
  };
  const checked = new Map<string, DataCheckName[][]>();
  const notChecked = new Map<string, DataCheckName[][]>();
  const byKey = new Map<string, number[]>();
  points.forEach((e, i) => {
    const key = checkKey(e);
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key)!.push(i);
  });
  for (const indices of byKey.values()) {
    const e = points[indices[0]];
    const ref = e.data.dataset;
    const dataset = await open(ref);
    if (dataset instanceof Error) {
      if (isAbsent(dataset, ref)) {
        const where = /[\\/]|^\./.test(ref)
          ? `dataset folder "${ref}" not found`
          : `dataset "${ref}" not found under data/`;
        if (!notChecked.has(where)) notChecked.set(where, []);
        notChecked.get(where)!.push(checksFor(e));
      } else {
        for (const i of indices) problem(`${file}: dataset: ${dataset.message}`, i);
      }
      continue;
    }
    const { checks } = checkData(e, dataset);
    const name = `dataset "${dataset.name}"`;
    if (!checked.has(name)) checked.set(name, []);
    checked.get(name)!.push(checks.map((c) => c.name));
    for (const c of checks) {
      if (c.error === null) continue;
      for (const i of indices) {
        const line = await locatedMessage(file, c.error, { ...options, point: i }) ??
          `${file}: ${c.name}: ${c.error.message}`;
        problem(line, i);
      }
    }
  }
  return {
    problems: [...problems].map(([line, at]) =>
      points.length === 1 || at.length === points.length
        ? line
        : `${line} (sweep point${at.length === 1 ? "" : "s"} ${
          at.map((i) => i + 1).join(", ")
        } of ${points.length})`
    ),
    checked: [...checked].map(([name, lists]) => `${name}: ${union(lists).join(", ")}`),
    notChecked: [...notChecked].map(([why, lists]) => `${union(lists).join(", ")}: ${why}`),
  };
}

/** Whether loading a dataset failed because it is not there (rather than broken). */
function isAbsent(error: Error, ref: string): boolean {
  return error instanceof DatasetError && error.tableName === undefined &&
    error.message.startsWith(`Dataset "${ref}" not found`);
}
