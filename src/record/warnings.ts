/**
 * Repeated warnings summarised: a backtest over thousands of tickers warns once per ticker that
 * stops trading ("has no price after …"), hundreds of warnings that differ only in the ticker and
 * the date. The record keeps one warning per kind instead, naming the count, the span of dates
 * and the first few tickers; a kind with few warnings keeps them as they are, word for word.
 *
 * @module
 */

/** A kind with more warnings than this is summarised; one with this many or fewer is kept. */
export const SUMMARY_MIN = 5;

/** How many tickers a summary names before "and N more". */
export const SUMMARY_NAMED = 5;

const DATE = String.raw`\d{4}-\d{2}-\d{2}`;

/** A kind of warning the backtest repeats per ticker, and its summary's wording. */
interface Kind {
  /** Matches one warning: groups `book`, `ticker`, `date`. */
  pattern: RegExp;
  /** The summary of `count` warnings of one book. */
  summary: (s: { book: string; count: number; span: string; tickers: string }) => string;
}

const KINDS: Kind[] = [
  {
    pattern: new RegExp(
      String
        .raw`^(?<book>[^:"]+): "(?<ticker>[^"]+)" has no price after (?<date>${DATE}): position closed at that close$`,
    ),
    summary: (s) =>
      `${s.book}: ${s.count} tickers have no price after their last close (${s.span}): ` +
      `each position closed at that close: ${s.tickers}`,
  },
  {
    pattern: new RegExp(
      String
        .raw`^(?<book>[^:"]+): "(?<ticker>[^"]+)" left the universe on (?<date>${DATE}): position closed at that close$`,
    ),
    summary: (s) =>
      `${s.book}: ${s.count} tickers left the universe (${s.span}): ` +
      `each position closed at that close: ${s.tickers}`,
  },
  {
    pattern: new RegExp(
      String
        .raw`^(?<book>[^:"]+): "(?<ticker>[^"]+)" had no price on (?<date>${DATE}): its order filled at the next close, ${DATE}$`,
    ),
    summary: (s) =>
      `${s.book}: ${s.count} orders had no price on their day (${s.span}): ` +
      `each filled at the next close: ${s.tickers}`,
  },
];

/** Any other warning naming one quoted ticker: its text with names and dates blanked. */
const QUOTED = /"[^"]*"/g;
const DATES = new RegExp(DATE, "g");

/** One group of warnings of one kind (and book). */
interface Group {
  first: number;
  warnings: string[];
  tickers: string[];
  dates: string[];
  kind: Kind | null;
  book: string;
}

/**
 * The named tickers of a summary: the first {@linkcode SUMMARY_NAMED} distinct ones in order,
 * quoted, and how many more there are.
 */
function named(tickers: string[]): string {
  const distinct = [...new Set(tickers)];
  const shown = distinct.slice(0, SUMMARY_NAMED).map((t) => `"${t}"`).join(", ");
  const more = distinct.length - SUMMARY_NAMED;
  return more > 0 ? `${shown} and ${more} more` : shown;
}

/** The span of a group's dates, `first to last` (or the one date). */
function span(dates: string[]): string {
  if (dates.length === 0) return "";
  const sorted = [...dates].sort();
  const [lo, hi] = [sorted[0], sorted[sorted.length - 1]];
  return lo === hi ? lo : `${lo} to ${hi}`;
}

/**
 * Warnings with each kind that repeats more than {@linkcode SUMMARY_MIN} times per ticker or
 * date made one: the backtest's "has no price after", "left the universe on" and "had no price
 * on" per book, worded as a count with the span of dates and the first tickers; any other
 * warning that differs from others only in its quoted names and dates as
 * `N warnings like this one (…): <the first>`. A summary sits where its kind's first warning
 * was; every other warning is kept as it is, in its place.
 *
 * @param warnings the warnings, in order
 * @returns the warnings, repeated kinds summarised
 * @example
 * ```ts
 * const many = Array.from({ length: 8 }, (_, i) =>
 *   `portfolio: "T${i}" has no price after 2020-01-0${i + 1}: position closed at that close`);
 * summariseWarnings(many);
 * // ['portfolio: 8 tickers have no price after their last close (2020-01-01 to 2020-01-08): ' +
 * //   'each position closed at that close: "T0", "T1", "T2", "T3", "T4" and 3 more']
 * ```
 */
export function summariseWarnings(warnings: readonly string[]): string[] {
  const groups = new Map<string, Group>();
  const keys: (string | null)[] = warnings.map((w, i) => {
    let key: string | null = null;
    let group: Omit<Group, "first" | "warnings"> | null = null;
    for (const [k, kind] of KINDS.entries()) {
      const m = kind.pattern.exec(w);
      if (!m?.groups) continue;
      key = `kind ${k} ${m.groups.book}`;
      group = { tickers: [m.groups.ticker], dates: [m.groups.date], kind, book: m.groups.book };
      break;
    }
    if (key === null) {
      const quoted = [...w.matchAll(QUOTED)].map((m) => m[0].slice(1, -1));
      const dates = [...w.matchAll(DATES)].map((m) => m[0]);
      if (quoted.length === 0 && dates.length === 0) return null;
      key = `like ${w.replace(QUOTED, '""').replace(DATES, "D")}`;
      group = { tickers: quoted, dates: dates.slice(0, 1), kind: null, book: "" };
    }
    const g = groups.get(key);
    if (g) {
      g.warnings.push(w);
      g.tickers.push(...group!.tickers);
      g.dates.push(...group!.dates);
    } else {
      groups.set(key, { first: i, warnings: [w], ...group! });
    }
    return key;
  });
  const out: string[] = [];
  warnings.forEach((w, i) => {
    const key = keys[i];
    const g = key === null ? undefined : groups.get(key);
    if (!g || g.warnings.length <= SUMMARY_MIN) {
      out.push(w);
      return;
    }
    if (g.first !== i) return;
    const count = g.warnings.length;
    if (g.kind) {
      out.push(
        g.kind.summary({ book: g.book, count, span: span(g.dates), tickers: named(g.tickers) }),
      );
    } else {
      const names = g.tickers.length > 0 ? `; ${named(g.tickers)}` : "";
      const dates = g.dates.length > 0 ? `; ${span(g.dates)}` : "";
      out.push(
        `${count} warnings like this one, differing in names or dates${names}${dates}: ${w}`,
      );
    }
  });
  return out;
}
