/**
 * Checking experiments against their datasets before any long work, for `deno task validate`
 * and `deno task run`: that `data.dataset` names a dataset Alfred may open (a name, or a path
 * inside the data roots), then the run's own checks (`checkData` in `src/dataset/prepare.ts`) and the
 * tables and dates the config asks of the dataset, each problem located
 * `FILE:LINE:COL path: message` in the YAML where the config says where it comes from.
 *
 * @module
 */
import { datasetRefProblem, experimentRoot } from "../config/files.ts";
import { type LoadOptions, locateConfigPath } from "../config/load.ts";
import type { Experiment } from "../config/schema.ts";
import {
  type Dataset,
  DatasetError,
  DatasetNotFoundError,
  defaultDataRoot,
  loadDataset,
  MissingTableError,
} from "../data/dataset.ts";
import { TickerSelectionError } from "../data/select.ts";
import { loadExperimentDataset, synthSource, synthSpanProblem } from "../data/synth_cache.ts";
import {
  FAMILY_TABLE,
  familyKey,
  type FamilyName,
  MissingColumnError,
} from "../features/families.ts";
import { SequenceError } from "../features/sequence.ts";
import { checkFits, describeModel } from "../models/registry.ts";
import { isSequenceFamily } from "../models/sequence_spec.ts";
import { checkData, type DataCheckName } from "../dataset/prepare.ts";

/**
 * The checks made before any long work: the run's own (`checkData`), then `tables` (each
 * feature family's table is in the dataset), `window` (`data.from`..`data.to` and
 * `split.eval_from` fall inside the dataset's dates) and `memory` (the model fits this machine's
 * memory even with a single input feature).
 */
export type PreflightCheckName = DataCheckName | "tables" | "window" | "memory";

/**
 * The config key an error found in the data comes from, where the error carries one: the ticker
 * list of a selection error, the `configKey` of a missing table, column or market series (the
 * feature family that needs it, `backtest.benchmark`; with the experiment, the very item of
 * `features.families.market.series`), or `data.dataset` for a dataset that cannot be opened.
 *
 * @param error the error
 * @param e the experiment it came from, to point at the item of a list that is wrong
 * @returns a path such as `data.train_tickers[1]`, or null
 * @example
 * ```ts
 * configPathOf(new TickerSelectionError("Unknown ticker", "data.eval_tickers[0]", "ZZ"));
 * // "data.eval_tickers[0]"
 * ```
 */
export function configPathOf(error: unknown, e?: Experiment): string | null {
  if (error instanceof TickerSelectionError) return error.path;
  if (error instanceof SequenceError) return error.configKey;
  if (error instanceof MissingColumnError || error instanceof MissingTableError) {
    const key = error.configKey;
    const series = e?.features.families.market?.series;
    const item = error instanceof MissingColumnError && error.kind === "series" &&
        key === "features.families.market.series" && series
      ? series.indexOf(error.column)
      : -1;
    return item >= 0 ? `${key}[${item}]` : key;
  }
  if (error instanceof DatasetError && error.tableName === undefined) return "data.dataset";
  return null;
}

/**
 * An error's message, located in the config file when its config key is known:
 * `FILE:LINE:COL path: message` (following `extends` and `--set`).
 *
 * @param file the experiment file
 * @param error the error
 * @param options the `--set` overrides in use, the 0-based sweep point the error came from and
 *   its experiment (to point at a list's item)
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
  options: LoadOptions & { point?: number; experiment?: Experiment } = {},
): Promise<string | null> {
  const path = configPathOf(error, options.experiment);
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
    families: Object.keys(e.features.families).sort(),
    sequence: e.features.sequence ?? null,
    exclude: e.features.exclude,
    benchmark: e.backtest.benchmark ?? null,
  }]);
}

/** The checks that apply to an experiment whatever its dataset holds. */
function checksFor(e: Experiment): PreflightCheckName[] {
  return [
    "tickers",
    ...(e.features.families.market ? ["series" as const] : []),
    "benchmark",
    "risk-free",
    ...(e.features.sequence ? ["sequence" as const] : []),
    "tables",
    "window",
    "memory",
  ];
}

/**
 * The feature families whose table the dataset lacks, each as the error the run would stop with.
 *
 * @param e the experiment
 * @param dataset its dataset
 * @returns the `tables` check
 */
function tablesCheck(e: Experiment, dataset: Dataset): { name: "tables"; errors: Error[] } {
  const errors = (Object.keys(e.features.families) as FamilyName[])
    .filter((f) => e.features.families[f] !== undefined && !dataset.has(FAMILY_TABLE[f]))
    .map((f) =>
      new MissingTableError(
        dataset.name,
        FAMILY_TABLE[f],
        `the "${f}" feature family`,
        familyKey(f),
      )
    );
  return { name: "tables", errors };
}

/**
 * Whether the model fits in memory here with the fewest inputs it could have (one feature; for a
 * sequence family one field over the window's configured length, or the schema's least, 2): a
 * model that fails this fails the run's own plan, whatever the dataset gives it.
 *
 * @param e the experiment
 * @returns the `memory` check, its error located at `model.size`
 */
function memoryCheck(e: Experiment): { name: "memory"; errors: Error[] } {
  try {
    const sequence = isSequenceFamily(e.model.family)
      ? { length: e.features.sequence?.length ?? 2, fields: ["field"] }
      : undefined;
    const d = describeModel(e.model, sequence?.length ?? 1, {
      label: e.label,
      batchSize: e.train.batch_size,
      sequence,
    });
    checkFits(d, undefined, { backend: e.train.backend });
    return { name: "memory", errors: [] };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { name: "memory", errors: [new KeyedError(message, "model.size")] };
  }
}

/** A problem the config's values cause, at the key to change. */
class KeyedError extends RangeError {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = "KeyedError";
  }
}

/**
 * Whether `data.from`..`data.to` overlaps the dataset's dates and `split.eval_from` falls inside
 * the window the run uses.
 *
 * @param e the experiment
 * @param dataset its dataset
 * @returns the `window` check
 */
function windowCheck(e: Experiment, dataset: Dataset): { name: "window"; errors: Error[] } {
  const m = dataset.manifest;
  const from = e.data.from ?? m.from;
  const to = e.data.to ?? m.to;
  const span = `dataset "${dataset.name}" runs from "${m.from}" to "${m.to}"`;
  const errors: Error[] = [];
  if (e.data.from !== undefined && e.data.from > m.to) {
    errors.push(new KeyedError(`expected a date on or before "${m.to}": ${span}`, "data.from"));
  } else if (e.data.to !== undefined && e.data.to < m.from) {
    errors.push(new KeyedError(`expected a date on or after "${m.from}": ${span}`, "data.to"));
  }
  const evalFrom = e.split.eval_from;
  if (errors.length === 0 && evalFrom !== undefined && (evalFrom <= from || evalFrom > to)) {
    const window = e.data.from !== undefined || e.data.to !== undefined
      ? `the data window is "${from}".."${to}" (${span})`
      : span;
    errors.push(
      new KeyedError(
        `expected a date after "${from}" and on or before "${to}": ${window}`,
        "split.eval_from",
      ),
    );
  }
  return { name: "window", errors };
}

/** Names in a first-seen order without repeats. */
function union<T>(lists: T[][]): T[] {
  return [...new Set(lists.flat())];
}

/**
 * Checks each experiment of a config against its dataset: first that `data.dataset` is a
 * dataset name or a path inside the data roots (the repository's `data/` and the experiment's
 * own folder; anything else is a problem and nothing there is opened), then the run's own checks
 * (`checkData`: tickers, the market series the features name, the benchmark index and the
 * risk-free series), each feature family's table, and the dates. A dataset that is not there is
 * not an error: its checks are reported as not made. In a sweep, a problem found in only some
 * points names them.
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
  options: LoadOptions & { synthCacheDir?: string } = {},
): Promise<DataReport> {
  const roots = [defaultDataRoot().replace(/\/+$/, ""), (await experimentRoot(file)).path];
  const datasets = new Map<string, Promise<Dataset | Error>>();
  const open = (ref: string, load: () => Promise<Dataset>) => {
    if (!datasets.has(ref)) {
      datasets.set(ref, load().catch((e) => e instanceof Error ? e : new Error(e)));
    }
    return datasets.get(ref)!;
  };
  const problems = new Map<string, number[]>();
  const problem = (line: string, point: number) => {
    if (!problems.has(line)) problems.set(line, []);
    problems.get(line)!.push(point);
  };
  const located = async (path: string, message: string, point: number) => {
    const loc = await locateConfigPath(file, path, { ...options, point });
    return loc ? `${loc.file}:${loc.line}:${loc.col} ${path}: ${message}` : `${file}: ${message}`;
  };
  const checked = new Map<string, PreflightCheckName[][]>();
  const notChecked = new Map<string, PreflightCheckName[][]>();
  const byKey = new Map<string, number[]>();
  points.forEach((e, i) => {
    const key = checkKey(e);
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key)!.push(i);
  });
  for (const indices of byKey.values()) {
    const e = points[indices[0]];
    const ref = e.data.dataset;
    let dataset: Dataset | Error;
    if (e.data.synth) {
      // A generated dataset is checked only once it is in the cache: checking generates nothing.
      const span = synthSpanProblem(e.data.synth);
      if (span !== null) {
        for (const i of indices) problem(await located("data.synth.to", span, i), i);
        continue;
      }
      const source = await synthSource(e.data.synth, ref, { cacheDir: options.synthCacheDir });
      dataset = await open(
        source.dir,
        async () =>
          (await loadExperimentDataset(e, { cacheDir: options.synthCacheDir, generate: false }))
            .dataset,
      );
    } else {
      // Nothing outside the data roots is opened, not even to say it is missing.
      const refused = await datasetRefProblem(ref, roots);
      if (refused !== null) {
        for (const i of indices) problem(await located("data.dataset", refused, i), i);
        continue;
      }
      dataset = await open(ref, () => loadDataset(ref));
    }
    if (dataset instanceof Error) {
      if (isAbsent(dataset, ref)) {
        const where = e.data.synth
          ? `dataset "${ref}" (data.synth) not generated yet: deno task run generates it`
          : /[\\/]|^\./.test(ref)
          ? `dataset folder "${ref}" not found`
          : `dataset "${ref}" not found under data/`;
        if (!notChecked.has(where)) notChecked.set(where, []);
        notChecked.get(where)!.push(checksFor(e));
      } else {
        for (const i of indices) problem(`${file}: dataset: ${dataset.message}`, i);
      }
      continue;
    }
    const checks = [
      ...checkData(e, dataset).checks.map((c) => ({
        name: c.name as PreflightCheckName,
        errors: c.error === null ? [] : [c.error],
      })),
      tablesCheck(e, dataset),
      windowCheck(e, dataset),
      memoryCheck(e),
    ];
    const name = `dataset "${dataset.name}"`;
    if (!checked.has(name)) checked.set(name, []);
    checked.get(name)!.push(checks.map((c) => c.name));
    for (const c of checks) {
      for (const error of c.errors) {
        for (const i of indices) {
          const line = error instanceof KeyedError
            ? await located(error.path, error.message, i)
            : await locatedMessage(file, error, { ...options, point: i, experiment: points[i] }) ??
              `${file}: ${c.name}: ${error.message}`;
          problem(line, i);
        }
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
  return error instanceof DatasetNotFoundError && error.dataset === ref;
}
