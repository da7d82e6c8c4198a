/**
 * The analysts' out-of-sample signals: one table per analyst (an experiment file with optional
 * `--set` overrides), keyed by the analyst's config hash and kept in a signal store, so every
 * portfolio experiment naming the same analyst reuses it instead of training again.
 *
 * An analyst is run walk-forward by the pipeline itself (`runExperiment`): each fold's model is
 * trained only on rows whose labels were known before its eval block (the split's purge covers
 * the label horizon), and its eval predictions are that fold's signals. The table keeps each
 * fold's last training label date, and {@linkcode checkOutOfSample} refuses a table where a
 * signal was formed on or before a date its model had learned from.
 *
 * @module
 */
import { z } from "zod";
import { dirname, join } from "node:path";
import { configHash } from "../config/hash.ts";
import { loadExperiment } from "../config/load.ts";
import { runExperiment, type RunOptions } from "../pipeline.ts";
import { readRunPredictions } from "../store/run_record.ts";
import type { Experiment } from "../config/schema.ts";
import type { RunRecord } from "../record/mod.ts";
import { SIGNALS_DIR } from "../paths.ts";

/** One signal: the analyst's eval prediction for a ticker, formed at the close of `date`. */
export const SignalRow = z.strictObject({
  ticker: z.string(),
  quarter: z.string().regex(/^\d{4}Q[1-4]$/),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).describe("close the signal was formed at"),
  fold: z.string().describe("the walk-forward fold whose model gave it"),
  score: z.number(),
});
/** One signal. */
export type SignalRow = z.infer<typeof SignalRow>;

/** One walk-forward fold of the analyst: what its model learned from and what it predicted. */
export const SignalFold = z.strictObject({
  name: z.string(),
  trainPeriod: z.tuple([z.string(), z.string()]),
  evalPeriod: z.tuple([z.string(), z.string()]),
  lastTrainLabelDate: z.string().nullable().describe(
    "latest date a training or validation label of the fold was known",
  ),
});
/** One fold of an analyst. */
export type SignalFold = z.infer<typeof SignalFold>;

/** An analyst's out-of-sample signals (`.alfred/signals/<config hash>.json`). */
export const SignalTable = z.strictObject({
  version: z.literal(1),
  analyst: z.string().describe("the analyst experiment's name"),
  file: z.string().describe("the experiment file, as named by the portfolio experiment"),
  set: z.array(z.string()).describe("its --set overrides"),
  configHash: z.string().regex(/^[0-9a-f]{64}$/),
  runId: z.string().describe("the analyst run that produced the signals"),
  labelMode: z.enum(["direction", "magnitude"]),
  horizon: z.int().min(1),
  dataset: z.string(),
  fingerprint: z.string(),
  tickers: z.array(z.string()).describe("the tickers signalled (the analyst's eval tickers)"),
  folds: z.array(SignalFold).min(1),
  rows: z.array(SignalRow),
});
/** An analyst's out-of-sample signals. */
export type SignalTable = z.infer<typeof SignalTable>;

/** An analyst as a portfolio experiment names it. */
export interface AnalystSpec {
  /** Experiment file (relative paths are read from the working folder). */
  file: string;
  /** `--set` overrides of it. */
  set: string[];
}

/**
 * Checks that every signal came from a model that learned nothing dated on or after it: its
 * fold exists, it lies in the fold's eval period, and the fold's last training label was known
 * before the signal's close.
 *
 * @param table the signal table
 * @throws {RangeError} naming the first signal that breaks a rule
 */
export function checkOutOfSample(table: SignalTable): void {
  const folds = new Map(table.folds.map((f) => [f.name, f]));
  for (const r of table.rows) {
    const f = folds.get(r.fold);
    if (!f) {
      throw new RangeError(
        `Signal of "${r.ticker}" on ${r.date} names fold "${r.fold}", which analyst "${table.analyst}" does not have`,
      );
    }
    if (r.date < f.evalPeriod[0] || r.date > f.evalPeriod[1]) {
      throw new RangeError(
        `Signal of "${r.ticker}" on ${r.date} is outside ${f.name}'s eval period ${
          f.evalPeriod.join("..")
        } (analyst "${table.analyst}")`,
      );
    }
    if (f.lastTrainLabelDate !== null && f.lastTrainLabelDate >= r.date) {
      throw new RangeError(
        `Signal of "${r.ticker}" on ${r.date} is not out of sample: ${f.name} of analyst "${table.analyst}" trained on a label known ${f.lastTrainLabelDate}`,
      );
    }
  }
}

/** Where signal tables are kept, by the analyst's config hash. */
export interface SignalStore {
  /** The table of an analyst, or null when none is stored (or the file is not a valid table). */
  load(hash: string): Promise<SignalTable | null>;
  /** Stores a table under its config hash (replacing any). */
  save(table: SignalTable): Promise<void>;
}

/** Signal tables as JSON files in a folder, written atomically (temporary file, then rename). */
export class FileSignalStore implements SignalStore {
  /** The folder (created on first save). */
  readonly root: string;

  /** @param root folder of the store, default `.alfred/signals` */
  constructor(root = SIGNALS_DIR) {
    this.root = root;
  }

  private path(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new RangeError(`Invalid config hash "${hash}"`);
    return join(this.root, `${hash}.json`);
  }

  /** @inheritdoc */
  async load(hash: string): Promise<SignalTable | null> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path(hash));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return null;
    }
    const parsed = SignalTable.safeParse(json);
    return parsed.success && parsed.data.configHash === hash ? parsed.data : null;
  }

  /** @inheritdoc */
  async save(table: SignalTable): Promise<void> {
    const path = this.path(table.configHash);
    await Deno.mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.writeTextFile(tmp, JSON.stringify(table));
    await Deno.rename(tmp, path);
  }
}

/** How {@linkcode analystSignals} runs an analyst it has no table for. */
export type AnalystRunOptions = Pick<
  RunOptions,
  "resultsDir" | "store" | "log" | "write" | "tty" | "signal" | "checkpointDir"
>;

/** An analyst's signals and whether they were computed by this call. */
export interface AnalystSignals {
  table: SignalTable;
  /** True when the table came from the signal store (no analyst was trained). */
  reused: boolean;
  /** The analyst run's folder when this call ran it. */
  runDir: string | null;
}

/**
 * An analyst's out-of-sample signals: from the signal store when it has the analyst's config
 * hash, else by running the analyst walk-forward (its run record is written like any run, and
 * its fold models go to the model store) and storing the table.
 *
 * @param spec the analyst's experiment file and overrides
 * @param signals the signal store
 * @param options where and how to run the analyst when needed
 * @returns the table, and whether it was reused
 * @throws {RangeError} when the analyst is not split walk_forward, its run was interrupted, or
 *   a signal is not out of sample
 */
export async function analystSignals(
  spec: AnalystSpec,
  signals: SignalStore,
  options: AnalystRunOptions,
): Promise<AnalystSignals> {
  const e = await loadExperiment(spec.file, { set: spec.set });
  if (e.split.method !== "walk_forward") {
    throw new RangeError(
      `Analyst "${spec.file}" splits "${e.split.method}": its signals must be out of sample for every period, so it must split "walk_forward" (add --set split.method=walk_forward)`,
    );
  }
  const hash = configHash(e);
  const stored = await signals.load(hash);
  if (stored) {
    checkOutOfSample(stored);
    options.log(`analyst ${e.name}: signals ${hash.slice(0, 12)} from the signal store`);
    return { table: stored, reused: true, runDir: null };
  }
  options.log(`analyst ${e.name}: running walk-forward (${e.split.folds} folds) for its signals`);
  const { record, dir } = await runExperiment(e, { ...options });
  if (record.status !== "complete") {
    throw new RangeError(
      `Analyst "${e.name}" run ${record.runId} is ${record.status}: no signals stored`,
    );
  }
  const table = await signalTableOfRun(e, spec, record, dir);
  checkOutOfSample(table);
  await signals.save(table);
  return { table, reused: false, runDir: dir };
}

/**
 * The signal table of a complete walk-forward analyst run: its eval predictions, each named by
 * the fold whose eval period holds it. `analystSignals` stores it after running the analyst; a
 * committed analyst run gives the same table read back from its folder.
 *
 * @param e the analyst's resolved experiment
 * @param spec its experiment file and overrides, as the portfolio experiment names them
 * @param record the analyst run's record
 * @param dir the analyst run's folder (its `predictions.parquet`)
 * @returns the table (not yet checked out of sample)
 * @throws {RangeError} when the record has no split
 */
export async function signalTableOfRun(
  e: Experiment,
  spec: AnalystSpec,
  record: RunRecord,
  dir: string,
): Promise<SignalTable> {
  if (!record.split) throw new RangeError(`Analyst run ${record.runId} has no split in its record`);
  const folds: SignalFold[] = record.split.folds.map((f) => ({
    name: f.name,
    trainPeriod: f.trainPeriod as [string, string],
    evalPeriod: f.evalPeriod as [string, string],
    lastTrainLabelDate: f.lastTrainLabelDate ?? null,
  }));
  const foldOf = (date: string) =>
    folds.find((f) => date >= f.evalPeriod[0] && date <= f.evalPeriod[1])?.name ?? "";
  const rows: SignalRow[] = (await readRunPredictions(dir)).map((p) => ({
    ticker: p.ticker,
    quarter: p.quarter,
    date: p.date,
    fold: foldOf(p.date),
    score: p.predicted,
  }));
  return {
    version: 1,
    analyst: e.name,
    file: spec.file,
    set: spec.set,
    configHash: configHash(e),
    runId: record.runId,
    labelMode: e.label.mode,
    horizon: e.label.horizon,
    dataset: record.data.dataset,
    fingerprint: record.data.fingerprint,
    tickers: record.data.tickers.eval,
    folds,
    rows,
  };
}
