/**
 * Bringing records written by earlier versions of Alfred to {@linkcode RECORD_VERSION}, once, when
 * they are read. A record without a `version` field is version 1, in any of the shapes it took:
 *
 * - **the backtest stage's shape**: `backtest` as `runBacktest` returns it, daily series as
 *   columns (`series: { dates, strategy, index, basket, drawdown }`), statistics with a costs
 *   breakdown object and a `null` index row;
 * - **equity points, calendar days**: `backtest.equity` and `backtest.drawdown` as points
 *   `{ date, strategy, index, basket }`, drawdown durations in calendar days
 *   (`maxDrawdownDays`), no memory plan, no feature families, no per-fold leakage fields;
 * - **equity points, trading days**: as the last, with durations in trading days
 *   (`maxDrawdownTradingDays`), the memory plan, feature families and per-fold leakage fields;
 * - walk-forward metrics with fold tables among the splits (`preTrain.eval["fold-1"]`,
 *   `postTrain["fold-1"]`, `lastEpoch.train["fold-1"]`).
 *
 * Version 4 moves what grows with the eval tickers out of `record.json` into Parquet tables beside
 * it (`metrics.perTicker`, `backtest.perTicker`, ticker lists longer than
 * `TICKERS_INLINE_MAX`): the record in memory is the same, so a version 3 record is one as it is
 * (its head holds those parts itself, and `joinRecord` keeps them).
 *
 * Version 3 adds the optional `inference` and `seedRuns` (a version 2 record is one as it is).
 *
 * Version 2 adds the resolved config as data (`config`, read once from `configYaml` here), the
 * split's horizon, purge, embargo and eval start (from that config where the run did not record
 * them), durations in trading days (counted from the recorded daily equity, or kept as calendar
 * days under `maxDrawdownCalendarDays` without it), assumptions as a list, no drawdown series
 * (they follow from the equity), and walk-forward fold metrics under `folds`.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import { Experiment } from "../config/schema.ts";
import { maxDrawdown } from "../backtest/stats.ts";
import { RecordError } from "./errors.ts";
import { RECORD_VERSION } from "./schema.ts";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A record of any version as a record of {@linkcode RECORD_VERSION} (not yet validated: the
 * caller parses it against the schema).
 *
 * @param value the parsed `record.json`, tables joined in
 * @param file where it comes from, for errors
 * @returns the record's data in this version's shape
 * @throws {RecordError} when the value is not an object, names a version this Alfred does not
 *   know, or its config YAML does not give a valid config
 * @example
 * ```ts
 * const v2 = migrateRecord(JSON.parse(await Deno.readTextFile(path)), path);
 * ```
 */
export function migrateRecord(value: unknown, file: string): unknown {
  if (!isObject(value)) {
    throw new RecordError(file, [{ path: [], message: "expected an object" }]);
  }
  if (value.version === RECORD_VERSION) return value;
  // Version 4 stores per-ticker parts as tables (the same record in memory); version 3 adds
  // `inference` and `seedRuns`, both optional: a version 2 or 3 record is one as it is.
  if (value.version === 2 || value.version === 3) return { ...value, version: RECORD_VERSION };
  if (value.version !== undefined) {
    throw new RecordError(file, [{
      path: ["version"],
      message: `expected ${RECORD_VERSION}, 3 or 2, or none for a record of version 1, got ${
        JSON.stringify(value.version)
      } (written by a newer Alfred?)`,
    }]);
  }
  return fromVersion1(value, file);
}

function fromVersion1(r: Record<string, unknown>, file: string): Record<string, unknown> {
  const config = configOf(r.configYaml, file);
  const out: Record<string, unknown> = { version: RECORD_VERSION, ...r, config };
  if (isObject(r.split) && config) out.split = splitOf(r.split, config);
  if (isObject(r.metrics)) out.metrics = metricsOf(r.metrics);
  if (r.backtest !== undefined) out.backtest = backtestOf(r.backtest);
  return out;
}

/**
 * The resolved config the record's YAML holds; undefined without YAML text (the schema then
 * reports it with whatever else is missing).
 */
function configOf(yaml: unknown, file: string): Experiment | undefined {
  const fail = (message: string): never => {
    throw new RecordError(file, [{ path: ["configYaml"], message }]);
  };
  if (typeof yaml !== "string") return undefined;
  let parsed: unknown;
  try {
    parsed = parseYaml(yaml);
  } catch (e) {
    return fail(`cannot parse it as YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  const result = Experiment.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    return fail(`not a valid config: ${issue.path.join(".") || "(config)"}: ${issue.message}`);
  }
  return result.data;
}

/** The split with the gap fields the run applied, from the config where it did not record them. */
function splitOf(split: Record<string, unknown>, config: Experiment): Record<string, unknown> {
  const horizon = split.horizon ?? config.label.horizon;
  return {
    ...split,
    horizon,
    purge: split.purge ?? config.split.purge ?? horizon,
    embargo: split.embargo ?? config.split.embargo,
    evalFrom: split.evalFrom !== undefined
      ? split.evalFrom
      : split.method === "by_ticker"
      ? null
      : config.split.eval_from ?? null,
  };
}

const SPLITS = ["train", "validation", "eval"];
const FOLD = /^fold-\d+$/;

/** Walk-forward fold tables, wherever version 1 put them, under `folds`. */
function metricsOf(m: Record<string, unknown>): Record<string, unknown> {
  const out = { ...m };
  for (const place of ["preTrain", "postTrain", "lastEpoch"]) {
    const split = m[place];
    if (!isObject(split)) continue;
    const next: Record<string, unknown> = {};
    const folds: Record<string, Record<string, unknown>> = {};
    const fold = (name: string) => (folds[name] ??= {});
    for (const [key, value] of Object.entries(split)) {
      if (FOLD.test(key)) {
        // postTrain["fold-1"]: that fold's eval metrics beside the pooled ones.
        fold(key).eval = value;
      } else if (
        SPLITS.includes(key) && isObject(value) && Object.keys(value).length > 0 &&
        Object.keys(value).every((k) => FOLD.test(k))
      ) {
        // preTrain.eval["fold-1"]: a split's table per fold.
        for (const [name, set] of Object.entries(value)) fold(name)[key] = set;
      } else {
        next[key] = value;
      }
    }
    if (Object.keys(folds).length > 0) {
      next.folds = { ...(isObject(next.folds) ? next.folds : {}), ...folds };
    }
    out[place] = next;
  }
  return out;
}

/** The backtest in this version's shape, from the stage's shape or version 1's points. */
function backtestOf(value: unknown): unknown {
  if (!isObject(value)) return value ?? null;
  const {
    series,
    drawdown: _drawdown,
    labelMode: _labelMode,
    config: _config,
    sameCloseFills: _sameCloseFills,
    fills: _fills,
    ...b
  } = value;
  const equity = Array.isArray(b.equity)
    ? b.equity.map(pointOf)
    : isObject(series) && Array.isArray(series.dates)
    ? columnsToPoints(series)
    : b.equity;
  const out: Record<string, unknown> = {
    ...b,
    equity,
    trades: b.trades ?? [],
    ruin: b.ruin ?? [],
    assumptions: assumptionsOf(b.assumptions),
  };
  if (isObject(b.stats)) {
    const stats: Record<string, unknown> = {};
    for (const [name, row] of Object.entries(b.stats)) {
      // The stage writes a null index row when there is no index.
      if (row === null) continue;
      stats[name] = isObject(row) ? statsOf(name, row, equity) : row;
    }
    out.stats = stats;
  }
  return out;
}

/** An equity point with every series present (`null` where it has none). */
function pointOf(point: unknown): unknown {
  if (!isObject(point)) return point;
  return { index: null, basket: null, ...point };
}

/** The stage's columns (`dates`, `strategy`, `index`, `basket`) as points. */
function columnsToPoints(series: Record<string, unknown>): unknown[] {
  const column = (name: string): unknown[] | null => {
    const v = series[name];
    return Array.isArray(v) ? v : null;
  };
  const dates = column("dates") ?? [];
  const strategy = column("strategy") ?? [];
  const index = column("index");
  const basket = column("basket");
  return dates.map((date, i) => ({
    date,
    strategy: strategy[i] ?? null,
    index: index ? index[i] ?? null : null,
    basket: basket ? basket[i] ?? null : null,
  }));
}

/** Assumptions as a list: version 1 may hold them as an object (`key: value` each). */
function assumptionsOf(value: unknown): unknown {
  if (!isObject(value)) return value ?? [];
  return Object.entries(value).map(([k, v]) =>
    `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`
  );
}

/**
 * One series' statistics: the costs breakdown flat (`costs_total`, ...), and the drawdown
 * duration in trading days, counted from the daily equity when the run recorded calendar days.
 */
function statsOf(
  series: string,
  row: Record<string, unknown>,
  equity: unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (key === "costs" && isObject(value)) {
      for (const [k, v] of Object.entries(value)) out[`costs_${k}`] = v;
    } else {
      out[key] = value;
    }
  }
  if (!("maxDrawdownDays" in out)) return out;
  const { maxDrawdownDays, ...rest } = out;
  if (rest.maxDrawdownTradingDays !== undefined) return rest;
  const points = Array.isArray(equity) ? equity.filter(isObject) : [];
  const values = points.map((p) => p[series]);
  const capital = rest.startEquity;
  if (
    typeof capital === "number" && points.length > 0 &&
    values.every((v): v is number => typeof v === "number")
  ) {
    const dates = points.map((p) => String(p.date));
    return { ...rest, maxDrawdownTradingDays: maxDrawdown(dates, capital, values).tradingDays };
  }
  return { ...rest, maxDrawdownCalendarDays: maxDrawdownDays };
}
