/**
 * `runBacktest`: signals and prices in, a {@linkcode BacktestResult} out.
 *
 * Rules (repeated in the result's `assumptions`):
 * - Signals are grouped by the calendar quarter of their date; a group is
 *   decided at its latest signal date and fills at the next trading day's
 *   close (`fill: next_close`) or at that same close (`same_close`, flagged).
 * - A signal is valid for one quarter: when no signal for the next quarter
 *   follows, its positions are closed at the last trading day of the next
 *   quarter, shifted by the same fill rule (never past the last price). The
 *   last group's positions close that way, which ends the backtest.
 * - `per_ticker`: each eval ticker trades alone with `initial_capital / N`;
 *   the strategy's equity is the sum of the books. `portfolio`: one book.
 * - A book whose equity falls to zero or below at a close is liquidated there
 *   and trades no more; `BacktestResult.ruin` records when and at what value.
 *
 * @module
 */
import { nextQuarter, quarterEnd, quarterOf } from "@alfred/core";
import type { BacktestConfig } from "../config/schema.ts";
import { basketBenchmark, indexBenchmark } from "./benchmarks.ts";
import { type BookResult, type CostModel, type Order, simulateBook } from "./book.ts";
import {
  alignToCalendar,
  assertIsoDate,
  buildCalendar,
  firstAfter,
  lastOnOrBefore,
  validatePriceSeries,
} from "./calendar.ts";
import {
  drawdownSeries,
  maxDrawdown,
  performanceStats,
  tradeStats,
  TRADING_DAYS,
} from "./stats.ts";
import { getStrategy, type Strategy, type StrategyParams, strategyParams } from "./strategies.ts";
import type {
  BacktestResult,
  CostBreakdown,
  LabelMode,
  PriceSeries,
  Signal,
  TickerSummary,
  Trade,
} from "./types.ts";

/** The arguments of {@linkcode runBacktest}. */
export interface BacktestArgs {
  /** Predictions on the eval tickers, one per ticker and quarter. */
  signals: Signal[];
  /** Daily closes of every ticker with a signal (more are ignored). */
  prices: Map<string, PriceSeries>;
  /** The index bought and held as a benchmark; null when the dataset has none. */
  index: { name: string; series: PriceSeries } | null;
  /** Annualized percent yields (5 = 5%) used as the risk-free rate, named for the report; null means 0. */
  riskFree: (PriceSeries & { name?: string }) | null;
  labelMode: LabelMode;
  config: BacktestConfig;
  /**
   * A point-in-time universe: each ticker's membership spells (ISO dates, both ends included; `to`
   * null while still a member). A held ticker that leaves is closed at its last close as a member
   * (reason `delisted`), and an order for a ticker that is not a member on its fill day is not
   * filled. Absent: every ticker is a member while it has prices.
   */
  membership?: ReadonlyMap<string, readonly { from: string; to: string | null }[]>;
}

/**
 * Each ticker's membership on the calendar: 1 on the days inside one of its spells.
 *
 * @param tickers the tickers
 * @param membership their spells (a ticker without any is never a member)
 * @param calendar the trading calendar
 * @returns a mask per ticker, one byte per calendar day
 */
export function membershipMasks(
  tickers: readonly string[],
  membership: NonNullable<BacktestArgs["membership"]>,
  calendar: readonly string[],
): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const t of tickers) {
    const mask = new Uint8Array(calendar.length);
    for (const spell of membership.get(t) ?? []) {
      const before = lastOnOrBefore(calendar, spell.from);
      const a = before >= 0 && calendar[before] === spell.from ? before : before + 1;
      const b = spell.to === null ? calendar.length - 1 : lastOnOrBefore(calendar, spell.to);
      mask.fill(1, Math.max(0, a), b + 1);
    }
    out.set(t, mask);
  }
  return out;
}

/** One book's orders and span. */
export interface BookPlan {
  orders: Order[];
  /** Calendar index of the first fill, -1 when nothing can fill. */
  first: number;
  /** Calendar index of the last exit. */
  last: number;
  warnings: string[];
}

/**
 * Turns one book's signals into orders: one per quarter at the fill day, and
 * an exit one quarter after a signal that no newer signal follows.
 *
 * @param signals the book's signals (validated)
 * @param strategy the strategy
 * @param params its parameters
 * @param calendar the trading calendar
 * @param fill the fill rule
 * @returns the orders, the span and warnings
 * @throws {RangeError} when a ticker has two signals in one quarter
 */
export function planOrders(
  signals: readonly Signal[],
  strategy: Strategy,
  params: StrategyParams,
  calendar: readonly string[],
  fill: BacktestConfig["fill"],
): BookPlan {
  const groups = new Map<string, Signal[]>();
  // Each quarter's signals by ticker: a lookup, not a scan of the quarter's group per signal.
  const seen = new Map<string, Map<string, Signal>>();
  for (const s of signals) {
    const q = quarterOf(s.date);
    const g = groups.get(q) ?? [];
    const byTicker = seen.get(q) ?? new Map<string, Signal>();
    const twin = byTicker.get(s.ticker);
    if (twin) {
      throw new RangeError(
        `Duplicate signal for "${s.ticker}" in quarter ${q}: dated "${twin.date}" and "${s.date}"`,
      );
    }
    g.push(s);
    byTicker.set(s.ticker, s);
    groups.set(q, g);
    seen.set(q, byTicker);
  }
  const quarters = [...groups.keys()].sort();
  const warnings: string[] = [];
  const orders: Order[] = [];
  const fillDay = (decision: string) =>
    fill === "next_close" ? firstAfter(calendar, decision) : lastOnOrBefore(calendar, decision);
  let previous: ReadonlyMap<string, number> = new Map();
  let first = -1;
  let last = -1;
  for (let gi = 0; gi < quarters.length; gi++) {
    const q = quarters[gi];
    const group = groups.get(q)!;
    const decision = group.reduce((m, s) => (s.date > m ? s.date : m), group[0].date);
    const day = fillDay(decision);
    if (day < 0) {
      warnings.push(
        `Signals of ${q} (formed ${decision}) and later cannot fill: no trading day ${
          fill === "next_close" ? "after" : "on or before"
        } ${decision}`,
      );
      break;
    }
    const targets = strategy.targets(
      group.map((s) => ({ ticker: s.ticker, score: s.score })),
      previous,
      params,
    );
    orders.push({ day, targets, resize: strategy.resizeHeld, reason: "signal" });
    previous = targets;
    if (first < 0) first = day;
    last = day;
    const following = quarters[gi + 1];
    if (following === nextQuarter(q)) continue;
    // No signal for the next quarter: close one quarter after this signal.
    let horizon = lastOnOrBefore(calendar, quarterEnd(nextQuarter(q)));
    const decisionDay = lastOnOrBefore(calendar, decision);
    if (horizon <= decisionDay) {
      warnings.push(
        `No trading day in the quarter after ${q}: positions from its signals close at the fill close`,
      );
      horizon = day;
    }
    let exit = fill === "next_close" ? horizon + 1 : horizon;
    if (exit >= calendar.length) {
      exit = calendar.length - 1;
      warnings.push(
        `Prices end on ${
          calendar[exit]
        }: positions from ${q}'s signals close at that close, not the next trading day's`,
      );
    }
    if (exit < day) exit = day;
    if (following !== undefined) {
      warnings.push(
        `No signals for ${nextQuarter(q)}: positions from ${q} closed on ${calendar[exit]}`,
      );
    }
    orders.push({ day: exit, targets: new Map(), resize: true, reason: "exit" });
    previous = new Map();
    last = exit;
  }
  return { orders, first, last, warnings };
}

function validateSignals(args: BacktestArgs): void {
  if (args.signals.length === 0) throw new RangeError("No signals to backtest: the list is empty");
  const missing = new Set<string>();
  for (const [i, s] of args.signals.entries()) {
    if (typeof s.ticker !== "string" || s.ticker.length === 0) {
      throw new RangeError(`Invalid signal ${i}: ticker must be a non-empty string`);
    }
    assertIsoDate(s.date, `signal ${i} ("${s.ticker}")`);
    if (!Number.isFinite(s.score)) {
      throw new RangeError(`Invalid signal for "${s.ticker}" on "${s.date}": score is ${s.score}`);
    }
    if (args.labelMode === "direction" && (s.score < 0 || s.score > 1)) {
      throw new RangeError(
        `Invalid direction signal for "${s.ticker}" on "${s.date}": score ${s.score} is not a probability in [0, 1]`,
      );
    }
    if (!args.prices.has(s.ticker)) missing.add(s.ticker);
  }
  if (missing.size > 0) {
    const have = [...args.prices.keys()].sort();
    throw new RangeError(
      `No prices for signalled tickers ${
        [...missing].sort().map((t) => `"${t}"`).join(", ")
      }: prices cover ${
        have.length > 20 ? `${have.slice(0, 20).join(", ")}, ...` : have.join(", ") || "nothing"
      }`,
    );
  }
}

/**
 * The daily risk-free rate over a span of the calendar, from a series of annualized percent
 * yields carried forward (0 before its first value, with a warning).
 *
 * @param series the yield series, or null for 0
 * @param calendar the trading calendar
 * @param start first calendar index of the span
 * @param end last calendar index of the span (inclusive)
 * @param warnings told when the series starts late or ends early
 * @returns the daily rate per day of the span (null for none) and where it came from
 * @throws {RangeError} on an invalid series
 */
export function riskFreeDaily(
  series: (PriceSeries & { name?: string }) | null,
  calendar: readonly string[],
  start: number,
  end: number,
  warnings: string[],
): { daily: Float64Array | null; label: string } {
  if (!series) return { daily: null, label: "0 (no risk-free series)" };
  if (series.dates.length !== series.close.length) {
    throw new RangeError(
      `Invalid risk-free series: ${series.dates.length} dates but ${series.close.length} values`,
    );
  }
  for (let i = 0; i < series.dates.length; i++) {
    assertIsoDate(series.dates[i], "the risk-free series");
    if (i > 0 && series.dates[i] <= series.dates[i - 1]) {
      throw new RangeError(
        `Invalid risk-free series: dates must be strictly ascending, got "${
          series.dates[i]
        }" after "${series.dates[i - 1]}"`,
      );
    }
    if (!Number.isFinite(series.close[i])) {
      throw new RangeError(
        `Invalid risk-free series on "${series.dates[i]}": yield is ${series.close[i]}`,
      );
    }
  }
  const aligned = alignToCalendar(series, calendar.slice(start, end + 1), true);
  const daily = new Float64Array(aligned.length);
  let unknown = 0;
  for (let i = 0; i < aligned.length; i++) {
    if (Number.isNaN(aligned[i])) unknown++;
    else daily[i] = aligned[i] / 100 / TRADING_DAYS;
  }
  if (unknown > 0) {
    warnings.push(
      `The risk-free series starts after ${calendar[start]}: its first ${unknown} day(s) use 0`,
    );
  }
  const lastKnown = series.dates[series.dates.length - 1];
  if (lastKnown !== undefined && lastKnown < calendar[start]) {
    warnings.push(
      `The risk-free series ends on ${lastKnown}, before the period starts: its last value is used throughout`,
    );
  } else if (lastKnown !== undefined && lastKnown < calendar[end]) {
    warnings.push(
      `The risk-free series ends on ${lastKnown}, before the period's end ${
        calendar[end]
      }: its last value is carried forward`,
    );
  }
  return {
    daily,
    label: `${
      series.name ? `"${series.name}"` : "the risk-free series"
    } (annualized % yield, last value on or before each day, / 100 / 252)`,
  };
}

function sumCosts(books: readonly BookResult[]): CostBreakdown {
  const c: CostBreakdown = { commission: 0, slippage: 0, borrow: 0, total: 0 };
  for (const b of books) {
    c.commission += b.costs.commission;
    c.slippage += b.costs.slippage;
    c.borrow += b.costs.borrow;
    c.total += b.costs.total;
  }
  return c;
}

/** A number as people write it: no float noise (`0.7 - 0.5` is 0.2), plain decimals. */
function plain(x: number): string {
  return String(Number(x.toPrecision(10)));
}

/** Currency with thousands separators and two decimals (the report's money format). */
function money(x: number): string {
  return x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** A signed threshold: `+0.2`, `-0.2`, `0`. */
function signed(x: number): string {
  return x > 0 ? `+${plain(x)}` : plain(x);
}

function assumptions(
  args: BacktestArgs,
  strategy: Strategy,
  params: StrategyParams,
  books: number,
  riskFreeLabel: string,
): string[] {
  const c = args.config;
  const out = [
    c.fill === "next_close"
      ? "Fills: a signal formed at a quarter's last close fills at the next trading day's close"
      : "Fills: a signal fills at the same close it was formed at (same-close fills, optimistic)",
    `Costs: commission ${plain(c.commission_bps)} bps + slippage ${
      plain(c.slippage_bps)
    } bps of traded notional at every fill (benchmarks: on the initial purchase only); short borrow ${
      plain(c.borrow_bps)
    } bps a year, accrued daily (1/252 a day) on the previous close's short value`,
    "Sizing: target weight × (equity − this fill's costs), fractional shares, no leverage beyond the weights; positions are marked to market daily",
    strategy.resizeHeld
      ? `Rebalancing: ${strategy.name} trades every held position back to its target weight each quarter`
      : `Rebalancing: ${strategy.name} keeps a held position as is while its side is unchanged; reversals pay costs on both legs`,
    "Holding: each signal is valid for one quarter; without a newer signal its positions close at the last trading day of the next quarter (shifted by the fill rule), and a ticker whose prices end is closed at its last close",
    args.labelMode === "direction"
      ? `Scores: probabilities of an up move, centered on the long/short boundary ${
        plain(params.boundary)
      } (the exit threshold); the nuanced strategy goes long above ${
        plain(params.boundary + params.longAbove)
      } and short below ${plain(params.boundary + params.shortBelow)}`
      : `Scores: predicted fractional moves, centered on 0; the nuanced strategy goes long above ${
        signed(params.longAbove)
      } and short below ${signed(params.shortBelow)} (its thresholds less the exit threshold)`,
    c.mode === "per_ticker"
      ? `Per-ticker mode: each of the ${books} eval tickers trades alone with ${
        money(c.initial_capital / books)
      } (the initial capital of ${
        money(c.initial_capital)
      } / ${books}); the strategy is the sum of the books`
      : `Portfolio mode: one book of ${money(c.initial_capital)} across the eval tickers`,
    "Ruin: a book whose equity is at or below zero at a close is liquidated at that close (each position at its price, costs charged; a ticker without a price that day at its next close) and never trades again; a negative liquidation value (a short that gapped past the equity) is kept as a debt, not floored at zero",
    "Benchmarks: buy-and-hold from the close of the strategy's first fill date to its last date, equal initial weights for the basket and no rebalancing, marked (not sold) at the end",
    `Risk-free rate: ${riskFreeLabel}`,
    "Statistics: daily close-to-close returns (the first from the initial capital), annualized with 252 trading days; CAGR over calendar days / 365.25; drawdowns count the initial capital as the first peak, and their durations count trading days; alpha and beta from daily excess returns regressed on the index's",
  ];
  if (c.long_only) out.push("Long only: short targets are held flat instead");
  if (c.weighting === "signal") {
    out.push(
      "Signal weighting: each name's share is |score − boundary| over the quarter's sum",
    );
  }
  return out;
}

/**
 * Backtests signals on daily prices and compares them with buy-and-hold of
 * the index and of the equal-weight eval basket over the same period.
 *
 * @param args signals, prices, the index and risk-free series, what scores mean, the config
 * @returns statistics, per-ticker table, equity and drawdown series, trades, fills, warnings and assumptions
 * @throws {RangeError} on invalid signals or prices, a cross-sectional strategy in per_ticker mode, or when nothing can fill
 * @example
 * ```ts
 * import { BacktestConfig } from "../config/schema.ts";
 * const prices = new Map([["A", { dates: ["2000-03-31", "2000-04-03", "2000-06-30", "2000-07-03"],
 *   close: new Float64Array([10, 11, 12, 13]) }]]);
 * const result = runBacktest({ signals: [{ ticker: "A", date: "2000-03-31", score: 0.9 }], prices,
 *   index: null, riskFree: null, labelMode: "direction", config: BacktestConfig.parse({}) });
 * result.trades.length; // 1: long from 2000-04-03 at 11 to 2000-07-03 at 13
 * ```
 */
export function runBacktest(args: BacktestArgs): BacktestResult {
  const config = args.config;
  const strategy = getStrategy(config.strategy);
  if (strategy.crossSectional && config.mode === "per_ticker") {
    throw new RangeError(
      `Strategy "${strategy.name}" ranks tickers against each other and needs backtest.mode "portfolio": got "per_ticker"`,
    );
  }
  const params = strategyParams(config, args.labelMode);
  validateSignals(args);
  const tickers = [...new Set(args.signals.map((s) => s.ticker))].sort();
  const validDates = new Set<string>();
  for (const t of tickers) validatePriceSeries(t, args.prices.get(t)!, validDates);
  if (args.index) validatePriceSeries(args.index.name, args.index.series, validDates);
  const calendar = buildCalendar(tickers.map((t) => args.prices.get(t)!));
  const closes = new Map(
    tickers.map((t) => [t, alignToCalendar(args.prices.get(t)!, calendar, false)]),
  );
  const members = args.membership ? membershipMasks(tickers, args.membership, calendar) : undefined;
  const costs: CostModel = {
    commissionBps: config.commission_bps,
    slippageBps: config.slippage_bps,
    borrowBps: config.borrow_bps,
  };
  const warnings: string[] = [];
  if (config.fill === "same_close") {
    warnings.push(
      "Same-close fills: orders fill at the close the signal was formed at, a price nobody could still trade at once the signal was known; results are optimistic",
    );
  }

  const bookTickers = config.mode === "per_ticker" ? tickers.map((t) => [t]) : [tickers];
  // The same planning warning from many per_ticker books is reported once, naming the books.
  const planWarnings = new Map<string, string[]>();
  // Each book's signals in one pass over them (per_ticker mode has a book per ticker).
  const bookOf = new Map(bookTickers.flatMap((ts, b) => ts.map((t) => [t, b] as const)));
  const bookSignals: Signal[][] = bookTickers.map(() => []);
  for (const s of args.signals) bookSignals[bookOf.get(s.ticker)!].push(s);
  const plans = bookTickers.map((ts, b) => {
    const plan = planOrders(
      bookSignals[b],
      strategy,
      params,
      calendar,
      config.fill,
    );
    for (const w of plan.warnings) planWarnings.set(w, [...(planWarnings.get(w) ?? []), ...ts]);
    return plan;
  });
  for (const [w, ts] of planWarnings) {
    warnings.push(
      config.mode === "per_ticker" ? `${w} (${ts.map((t) => `"${t}"`).join(", ")})` : w,
    );
  }
  const filled = plans.filter((p) => p.first >= 0);
  if (filled.length === 0) {
    throw new RangeError(
      `No signal can fill: the prices end on ${
        calendar[calendar.length - 1]
      }, at or before every signal`,
    );
  }
  // Reductions, not spreads: per_ticker mode has a plan per ticker.
  const start = filled.reduce((m, p) => Math.min(m, p.first), Infinity);
  const end = filled.reduce((m, p) => Math.max(m, p.last), -Infinity);
  const capitalPerBook = config.initial_capital / bookTickers.length;
  const books = bookTickers.map((ts, i) =>
    simulateBook({
      name: config.mode === "per_ticker" ? `book "${ts[0]}"` : "portfolio",
      tickers: ts,
      capital: capitalPerBook,
      orders: plans[i].orders,
      calendar,
      closes,
      start,
      end,
      costs,
      ...(members ? { members } : {}),
    })
  );
  for (const b of books) for (const w of b.warnings) warnings.push(w);
  const ruin = books.flatMap((b) => (b.ruin ? [b.ruin] : []));

  const days = end - start + 1;
  const dates = calendar.slice(start, end + 1);
  // Capital plus each book's gain (not the sum of the books' equities, which would not give
  // back the capital exactly in floating point when nothing is traded).
  const equity = new Float64Array(days).fill(config.initial_capital);
  const exposed = new Uint8Array(days);
  for (const b of books) {
    for (let k = 0; k < days; k++) {
      equity[k] += b.equity[k] - capitalPerBook;
      exposed[k] |= b.exposed[k];
    }
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  // Stable sorts: within a day and ticker, the books' own order (execution order) is kept.
  const trades: Trade[] = books.flatMap((b) => b.trades).sort((a, b) =>
    cmp(a.entryDate, b.entryDate) || cmp(a.ticker, b.ticker)
  );
  const fills = books.flatMap((b) => b.fills).sort((a, b) =>
    cmp(a.date, b.date) || cmp(a.ticker, b.ticker)
  );
  const tradedNotional = books.reduce((s, b) => s + b.tradedNotional, 0);

  const span = { calendar, start, end, capital: config.initial_capital, costs };
  const basket = basketBenchmark(tickers, closes, span);
  warnings.push(...basket.warnings);
  const index = args.index ? indexBenchmark(args.index.name, args.index.series, span) : null;
  if (index) warnings.push(...index.warnings);
  let indexReturns: Float64Array | null = null;
  if (index) {
    indexReturns = new Float64Array(days);
    for (let k = 1; k < days; k++) {
      const a = index.levels[start + k - 1];
      const b = index.levels[start + k];
      indexReturns[k] = Number.isNaN(a) || Number.isNaN(b) ? 0 : b / a - 1;
    }
  }
  const rf = riskFreeDaily(args.riskFree, calendar, start, end, warnings);

  const statsOf = (b: { equity: ArrayLike<number>; exposed: ArrayLike<number> }, extra: {
    trades: readonly Trade[];
    costs: CostBreakdown;
    tradedNotional: number;
  }) =>
    performanceStats({
      dates,
      equity: b.equity,
      capital: config.initial_capital,
      exposed: b.exposed,
      trades: extra.trades,
      costs: extra.costs,
      tradedNotional: extra.tradedNotional,
      riskFreeDaily: rf.daily,
      riskFreeLabel: rf.label,
      indexReturns,
    });

  // Trades by ticker in one pass (in their sorted order), not a filter of all trades per ticker.
  const tradesOf = new Map<string, Trade[]>(tickers.map((t) => [t, []]));
  for (const x of trades) tradesOf.get(x.ticker)?.push(x);
  const perTicker: TickerSummary[] = tickers.map((t, ti) => {
    const own = tradesOf.get(t)!;
    const ts = tradeStats(own);
    const bookIndex = config.mode === "per_ticker" ? ti : 0;
    const book = books[bookIndex];
    const row = book.byTicker.get(t)!;
    const c = closes.get(t)!;
    let first = NaN;
    let lastClose = NaN;
    for (let d = start; d <= end; d++) {
      if (Number.isNaN(c[d])) continue;
      if (Number.isNaN(first)) first = c[d];
      lastClose = c[d];
    }
    return {
      ticker: t,
      trades: ts.trades,
      wins: ts.wins,
      winRate: ts.winRate,
      avgWin: ts.avgWin,
      avgLoss: ts.avgLoss,
      profitFactor: ts.profitFactor,
      pnl: row.pnl,
      totalReturn: config.mode === "per_ticker"
        ? book.equity[days - 1] / capitalPerBook - 1
        : row.pnl / config.initial_capital,
      buyHoldReturn: Number.isNaN(first) ? null : lastClose / first - 1,
      exposure: days > 1 ? row.heldDays / (days - 1) : 0,
      costs: row.costs,
      maxDrawdown: config.mode === "per_ticker"
        ? maxDrawdown(dates, capitalPerBook, book.equity).depth
        : null,
    };
  });

  const strategyStats = statsOf({ equity, exposed }, {
    trades,
    costs: sumCosts(books),
    tradedNotional,
  });
  const basketStats = statsOf(basket, basket);
  const indexStats = index ? statsOf(index.book, index.book) : null;
  const toArray = (x: ArrayLike<number>) => Array.from(x);
  return {
    strategy: strategy.name,
    mode: config.mode,
    labelMode: args.labelMode,
    config: { ...config },
    sameCloseFills: config.fill === "same_close",
    period: { start: dates[0], end: dates[days - 1], days },
    stats: { strategy: strategyStats, index: indexStats, basket: basketStats },
    benchmarks: { index: args.index ? args.index.name : null, basket: tickers },
    perTicker,
    series: {
      dates,
      strategy: toArray(equity),
      index: index ? toArray(index.book.equity) : null,
      basket: toArray(basket.equity),
      riskFree: rf.daily ? toArray(rf.daily) : null,
      drawdown: {
        strategy: toArray(drawdownSeries(config.initial_capital, equity)),
        index: index ? toArray(drawdownSeries(config.initial_capital, index.book.equity)) : null,
        basket: toArray(drawdownSeries(config.initial_capital, basket.equity)),
      },
    },
    trades,
    fills,
    ruin,
    warnings,
    assumptions: assumptions(args, strategy, params, bookTickers.length, rf.label),
  };
}
