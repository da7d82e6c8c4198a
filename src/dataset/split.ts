/**
 * Splits: which rows of the quarterly frame train, validate (early stopping)
 * and evaluate a model, as folds of row indices.
 *
 * Methods (`split.method`):
 * - `ticker_and_time` (default): train tickers before the eval period, eval
 *   tickers in it; the ticker lists must not overlap, so eval tickers AND the
 *   eval period are both unseen.
 * - `by_time`: the same row selection (train tickers before, eval tickers
 *   after) but the ticker lists may overlap, giving a pure time split when
 *   both name the same tickers (warned: the names are not unseen).
 * - `by_ticker`: the research notes' method, train tickers vs eval tickers
 *   over the same quarters, with a warning: market-wide moves leak between
 *   tickers within a quarter.
 * - `walk_forward`: the eval period cut into `folds` consecutive blocks; each
 *   fold trains on train-ticker rows before its block (`expanding` from the
 *   start, or `rolling` with the first fold's window length) and evaluates
 *   eval tickers in its block. The eval period starts at `eval_from` when
 *   given, else at the quarter `floor(n / (folds + 1))` of the frame's n
 *   quarters, so the first fold trains on about 1/(folds + 1) of them
 *   ({@linkcode defaultWalkForwardStart}).
 *
 * Gaps: a training row of quarter q has its label window (q, q + horizon].
 * Training keeps rows with `q + purge + embargo < E` (E the first eval
 * quarter) and `label_date < eval_from`, so `purge` (default and minimum:
 * the horizon) guarantees no training label reaches into the eval period and
 * `embargo` adds quarters on top (training always precedes eval here, so the
 * embargo is applied before the eval period, where it also separates
 * overlapping moving-average windows).
 *
 * Validation rows are the latest `validation_fraction` of the training
 * quarters, in time order; training rows whose label window reaches into the
 * validation quarters (the last `horizon` quarters before them) are dropped.
 *
 * @module
 */
import type { LabelConfig, SplitConfig } from "../config/schema.ts";
import {
  dayQuarter,
  dayToIso,
  isoToDay,
  quarterLabel,
  quarterNumber,
  quarterStartDay,
} from "@alfred/core";
import type { QuarterlyFrame } from "../features/quarterly.ts";

/** One fold: row indices into `QuarterlyFrame.frame`. */
export interface Fold {
  /** `"holdout"`, or `"fold-1"`, `"fold-2"`, ... for `walk_forward`. */
  name: string;
  train: number[];
  validation: number[];
  eval: number[];
  /** First and last date of the training side (train and validation rows). */
  trainPeriod: [string, string];
  /** First and last date of the eval rows. */
  evalPeriod: [string, string];
  /** Caveats the report repeats (e.g. by_ticker shares quarters between train and eval). */
  warnings: string[];
}

/** The warning every `by_ticker` fold carries. */
export const SHARED_QUARTERS_WARNING =
  "by_ticker split: train and eval share quarters: market-wide moves leak between tickers";

/** Share of the quarter range before the default `eval_from`. */
export const DEFAULT_EVAL_AT = 0.7;

interface Rows {
  ticker: string[];
  qn: number[];
  date: string[];
  labelDate: string[];
}

function readRows(q: QuarterlyFrame): Rows {
  for (const c of ["ticker", "quarter", "date", "label_date"]) {
    if (!q.frame.columns.includes(c)) {
      throw new TypeError(`Cannot split: the quarterly frame has no "${c}" column`);
    }
  }
  return {
    ticker: q.frame.getColumn("ticker").toArray() as string[],
    qn: (q.frame.getColumn("quarter").toArray() as string[]).map(quarterNumber),
    date: q.frame.getColumn("date").toArray() as string[],
    labelDate: q.frame.getColumn("label_date").toArray() as string[],
  };
}

/**
 * The default first eval date: the first day of the quarter at 70% of the
 * frame's sorted distinct quarters.
 *
 * @param quarters Quarter numbers present (any order, duplicates allowed).
 * @returns An ISO date.
 * @throws {RangeError} When there are fewer than 2 quarters.
 */
export function defaultEvalFrom(quarters: number[]): string {
  const qs = [...new Set(quarters)].sort((a, b) => a - b);
  if (qs.length < 2) {
    throw new RangeError(
      `Cannot place the eval period: the frame has ${qs.length} quarter(s), need at least 2`,
    );
  }
  const idx = Math.min(qs.length - 1, Math.max(1, Math.floor(DEFAULT_EVAL_AT * qs.length)));
  return dayToIso(quarterStartDay(qs[idx]));
}

/**
 * The default start of the walk-forward eval period: the first day of the
 * quarter at index `floor(n / (folds + 1))` (at least 1) of the sorted
 * distinct quarters, so the first fold trains on about 1/(folds + 1) of them.
 *
 * @param quarters Quarter numbers present (any order, duplicates allowed).
 * @param folds The number of folds.
 * @returns An ISO date.
 * @throws {RangeError} When there are fewer than 2 quarters.
 */
export function defaultWalkForwardStart(quarters: number[], folds: number): string {
  const qs = [...new Set(quarters)].sort((a, b) => a - b);
  if (qs.length < 2) {
    throw new RangeError(
      `Cannot place the walk-forward eval period: the frame has ${qs.length} quarter(s), need at least 2`,
    );
  }
  return dayToIso(quarterStartDay(qs[Math.max(1, Math.floor(qs.length / (folds + 1)))]));
}

function period(rows: number[], r: Rows): [string, string] {
  let lo = "";
  let hi = "";
  for (const i of rows) {
    if (lo === "" || r.date[i] < lo) lo = r.date[i];
    if (hi === "" || r.date[i] > hi) hi = r.date[i];
  }
  return [lo, hi];
}

function describeDates(rows: number[], r: Rows, who: string): string {
  if (rows.length === 0) return `${who} have no rows in the quarterly frame`;
  const [a, b] = period(rows, r);
  return `${who} have rows dated "${a}" to "${b}"`;
}

function quoteList(xs: string[]): string {
  return xs.map((x) => `"${x}"`).join(", ");
}

/**
 * Splits the quarterly frame's rows into folds.
 *
 * @param q The quarterly frame.
 * @param split The split config.
 * @param label The label config (its horizon is the minimum purge).
 * @param tickers The resolved train and eval tickers.
 * @returns One fold (`holdout`) or `split.folds` folds (`walk_forward`), each with ascending row indices.
 * @throws {RangeError} When `purge` is below the horizon, ticker lists overlap under
 *   `ticker_and_time`, or a fold ends up without training, validation or eval rows.
 * @example
 * ```ts
 * const [fold] = splitRows(q, SplitConfig.parse({}), label, { train: ["AA"], eval: ["IBM"] });
 * fold.train; // row indices, all AA, all labels known before the eval period
 * ```
 */
export function splitRows(
  q: QuarterlyFrame,
  split: SplitConfig,
  label: LabelConfig,
  tickers: { train: string[]; eval: string[] },
): Fold[] {
  const r = readRows(q);
  const horizon = label.horizon;
  const purge = split.purge ?? horizon;
  if (purge < horizon) {
    throw new RangeError(
      `Split purge ${purge} is below the label horizon ${horizon}: training labels would overlap the eval period; use purge >= ${horizon}`,
    );
  }
  const gap = purge + split.embargo;
  const trainSet = new Set(tickers.train);
  const evalSet = new Set(tickers.eval);
  const shared = tickers.train.filter((t) => evalSet.has(t));
  const warnings: string[] = [];
  if (shared.length > 0) {
    if (split.method !== "by_time") {
      throw new RangeError(
        `Split "${split.method}" needs disjoint train and eval tickers: both list ${
          quoteList(shared)
        }`,
      );
    }
    warnings.push(
      `by_time split: train and eval share tickers ${
        quoteList(shared)
      }: only the period is unseen for them`,
    );
  }
  const tickersPresent = new Set(r.ticker);
  for (const [side, list] of [["train", tickers.train], ["eval", tickers.eval]] as const) {
    const absent = list.filter((t) => !tickersPresent.has(t));
    if (absent.length > 0) {
      warnings.push(
        `${side} ticker${absent.length > 1 ? "s" : ""} ${quoteList(absent)} ha${
          absent.length > 1 ? "ve" : "s"
        } no rows in the quarterly frame`,
      );
    }
  }
  const all = r.ticker.map((_, i) => i);
  const trainRows = all.filter((i) => trainSet.has(r.ticker[i]));
  const evalRows = all.filter((i) => evalSet.has(r.ticker[i]));
  const trainWho = `train tickers ${quoteList(tickers.train)}`;
  const evalWho = `eval tickers ${quoteList(tickers.eval)}`;

  const finish = (
    name: string,
    side: number[],
    evalIdx: number[],
    why: string,
    extra: string[],
  ): Fold => {
    if (side.length === 0) {
      throw new RangeError(
        `Fold "${name}" of split "${split.method}" has no training rows: ${why}; ${
          describeDates(trainRows, r, trainWho)
        }`,
      );
    }
    if (evalIdx.length === 0) {
      throw new RangeError(
        `Fold "${name}" of split "${split.method}" has no eval rows: ${why}; ${
          describeDates(evalRows, r, evalWho)
        }`,
      );
    }
    const { train, validation } = validationSplit(
      name,
      side,
      r,
      horizon,
      split.validation_fraction,
    );
    return {
      name,
      train,
      validation,
      eval: evalIdx,
      trainPeriod: period([...train, ...validation], r),
      evalPeriod: period(evalIdx, r),
      warnings: [...warnings, ...extra],
    };
  };

  if (split.method === "by_ticker") {
    return [
      finish("holdout", trainRows, evalRows, "by_ticker uses every quarter", [
        SHARED_QUARTERS_WARNING,
      ]),
    ];
  }

  const present = [...trainRows, ...evalRows].map((i) => r.qn[i]);
  const evalFrom = split.eval_from ??
    (split.method === "walk_forward"
      ? defaultWalkForwardStart(present, split.folds)
      : defaultEvalFrom(present));
  const evalStart = dayQuarter(isoToDay(evalFrom));
  const trainBefore = (start: number, startIso: string) =>
    trainRows.filter((i) => r.qn[i] + gap < start && r.labelDate[i] < startIso);
  const rule = (start: number, startIso: string) =>
    `training keeps quarters up to ${
      quarterLabel(start - gap - 1)
    } with labels known before "${startIso}" (purge ${purge}, embargo ${split.embargo})`;

  if (split.method === "ticker_and_time" || split.method === "by_time") {
    const side = trainBefore(evalStart, evalFrom);
    const ev = evalRows.filter((i) => r.date[i] >= evalFrom);
    return [
      finish("holdout", side, ev, `eval starts "${evalFrom}"; ${rule(evalStart, evalFrom)}`, []),
    ];
  }

  // walk_forward
  const evalQuarters = [
    ...new Set(evalRows.filter((i) => r.date[i] >= evalFrom).map((i) => r.qn[i])),
  ]
    .sort((a, b) => a - b);
  if (evalQuarters.length < split.folds) {
    throw new RangeError(
      `Split "walk_forward" needs at least ${split.folds} eval quarters for ${split.folds} folds: eval tickers have ${evalQuarters.length} from "${evalFrom}" (${
        evalQuarters.map(quarterLabel).join(", ") || "none"
      })`,
    );
  }
  const folds: Fold[] = [];
  let window = 0;
  let offset = 0;
  for (let k = 0; k < split.folds; k++) {
    const size = Math.floor(evalQuarters.length / split.folds) +
      (k < evalQuarters.length % split.folds ? 1 : 0);
    const block = evalQuarters.slice(offset, offset + size);
    offset += size;
    const start = block[0];
    const startIso = dayToIso(quarterStartDay(start));
    const blockSet = new Set(block);
    const ev = evalRows.filter((i) => blockSet.has(r.qn[i]) && r.date[i] >= evalFrom);
    let side = trainBefore(start, startIso);
    const sideQuarters = [...new Set(side.map((i) => r.qn[i]))].sort((a, b) => a - b);
    if (k === 0) window = sideQuarters.length;
    else if (split.window === "rolling" && sideQuarters.length > window) {
      const first = sideQuarters[sideQuarters.length - window];
      side = side.filter((i) => r.qn[i] >= first);
    }
    folds.push(
      finish(
        `fold-${k + 1}`,
        side,
        ev,
        `eval block ${quarterLabel(block[0])}..${quarterLabel(block[block.length - 1])}; ${
          rule(start, startIso)
        }`,
        [],
      ),
    );
  }
  return folds;
}

/**
 * Splits a fold's training side into train and validation rows: validation is
 * the latest `fraction` of its distinct quarters (at least one); train rows
 * whose label window reaches into the validation quarters are dropped.
 */
function validationSplit(
  name: string,
  side: number[],
  r: Rows,
  horizon: number,
  fraction: number,
): { train: number[]; validation: number[] } {
  const quarters = [...new Set(side.map((i) => r.qn[i]))].sort((a, b) => a - b);
  const nVal = Math.max(1, Math.round(fraction * quarters.length));
  const vStart = quarters[quarters.length - nVal];
  const validation = side.filter((i) => r.qn[i] >= vStart);
  const train = side.filter((i) => r.qn[i] + horizon < vStart);
  if (train.length === 0) {
    throw new RangeError(
      `Fold "${name}" has too few training quarters for validation: ${quarters.length} (${
        quarterLabel(quarters[0])
      }..${
        quarterLabel(quarters[quarters.length - 1])
      }), validation takes the last ${nVal} and the purge ${horizon} more; need at least ${
        nVal + horizon + 1
      }`,
    );
  }
  return { train: train.sort((a, b) => a - b), validation: validation.sort((a, b) => a - b) };
}
