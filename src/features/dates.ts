/**
 * Calendar helpers shared by the features and dataset stages: epoch days,
 * ISO dates (`YYYY-MM-DD`) and calendar quarters (`YYYYQn`).
 *
 * @module
 */
import pl from "nodejs-polars";

const MS_PER_DAY = 86_400_000;

/**
 * Days since 1970-01-01 (UTC) of an ISO date.
 *
 * @param iso A date as `YYYY-MM-DD`.
 * @returns The epoch day number.
 * @throws {RangeError} When `iso` is not a valid `YYYY-MM-DD` date.
 * @example
 * ```ts
 * isoToDay("1970-01-02"); // 1
 * ```
 */
export function isoToDay(iso: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) throw new RangeError(`Cannot parse date "${iso}": expected YYYY-MM-DD`);
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const day = Math.round(ms / MS_PER_DAY);
  if (dayToIso(day) !== iso) throw new RangeError(`Cannot parse date "${iso}": no such day`);
  return day;
}

/**
 * ISO date (`YYYY-MM-DD`) of an epoch day number.
 *
 * @param day Days since 1970-01-01.
 * @returns The ISO date.
 * @example
 * ```ts
 * dayToIso(0); // "1970-01-01"
 * ```
 */
export function dayToIso(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/**
 * Calendar quarter number (`year * 4 + quarter - 1`) of an epoch day, so that
 * consecutive quarters differ by one.
 *
 * @param day Days since 1970-01-01.
 * @returns The quarter number.
 * @example
 * ```ts
 * quarterLabel(dayQuarter(isoToDay("2000-05-01"))); // "2000Q2"
 * ```
 */
export function dayQuarter(day: number): number {
  const d = new Date(day * MS_PER_DAY);
  return d.getUTCFullYear() * 4 + Math.floor(d.getUTCMonth() / 3);
}

/**
 * The `YYYYQn` label of a quarter number from {@linkcode dayQuarter}.
 *
 * @param qn The quarter number.
 * @returns The label, e.g. `"1995Q3"`.
 */
export function quarterLabel(qn: number): string {
  return `${Math.floor(qn / 4)}Q${(qn % 4) + 1}`;
}

/**
 * The quarter number of a `YYYYQn` label.
 *
 * @param label The quarter label.
 * @returns The quarter number.
 * @throws {RangeError} When the label is not `YYYYQn` with n in 1..4.
 */
export function quarterNumber(label: string): number {
  const m = /^(\d{4})Q([1-4])$/.exec(label);
  if (!m) throw new RangeError(`Cannot parse quarter "${label}": expected YYYYQn with n in 1..4`);
  return Number(m[1]) * 4 + Number(m[2]) - 1;
}

/**
 * First calendar day (epoch day) of a quarter number.
 *
 * @param qn The quarter number.
 * @returns The epoch day of the quarter's first day.
 */
export function quarterStartDay(qn: number): number {
  return Math.round(Date.UTC(Math.floor(qn / 4), (qn % 4) * 3, 1) / MS_PER_DAY);
}

/**
 * Last calendar day (epoch day) of a quarter number.
 *
 * @param qn The quarter number.
 * @returns The epoch day of the quarter's last day.
 */
export function quarterEndDay(qn: number): number {
  return quarterStartDay(qn + 1) - 1;
}

/**
 * Reads a date column of a table as epoch days. Accepts Polars `Date`,
 * `Datetime` and `Utf8` (`YYYY-MM-DD`) columns.
 *
 * @param df The table.
 * @param column The date column's name.
 * @param where What the table is, for error messages (e.g. `dataset "x" table "prices"`).
 * @returns One epoch day per row; `null` where the date is null.
 * @throws {TypeError} When the column is absent or not a date.
 */
export function dateColumnDays(
  df: pl.DataFrame,
  column: string,
  where: string,
): (number | null)[] {
  if (!df.columns.includes(column)) {
    throw new TypeError(
      `${where} has no "${column}" column: it has ${df.columns.map((c) => `"${c}"`).join(", ")}`,
    );
  }
  const s = df.getColumn(column);
  const dtype = String(s.dtype);
  if (dtype.includes("Date")) {
    // Date and Datetime both cast to Date, then to days since the epoch.
    const days = s.cast(pl.Date).cast(pl.Int32).toArray() as (number | null)[];
    return days;
  }
  if (dtype.includes("String") || dtype.includes("Utf8")) {
    return (s.toArray() as (string | null)[]).map((v, i) => {
      if (v === null) return null;
      try {
        return isoToDay(v);
      } catch {
        throw new TypeError(
          `${where} column "${column}" row ${i}: "${v}" is not a YYYY-MM-DD date`,
        );
      }
    });
  }
  throw new TypeError(`${where} column "${column}" has type ${dtype}: expected Date`);
}

/**
 * Reads a numeric column as numbers, keeping `null` for missing values and
 * NaN/Infinity as they are (they are invalid data, not missing values).
 *
 * @param df The table.
 * @param column The column's name.
 * @param where What the table is, for error messages.
 * @returns One number or `null` per row.
 * @throws {TypeError} When the column is absent or not numeric.
 */
export function numberColumn(df: pl.DataFrame, column: string, where: string): (number | null)[] {
  if (!df.columns.includes(column)) {
    throw new TypeError(
      `${where} has no "${column}" column: it has ${df.columns.map((c) => `"${c}"`).join(", ")}`,
    );
  }
  const s = df.getColumn(column);
  if (!s.isNumeric()) {
    throw new TypeError(
      `${where} column "${column}" has type ${String(s.dtype)}: expected a number`,
    );
  }
  return s.cast(pl.Float64).toArray() as (number | null)[];
}

/**
 * Reads a string column (e.g. `ticker`, `series`).
 *
 * @param df The table.
 * @param column The column's name.
 * @param where What the table is, for error messages.
 * @returns One string or `null` per row.
 * @throws {TypeError} When the column is absent.
 */
export function stringColumn(df: pl.DataFrame, column: string, where: string): (string | null)[] {
  if (!df.columns.includes(column)) {
    throw new TypeError(
      `${where} has no "${column}" column: it has ${df.columns.map((c) => `"${c}"`).join(", ")}`,
    );
  }
  return df.getColumn(column).cast(pl.Utf8).toArray() as (string | null)[];
}
