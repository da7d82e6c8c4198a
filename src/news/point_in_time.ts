/**
 * Point in time for news: which quarter an article counts for.
 *
 * An article counts for the quarter whose last close comes after its `published_at`; the close is
 * the exchange's closing time (e.g. 16:00 America/New_York) on the quarter's last trading day, so
 * an article published at or after that close counts for the next quarter.
 *
 * @module
 */
import { dayToIso } from "@alfred/core";
import type { MarketCloseConfig } from "../config/schema.ts";

const MS_PER_MINUTE = 60_000;

/** One formatter per time zone (building one costs far more than using it). */
const FORMATTERS = new Map<string, Intl.DateTimeFormat>();

/**
 * The formatter of a time zone's wall-clock parts.
 *
 * @throws {RangeError} when the time zone is not a known IANA zone
 */
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = FORMATTERS.get(timeZone);
  if (f) return f;
  try {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
  } catch {
    throw new RangeError(
      `Unknown time zone "${timeZone}": expected an IANA name such as "America/New_York"`,
    );
  }
  FORMATTERS.set(timeZone, f);
  return f;
}

/** The UTC offset (minutes east of UTC) of `timeZone` at the instant `ms`. */
function offsetMinutes(timeZone: string, ms: number): number {
  const parts = formatter(timeZone).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const local = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"));
  return Math.round((local - Math.floor(ms / MS_PER_MINUTE) * MS_PER_MINUTE) / MS_PER_MINUTE);
}

/**
 * The instant (UTC milliseconds) of a wall-clock time in a time zone, daylight saving time
 * included. A wall time that the zone skips (the hour lost when daylight saving time starts) is read
 * with the offset in force after the change, so 02:30 on that day is 01:30 standard time; one that
 * occurs twice (the hour repeated when it ends) is read as its first occurrence.
 *
 * @param isoDate the calendar day, `YYYY-MM-DD`
 * @param time the wall-clock time in `timeZone`, `HH:MM` or `HH:MM:SS`
 * @param timeZone an IANA time zone, e.g. "America/New_York"
 * @returns UTC milliseconds
 * @throws {RangeError} when the time zone is not a known IANA zone, or the date or time is malformed
 * @example
 * ```ts
 * zonedTimeMs("2024-01-05", "14:30:00", "America/New_York"); // Date.parse("2024-01-05T19:30:00Z")
 * ```
 */
export function zonedTimeMs(isoDate: string, time: string, timeZone: string): number {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  const t = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(time);
  if (!d || !t) {
    throw new RangeError(`Invalid wall-clock time "${isoDate} ${time}": expected YYYY-MM-DD HH:MM`);
  }
  const wall = Date.UTC(+d[1], +d[2] - 1, +d[3], +t[1], +t[2], +(t[3] ?? 0));
  // The wall time minus the zone's offset; the offset is taken again at the result, which settles
  // it on days when daylight saving time starts or ends.
  const ms = wall - offsetMinutes(timeZone, wall) * MS_PER_MINUTE;
  return wall - offsetMinutes(timeZone, ms) * MS_PER_MINUTE;
}

/**
 * The instant (UTC milliseconds) of the exchange's close on a calendar day, daylight saving time
 * included.
 *
 * @param day the trading day, an epoch day (`isoToDay`)
 * @param close the exchange's time zone and closing time
 * @returns UTC milliseconds of that day's close
 * @throws {RangeError} when the time zone is not a known IANA zone
 * @example
 * ```ts
 * marketCloseMs(isoToDay("2020-03-31"), { time_zone: "America/New_York", time: "16:00" });
 * // Date.parse("2020-03-31T20:00:00Z") (daylight saving time: UTC-4)
 * ```
 */
export function marketCloseMs(day: number, close: MarketCloseConfig): number {
  return zonedTimeMs(dayToIso(day), close.time, close.time_zone);
}

/**
 * The half-open window `[from, to)` of publication instants that count for a quarter: from the
 * close of the previous quarter's last trading day up to (not including) the close of this
 * quarter's last trading day.
 *
 * @param previousEndDay epoch day of the previous quarter's last trading day (or the day before
 *   the quarter, for a ticker's first quarter)
 * @param endDay epoch day of this quarter's last trading day
 * @param close the exchange's time zone and closing time
 * @returns the window in UTC milliseconds
 */
export function quarterNewsWindow(
  previousEndDay: number,
  endDay: number,
  close: MarketCloseConfig,
): { from: number; to: number } {
  return { from: marketCloseMs(previousEndDay, close), to: marketCloseMs(endDay, close) };
}

/**
 * Whether an article published at `publishedMs` counts for the quarter whose last trading day is
 * `endDay` and whose previous quarter ended on `previousEndDay`.
 *
 * @param publishedMs the article's publication instant, UTC milliseconds
 * @param previousEndDay epoch day of the previous quarter's last trading day
 * @param endDay epoch day of this quarter's last trading day
 * @param close the exchange's time zone and closing time
 * @returns true when the quarter's last close comes after the article and the previous one does not
 * @example
 * ```ts
 * const close = { time_zone: "America/New_York", time: "16:00" };
 * countsForQuarter(Date.parse("2020-03-31T19:59:59Z"), isoToDay("2019-12-31"), isoToDay("2020-03-31"), close); // true
 * countsForQuarter(Date.parse("2020-03-31T20:00:00Z"), isoToDay("2019-12-31"), isoToDay("2020-03-31"), close); // false: at the close
 * ```
 */
export function countsForQuarter(
  publishedMs: number,
  previousEndDay: number,
  endDay: number,
  close: MarketCloseConfig,
): boolean {
  const w = quarterNewsWindow(previousEndDay, endDay, close);
  return publishedMs >= w.from && publishedMs < w.to;
}
