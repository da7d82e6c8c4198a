/**
 * What a report says about the soundness of a run's evaluation, from what the run recorded:
 * the leakage checks that were applied (feature cut-off, news included when the `news` family ran,
 * purge and embargo, the scaler's rows, the split method and its caveats), features whose level drifts over time, and eval sets too
 * small to judge.
 *
 * Levels and changes, as the feature families define them (`src/features/families.ts`):
 * - `price`: `Close` is the price level; `Close_diff_MA_N` is the close over its N-day mean
 *   minus one, a ratio that stays on one scale (the moving average is never a feature itself).
 * - `volume`: `Volume` is the volume level; `Volume_diff_MA_N` a ratio.
 * - `fundamentals`: margins, fractions of revenue (ratios).
 * - `earnings`: `reportedEPS` and `estimatedEPS` are currency per share, levels that grow with
 *   the company; `surprise` is their difference and `surprisePercentage` a ratio.
 * - `insider`: shares bought and sold in the quarter (flows); `sentiment`: bounded scores.
 * - `market`: a series' latest value: index and price levels, yields, CPI, unemployment and
 *   other macro levels, except the series listed in {@linkcode STATIONARY_MARKET_SERIES}.
 * - `delta_X`: X minus its value a quarter earlier, a change.
 *
 * @module
 */
import { quarterOf, quarterStart } from "@alfred/core";
import type { RunFold, RunRecord } from "../record/mod.ts";
import { formatCount } from "./format.ts";

/** Eval sets with fewer rows than this are too small to judge. */
export const MIN_EVAL_ROWS = 30;

/** Market series whose value is already a rate of change or mean-reverting, not a level. */
export const STATIONARY_MARKET_SERIES: Readonly<Record<string, string>> = {
  inflation: "a rate of change of prices",
  "^VIX": "a volatility index that reverts to its mean",
};

/** Feature columns of the non-market families, by family (mirrors `src/features/families.ts`). */
const FAMILY_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  fundamentals: ["Margin_Gross", "Margin_Operating", "Margin_Net_Profit"],
  earnings: ["reportedEPS", "estimatedEPS", "surprise", "surprisePercentage"],
  insider: ["insider_acquisition", "insider_disposal"],
  sentiment: ["mean_sentiment", "mean_outlook"],
};

/** Base columns that are levels, and what level each is. */
const LEVEL_COLUMNS: Readonly<Record<string, string>> = {
  Close: "the price level",
  Volume: "the volume level",
  reportedEPS: "earnings per share, a currency level",
  estimatedEPS: "estimated earnings per share, a currency level",
};

/** The family of a feature column: the recorded one, else read from its name. */
function familyOf(record: RunRecord, column: string): string {
  const base = column.startsWith("delta_") ? column.slice(6) : column;
  for (const [family, columns] of Object.entries(record.featureFamilies ?? {})) {
    if (columns.includes(column) || columns.includes(base)) return family;
  }
  if (base === "Close" || base.startsWith("Close_diff_MA_")) return "price";
  if (base === "Volume" || base.startsWith("Volume_diff_MA_")) return "volume";
  for (const [family, columns] of Object.entries(FAMILY_COLUMNS)) {
    if (columns.includes(base)) return family;
  }
  return "market";
}

/** A feature that holds a level (non-stationary), and what level it is. */
export interface LevelFeature {
  /** The feature column. */
  feature: string;
  /** What level it is, e.g. "the price level". */
  level: string;
}

/**
 * The run's features that are levels rather than changes or ratios (see the module doc).
 *
 * @param record the run record (its features, and its feature families when recorded)
 * @returns the level features in model input order (a quarterly window's by field, once)
 * @example
 * ```ts
 * levelFeatures(record).map((f) => f.feature); // ["Close", "1year", "10year"]
 * ```
 */
export function levelFeatures(record: RunRecord): LevelFeature[] {
  // A window (features.sequence): a daily one holds ratios to its own last close, returns and log
  // changes, never a level; a quarterly one's columns `<field>@t-<lag>` are levels by their field,
  // named once.
  const seq = record.config.features.sequence;
  if (seq?.source === "daily") return [];
  const out: LevelFeature[] = [];
  const seen = new Set<string>();
  for (const column of record.features) {
    const feature = seq ? column.replace(/@t-\d+$/, "") : column;
    if (feature.startsWith("delta_") || seen.has(feature)) continue;
    seen.add(feature);
    const level = LEVEL_COLUMNS[feature];
    if (level) {
      out.push({ feature, level });
    } else if (familyOf(record, column) === "market" && !(feature in STATIONARY_MARKET_SERIES)) {
      out.push({ feature, level: "market series values: index, price, yield or macro levels" });
    }
  }
  return out;
}

/**
 * The warning about level features, naming each and what it is.
 *
 * @param record the run record
 * @returns the warning, or null when every feature is a change or a ratio
 */
export function levelFeatureWarning(record: RunRecord): string | null {
  const levels = levelFeatures(record);
  if (levels.length === 0) return null;
  const byLevel = new Map<string, string[]>();
  for (const l of levels) byLevel.set(l.level, [...(byLevel.get(l.level) ?? []), l.feature]);
  const named = [...byLevel].map(([level, features]) =>
    `${features.map((f) => `\`${f}\``).join(", ")} (${level})`
  ).join("; ");
  return `Non-stationary level features: ${named}. A level drifts over the years, so eval ` +
    "quarters can lie outside the range the model and its scaler saw in training, and the model " +
    "can learn the period instead of a pattern; their changes (`delta_` columns) or ratios to a " +
    "moving average do not drift";
}

/**
 * The warning about eval sets too small to judge: folds with fewer than
 * {@linkcode MIN_EVAL_ROWS} eval rows.
 *
 * @param record the run record
 * @returns the warning, or null when every fold has enough eval rows (or none is recorded)
 */
export function smallEvalWarning(record: RunRecord): string | null {
  const folds = record.split?.folds ?? [];
  const small = folds.filter((f) => f.evalRows < MIN_EVAL_ROWS);
  if (small.length === 0) return null;
  const rows = (n: number) => `${formatCount(n)} eval row${n === 1 ? "" : "s"}`;
  if (folds.length === 1) {
    const n = small[0].evalRows;
    return `Eval set too small to judge: ${rows(n)} (fewer than ${MIN_EVAL_ROWS})${
      n > 0 ? `; one prediction moves accuracy by ${(100 / n).toFixed(1)} percentage points` : ""
    }`;
  }
  const total = folds.reduce((s, f) => s + f.evalRows, 0);
  return `Eval sets too small to judge: ${
    small.map((f) => `${f.name} has ${rows(f.evalRows)}`).join(", ")
  } (fewer than ${MIN_EVAL_ROWS} each; ${rows(total)} pooled over ${folds.length} folds)`;
}

/** One leakage check as the report states it. */
export interface LeakageCheck {
  /** What was checked, e.g. "Feature cut-off". */
  name: string;
  /**
   * `verified`: the record shows the rule held; `warning`: it did not, or the split leaks by
   * design; `stated`: the rule the stage applies, which this (older) record cannot confirm.
   */
  status: "verified" | "warning" | "stated";
  /** The sentence, with the run's own numbers and dates. */
  text: string;
}

const METHOD_PHRASES: Readonly<Record<string, string>> = {
  ticker_and_time:
    "by ticker and time: the eval tickers are never trained on, and the eval period follows the training period",
  by_time:
    "by time: training rows precede the eval period; a ticker on both lists is unseen only in its period",
  by_ticker:
    "by ticker (the research notes' method): train and eval tickers over the same quarters, so market-wide moves leak from training into eval within a quarter and eval metrics are optimistic",
  walk_forward: "walk forward: consecutive eval blocks, each trained only on quarters before it",
};

/**
 * The split method in words.
 *
 * @param method `split.method` as recorded
 * @returns a phrase (the method itself when it is unknown)
 */
export function splitPhrase(method: string): string {
  return METHOD_PHRASES[method] ?? `"${method}"`;
}

function quarters(n: number): string {
  return `${n} quarter${n === 1 ? "" : "s"}`;
}

/** How a fold is named in a clause: its name among several folds, "the holdout" alone. */
function foldName(fold: RunFold, folds: number): string {
  return folds > 1 ? fold.name : "the holdout";
}

/** Clauses joined by semicolons, the first one capitalized (it follows a full stop). */
function clauses(parts: string[]): string {
  const text = parts.join("; ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function scalerCheck(record: RunRecord): LeakageCheck {
  const folds = record.split?.folds ?? [];
  const name = "Scaler rows";
  const recorded = folds.filter((f) => f.scalerRows !== undefined);
  if (recorded.length > 0) {
    const parts = recorded.map((f) => {
      const same = f.scalerRowsHash !== undefined && f.scalerRowsHash === f.trainRowsHash;
      return {
        same,
        text: `${foldName(f, folds.length)}: fitted on ${formatCount(f.scalerRows)} rows ${
          same ? "=" : "≠"
        } its ${formatCount(f.trainRows)} training rows${
          same ? " (the same row set, by hash)" : " (a different row set)"
        }, none of its ${formatCount(f.validationRows)} validation or ${
          formatCount(f.evalRows)
        } eval rows`,
      };
    });
    const ok = parts.every((p) => p.same);
    return {
      name,
      status: ok ? "verified" : "warning",
      text: (ok
        ? "The feature scalers were fitted on training rows only. "
        : "A scaler was fitted on rows other than its fold's training rows. ") +
        clauses(parts.map((p) =>
          p.text
        )),
    };
  }
  const scaler = record.scaler;
  const last = folds[folds.length - 1];
  if (last && scaler) {
    const same = scaler.fittedRows === last.trainRows;
    return {
      name,
      status: same ? "stated" : "warning",
      text: `The feature scalers are fitted on training rows only; ${
        foldName(last, folds.length)
      }'s scaler saw ${formatCount(scaler.fittedRows)} rows, ${
        same ? "its training row count" : `not its ${formatCount(last.trainRows)} training rows`
      } (this run predates recording the fitted row set, so only the count is compared)`,
    };
  }
  return {
    name,
    status: "stated",
    text: "The feature scalers are fitted on training rows only (this run recorded no scaler)",
  };
}

function gapCheck(record: RunRecord): LeakageCheck {
  const name = "Purge and embargo";
  const split = record.split!;
  const { horizon, purge, embargo, evalFrom } = split;
  if (split.method === "by_ticker") {
    return {
      name,
      status: "warning",
      text: `None applied: a by-ticker split trains and evaluates on the same quarters (label ` +
        `horizon ${quarters(horizon)}), so no gap separates training labels from eval rows`,
    };
  }
  const rule = `Label horizon ${quarters(horizon)} (a row's label is the close ${
    quarters(horizon)
  } after its own); training keeps only rows whose label is known before the eval period${
    evalFrom ? ` (from ${evalFrom})` : ""
  }, with a purge of ${quarters(purge)} and an embargo of ${quarters(embargo)} before it`;
  const folds = split.folds;
  const recorded = folds.filter((f) => f.lastTrainLabelDate !== undefined);
  if (recorded.length === 0) {
    return {
      name,
      status: "stated",
      text: `${rule} (this run predates recording its latest training label date)`,
    };
  }
  const parts = recorded.map((f) => {
    const start = quarterStart(quarterOf(f.evalPeriod[0]));
    return {
      ok: f.lastTrainLabelDate! < start,
      text: `${
        foldName(f, folds.length)
      }: the latest training label is known on ${f.lastTrainLabelDate}, ${
        f.lastTrainLabelDate! < start ? "before" : "NOT before"
      } its eval quarters start (${start})`,
    };
  });
  const ok = parts.every((p) => p.ok);
  return {
    name,
    status: ok ? "verified" : "warning",
    text: `${rule}. ${clauses(parts.map((p) => p.text))}`,
  };
}

function cutoffCheck(record: RunRecord): LeakageCheck {
  const folds = record.split?.folds ?? [];
  const close = record.news?.marketClose;
  const rule =
    "Features of a quarter use only data dated on or before its last close (the row's date): prices up to that close, reports from the day they were published, market series from the day each value was known" +
    (close
      ? `, news from the articles published before that close (an article counts for the quarter whose last close, at ${close.time} ${close.time_zone}, the exchange's time zone, comes after its published_at; one published at or after that close counts for the next quarter)`
      : "");
  if (folds.length === 0) return { name: "Feature cut-off", status: "stated", text: rule };
  const byTicker = record.split!.method === "by_ticker";
  const parts = folds.map((f) =>
    `${foldName(f, folds.length)}: training rows dated ${f.trainPeriod[0]} to ${
      f.trainPeriod[1]
    }, eval rows ${f.evalPeriod[0]} to ${f.evalPeriod[1]}`
  );
  const ordered = folds.every((f) => f.trainPeriod[1] < f.evalPeriod[0]);
  return {
    name: "Feature cut-off",
    status: byTicker || !ordered ? "warning" : "verified",
    text: `${rule}. ${clauses(parts)}${
      byTicker
        ? " (the same quarters on both sides: see the split)"
        : ordered
        ? ""
        : " (training rows are dated inside the eval period)"
    }`,
  };
}

function splitCheck(record: RunRecord): LeakageCheck {
  const split = record.split!;
  let text = `Split ${splitPhrase(split.method)}`;
  if (split.method === "walk_forward") {
    const window = record.config.split.window === "rolling"
      ? "a rolling window as long as the first fold's"
      : "an expanding window from the start";
    text += ` (${formatCount(split.folds.length)} folds, ${window})`;
  }
  const warnings = split.warnings.filter((w) => w.trim());
  if (warnings.length) text += `. Its warnings: ${warnings.join("; ")}`;
  const leaks = split.method === "by_ticker" || warnings.length > 0;
  return { name: "Split", status: leaks ? "warning" : "verified", text };
}

/**
 * The leakage checks the run applied, each with the run's own numbers: the feature cut-off,
 * the purge and embargo between training and eval, the rows the scalers were fitted on, and
 * the split method with its warnings.
 *
 * @param record the run record
 * @returns the checks, or an empty list when the run stopped before splitting
 */
export function leakageChecks(record: RunRecord): LeakageCheck[] {
  if (!record.split) return [];
  return [cutoffCheck(record), gapCheck(record), scalerCheck(record), splitCheck(record)];
}
