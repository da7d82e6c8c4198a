/**
 * Types shared by the backtest stage: its inputs (signals, price series), the
 * trade and fill records it produces, the statistics table and the result.
 *
 * @module
 */
import type { BacktestConfig } from "../config/schema.ts";

/** What a score means: a probability of an up move, or a predicted fractional move. */
export type LabelMode = "direction" | "magnitude";

/** One model prediction: formed at the close of `date` (a quarter's last trading day). */
export interface Signal {
  /** Ticker the score is about. */
  ticker: string;
  /** ISO date `YYYY-MM-DD` of the close the signal was formed at. */
  date: string;
  /** Direction: probability of an up move in [0, 1]; magnitude: predicted fractional move. */
  score: number;
}

/** Daily closes of one instrument, dates ascending and unique. */
export interface PriceSeries {
  /** ISO dates `YYYY-MM-DD`, strictly ascending. */
  dates: string[];
  /** Close on each date; finite and positive. */
  close: Float64Array;
}

/** Why a fill happened; `liquidation` closes the positions of a ruined book. */
export type FillReason = "signal" | "exit" | "delisted" | "benchmark" | "liquidation";

/**
 * How a book lost its equity. A book whose marked equity is at or below zero at a close is
 * ruined: every position is closed at that close's prices (a ticker without a price that day
 * at its next close), costs are charged, and it never trades again; its equity stays at the
 * liquidation value to the end of the backtest.
 *
 * The liquidation value may be negative: a short that gapped past the remaining equity
 * between two closes costs more to buy back than the book holds. That deficit is kept, not
 * floored at zero: it is a debt the account owes its broker (a margin account holder is liable
 * for a debit balance), and flooring it would credit the strategy with part of a loss it made.
 */
export interface Ruin {
  /** The book: "portfolio", or `book "IBM"` in per_ticker mode. */
  book: string;
  /** The book's starting capital. */
  capital: number;
  /** ISO date of the first close at which the book's marked equity was at or below zero. */
  date: string;
  /** Marked equity at that close, before the liquidation (at or below zero). */
  equity: number;
  /** ISO date of the close that closed the last position; null when one never had a price again. */
  liquidatedOn: string | null;
  /** Equity after the liquidation and its costs: what the book holds to the end (negative: a debt). */
  liquidationValue: number;
  /** Commission and slippage the liquidation fills paid. */
  liquidationCosts: number;
}

/** One execution: a change of position in one ticker at one close. */
export interface Fill {
  /** ISO date of the close it filled at. */
  date: string;
  ticker: string;
  /** Signed change in shares (fractional shares allowed). */
  quantity: number;
  /** The close it filled at. */
  price: number;
  /** |quantity| × price. */
  notional: number;
  /** Commission charged, in currency. */
  commission: number;
  /** Slippage charged, in currency. */
  slippage: number;
  reason: FillReason;
}

/** A round trip: a position from the fill that opened it to the fill that closed or reversed it. */
export interface Trade {
  ticker: string;
  side: "long" | "short";
  /** ISO date of the opening fill. */
  entryDate: string;
  entryPrice: number;
  /** Notional of the opening fill. */
  entryNotional: number;
  /** ISO date of the closing fill, or of the last mark when `open`. */
  exitDate: string;
  exitPrice: number;
  /** True when the position was still held at the end (marked, not sold: benchmarks). */
  open: boolean;
  /** Profit and loss after every cost charged to the position (commission, slippage, borrow). */
  pnl: number;
  /** `pnl / entryNotional`. */
  return: number;
  /** Costs charged to the position, in currency. */
  costs: number;
  /** Trading days from entry to exit. */
  bars: number;
}

/** Costs paid, split by kind, in currency. */
export interface CostBreakdown {
  commission: number;
  slippage: number;
  borrow: number;
  total: number;
}

/** The statistics table row of one equity curve (the strategy or a benchmark). */
export interface PerformanceStats {
  /** Capital before the first fill. */
  startEquity: number;
  endEquity: number;
  /** `endEquity / startEquity - 1`. */
  totalReturn: number;
  /** Compound annual growth over calendar time (days / 365.25); null when the period is empty. */
  cagr: number | null;
  /** Standard deviation of daily returns × √252; null with fewer than two returns. */
  volatility: number | null;
  /** Mean daily excess return / its standard deviation × √252; null when undefined. */
  sharpe: number | null;
  /** Annualized mean excess return / annualized downside deviation; null without downside. */
  sortino: number | null;
  /** CAGR / max drawdown; null without a drawdown. */
  calmar: number | null;
  /** Largest peak-to-trough fall as a positive fraction (0.25 = -25%; above 1 after a ruin). */
  maxDrawdown: number;
  /** ISO date of the peak before the deepest trough (null without a drawdown). */
  maxDrawdownPeak: string | null;
  /** ISO date of the deepest trough. */
  maxDrawdownTrough: string | null;
  /** ISO date equity first regained the peak; null when it never did. */
  maxDrawdownRecovery: string | null;
  /**
   * Trading days (closes) from the peak to the recovery, or to the last close when not
   * recovered; never calendar days, never more than `period.days - 1`.
   */
  maxDrawdownTradingDays: number;
  /** Round trips (closed, plus open ones marked at the end). */
  trades: number;
  /** Share of trades with a positive pnl; null without trades. */
  winRate: number | null;
  /** Mean return of winning trades; null without one. */
  avgWin: number | null;
  /** Mean return of losing trades (negative); null without one. */
  avgLoss: number | null;
  /** Gross trade profit / gross trade loss; null without a losing trade. */
  profitFactor: number | null;
  /** Share of daily returns earned with a position held. */
  exposure: number;
  /** Traded notional per year / average equity; null when the period is shorter than a day. */
  turnover: number | null;
  costs: CostBreakdown;
  /** Annualized intercept of daily excess returns regressed on the index's; null without an index. */
  alpha: number | null;
  /** Slope of that regression; null without an index or when the index does not move. */
  beta: number | null;
  /** Where the risk-free rate came from (a series name, or "0 (no risk-free series)"). */
  riskFree: string;
}

/** Win/loss statistics of a list of round trips. */
export interface TradeStats {
  trades: number;
  wins: number;
  winRate: number | null;
  avgWin: number | null;
  avgLoss: number | null;
  profitFactor: number | null;
}

/** One row of the per-ticker summary table. */
export interface TickerSummary extends TradeStats {
  ticker: string;
  /** Profit and loss of the ticker's positions after costs, in currency. */
  pnl: number;
  /** per_ticker: the ticker's own book's return; portfolio: pnl / initial capital (its contribution). */
  totalReturn: number;
  /** The ticker's own close-to-close return over the backtest period, no costs; null without prices. */
  buyHoldReturn: number | null;
  /** Share of the period's daily returns with a position in the ticker. */
  exposure: number;
  /** Costs charged to the ticker's positions. */
  costs: number;
  /** per_ticker: max drawdown of the ticker's own book; portfolio: null. */
  maxDrawdown: number | null;
}

/** Daily series for plots: equity (currency) and drawdown (positive fraction below the running peak). */
export interface EquitySeries {
  dates: string[];
  strategy: number[];
  /** Index buy-and-hold, null when no index was passed. */
  index: number[] | null;
  basket: number[];
  /** The daily risk-free rate of each date that the Sharpe and Sortino used; null when 0. */
  riskFree: number[] | null;
  drawdown: { strategy: number[]; index: number[] | null; basket: number[] };
}

/** Everything a backtest produced; plain data, safe to serialize as JSON. */
export interface BacktestResult {
  strategy: BacktestConfig["strategy"];
  mode: BacktestConfig["mode"];
  labelMode: LabelMode;
  /** The configuration the run used. */
  config: BacktestConfig;
  /** True when orders filled at the signal's own close (`fill: same_close`): optimistic, flag it. */
  sameCloseFills: boolean;
  /** First fill date to the last exit, inclusive; `days` counts trading days in it. */
  period: { start: string; end: string; days: number };
  stats: { strategy: PerformanceStats; index: PerformanceStats | null; basket: PerformanceStats };
  benchmarks: { index: string | null; basket: string[] };
  perTicker: TickerSummary[];
  series: EquitySeries;
  trades: Trade[];
  fills: Fill[];
  /** Books that lost their equity and were liquidated (empty when none was). */
  ruin: Ruin[];
  /** Things the reader must know (same_close fills, deferred fills, gaps); ruin is in `ruin`. */
  warnings: string[];
  /** The rules the numbers rest on (fill rule, costs, sizing, risk-free source). */
  assumptions: string[];
}
