/**
 * The calendar: ISO dates (`YYYY-MM-DD`), day numbers (days since
 * 1970-01-01, UTC) and calendar quarters, as labels (`YYYYQn`) or as quarter
 * numbers (`year * 4 + quarter - 1`, so that consecutive quarters differ by
 * one). Strict: a string that names no calendar day or quarter is a
 * `RangeError` naming the value, never a silently shifted date.
 *
 * @module
 */

const MS_PER_DAY = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const QUARTER = /^(\d{4})Q([1-4])$/;

/**
 * Whether a string is a real calendar date written `YYYY-MM-DD`.
 *
 * @param value the string to check
 * @returns `true` for `"2000-02-29"`, `false` for `"2000-02-30"`, `"1999-02-29"` or `"2000-2-1"`
 * @example
 * ```ts
 * import { isIsoDate } from "@alfred/core";
 * isIsoDate("2000-02-29"); // true
 * isIsoDate("2000-02-30"); // false
 * ```
 */
export function isIsoDate(value: string): boolean {
  if (!ISO_DATE.test(value)) return false;
  const ms = Date.parse(`${value}T00:00:00Z`);
  // Date.parse rolls 02-30 over to 03-01: the round trip tells a real day from a shifted one.
  return Number.isFinite(ms) && dayToIso(Math.round(ms / MS_PER_DAY)) === value;
}

/**
 * Day number (days since 1970-01-01, UTC) of an ISO date.
 *
 * @param iso a date as `YYYY-MM-DD`
 * @returns the day number
 * @throws {RangeError} when `iso` is not a real calendar date written `YYYY-MM-DD`
 * @example
 * ```ts
 * import { isoToDay } from "@alfred/core";
 * isoToDay("1970-01-02"); // 1
 * ```
 */
export function isoToDay(iso: string): number {
  if (!isIsoDate(iso)) {
    throw new RangeError(`Invalid date "${iso}": expected a calendar date as YYYY-MM-DD`);
  }
  return Math.round(Date.parse(`${iso}T00:00:00Z`) / MS_PER_DAY);
}

/**
 * ISO date of a day number.
 *
 * @param day days since 1970-01-01
 * @returns the date as `YYYY-MM-DD`
 * @throws {RangeError} when the day lies outside JavaScript's date range
 * @example
 * ```ts
 * import { dayToIso } from "@alfred/core";
 * dayToIso(0); // "1970-01-01"
 * ```
 */
export function dayToIso(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/**
 * The UTC calendar day of a JavaScript `Date` (a Polars `Date` value), as an ISO date.
 *
 * @param date the date
 * @returns its UTC day as `YYYY-MM-DD`
 * @throws {RangeError} when the date is invalid
 * @example
 * ```ts
 * import { dateToIso } from "@alfred/core";
 * dateToIso(new Date("2000-01-03T15:00:00Z")); // "2000-01-03"
 * ```
 */
export function dateToIso(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError(`Invalid date "${String(date)}"`);
  return date.toISOString().slice(0, 10);
}

/**
 * Day of the week of a day number.
 *
 * @param day days since 1970-01-01
 * @returns 0 for Sunday to 6 for Saturday
 * @example
 * ```ts
 * import { dayOfWeek, isoToDay } from "@alfred/core";
 * dayOfWeek(isoToDay("2000-01-01")); // 6, a Saturday
 * ```
 */
export function dayOfWeek(day: number): number {
  // 1970-01-01 was a Thursday.
  return (((day + 4) % 7) + 7) % 7;
}

/**
 * Calendar days from one ISO date to another.
 *
 * @param from ISO date
 * @param to ISO date
 * @returns `to - from` in whole days, negative when `to` is earlier
 * @throws {RangeError} when either is not a calendar date
 * @example
 * ```ts
 * import { daysBetween } from "@alfred/core";
 * daysBetween("2000-02-28", "2000-03-01"); // 2
 * ```
 */
export function daysBetween(from: string, to: string): number {
  return isoToDay(to) - isoToDay(from);
}

/**
 * The last calendar day of a month. Months past 12 run on into the next years (month 13 is
 * January of `year + 1`), so a publication lag can be added to a month directly.
 *
 * @param year the year
 * @param month the month, 1 for January (any integer >= 1)
 * @returns the ISO date of the month's last day
 * @throws {RangeError} when `year` or `month` is not an integer, or `month` < 1
 * @example
 * ```ts
 * import { monthEnd } from "@alfred/core";
 * monthEnd(2000, 2); // "2000-02-29"
 * monthEnd(1999, 13); // "2000-01-31"
 * ```
 */
export function monthEnd(year: number, month: number): string {
  if (!Number.isInteger(year) || !Number.isInteger(month) || month < 1) {
    throw new RangeError(`Invalid month "${year}-${month}": expected integers, month >= 1`);
  }
  return dayToIso(Math.round(Date.UTC(year, month, 0) / MS_PER_DAY));
}

/**
 * Quarter number (`year * 4 + quarter - 1`) of a day number.
 *
 * @param day days since 1970-01-01
 * @returns the quarter number
 * @example
 * ```ts
 * import { dayQuarter, isoToDay, quarterLabel } from "@alfred/core";
 * quarterLabel(dayQuarter(isoToDay("2000-05-01"))); // "2000Q2"
 * ```
 */
export function dayQuarter(day: number): number {
  const d = new Date(day * MS_PER_DAY);
  return d.getUTCFullYear() * 4 + Math.floor(d.getUTCMonth() / 3);
}

/**
 * The `YYYYQn` label of a quarter number.
 *
 * @param qn the quarter number
 * @returns the label, e.g. `"1995Q3"`
 * @example
 * ```ts
 * import { quarterLabel } from "@alfred/core";
 * quarterLabel(1995 * 4 + 2); // "1995Q3"
 * ```
 */
export function quarterLabel(qn: number): string {
  return `${Math.floor(qn / 4)}Q${(qn % 4) + 1}`;
}

/**
 * The quarter number of a `YYYYQn` label.
 *
 * @param label the quarter label
 * @returns the quarter number
 * @throws {RangeError} when the label is not `YYYYQn` with n in 1..4
 * @example
 * ```ts
 * import { quarterNumber } from "@alfred/core";
 * quarterNumber("1995Q3") - quarterNumber("1995Q2"); // 1
 * ```
 */
export function quarterNumber(label: string): number {
  const m = QUARTER.exec(label);
  if (!m) throw new RangeError(`Invalid quarter "${label}": expected YYYYQn with n in 1..4`);
  return Number(m[1]) * 4 + Number(m[2]) - 1;
}

/**
 * First calendar day of a quarter number.
 *
 * @param qn the quarter number
 * @returns the day number of the quarter's first day
 * @example
 * ```ts
 * import { dayToIso, quarterNumber, quarterStartDay } from "@alfred/core";
 * dayToIso(quarterStartDay(quarterNumber("1995Q3"))); // "1995-07-01"
 * ```
 */
export function quarterStartDay(qn: number): number {
  return Math.round(Date.UTC(Math.floor(qn / 4), (qn % 4) * 3, 1) / MS_PER_DAY);
}

/**
 * Last calendar day of a quarter number.
 *
 * @param qn the quarter number
 * @returns the day number of the quarter's last day
 * @example
 * ```ts
 * import { dayToIso, quarterEndDay, quarterNumber } from "@alfred/core";
 * dayToIso(quarterEndDay(quarterNumber("1995Q4"))); // "1995-12-31"
 * ```
 */
export function quarterEndDay(qn: number): number {
  return quarterStartDay(qn + 1) - 1;
}

/**
 * The calendar quarter of an ISO date.
 *
 * @param iso ISO date `YYYY-MM-DD`
 * @returns the quarter as `YYYYQn`
 * @throws {RangeError} when `iso` is not a calendar date
 * @example
 * ```ts
 * import { quarterOf } from "@alfred/core";
 * quarterOf("1995-09-29"); // "1995Q3"
 * ```
 */
export function quarterOf(iso: string): string {
  return quarterLabel(dayQuarter(isoToDay(iso)));
}

/**
 * The quarter after a quarter.
 *
 * @param quarter `YYYYQn`
 * @returns the next quarter, `YYYYQn`
 * @throws {RangeError} when `quarter` is not `YYYYQn`
 * @example
 * ```ts
 * import { nextQuarter } from "@alfred/core";
 * nextQuarter("1995Q4"); // "1996Q1"
 * ```
 */
export function nextQuarter(quarter: string): string {
  return quarterLabel(quarterNumber(quarter) + 1);
}

/**
 * The first calendar day of a quarter.
 *
 * @param quarter `YYYYQn`
 * @returns the ISO date of the quarter's first day
 * @throws {RangeError} when `quarter` is not `YYYYQn`
 * @example
 * ```ts
 * import { quarterStart } from "@alfred/core";
 * quarterStart("1995Q3"); // "1995-07-01"
 * ```
 */
export function quarterStart(quarter: string): string {
  return dayToIso(quarterStartDay(quarterNumber(quarter)));
}

/**
 * The last calendar day of a quarter.
 *
 * @param quarter `YYYYQn`
 * @returns the ISO date of the quarter's last day
 * @throws {RangeError} when `quarter` is not `YYYYQn`
 * @example
 * ```ts
 * import { quarterEnd } from "@alfred/core";
 * quarterEnd("1995Q1"); // "1995-03-31"
 * ```
 */
export function quarterEnd(quarter: string): string {
  return dayToIso(quarterEndDay(quarterNumber(quarter)));
}
