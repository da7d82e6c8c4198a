/**
 * Point-in-time universes: the dataset's `universe` table says, per ticker, the dates it was a
 * member (listed to delisted, or in an index). A ticker is eligible for a quarter only while it is
 * a member, selection never looks at membership after the date it selects on, and the backtest
 * closes a position when its ticker leaves. A dataset without the table has a fixed universe: the
 * tickers it holds, chosen when it was built (survivorship bias where that was after the fact).
 *
 * @module
 */
import pl from "nodejs-polars";
import { dayToIso, isoToDay } from "@alfred/core";
import { type Dataset, isoDates } from "./dataset.ts";

/** One membership spell, as day numbers (`isoToDay`); `to` is Infinity while still a member. */
export interface Spell {
  from: number;
  to: number;
}

/** One membership spell as the `universe` table holds it; `to` null: still a member. */
export interface MembershipSpell {
  from: string;
  to: string | null;
}

/** The report's warning for a fixed universe of real tickers (no `universe` table). */
export const FIXED_UNIVERSE_WARNING =
  "Survivorship bias: the dataset has no universe table, so its tickers are the ones it was built with and companies delisted before then are missing; returns and strategy results may be biased upward";

/** Warnings about survivorship bias, recognized to drop them where the universe is point-in-time. */
const SURVIVORSHIP = /survivorship/i;

/** Who was a member when: the `universe` table of a dataset, read once. */
export class Universe {
  readonly #spells: ReadonlyMap<string, readonly Spell[]>;

  /** @param spells each ticker's spells, ascending and disjoint (as the table's checks ensure) */
  constructor(spells: ReadonlyMap<string, readonly Spell[]>) {
    this.#spells = spells;
  }

  /**
   * The dataset's universe, or null when it has no `universe` table (a fixed universe).
   *
   * @param dataset the dataset
   * @returns its universe, or null
   * @example
   * ```ts
   * const u = Universe.of(dataset);
   * u?.isMember("SYN03", "2010-06-30");
   * ```
   */
  static of(dataset: Dataset): Universe | null {
    if (!dataset.has("universe")) return null;
    const df = dataset.table("universe").sort(["ticker", "from"]);
    const tickers = df.getColumn("ticker").toArray() as string[];
    const from = isoDates(df.getColumn("from"));
    const to = isoDates(df.getColumn("to"));
    const spells = new Map<string, Spell[]>();
    for (let i = 0; i < tickers.length; i++) {
      let list = spells.get(tickers[i]);
      if (!list) spells.set(tickers[i], list = []);
      list.push({ from: isoToDay(from[i]!), to: to[i] === null ? Infinity : isoToDay(to[i]!) });
    }
    return new Universe(spells);
  }

  /** Every ticker with a spell, sorted. */
  tickers(): string[] {
    return [...this.#spells.keys()].sort();
  }

  /**
   * A ticker's spells as ISO dates (`to` null while still a member); empty for a ticker never in
   * the universe.
   */
  spells(ticker: string): MembershipSpell[] {
    return (this.#spells.get(ticker) ?? []).map((s) => ({
      from: dayToIso(s.from),
      to: s.to === Infinity ? null : dayToIso(s.to),
    }));
  }

  /**
   * Whether a ticker is a member on a date.
   *
   * @param ticker the ticker
   * @param date ISO date
   * @returns true inside one of its spells (both ends included)
   */
  isMember(ticker: string, date: string): boolean {
    const day = isoToDay(date);
    return (this.#spells.get(ticker) ?? []).some((s) => s.from <= day && day <= s.to);
  }

  /**
   * Whether a ticker is a member at any time in a window: what selection may know on `to`.
   *
   * @param ticker the ticker
   * @param from first date, inclusive
   * @param to last date, inclusive
   * @returns true when a spell overlaps the window
   */
  memberDuring(ticker: string, from: string, to: string): boolean {
    const a = isoToDay(from), b = isoToDay(to);
    return (this.#spells.get(ticker) ?? []).some((s) => s.from <= b && a <= s.to);
  }

  /**
   * A mask over rows of (ticker, date): 1 where the ticker is a member on the date. Linear in the
   * rows plus each row's ticker's spells.
   *
   * @param tickers each row's ticker
   * @param dates each row's ISO date
   * @returns the mask
   */
  memberMask(tickers: readonly string[], dates: readonly string[]): Uint8Array {
    const out = new Uint8Array(tickers.length);
    for (let i = 0; i < tickers.length; i++) {
      out[i] = this.isMember(tickers[i], dates[i]) ? 1 : 0;
    }
    return out;
  }

  /**
   * The tickers whose last spell ends (delisted, or out of the index for good) and the day number
   * it ends on.
   */
  lastDays(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [t, list] of this.#spells) {
      const end = list[list.length - 1]?.to;
      if (end !== undefined && end !== Infinity) out.set(t, end);
    }
    return out;
  }

  /** How many tickers left the universe (a spell with an end), for the report. */
  leavers(): number {
    let n = 0;
    for (const list of this.#spells.values()) if (list.some((s) => s.to !== Infinity)) n++;
    return n;
  }
}

/**
 * The dataset warnings a run repeats, given its universe: where the universe is point-in-time,
 * warnings about survivorship bias are dropped (membership answers them); where it is fixed, they
 * stay, and a real (not synthetic) dataset that does not warn gets {@linkcode FIXED_UNIVERSE_WARNING}.
 *
 * @param warnings the manifest's warnings
 * @param pointInTime the dataset has a `universe` table
 * @param synthetic the dataset is generated (its fixed universe is no hindsight choice)
 * @returns the warnings to repeat
 * @example
 * ```ts
 * universeWarnings(["Survivorship bias: ..."], true, false); // []
 * universeWarnings([], false, false); // [FIXED_UNIVERSE_WARNING]
 * ```
 */
export function universeWarnings(
  warnings: readonly string[],
  pointInTime: boolean,
  synthetic: boolean,
): string[] {
  if (pointInTime) return warnings.filter((w) => !SURVIVORSHIP.test(w));
  if (synthetic || warnings.some((w) => SURVIVORSHIP.test(w))) return [...warnings];
  return [...warnings, FIXED_UNIVERSE_WARNING];
}

/**
 * Keep the rows of a frame whose (ticker, date) is a member of the universe.
 *
 * @param universe the universe
 * @param frame a frame with `ticker` and ISO `date` (String) columns
 * @returns the kept rows and how many were dropped
 */
export function keepMembers(
  universe: Universe,
  frame: pl.DataFrame,
): { frame: pl.DataFrame; dropped: number } {
  const mask = universe.memberMask(
    frame.getColumn("ticker").toArray() as string[],
    frame.getColumn("date").toArray() as string[],
  );
  const kept = frame.withColumns(pl.Series("__alfred_member", Array.from(mask, (m) => m === 1)))
    .filter(pl.col("__alfred_member")).drop("__alfred_member");
  return { frame: kept, dropped: frame.height - kept.height };
}
