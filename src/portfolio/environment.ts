/**
 * The portfolio manager's environment: the universe's prices on one trading calendar, the
 * rebalancing decisions (what is known at each, what the period then earned), the constraints
 * every manager's weights pass through, and the accounting, which is the backtest's own book
 * (`simulateBook`), never a second one.
 *
 * Timing: a decision is formed at the close of its signal day (every analyst signal and every
 * price it uses is dated on or before that close) and fills at the next trading day's close; its
 * period runs from that fill to the next decision's fill. A decision's `returns` are the period's
 * close-to-close moves: known only at the period's end, so a manager may train on a decision
 * only once its `endDay` is on or before the signal day of the decision it is making
 * ({@linkcode knownBefore}).
 *
 * Costs: commission in basis points of traded notional plus half the quoted spread on every
 * trade (the book's slippage); cash earns nothing. The training environment's cost of a
 * rebalance is the same rate on `Σ|w − w̃|`, where `w̃` are the previous weights drifted by the
 * period's moves: the book's cost to first order (the book sizes on equity after costs).
 *
 * @module
 */
import { quarterEnd, quarterLabel, quarterNumber, quarterOf } from "@alfred/core";
import {
  alignToCalendar,
  buildCalendar,
  lastOnOrBefore,
  validatePriceSeries,
} from "../backtest/calendar.ts";
import { type BookResult, type CostModel, type Order, simulateBook } from "../backtest/book.ts";
import { performanceStats } from "../backtest/stats.ts";
import { riskFreeDaily } from "../backtest/engine.ts";
import type { PerformanceStats, PriceSeries } from "../backtest/types.ts";
import type { SignalTable } from "./signals.ts";

/** The environment's rules (the portfolio experiment's `environment:` block). */
export interface EnvironmentConfig {
  /** `horizon`: every analysts' label horizon (quarters); `month`: every month's last close. */
  period: "horizon" | "month";
  /** Commission in basis points of traded notional. */
  commission_bps: number;
  /** Quoted bid-ask spread in basis points; half is paid on every trade. */
  spread_bps: number;
  /** Weights are at least 0 and sum to at most 1 (the rest is cash). */
  long_only: boolean;
  /** Long-short: the most `Σ|w|` may be. */
  gross_leverage: number;
  /** The most `|w|` one name may have. */
  max_weight: number;
  initial_capital: number;
  /** Trading days of the trailing return and volatility in the state. */
  lookback_days: number;
}

/** The universe's prices on one calendar, plus the index and the risk-free yield. */
export interface Panel {
  tickers: string[];
  calendar: string[];
  /** Closes per ticker (in `tickers` order) aligned to the calendar; NaN where it has no bar. */
  closes: Float64Array[];
  /** The same carried forward over missing bars (NaN before a ticker's first bar). */
  filled: Float64Array[];
  index: { name: string; series: PriceSeries } | null;
  riskFree: PriceSeries | null;
}

/**
 * Builds the panel of a universe.
 *
 * @param prices daily closes per ticker
 * @param tickers the universe, in the order managers see it
 * @param index the index series bought and held by the index baseline, or null
 * @param riskFree annualized percent yields for Sharpe, or null for 0
 * @returns the panel
 * @throws {RangeError} when a ticker has no prices or an invalid series
 */
export function buildPanel(
  prices: ReadonlyMap<string, PriceSeries>,
  tickers: readonly string[],
  index: { name: string; series: PriceSeries } | null,
  riskFree: PriceSeries | null,
): Panel {
  const series = tickers.map((t) => {
    const s = prices.get(t);
    if (!s) throw new RangeError(`No prices for "${t}" in the portfolio's universe`);
    validatePriceSeries(t, s);
    return s;
  });
  const calendar = buildCalendar(series);
  return {
    tickers: [...tickers],
    calendar,
    closes: series.map((s) => alignToCalendar(s, calendar, false)),
    filled: series.map((s) => alignToCalendar(s, calendar, true)),
    index,
    riskFree,
  };
}

/** One rebalance: what a manager knows at its signal close, and what the period then did. */
export interface Decision {
  /** ISO date of the close the decision is formed at. */
  date: string;
  /** Calendar index of that close. */
  signalDay: number;
  /** Calendar index of the fill (the next trading day's close). */
  fillDay: number;
  /** Calendar index of the period's end: the next decision's fill, or the last period's end. */
  endDay: number;
  /** Signals, assets × analysts row-major, each analyst's standardized across the eligible assets. */
  signals: Float64Array;
  /** The same, as the analysts gave them (direction: probability; magnitude: predicted move). */
  rawSignals: Float64Array;
  /** 1 where the asset may be held: a close on the signal day and a signal from every analyst. */
  eligible: Uint8Array;
  /** Trailing `lookback_days` return to the signal close. */
  momentum: Float64Array;
  /** Standard deviation of daily returns over the trailing `lookback_days`. */
  volatility: Float64Array;
  /** Each asset's move from the fill to the period's end (0 where not eligible): known at `endDay`. */
  returns: Float64Array;
  /**
   * Each asset's move from the previous decision's fill to this signal close (0 for the first):
   * what drifts the weights held so far up to the moment this decision is made.
   */
  sinceLastFill: Float64Array;
}

/** The decisions of a portfolio and the analysts they read. */
export interface DecisionSet {
  analysts: string[];
  decisions: Decision[];
}

/** Quarters from a quarter label (YYYYQn) to a later one. */
function quarterAfter(quarter: string, n: number): string {
  return quarterLabel(quarterNumber(quarter) + n);
}

/**
 * The rebalancing decisions: one per period, each reading the latest out-of-sample signal of
 * every analyst formed on or before its close (and still inside that signal's horizon).
 *
 * @param panel the universe's prices
 * @param tables the analysts' signal tables
 * @param env the environment's rules
 * @returns the decisions in time order and the analysts' names
 * @throws {RangeError} when the analysts share no period, or a period cannot fill
 */
export function buildDecisions(
  panel: Panel,
  tables: readonly SignalTable[],
  env: EnvironmentConfig,
): DecisionSet {
  const n = panel.tickers.length;
  const a = tables.length;
  const ti = new Map(panel.tickers.map((t, i) => [t, i]));
  // Per analyst: quarter → { date: the latest signal date of the quarter, scores per asset }.
  const byQuarter = tables.map((t) => {
    const m = new Map<string, { date: string; scores: Float64Array }>();
    for (const r of t.rows) {
      const i = ti.get(r.ticker);
      if (i === undefined) continue;
      let g = m.get(r.quarter);
      if (!g) m.set(r.quarter, g = { date: r.date, scores: new Float64Array(n).fill(NaN) });
      if (r.date > g.date) g.date = r.date;
      g.scores[i] = r.score;
    }
    return m;
  });
  const horizon = Math.max(...tables.map((t) => t.horizon));
  const common = [...byQuarter[0].keys()].filter((q) => byQuarter.every((m) => m.has(q))).sort();
  if (common.length === 0) {
    throw new RangeError(
      `The analysts ${tables.map((t) => `"${t.analyst}"`).join(", ")} share no quarter of signals`,
    );
  }
  const signalDate = (q: string) =>
    byQuarter.reduce((d, m) => (m.get(q)!.date > d ? m.get(q)!.date : d), "");
  let dates: string[];
  let lastEnd: string;
  if (env.period === "horizon") {
    const picked = common.filter((_, k) => k % horizon === 0);
    dates = picked.map(signalDate);
    lastEnd = quarterEnd(quarterAfter(picked[picked.length - 1], horizon));
  } else {
    const first = signalDate(common[0]);
    lastEnd = quarterEnd(quarterAfter(common[common.length - 1], horizon));
    dates = monthEnds(panel.calendar, first, lastEnd);
    dates = dates.filter((d) => d < lastEnd);
  }
  const decisions: Decision[] = [];
  const fills = dates.map((d) => lastOnOrBefore(panel.calendar, d) + 1);
  const last = panel.calendar.length - 1;
  for (let k = 0; k < dates.length; k++) {
    const signalDay = fills[k] - 1;
    const fillDay = fills[k];
    if (fillDay > last) break;
    const endDay = k + 1 < dates.length && fills[k + 1] <= last
      ? fills[k + 1]
      : Math.min(last, lastOnOrBefore(panel.calendar, lastEnd) + 1);
    if (endDay <= fillDay) break;
    const date = panel.calendar[signalDay];
    const raw = new Float64Array(n * a).fill(NaN);
    for (let j = 0; j < a; j++) {
      const q = latestQuarter(byQuarter[j], date, tables[j].horizon);
      if (!q) continue;
      const scores = byQuarter[j].get(q)!.scores;
      for (let i = 0; i < n; i++) raw[i * a + j] = scores[i];
    }
    const eligible = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let ok = !Number.isNaN(panel.closes[i][signalDay]);
      for (let j = 0; j < a && ok; j++) ok = Number.isFinite(raw[i * a + j]);
      eligible[i] = ok ? 1 : 0;
    }
    const momentum = new Float64Array(n);
    const volatility = new Float64Array(n);
    const returns = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (!eligible[i]) continue;
      const c = panel.filled[i];
      const from = Math.max(0, signalDay - env.lookback_days);
      momentum[i] = Number.isNaN(c[from]) ? 0 : c[signalDay] / c[from] - 1;
      volatility[i] = trailingVolatility(c, from, signalDay);
      returns[i] = c[endDay] / c[fillDay] - 1;
    }
    const sinceLastFill = new Float64Array(n);
    const before = decisions[decisions.length - 1];
    if (before) {
      for (let i = 0; i < n; i++) {
        const c = panel.filled[i];
        const m = c[signalDay] / c[before.fillDay] - 1;
        sinceLastFill[i] = Number.isFinite(m) ? m : 0;
      }
    }
    decisions.push({
      date,
      sinceLastFill,
      signalDay,
      fillDay,
      endDay,
      signals: standardize(raw, eligible, n, a),
      rawSignals: raw,
      eligible,
      momentum,
      volatility,
      returns,
    });
  }
  if (decisions.length === 0) {
    throw new RangeError(
      `No rebalance can fill: the prices end on ${panel.calendar[last]}, before the first signal`,
    );
  }
  return { analysts: tables.map((t) => t.analyst), decisions };
}

/** The last trading day of every month from `from` to `to`. */
function monthEnds(calendar: readonly string[], from: string, to: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < calendar.length; i++) {
    const d = calendar[i];
    if (d < from || d > to) continue;
    const next = calendar[i + 1];
    if (next === undefined || next.slice(0, 7) !== d.slice(0, 7)) out.push(d);
  }
  return out;
}

/** The latest quarter with a signal formed on or before `date`, within `horizon` quarters of it. */
function latestQuarter(
  m: ReadonlyMap<string, { date: string }>,
  date: string,
  horizon: number,
): string | null {
  let best: string | null = null;
  for (const [q, g] of m) if (g.date <= date && (best === null || q > best)) best = q;
  if (best === null) return null;
  return quarterNumber(quarterOf(date)) - quarterNumber(best) <= horizon ? best : null;
}

/** Standard deviation of daily returns of `c` over days (from, to]. */
function trailingVolatility(c: Float64Array, from: number, to: number): number {
  const r: number[] = [];
  for (let d = from + 1; d <= to; d++) {
    if (!Number.isNaN(c[d - 1]) && !Number.isNaN(c[d])) r.push(c[d] / c[d - 1] - 1);
  }
  if (r.length < 2) return 0;
  const m = r.reduce((s, x) => s + x, 0) / r.length;
  return Math.sqrt(r.reduce((s, x) => s + (x - m) ** 2, 0) / (r.length - 1));
}

/**
 * Each analyst's column standardized across the eligible assets (mean 0, standard deviation 1;
 * 0 where every eligible asset has the same signal, and for ineligible assets).
 */
function standardize(raw: Float64Array, eligible: Uint8Array, n: number, a: number): Float64Array {
  const out = new Float64Array(n * a);
  for (let j = 0; j < a; j++) {
    let s = 0, s2 = 0, k = 0;
    for (let i = 0; i < n; i++) {
      if (!eligible[i]) continue;
      s += raw[i * a + j];
      k++;
    }
    if (k === 0) continue;
    const m = s / k;
    for (let i = 0; i < n; i++) if (eligible[i]) s2 += (raw[i * a + j] - m) ** 2;
    const sd = Math.sqrt(s2 / k);
    if (sd < 1e-12) continue;
    for (let i = 0; i < n; i++) if (eligible[i]) out[i * a + j] = (raw[i * a + j] - m) / sd;
  }
  return out;
}

/**
 * Decisions whose outcome is known at the close of `day`: their period ended on or before it.
 *
 * @param decisions all decisions, in time order
 * @param day a calendar index (a decision's signal day)
 * @returns the known prefix
 */
export function knownBefore(decisions: readonly Decision[], day: number): Decision[] {
  return decisions.filter((d) => d.endDay <= day);
}

/**
 * Puts weights inside the environment's constraints: ineligible assets 0; long-only: negatives
 * 0, each at most `max_weight`, the sum at most 1 (the rest is cash); long-short: each `|w|` at
 * most `max_weight` and `Σ|w|` at most `gross_leverage` (scaled down together when above).
 *
 * @param weights proposed weights, one per asset
 * @param eligible 1 where an asset may be held
 * @param env the constraints
 * @returns new weights inside the constraints
 * @example
 * ```ts
 * constrain(Float64Array.of(0.8, 0.8, -0.2), Uint8Array.of(1, 1, 1),
 *   { long_only: true, max_weight: 0.6, gross_leverage: 1 } as EnvironmentConfig); // [0.5, 0.5, 0]
 * ```
 */
export function constrain(
  weights: ArrayLike<number>,
  eligible: ArrayLike<number>,
  env: Pick<EnvironmentConfig, "long_only" | "max_weight" | "gross_leverage">,
): Float64Array {
  const n = weights.length;
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = eligible[i] && Number.isFinite(weights[i]) ? weights[i] : 0;
    if (env.long_only && x < 0) x = 0;
    w[i] = Math.max(-env.max_weight, Math.min(env.max_weight, x));
  }
  const limit = env.long_only ? 1 : env.gross_leverage;
  let gross = 0;
  for (let i = 0; i < n; i++) gross += Math.abs(w[i]);
  if (gross > limit) { for (let i = 0; i < n; i++) w[i] *= limit / gross; }
  return w;
}

/**
 * Weights after a period's moves, as fractions of the book's equity at its end (cash earns 0).
 *
 * @param weights weights at the period's start
 * @param returns each asset's move over the period
 * @returns the drifted weights
 */
export function drift(weights: ArrayLike<number>, returns: ArrayLike<number>): Float64Array {
  let growth = 1;
  for (let i = 0; i < weights.length; i++) growth += weights[i] * returns[i];
  const out = new Float64Array(weights.length);
  if (growth <= 0) return out;
  for (let i = 0; i < weights.length; i++) out[i] = weights[i] * (1 + returns[i]) / growth;
  return out;
}

/** The cost rate of one unit of traded notional. */
export function costRate(env: Pick<EnvironmentConfig, "commission_bps" | "spread_bps">): number {
  return (env.commission_bps + env.spread_bps / 2) / 10_000;
}

/**
 * The training environment's net log return of one rebalance: `log(1 + w·r − c·Σ|w − w̃|)`.
 *
 * @param weights the decision's weights
 * @param previous the previous weights drifted to this fill (zeros at the start)
 * @param returns the period's moves
 * @param rate cost per unit traded ({@linkcode costRate})
 * @returns the log growth of the book over the period (−Infinity at ruin)
 */
export function periodLogReturn(
  weights: ArrayLike<number>,
  previous: ArrayLike<number>,
  returns: ArrayLike<number>,
  rate: number,
): number {
  let g = 1;
  for (let i = 0; i < weights.length; i++) {
    g += weights[i] * returns[i] - rate * Math.abs(weights[i] - previous[i]);
  }
  return g > 0 ? Math.log(g) : -Infinity;
}

/** A manager's weights run through the book, with the statistics of its equity curve. */
export interface PortfolioOutcome {
  /** Trading days from the first fill to the last period's end. */
  dates: string[];
  equity: Float64Array;
  book: BookResult;
  stats: PerformanceStats;
  /** The daily risk-free rate of each date that the Sharpe ratio used, or null for 0. */
  riskFreeDaily: Float64Array | null;
  /** Mean `Σ|w|` held into each day (the gross exposure), over the period. */
  grossExposure: number;
  warnings: string[];
}

/**
 * Runs a schedule of target weights through the backtest's book: an order at each decision's
 * fill day trading every asset to its weight, from the first decision's fill to the last
 * decision's period end. Buy-and-hold of the index is the same book holding the index series.
 *
 * @param panel the universe's prices
 * @param decisions the decisions traded (consecutive, in time order)
 * @param weights one weight vector per decision; `null` places no order (holds)
 * @param env costs and capital
 * @param holdIndex trade the index series (weight vector of length 1) instead of the universe
 * @returns the book, its equity and statistics
 * @throws {RangeError} without decisions, or when `holdIndex` and the panel has no index
 */
export function simulatePortfolio(
  panel: Panel,
  decisions: readonly Decision[],
  weights: readonly (Float64Array | null)[],
  env: EnvironmentConfig,
  holdIndex = false,
): PortfolioOutcome {
  if (decisions.length === 0) throw new RangeError("No decision to trade");
  const start = decisions[0].fillDay;
  const end = decisions[decisions.length - 1].endDay;
  const costs: CostModel = {
    commissionBps: env.commission_bps,
    slippageBps: env.spread_bps / 2,
    borrowBps: 0,
  };
  let tickers = panel.tickers;
  let closes = new Map(panel.tickers.map((t, i) => [t, panel.closes[i]]));
  if (holdIndex) {
    if (!panel.index) throw new RangeError("The portfolio's dataset has no index to buy and hold");
    tickers = [panel.index.name];
    closes = new Map([[
      panel.index.name,
      alignToCalendar(panel.index.series, panel.calendar, true),
    ]]);
  }
  const orders: Order[] = [];
  decisions.forEach((d, k) => {
    const w = weights[k];
    if (!w) return;
    orders.push({
      day: d.fillDay,
      targets: new Map(tickers.map((t, i) => [t, w[i]])),
      resize: true,
      reason: "signal",
    });
  });
  const book = simulateBook({
    name: holdIndex ? `index ${tickers[0]}` : "portfolio",
    tickers,
    capital: env.initial_capital,
    orders,
    calendar: panel.calendar,
    closes,
    start,
    end,
    costs,
  });
  const dates = panel.calendar.slice(start, end + 1);
  const warnings = [...book.warnings];
  const rf = riskFreeDaily(panel.riskFree, panel.calendar, start, end, warnings);
  let indexReturns: Float64Array | null = null;
  if (panel.index) {
    const levels = alignToCalendar(panel.index.series, panel.calendar, true);
    indexReturns = new Float64Array(dates.length);
    for (let k = 1; k < dates.length; k++) {
      const a = levels[start + k - 1], b = levels[start + k];
      indexReturns[k] = Number.isNaN(a) || Number.isNaN(b) ? 0 : b / a - 1;
    }
  }
  const stats = performanceStats({
    dates,
    equity: book.equity,
    capital: env.initial_capital,
    exposed: book.exposed,
    trades: book.trades,
    costs: book.costs,
    tradedNotional: book.tradedNotional,
    riskFreeDaily: rf.daily,
    riskFreeLabel: rf.label,
    indexReturns,
  });
  return {
    dates,
    equity: book.equity,
    book,
    stats,
    riskFreeDaily: rf.daily,
    grossExposure: meanGross(decisions, weights),
    warnings,
  };
}

/** Mean gross weight held, weighted by each period's trading days. */
function meanGross(decisions: readonly Decision[], weights: readonly (Float64Array | null)[]) {
  let held = 0, days = 0;
  let current: Float64Array | null = null;
  decisions.forEach((d, k) => {
    current = weights[k] ?? current;
    const span = d.endDay - d.fillDay;
    let g = 0;
    if (current) { for (const x of current) g += Math.abs(x); }
    held += g * span;
    days += span;
  });
  return days > 0 ? held / days : 0;
}

/** Per-asset state features besides the analysts' signals: momentum, volatility, held weight. */
export const STATE_EXTRAS = ["momentum", "volatility", "weight"] as const;

/**
 * The state a learned manager sees for one decision: per asset, each analyst's standardized
 * signal, then the trailing return and volatility (standardized across the eligible assets) and
 * the weight held at the signal close in units of 1/N (so it is on the scale of the others).
 * Everything in it is known at that close.
 *
 * @param d the decision
 * @param held the weights held, drifted to the signal close
 * @param analysts how many analysts
 * @returns assets × (analysts + 3), row-major
 */
export function stateFeatures(
  d: Decision,
  held: ArrayLike<number>,
  analysts: number,
): Float32Array {
  const n = d.eligible.length;
  const f = analysts + STATE_EXTRAS.length;
  const out = new Float32Array(n * f);
  const mom = standardize(d.momentum, d.eligible, n, 1);
  const vol = standardize(d.volatility, d.eligible, n, 1);
  for (let i = 0; i < n; i++) {
    if (!d.eligible[i]) continue;
    for (let j = 0; j < analysts; j++) out[i * f + j] = d.signals[i * analysts + j];
    out[i * f + analysts] = mom[i];
    out[i * f + analysts + 1] = vol[i];
    out[i * f + analysts + 2] = held[i] * n;
  }
  return out;
}
