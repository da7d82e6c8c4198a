/**
 * The backtest stage: strategies (a registry), the daily execution engine,
 * buy-and-hold benchmarks and the statistics table.
 *
 * How the research notes' backtesters are read here:
 * - `simple` (SimpleBackTester): score above the boundary long, otherwise
 *   short; an opposite signal exits and reverses, paying costs on both legs.
 * - `nuanced` (NuancedBackTester): above `long_threshold` long, below
 *   `short_threshold` short, a score on the other side of `exit_threshold`
 *   exits to flat, anything else holds.
 * - Magnitude scores (predicted fractional moves) use the same rules centered
 *   on 0: `simple` is the sign of the move, and `nuanced`'s bands are the
 *   thresholds minus `exit_threshold` (±0.2 by default).
 * - `top_magnitude` ("only take a position in the stock with the highest
 *   predicted magnitude"): each quarter the one ticker with the largest
 *   |centered score|, long or short by its sign; `long_only` takes the largest
 *   positive one, else stays flat.
 * - `long_short_top_k`: long the k highest scores and short the k lowest
 *   (ranks, at most half the universe a side), gross exposure 1,
 *   equal or signal-proportional weights; `long_only` is the top k only.
 * - `per_ticker` trades each eval ticker alone with an equal share of the
 *   capital (the notes' shell loop); `portfolio` runs one book.
 *
 * Execution: a signal formed at a quarter's last close fills at the next
 * trading day's close (`same_close` is flagged); commission and slippage in
 * basis points of traded notional, optional short borrow accrued daily;
 * positions are marked daily; a signal is valid one quarter, so positions
 * without a newer signal close at the next quarter's last close, shifted by
 * the fill rule. A book whose equity reaches zero or below at a close is
 * liquidated at that close and trades no more (`BacktestResult.ruin`).
 * Drawdown durations count trading days. Every rule is repeated in
 * `BacktestResult.assumptions`.
 *
 * ```ts
 * import { runBacktest } from "./mod.ts";
 * ```
 *
 * @module
 */
export {
  type BacktestArgs,
  type BookPlan,
  planOrders,
  riskFreeDaily,
  runBacktest,
} from "./engine.ts";
export {
  type BookInput,
  type BookResult,
  type CostModel,
  type Order,
  simulateBook,
} from "./book.ts";
export { basketBenchmark, type BenchmarkSpan, indexBenchmark } from "./benchmarks.ts";
export {
  getStrategy,
  longShortTopK,
  nuancedBacktester,
  type ScoredTicker,
  simpleBacktester,
  STRATEGIES,
  type Strategy,
  type StrategyName,
  type StrategyParams,
  strategyParams,
  topMagnitude,
} from "./strategies.ts";
export {
  dailyReturns,
  drawdownSeries,
  type MaxDrawdown,
  maxDrawdown,
  performanceStats,
  type StatsInput,
  tradeStats,
  TRADING_DAYS,
} from "./stats.ts";
export type {
  BacktestResult,
  CostBreakdown,
  EquitySeries,
  Fill,
  FillReason,
  LabelMode,
  PerformanceStats,
  PriceSeries,
  Ruin,
  Signal,
  TickerSummary,
  Trade,
  TradeStats,
} from "./types.ts";
export { type DateLike, seriesByKey } from "./inputs.ts";
