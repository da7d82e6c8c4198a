/**
 * Sequence windows: what a row's window of history is, and how it is laid
 * out in the model's input.
 *
 * A window of `length` steps over `fields` is flattened time-major into
 * `length × fields.length` feature columns, oldest step first: column
 * `t * fields.length + f` holds field `f` at step `t`, and step
 * `length − 1` ends exactly at the row's cut-off (the quarter's last close).
 * Every model sees the same flat row: sequence families reshape it to
 * `[length, fields]`, an MLP reads it as it is; ablation and Shapley values
 * group its columns by field.
 *
 * Building the windows ({@linkcode dailyWindows}, {@linkcode quarterlyWindows}) reads each row's
 * own history only: a `daily` window is the last `length` days of the run's trading calendar
 * ending exactly at the row's date (a day the ticker did not trade is a missing step), a
 * `quarterly` one the ticker's rows of the `length` calendar quarters ending at the row's quarter. Nothing after the row's cut-off is read, and the
 * only normalisation is within the window (prices ÷ the window's own last close), so no statistic
 * of later rows enters (tested in `tests/features_sequence_test.ts` by perturbing every later
 * price). A step without a value follows `features.sequence.missing` ({@linkcode fillWindow}).
 *
 * @module
 */
import { DailySequenceField, type SequenceConfig } from "../config/schema.ts";
import type { DailySeries } from "./families.ts";

/** The shape of a row's window: steps and the fields at each step. */
export interface SequenceShape {
  /** Time steps, oldest first; the last ends at the row's cut-off. */
  length: number;
  /** The fields at each step, in column order. */
  fields: string[];
}

/**
 * The column name of one field at one step: `<field>@t-<lag>`, the lag
 * counted back from the window's last step (`@t-0`).
 *
 * @param field the field
 * @param lag steps before the last (0 for the last)
 * @returns the column name
 * @example
 * ```ts
 * sequenceColumn("return", 0); // "return@t-0"
 * ```
 */
export function sequenceColumn(field: string, lag: number): string {
  return `${field}@t-${lag}`;
}

/**
 * Every column of a window, time-major and oldest step first (the model's input order).
 *
 * @param shape the window's shape
 * @returns `length × fields.length` column names
 * @throws {RangeError} for a length below 1 or no fields
 * @example
 * ```ts
 * sequenceColumns({ length: 2, fields: ["close", "return"] });
 * // ["close@t-1", "return@t-1", "close@t-0", "return@t-0"]
 * ```
 */
export function sequenceColumns(shape: SequenceShape): string[] {
  if (!Number.isInteger(shape.length) || shape.length < 1 || shape.fields.length === 0) {
    throw new RangeError(
      `Invalid sequence shape: length ${shape.length}, ${shape.fields.length} fields (expected length >= 1 and at least one field)`,
    );
  }
  const out: string[] = [];
  for (let t = 0; t < shape.length; t++) {
    for (const f of shape.fields) out.push(sequenceColumn(f, shape.length - 1 - t));
  }
  return out;
}

/**
 * The columns of one field across the window (for per-field ablation and Shapley groups).
 *
 * @param shape the window's shape
 * @param field one of `shape.fields`
 * @returns the field's column indices in the flat row, oldest first
 * @throws {RangeError} when the field is not in the window
 */
export function fieldColumnIndices(shape: SequenceShape, field: string): number[] {
  const f = shape.fields.indexOf(field);
  if (f < 0) {
    throw new RangeError(
      `Field "${field}" is not in the window: it has ${
        shape.fields.map((x) => `"${x}"`).join(", ")
      }`,
    );
  }
  return Array.from({ length: shape.length }, (_, t) => t * shape.fields.length + f);
}

/**
 * The window columns that are constant by construction: the last step's `close` (each window is
 * divided by its own last close, so it is always 0). Scalers leave them unscaled (`none`) rather
 * than refuse a column constant in training.
 *
 * @param shape the window's shape
 * @returns the column names
 * @example
 * ```ts
 * constantWindowColumns({ length: 3, fields: ["close", "return"] }); // ["close@t-0"]
 * ```
 */
export function constantWindowColumns(shape: SequenceShape): string[] {
  // "close" is a reserved column of the quarterly frame, so no family column (a quarterly field)
  // has the name: it is the daily field.
  return shape.fields.includes("close") ? [sequenceColumn("close", 0)] : [];
}

/** Steps of a window when `features.sequence.length` is not set. */
export const DEFAULT_SEQUENCE_LENGTH: Readonly<Record<SequenceConfig["source"], number>> = {
  daily: 60,
  quarterly: 8,
};

/**
 * The columns of the `prices` table each daily field reads, besides `date`, `ticker`, `close` and
 * the returns column (`adj_close` where the manifest says so), which every window reads.
 */
export const DAILY_FIELD_COLUMNS: Readonly<Record<DailySequenceField, readonly string[]>> = {
  close: [],
  open: ["open"],
  high: ["high"],
  low: ["low"],
  return: [],
  log_volume_change: ["volume"],
};

/** The config key of the sequence settings, for located errors. */
export const SEQUENCE_KEY = "features.sequence";

/**
 * A `features.sequence` setting the data cannot serve (a field it lacks, a window longer than
 * its history). It carries the config key to fix, so a command can locate it in the YAML.
 */
export class SequenceError extends RangeError {
  /**
   * @param message what is wrong and what is allowed
   * @param configKey the key to fix, e.g. `features.sequence.fields[1]`
   */
  constructor(message: string, readonly configKey: string) {
    super(message);
    this.name = "SequenceError";
  }
}

/**
 * The daily fields a prices table can give: every field whose columns it has, in
 * {@linkcode DailySequenceField} order (`close` and `return` always).
 *
 * @param priceColumns the columns of the dataset's `prices` table
 * @returns the fields
 * @example
 * ```ts
 * dailyFieldsOf(["date", "ticker", "close", "volume"]); // ["close", "return", "log_volume_change"]
 * ```
 */
export function dailyFieldsOf(priceColumns: readonly string[]): DailySequenceField[] {
  return DailySequenceField.options.filter((f) =>
    DAILY_FIELD_COLUMNS[f].every((c) => priceColumns.includes(c))
  );
}

const quoted = (xs: readonly string[]) => xs.map((x) => `"${x}"`).join(", ");

/**
 * The window's shape: `features.sequence` with its defaults filled in and its fields checked
 * against what the data gives.
 *
 * @param cfg the `features.sequence` config
 * @param available daily: the fields the dataset gives ({@linkcode dailyFieldsOf}); quarterly: the
 *   feature columns of the chosen families (after `features.exclude`)
 * @param dataset the dataset's name, for messages
 * @returns the shape
 * @throws {SequenceError} for a field listed twice, one that is not a daily field, one the dataset
 *   lacks the columns of, or one that is not a feature column, located at the field
 * @example
 * ```ts
 * sequenceShape({ source: "daily", missing: "drop", ffill_limit: 1 }, ["close", "return"], "x");
 * // { length: 60, fields: ["close", "return"] }
 * ```
 */
export function sequenceShape(
  cfg: SequenceConfig,
  available: readonly string[],
  dataset: string,
): SequenceShape {
  const length = cfg.length ?? DEFAULT_SEQUENCE_LENGTH[cfg.source];
  if (cfg.fields === undefined) {
    if (available.length === 0) {
      throw new SequenceError(
        `Dataset "${dataset}" gives no ${cfg.source} fields for the window`,
        `${SEQUENCE_KEY}.fields`,
      );
    }
    return { length, fields: [...available] };
  }
  const seen = new Set<string>();
  cfg.fields.forEach((f, i) => {
    const at = `${SEQUENCE_KEY}.fields[${i}]`;
    if (seen.has(f)) throw new SequenceError(`field "${f}" is listed twice`, at);
    seen.add(f);
    if (available.includes(f)) return;
    if (cfg.source === "quarterly") {
      throw new SequenceError(
        `"${f}" is not a feature column of the chosen families: expected one of ${
          quoted(available)
        }`,
        at,
      );
    }
    const known = (DailySequenceField.options as readonly string[]).includes(f);
    throw new SequenceError(
      known
        ? `daily field "${f}" needs column ${
          quoted(DAILY_FIELD_COLUMNS[f as DailySequenceField])
        } of dataset "${dataset}" table "prices", which it lacks: it gives ${quoted(available)}`
        : `"${f}" is not a daily field: expected one of ${quoted(DailySequenceField.options)}`,
      at,
    );
  });
  return { length, fields: [...cfg.fields] };
}

/** How a window's missing steps are treated (`features.sequence.missing` and `ffill_limit`). */
export interface WindowPolicy {
  /** drop the row, zero the step, or carry the field's previous step forward. */
  missing: SequenceConfig["missing"];
  /** Steps a value may be carried forward (ffill). */
  ffillLimit: number;
}

/** What a window's policy did: nothing was missing, it filled a step, or a step stays missing. */
export type FillOutcome = "complete" | "filled" | "unfilled";

/**
 * Applies the missing-value policy to one window in place: `buf` holds `length × fields` values
 * time-major (oldest step first), NaN where a step has no value. `zero` sets them to 0; `ffill`
 * carries the field's last value in the window forward up to `ffillLimit` steps (a window that
 * starts without a value cannot be filled); `drop` fills nothing.
 *
 * @param buf the window, time-major; changed in place
 * @param fields fields per step
 * @param policy the policy
 * @returns whether the window was complete, filled, or still has a missing step (its row is dropped)
 * @example
 * ```ts
 * const w = Float64Array.of(1, NaN, NaN, 2); // 2 steps × 2 fields
 * fillWindow(w, 2, { missing: "ffill", ffillLimit: 1 }); // "unfilled": field 1 has no first value
 * ```
 */
export function fillWindow(buf: Float64Array, fields: number, policy: WindowPolicy): FillOutcome {
  let filled = false;
  let unfilled = false;
  const length = buf.length / fields;
  for (let f = 0; f < fields; f++) {
    let last = NaN;
    let lastStep = -Infinity;
    for (let t = 0; t < length; t++) {
      const k = t * fields + f;
      if (!Number.isNaN(buf[k])) {
        last = buf[k];
        lastStep = t;
      } else if (policy.missing === "zero") {
        buf[k] = 0;
        filled = true;
      } else if (policy.missing === "ffill" && t - lastStep <= policy.ffillLimit) {
        buf[k] = last;
        filled = true;
      } else unfilled = true;
    }
  }
  return unfilled ? "unfilled" : filled ? "filled" : "complete";
}

/** Windows of many rows, one flat column per window column, and what the policy did per row. */
export interface WindowValues {
  /** One array per column of `sequenceColumns(shape)`, a value per row (0 for rows not built). */
  columns: Float64Array[];
  /** 1 where a step was filled by the policy (zero or ffill). */
  filled: Uint8Array;
  /** 1 where a step is still missing: the row is dropped. */
  unfilled: Uint8Array;
}

function emptyWindows(n: number, shape: SequenceShape): WindowValues {
  return {
    columns: Array.from({ length: shape.length * shape.fields.length }, () => new Float64Array(n)),
    filled: new Uint8Array(n),
    unfilled: new Uint8Array(n),
  };
}

/** A quarter row as the window builders see it (rows sorted by ticker, then quarter). */
export interface WindowRow {
  ticker: string;
  /** Calendar quarter number. */
  qn: number;
  /** Index of the row's last trading day in the ticker's daily series. */
  endIndex: number;
}

/**
 * One ticker's daily fields as raw values over its days (NaN where a day has none): prices on the
 * returns basis (× the day's returns close ÷ close, so splits and dividends are no jumps), the
 * day's return, the log volume change.
 */
function dailyFieldSeries(
  s: DailySeries,
  field: DailySequenceField,
  cal: Int32Array,
): Float64Array {
  const d = s.days.length;
  // A change needs the previous trading day of the calendar: after a day off it is missing.
  const follows = (k: number) => k > 0 && cal[k - 1] === cal[k] - 1;
  const out = new Float64Array(d).fill(NaN);
  const rc = s.returnsClose;
  const price = (p: (number | null)[] | undefined) => {
    if (!p) return;
    for (let k = 0; k < d; k++) {
      const v = p[k];
      if (v !== null && v !== undefined) out[k] = v * rc[k] / s.close[k];
    }
  };
  switch (field) {
    case "close":
      out.set(rc);
      break;
    case "open":
      price(s.open);
      break;
    case "high":
      price(s.high);
      break;
    case "low":
      price(s.low);
      break;
    case "return":
      for (let k = 1; k < d; k++) if (follows(k)) out[k] = rc[k] / rc[k - 1] - 1;
      break;
    case "log_volume_change": {
      const v = s.volume;
      if (!v) break;
      for (let k = 1; k < d; k++) {
        const a = v[k - 1], b = v[k];
        if (a !== null && b !== null && a > 0 && b > 0 && follows(k)) out[k] = Math.log(b / a);
      }
      break;
    }
  }
  return out;
}

const PRICE_FIELDS: ReadonlySet<string> = new Set(["close", "open", "high", "low"]);

/**
 * The trading calendar of daily series: every day any of them trades, and each series' days as
 * positions in it.
 *
 * @param daily the daily series
 * @returns for each ticker, the calendar position of each of its days
 */
function calendarPositions(daily: ReadonlyMap<string, DailySeries>): Map<string, Int32Array> {
  let lo = Infinity, hi = -Infinity;
  for (const s of daily.values()) {
    if (s.days.length === 0) continue;
    lo = Math.min(lo, s.days[0]);
    hi = Math.max(hi, s.days[s.days.length - 1]);
  }
  const out = new Map<string, Int32Array>();
  if (lo > hi) {
    for (const [t] of daily) out.set(t, new Int32Array(0));
    return out;
  }
  // A day bitmap, then each day's position among the trading days: linear in the rows.
  const position = new Int32Array(hi - lo + 1);
  for (const s of daily.values()) for (const d of s.days) position[d - lo] = 1;
  let p = 0;
  for (let k = 0; k < position.length; k++) position[k] = position[k] ? p++ : -1;
  for (const [t, s] of daily) out.set(t, Int32Array.from(s.days, (d) => position[d - lo]));
  return out;
}

/**
 * The `source: daily` windows: for each row to build, the last `length` days of the trading
 * calendar (every day any of the run's tickers trades) ending exactly at the row's last trading
 * day (`endIndex`). `close`, `open`, `high`, `low` are divided by the window's last close and
 * minus 1 (on the returns basis: the adjusted close where the manifest's returns use it, the other
 * prices scaled by that day's adjusted ÷ raw close); `return` is the day's return of the returns
 * close; `log_volume_change` is ln(volume ÷ the previous day's), missing where either is null or
 * zero. A calendar day the ticker has no row for (before its first day, or a gap) is a missing
 * step, and so are the `return` and `log_volume_change` of the day after a gap (they would span
 * two days). One pass per ticker over typed arrays; nothing after a row's last day is read.
 *
 * @param rows the quarter rows, sorted by ticker
 * @param build 1 for the rows whose window is needed (others are left 0)
 * @param daily each ticker's daily series (with `open`/`high`/`low`/`volume` where fields need them)
 * @param shape the window's shape (daily fields)
 * @param policy the missing-value policy
 * @returns the window columns and what the policy did per row
 * @throws {RangeError} for a field that is not a daily field
 */
export function dailyWindows(
  rows: readonly WindowRow[],
  build: Uint8Array,
  daily: ReadonlyMap<string, DailySeries>,
  shape: SequenceShape,
  policy: WindowPolicy,
): WindowValues {
  const n = rows.length;
  const out = emptyWindows(n, shape);
  const { length: L, fields } = shape;
  const F = fields.length;
  for (const f of fields) {
    if (!(DailySequenceField.options as readonly string[]).includes(f)) {
      throw new RangeError(
        `"${f}" is not a daily field: expected one of ${quoted(DailySequenceField.options)}`,
      );
    }
  }
  const isPrice = fields.map((f) => PRICE_FIELDS.has(f));
  const positions = calendarPositions(daily);
  const buf = new Float64Array(L * F);
  let ticker: string | null = null;
  let series: Float64Array[] = [];
  let rc: Float64Array = new Float64Array(0);
  let cal: Int32Array = new Int32Array(0);
  for (let i = 0; i < n; i++) {
    if (!build[i]) continue;
    const r = rows[i];
    if (r.ticker !== ticker) {
      ticker = r.ticker;
      const s = daily.get(ticker)!;
      cal = positions.get(ticker)!;
      series = fields.map((f) => dailyFieldSeries(s, f as DailySequenceField, cal));
      rc = s.returnsClose;
    }
    const e = r.endIndex;
    const last = rc[e];
    // Steps from the last back: calendar position cal[e] - lag holds the ticker's row k, or none.
    let k = e;
    for (let t = L - 1; t >= 0; t--) {
      const c = cal[e] - (L - 1 - t);
      while (k >= 0 && cal[k] > c) k--;
      const has = k >= 0 && cal[k] === c;
      for (let f = 0; f < F; f++) {
        const v = has ? series[f][k] : NaN;
        buf[t * F + f] = isPrice[f] ? v / last - 1 : v;
      }
    }
    finish(out, i, buf, F, policy);
  }
  return out;
}

/**
 * The `source: quarterly` windows: for each row to build, the ticker's rows of the `length`
 * calendar quarters ending at the row's quarter, each step holding the fields' values of that
 * quarter's row (after the families' own missing-value rules). A quarter without a row (before the
 * ticker's first, a partial or absent quarter) or a value the families left missing is a missing
 * step. One backward walk per row over the sorted rows; nothing after the row's quarter is read.
 *
 * @param rows the quarter rows, sorted by ticker, then quarter
 * @param build 1 for the rows whose window is needed
 * @param values each field's value per row, in `shape.fields` order
 * @param missing each field's missing mask per row (1: no value), same order
 * @param shape the window's shape (feature columns as fields)
 * @param policy the missing-value policy
 * @returns the window columns and what the policy did per row
 */
export function quarterlyWindows(
  rows: readonly Pick<WindowRow, "ticker" | "qn">[],
  build: Uint8Array,
  values: readonly Float64Array[],
  missing: readonly Uint8Array[],
  shape: SequenceShape,
  policy: WindowPolicy,
): WindowValues {
  const n = rows.length;
  const out = emptyWindows(n, shape);
  const { length: L } = shape;
  const F = shape.fields.length;
  const buf = new Float64Array(L * F);
  for (let i = 0; i < n; i++) {
    if (!build[i]) continue;
    buf.fill(NaN);
    const { ticker, qn } = rows[i];
    for (let j = i; j >= 0 && rows[j].ticker === ticker && qn - rows[j].qn < L; j--) {
      const t = L - 1 - (qn - rows[j].qn);
      for (let f = 0; f < F; f++) {
        if (!missing[f][j]) buf[t * F + f] = values[f][j];
      }
    }
    finish(out, i, buf, F, policy);
  }
  return out;
}

function finish(
  out: WindowValues,
  i: number,
  buf: Float64Array,
  fields: number,
  policy: WindowPolicy,
): void {
  const outcome = fillWindow(buf, fields, policy);
  if (outcome === "filled") out.filled[i] = 1;
  if (outcome === "unfilled") out.unfilled[i] = 1;
  for (let c = 0; c < buf.length; c++) out.columns[c][i] = Number.isNaN(buf[c]) ? 0 : buf[c];
}
