/**
 * Ticker resolution: explicit lists, or rules that pick tickers (`uncorrelated`, `all`, `rest`).
 * Uncorrelated selection is the research notes' `scanner.py`: start with one ticker, then repeatedly
 * add the ticker whose maximum absolute correlation of daily returns to those already picked is
 * lowest. Correlations use daily returns up to the training end only.
 *
 * @module
 */
import type { DataConfig, TickerSpec } from "../config/schema.ts";
import type { Dataset } from "./dataset.ts";
import { dayToIso, extent, pearson } from "@alfred/core";
import { continuousTickers, dayCalendar, priceRows } from "./scan.ts";
import { Universe } from "./universe.ts";

/** Fewest overlapping daily returns for a correlation to count; fewer count as correlation 1. */
export const MIN_OVERLAP = 20;

/** A ticker list or rule in the config cannot be resolved against the dataset. */
export class TickerSelectionError extends RangeError {
  /**
   * @param message what is wrong, and what is allowed
   * @param path the config path, e.g. `data.train_tickers[2]`
   * @param ticker the offending ticker, where there is one
   */
  constructor(message: string, readonly path: string, readonly ticker?: string) {
    super(message);
    this.name = "TickerSelectionError";
  }
}

/** What an uncorrelated selection picked, for the run record. */
export interface UncorrelatedSelection {
  side: "train" | "eval";
  method: "uncorrelated";
  start: string;
  /** The picked tickers, in pick order. */
  picked: string[];
  /** Per pick: its maximum absolute correlation to the tickers picked before it (0 for the start). */
  maxAbsCorrelation: number[];
  /** Pairwise return correlations among the picked tickers (NaN without pairs). */
  correlationSummary: { mean: number; max: number; min: number };
  /** Dates whose returns were used. */
  period: [string, string];
}

/** The resolved train and eval tickers. */
export interface ResolvedTickers {
  train: string[];
  eval: string[];
  /** The train side's uncorrelated selection if it has one, else the eval side's. */
  selection?: UncorrelatedSelection;
  /** Every uncorrelated selection made (train first). */
  selections: UncorrelatedSelection[];
}

/**
 * Correlations between tickers by position: a symmetric matrix, or a function giving the entry at
 * `(i, j)` (computed on demand, so a greedy pick of `count` tickers among `n` needs `count · n`
 * correlations, not `n²`).
 */
export type Correlations = number[][] | ((i: number, j: number) => number);

/**
 * Greedy least-correlated pick. Starts with `start`; then repeatedly adds the candidate (not picked,
 * not in `exclude`) whose maximum absolute correlation to the picked tickers is lowest; ties go to
 * the ticker name that sorts first. NaN correlations count as 1. Reads only the correlations of
 * each picked ticker with the others: `count · n` entries.
 *
 * @param corr symmetric correlations, rows and columns in `names` order
 * @param names ticker names
 * @param start first pick
 * @param count how many to pick, `start` included
 * @param exclude tickers that may not be picked
 * @returns picked tickers in order, and each one's maximum absolute correlation to earlier picks
 * @throws {RangeError} when `start` is unknown or excluded, or fewer than `count` candidates exist
 * @example
 * ```ts
 * selectUncorrelated([[1, 0.9, 0.1], [0.9, 1, 0.2], [0.1, 0.2, 1]], ["A", "B", "C"], "A", 2, new Set());
 * // { picked: ["A", "C"], maxAbsCorrelation: [0, 0.1] }
 * ```
 */
export function selectUncorrelated(
  corr: Correlations,
  names: string[],
  start: string,
  count: number,
  exclude: Set<string>,
): { picked: string[]; maxAbsCorrelation: number[] } {
  const s = names.indexOf(start);
  if (s < 0) throw new RangeError(`Unknown start ticker "${start}"`);
  if (exclude.has(start)) {
    throw new RangeError(`Start ticker "${start}" is excluded: the other side already has it`);
  }
  const available = names.filter((n) => !exclude.has(n)).length;
  if (!Number.isInteger(count) || count < 1 || count > available) {
    throw new RangeError(
      `Cannot pick ${count} tickers: expected 1 to ${available} (the candidates not excluded)`,
    );
  }
  const at = typeof corr === "function" ? corr : (i: number, j: number) => corr[i][j];
  const abs = (i: number, j: number) => {
    const v = at(i, j);
    return Number.isFinite(v) ? Math.abs(v) : 1;
  };
  const picked = [s];
  const maxAbs = [0];
  const taken = names.map((n, i) => i === s || exclude.has(n));
  // worst[i]: max |corr| of candidate i to the picked set (only candidates are read)
  const worst = names.map((_, i) => (taken[i] ? 1 : abs(i, s)));
  while (picked.length < count) {
    let best = -1;
    for (let i = 0; i < names.length; i++) {
      if (taken[i]) continue;
      if (
        best < 0 || worst[i] < worst[best] ||
        (worst[i] === worst[best] && names[i] < names[best])
      ) best = i;
    }
    picked.push(best);
    maxAbs.push(worst[best]);
    taken[best] = true;
    if (picked.length === count) break;
    for (let i = 0; i < names.length; i++) {
      if (!taken[i]) worst[i] = Math.max(worst[i], abs(i, best));
    }
  }
  return { picked: picked.map((i) => names[i]), maxAbsCorrelation: maxAbs };
}

/**
 * Daily log returns of each ticker on the dataset's calendar over a date window (NaN where a
 * ticker has no close on a day or the day before).
 */
function dailyReturns(
  dataset: Dataset,
  tickers: string[],
  from: string,
  to: string,
): { rets: Float64Array[]; calendar: number[] } {
  const rows = priceRows(dataset, from, to);
  const { calendar, index } = dayCalendar(rows.day);
  const col = new Map(tickers.map((t, i) => [t, i]));
  const T = calendar.length;
  // Closes first, turned into returns in place from the end.
  const rets = tickers.map(() => new Float64Array(T).fill(NaN));
  rows.tickers.forEach((t, k) => {
    const c = col.get(t);
    if (c === undefined) return;
    for (let i = rows.start[k]; i < rows.start[k + 1]; i++) {
      rets[c][index(rows.day[i])] = rows.close[i];
    }
  });
  for (const r of rets) {
    for (let k = T - 1; k >= 1; k--) r[k] = Math.log(r[k] / r[k - 1]);
    if (T) r[0] = NaN;
  }
  return { rets, calendar };
}

/**
 * Correlations of daily returns computed on demand, pair by pair over the days both have a return,
 * a whole column at a time and cached: the greedy pick asks for `count` columns.
 */
function lazyCorrelations(rets: Float64Array[]): (i: number, j: number) => number {
  const n = rets.length;
  const T = n ? rets[0].length : 0;
  const pa = new Float64Array(T), pb = new Float64Array(T);
  // Pairwise complete; the lower index first, so every entry is the one the full matrix had.
  const pair = (i: number, j: number): number => {
    if (i === j) return 1;
    const a = rets[Math.min(i, j)], b = rets[Math.max(i, j)];
    let m = 0;
    for (let k = 0; k < T; k++) {
      if (Number.isFinite(a[k]) && Number.isFinite(b[k])) {
        pa[m] = a[k];
        pb[m++] = b[k];
      }
    }
    if (m < MIN_OVERLAP) return NaN;
    return pearson(pa.subarray(0, m), pb.subarray(0, m)) ?? NaN;
  };
  const columns = new Map<number, Float64Array>();
  return (i, j) => {
    const cached = columns.get(j) ?? columns.get(i);
    if (cached) return cached[columns.has(j) ? i : j];
    const column = new Float64Array(n);
    for (let k = 0; k < n; k++) column[k] = pair(k, j);
    columns.set(j, column);
    return column[i];
  };
}

/**
 * Pearson correlations of daily log returns between tickers over a date window, pairwise over the
 * days both have a return (a return needs closes on two consecutive trading days of the dataset's
 * calendar). Pairs with fewer than {@linkcode MIN_OVERLAP} common returns get NaN. The full matrix:
 * quadratic in tickers, for reports on small sets; selection reads only the entries it needs.
 *
 * @param dataset the dataset (needs a prices table)
 * @param tickers the tickers, in matrix order
 * @param from first date, inclusive
 * @param to last date, inclusive
 * @returns the symmetric matrix (1 on the diagonal) and the window's actual first and last dates
 */
export function returnCorrelations(
  dataset: Dataset,
  tickers: string[],
  from: string,
  to: string,
): { corr: number[][]; period: [string, string] } {
  const { rets, calendar } = dailyReturns(dataset, tickers, from, to);
  const at = lazyCorrelations(rets);
  const n = tickers.length;
  const corr = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => at(i, j)));
  return { corr, period: windowPeriod(calendar, from, to) };
}

function windowPeriod(calendar: number[], from: string, to: string): [string, string] {
  return calendar.length
    ? [dayToIso(calendar[0]), dayToIso(calendar[calendar.length - 1])]
    : [from, to];
}

/**
 * Candidates the default start of an uncorrelated pick is scored against: all of them up to this
 * many plus one (the exact mean over all others), else this many spread evenly through the sorted
 * candidates, so the score costs `n · START_SAMPLE` correlations rather than `n²`.
 */
export const START_SAMPLE = 100;

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

/**
 * Tickers of `known` that look like `ticker` (case-insensitive edit distance at most 2, or a prefix
 * either way), closest first, at most five.
 *
 * @param ticker the unknown ticker
 * @param known the dataset's tickers
 * @returns close matches
 */
export function closeMatches(ticker: string, known: readonly string[]): string[] {
  const t = ticker.toUpperCase();
  return known
    .map((k) => {
      const u = k.toUpperCase();
      const d = levenshtein(t, u);
      const prefix = u.startsWith(t) || t.startsWith(u);
      return { k, d: prefix ? Math.min(d, 2) : d };
    })
    .filter((x) => x.d <= 2)
    .sort((x, y) => x.d - y.d || (x.k < y.k ? -1 : 1))
    .slice(0, 5)
    .map((x) => x.k);
}

function quoteList(list: readonly string[], max = 40): string {
  const shown = list.slice(0, max).map((t) => `"${t}"`).join(", ");
  return list.length > max ? `${shown}, ... (${list.length} in all)` : shown;
}

type Side = "train" | "eval";
const KEY: Record<Side, string> = { train: "data.train_tickers", eval: "data.eval_tickers" };

/**
 * Resolve the config's `train_tickers` and `eval_tickers` against a dataset.
 *
 * Explicit lists are checked (unknown tickers are an error listing close matches and what the
 * dataset has). Rules: `{select: all, since?}` every ticker with continuous history since `since`
 * (default: the data window's start); `{select: uncorrelated, start?, count, since?}` the greedy
 * least-correlated pick over daily returns dated on or before `trainEnd` (default start: the
 * candidate with the lowest mean absolute correlation to the others, or to {@linkcode START_SAMPLE}
 * evenly spread ones when there are more); `{select: rest, since?}`
 * every ticker the other side did not take. Explicit lists and `all` resolve first, then
 * uncorrelated picks (train before eval, each excluding what the other side already holds), then
 * `rest`. Train and eval never share a ticker, unless `options.shareTickers` (a `by_time` split,
 * which separates them by period) lets the explicit lists name the same tickers; rules still pick
 * each side from what the other does not hold.
 *
 * @param dataset the dataset (needs a prices table for rules)
 * @param data the experiment's `data` section
 * @param trainEnd last date of the training period (ISO); returns after it are not used
 * @param options `shareTickers`: train and eval lists may share tickers
 * @returns train and eval tickers, and the uncorrelated selections for the run record
 * @throws {TickerSelectionError} naming the config path and, where there is one, the ticker
 */
export function resolveTickers(
  dataset: Dataset,
  data: DataConfig,
  trainEnd: string,
  options: { shareTickers?: boolean } = {},
): ResolvedTickers {
  const known = dataset.manifest.tickers;
  const knownSet = new Set(known);
  const windowFrom = data.from ?? dataset.manifest.from;
  const windowTo = data.to ?? dataset.manifest.to;
  const specs: Record<Side, TickerSpec> = { train: data.train_tickers, eval: data.eval_tickers };
  const out: Partial<Record<Side, string[]>> = {};
  const selections: UncorrelatedSelection[] = [];
  const other = (s: Side): Side => (s === "train" ? "eval" : "train");

  const universe = Universe.of(dataset);
  // With a point-in-time universe a rule's candidates are the tickers that were members at some
  // time from `since` (default: the window's start) to `until`: the quarters they were not are
  // dropped later, row by row, and nothing is chosen on whether a ticker survives.
  const candidates = (side: Side, since: string | undefined, until = windowTo): string[] => {
    if (universe) {
      const from = since ?? windowFrom;
      return [...known].sort().filter((t) => universe.memberDuring(t, from, until));
    }
    if (since === undefined) return [...known].sort();
    try {
      return continuousTickers(dataset, since, { until: windowTo });
    } catch (e) {
      throw new TickerSelectionError((e as Error).message, `${KEY[side]}.since`);
    }
  };

  // 1. explicit lists
  for (const side of ["train", "eval"] as const) {
    const spec = specs[side];
    if (!Array.isArray(spec)) continue;
    const seen = new Set<string>();
    spec.forEach((t, i) => {
      const path = `${KEY[side]}[${i}]`;
      if (!knownSet.has(t)) {
        const near = closeMatches(t, known);
        throw new TickerSelectionError(
          `Unknown ticker "${t}" in ${path}: ${
            near.length ? `close matches ${quoteList(near)}; ` : ""
          }dataset "${dataset.name}" has ${quoteList([...known].sort())}`,
          path,
          t,
        );
      }
      if (seen.has(t)) {
        throw new TickerSelectionError(`Ticker "${t}" is listed twice in ${KEY[side]}`, path, t);
      }
      seen.add(t);
    });
    out[side] = [...spec];
  }
  // 2. all
  for (const side of ["train", "eval"] as const) {
    const spec = specs[side];
    if (Array.isArray(spec) || spec.select !== "all") continue;
    out[side] = candidates(side, spec.since ?? windowFrom);
  }
  // 3. uncorrelated, train first
  for (const side of ["train", "eval"] as const) {
    const spec = specs[side];
    if (Array.isArray(spec) || spec.select !== "uncorrelated") continue;
    const path = KEY[side];
    if (spec.count === undefined) {
      throw new TickerSelectionError(
        `${path} {select: uncorrelated} needs count: how many tickers to pick`,
        `${path}.count`,
      );
    }
    const corrTo = trainEnd < windowTo ? trainEnd : windowTo;
    // A selection made on `corrTo` knows the universe up to then only.
    const pool = candidates(side, spec.since, universe ? corrTo : windowTo);
    const exclude = new Set(out[other(side)] ?? []);
    const free = pool.filter((t) => !exclude.has(t));
    if (spec.start !== undefined) {
      if (!knownSet.has(spec.start)) {
        const near = closeMatches(spec.start, known);
        throw new TickerSelectionError(
          `Unknown start ticker "${spec.start}" in ${path}.start: ${
            near.length ? `close matches ${quoteList(near)}; ` : ""
          }dataset "${dataset.name}" has ${quoteList([...known].sort())}`,
          `${path}.start`,
          spec.start,
        );
      }
      if (exclude.has(spec.start)) {
        throw new TickerSelectionError(
          `Start ticker "${spec.start}" in ${path}.start is already in ${
            KEY[other(side)]
          }: train and eval must not share a ticker`,
          `${path}.start`,
          spec.start,
        );
      }
      if (!pool.includes(spec.start)) {
        throw new TickerSelectionError(
          universe
            ? `Start ticker "${spec.start}" in ${path}.start is not a member of the universe between "${
              spec.since ?? windowFrom
            }" and "${corrTo}"`
            : `Start ticker "${spec.start}" in ${path}.start has no continuous history since "${spec.since}"`,
          `${path}.start`,
          spec.start,
        );
      }
    }
    if (spec.count > free.length) {
      throw new TickerSelectionError(
        `${path} asks for ${spec.count} tickers but only ${free.length} are available${
          spec.since ? ` with continuous history since "${spec.since}"` : ""
        }${exclude.size ? ` and not in ${KEY[other(side)]}` : ""}`,
        `${path}.count`,
      );
    }
    if (corrTo < windowFrom) {
      throw new TickerSelectionError(
        `${path} {select: uncorrelated} has no training returns: training ends "${trainEnd}" before the data starts "${windowFrom}"`,
        path,
      );
    }
    const { rets, calendar } = dailyReturns(dataset, free, windowFrom, corrTo);
    const corr = lazyCorrelations(rets);
    const period = windowPeriod(calendar, windowFrom, corrTo);
    let start = spec.start;
    if (start === undefined) {
      // the candidate least correlated with the others on average (over a sample when many)
      const everyone = free.length <= START_SAMPLE + 1;
      const sample = everyone ? free.map((_, j) => j) : Array.from(
        { length: START_SAMPLE },
        (_, k) => Math.floor(k * free.length / START_SAMPLE),
      );
      let best = -1, bestScore = Infinity;
      free.forEach((t, i) => {
        let sum = 0, m = 0;
        for (const j of sample) {
          if (j === i) continue;
          const v = corr(i, j);
          sum += Number.isFinite(v) ? Math.abs(v) : 1;
          m++;
        }
        const s = everyone ? sum : sum / m;
        if (s < bestScore || (s === bestScore && t < free[best])) {
          best = i;
          bestScore = s;
        }
      });
      start = free[best];
    }
    const { picked, maxAbsCorrelation } = selectUncorrelated(
      corr,
      free,
      start,
      spec.count,
      new Set(),
    );
    const pos = new Map(free.map((t, i) => [t, i]));
    const pairs: number[] = [];
    for (let a = 0; a < picked.length; a++) {
      for (let b = a + 1; b < picked.length; b++) {
        const v = corr(pos.get(picked[a])!, pos.get(picked[b])!);
        if (Number.isFinite(v)) pairs.push(v);
      }
    }
    // Not a spread: the pairs grow with the square of the picks.
    const range = extent(pairs);
    selections.push({
      side,
      method: "uncorrelated",
      start,
      picked,
      maxAbsCorrelation,
      correlationSummary: {
        mean: pairs.length ? pairs.reduce((s, v) => s + v, 0) / pairs.length : NaN,
        max: range ? range.max : NaN,
        min: range ? range.min : NaN,
      },
      period,
    });
    out[side] = picked;
  }
  // 4. rest
  for (const side of ["train", "eval"] as const) {
    const spec = specs[side];
    if (Array.isArray(spec) || spec.select !== "rest") continue;
    const taken = out[other(side)];
    if (taken === undefined) {
      throw new TickerSelectionError(
        `${KEY.train} and ${KEY.eval} are both {select: rest}: at most one side may take the rest`,
        KEY[side],
      );
    }
    const takenSet = new Set(taken);
    out[side] = candidates(side, spec.since).filter((t) => !takenSet.has(t));
  }

  const train = out.train!, evalTickers = out.eval!;
  for (const side of ["train", "eval"] as const) {
    if (out[side]!.length === 0) {
      throw new TickerSelectionError(
        `${KEY[side]} resolved to no tickers in dataset "${dataset.name}"`,
        KEY[side],
      );
    }
  }
  const evalSet = new Set(evalTickers);
  const shared = train.filter((t) => evalSet.has(t));
  if (shared.length && !options.shareTickers) {
    throw new TickerSelectionError(
      `Tickers ${
        quoteList(shared)
      } are in both ${KEY.train} and ${KEY.eval}: train and eval must not share a ticker`,
      KEY.eval,
      shared[0],
    );
  }
  const selection = selections.find((s) => s.side === "train") ?? selections[0];
  return { train, eval: evalTickers, ...(selection ? { selection } : {}), selections };
}
