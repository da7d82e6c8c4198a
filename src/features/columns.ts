/**
 * Typed readers of a table's columns (dates as day numbers, numbers, strings),
 * with errors that name the table and the column.
 *
 * @module
 */
import pl from "nodejs-polars";
import { isoToDay } from "@alfred/core";

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
