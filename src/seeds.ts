/**
 * Runs of several seeds (`seeds:` in the experiment, issue 22): the experiment is trained and
 * evaluated once per seed, and the first seed's run record gains every seed's results and their
 * mean ± std (`seedRuns`), which its report and the journal show.
 *
 * Each seed is an ordinary run of the experiment with `seed` set to it, so its model is stored
 * (and restored on a rerun) under a key that includes the seed; the seeds share one preparation
 * of the data, features and folds. The first seed's run is the one written under
 * `results/<name>/`; the others are written to a temporary folder (`withDroppedRuns`) and
 * removed once their results are read.
 *
 * @module
 */
import type { Experiment } from "./config/schema.ts";
import type {
  RunRecord,
  RunSeeds,
  SeedRun,
  SeedSummaryRecord,
  VerdictRecord,
} from "./record/mod.ts";
import { summarizeSeeds } from "./inference/mod.ts";
import { ROW_METRICS } from "./inference/run.ts";
import { type PreparedOutcome, type RunOptions, runPrepared } from "./pipeline.ts";
import { reportFiles } from "./report/report.ts";
import { rewriteRunRecord, withDroppedRuns } from "./store/run_record.ts";

/** Backtest statistics of the strategy summarized over seeds, in table order. */
export const SEED_STATISTICS: readonly string[] = [
  "totalReturn",
  "cagr",
  "sharpe",
  "sortino",
  "maxDrawdown",
  "volatility",
  "trades",
];

/** Eval metrics summarized over seeds beyond the row-bootstrapped ones (magnitude: IC, ICIR). */
const EXTRA_METRICS = {
  direction: [],
  magnitude: ["ic", "rankIc", "icir", "rankIcir"],
} as const;

/** Where an ICIR is kept: inside its IC summary (`{ mean, std, icir, … }`). */
const ICIR_OF: Record<string, string> = { icir: "ic", rankIcir: "rankIc" };

/**
 * The seeds an experiment runs: `seeds: n` gives seed, seed + 1, …, seed + n − 1; a list gives
 * itself; no `seeds` gives the one `seed`.
 *
 * @param e the resolved experiment
 * @returns the seeds, the first the one whose run record is kept in full
 * @throws {RangeError} when a counted seed passes 2³¹ − 1
 * @example
 * ```ts
 * seedList({ ...experiment, seed: 42, seeds: 3 }); // [42, 43, 44]
 * ```
 */
export function seedList(e: Pick<Experiment, "seed" | "seeds">): number[] {
  if (e.seeds === undefined) return [e.seed];
  if (Array.isArray(e.seeds)) return [...e.seeds];
  const last = e.seed + e.seeds - 1;
  if (last > 2 ** 31 - 1) {
    throw new RangeError(
      `Invalid seeds "${e.seeds}" from seed ${e.seed}: the last passes 2^31 - 1`,
    );
  }
  return Array.from({ length: e.seeds }, (_, i) => e.seed + i);
}

/**
 * One seed's configuration: the experiment with `seed` set and `seeds` gone.
 *
 * @param e the resolved experiment
 * @param seed the seed
 * @returns the single-seed experiment
 */
export function withSeed(e: Experiment, seed: number): Experiment {
  const { seeds: _seeds, ...rest } = e;
  return { ...rest, seed };
}

function numbersOf(
  table: Record<string, unknown> | undefined | null,
  keys: readonly string[],
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const k of keys) {
    const v = table?.[k];
    if (typeof v === "number") out[k] = Number.isFinite(v) ? v : null;
    else if (v === null) out[k] = null;
  }
  return out;
}

function compact(v: VerdictRecord | null | undefined): SeedRun["verdict"] {
  return v ? { beats: v.beats, test: v.test, pValue: v.pValue, against: v.against } : null;
}

/**
 * One seed's results as the first seed's record keeps them.
 *
 * @param record that seed's run record
 * @returns its seed, status, model key, eval metrics, strategy statistics and verdicts
 */
export function seedRun(record: RunRecord): SeedRun {
  return {
    seed: record.config.seed,
    status: record.status,
    modelHash: record.model?.modelHash ?? "",
    restoredFromStore: record.model?.restoredFromStore ?? false,
    eval: record.metrics?.postTrain.eval
      ? Object.fromEntries(
        mainMetrics(record.metrics.mode).map((
          m,
        ) => [m, metricOf(record.metrics!.postTrain.eval!, m)]),
      )
      : null,
    backtest: record.backtest ? numbersOf(record.backtest.stats.strategy, SEED_STATISTICS) : null,
    verdict: compact(record.inference?.verdict),
    backtestVerdict: compact(record.inference?.backtestVerdict),
  };
}

function mainMetrics(mode: "direction" | "magnitude"): string[] {
  return [...ROW_METRICS[mode], ...EXTRA_METRICS[mode]];
}

function metricOf(set: Record<string, unknown> | null, name: string): number | null {
  if (!set) return null;
  if (name in ICIR_OF) {
    const ic = set[ICIR_OF[name]];
    const v = ic && typeof ic === "object" && "icir" in ic ? ic.icir : null;
    return typeof v === "number" && Number.isFinite(v) ? v : null;
  }
  const v = (set as Record<string, unknown>)[name];
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (v && typeof v === "object" && "mean" in v && typeof v.mean === "number") return v.mean;
  return null;
}

/**
 * Every seed's results and the mean ± std (with the t interval of the mean) of each eval
 * metric and strategy statistic over the seeds that have it.
 *
 * @param records each seed's run record, the first seed's first
 * @param level confidence level of the intervals of the mean (default 0.95)
 * @returns what the first seed's record keeps under `seedRuns`
 * @throws {RangeError} with no records
 */
export function summarizeSeedRuns(records: RunRecord[], level = 0.95): RunSeeds {
  const mode = records.find((r) => r.metrics)?.metrics?.mode ?? "direction";
  return seedSummary(records.map(seedRun), mode, level);
}

/**
 * {@linkcode summarizeSeedRuns} from each seed's results as {@linkcode seedRun} gives them (what
 * a worker that ran one seed sends back).
 *
 * @param runs each seed's results, the first seed's first
 * @param mode the experiment's label mode (which eval metrics are summarized)
 * @param level confidence level of the intervals of the mean (default 0.95)
 * @returns what the first seed's record keeps under `seedRuns`
 * @throws {RangeError} with no runs
 */
export function seedSummary(
  runs: SeedRun[],
  mode: "direction" | "magnitude",
  level = 0.95,
): RunSeeds {
  if (runs.length === 0) throw new RangeError("Cannot summarize no seeds");
  const summarize = (values: (number | null)[]): SeedSummaryRecord | null => {
    const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
    return finite.length ? summarizeSeeds(finite, level) : null;
  };
  const metrics: Record<string, SeedSummaryRecord> = {};
  for (const name of mainMetrics(mode)) {
    const s = summarize(runs.map((r) => r.eval?.[name] ?? null));
    if (s) metrics[name] = s;
  }
  const backtest: Record<string, SeedSummaryRecord> = {};
  for (const name of SEED_STATISTICS) {
    const s = summarize(runs.map((r) => r.backtest?.[name] ?? null));
    if (s) backtest[name] = s;
  }
  return {
    runs,
    metrics,
    backtest,
    beats: {
      baseline: runs.filter((r) => r.verdict?.beats).length,
      buyAndHold: runs.filter((r) => r.backtestVerdict?.beats).length,
    },
  };
}

/**
 * The first seed's run of an experiment: the experiment with `seed` set to its first seed
 * (`seeds` kept, so its config hash is the multi-seed run's).
 *
 * @param e the resolved experiment
 * @returns the experiment whose run record is kept in full
 */
export function firstSeed(e: Experiment): Experiment {
  return { ...e, seed: seedList(e)[0] };
}

/**
 * The first seed's record with every seed's results (`seedRuns`). When a later seed was
 * interrupted, or fewer seeds ran than the experiment names, a complete first run becomes
 * interrupted, saying how many seeds ran.
 *
 * @param first the first seed's run record
 * @param others the later seeds' results, in the experiment's order
 * @param total how many seeds the experiment names
 * @returns the record to write
 */
export function withSeedRuns(first: RunRecord, others: SeedRun[], total: number): RunRecord {
  const runs = [seedRun(first), ...others];
  const seedRuns = seedSummary(runs, first.config.label.mode, first.inference?.level ?? 0.95);
  const interrupted = others.find((r) => r.status === "interrupted");
  if (first.status !== "complete" || (!interrupted && runs.length === total)) {
    return { ...first, seedRuns };
  }
  return {
    ...first,
    seedRuns,
    status: "interrupted",
    error: interrupted
      ? `seed ${interrupted.seed} was interrupted: ${runs.length} of ${total} seeds ran`
      : `${runs.length} of ${total} seeds ran`,
  };
}

/** What {@linkcode runSeeds} returns: the first seed's run, as written, and every seed's record. */
export interface SeedsOutcome extends PreparedOutcome {
  /** Each seed's run record as it ran, in the order run (the first seed's before `seedRuns`). */
  seeds: RunRecord[];
}

/**
 * Run an experiment once per seed ({@linkcode seedList}): one seed is a plain `runExperiment`;
 * with several, the first seed's run is written under `options.resultsDir` and then rewritten
 * with every seed's results (`seedRuns`), and its report rendered again. The data, features and
 * folds are prepared once, by the first seed's run, and every later seed trains on them. A seed
 * that is interrupted stops the loop; the seeds run so far are kept.
 *
 * @param e the resolved experiment (one sweep point)
 * @param options as `runExperiment`'s
 * @returns the first seed's run record and folder, and every seed's record
 * @throws {Error} as `runExperiment`
 */
export async function runSeeds(e: Experiment, options: RunOptions): Promise<SeedsOutcome> {
  const seeds = seedList(e);
  if (seeds.length === 1 && e.seeds === undefined) {
    const single = await runPrepared(e, options);
    return { ...single, seeds: [single.record] };
  }
  const { log } = options;
  log(`seeds: ${seeds.join(", ")} (seed ${seeds[0]}'s run is the one written in full)`);
  log(`seed ${seeds[0]} (1 of ${seeds.length})`);
  const first = await runPrepared(firstSeed(e), options);
  const records = [first.record];
  await withDroppedRuns(options.resultsDir, first.record.runId, async (scratch) => {
    for (const [i, seed] of seeds.slice(1).entries()) {
      if (records[records.length - 1].status === "interrupted") break;
      log(`seed ${seed} (${i + 2} of ${seeds.length})`);
      const { record } = await runPrepared(
        withSeed(e, seed),
        { ...options, resultsDir: scratch },
        first.prepared,
      );
      records.push(record);
    }
  });
  const record = withSeedRuns(first.record, records.slice(1).map(seedRun), seeds.length);
  await rewriteRunRecord(first.dir, record, reportFiles);
  return { record, dir: first.dir, prepared: first.prepared, seeds: records };
}
