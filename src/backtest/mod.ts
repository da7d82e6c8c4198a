/**
 * The backtest stage: strategies (a registry), the daily execution engine,
 * buy-and-hold benchmarks and the statistics table.
 *
 * ```ts
 * import { runBacktest } from "./mod.ts";
 * ```
 *
 * @module
 */
export { runBacktest } from "./engine.ts";
export type { BacktestArgs, BookPlan } from "./engine.ts";
export { planOrders } from "./engine.ts";
export { simulateBook } from "./book.ts";
export type { BookInput, BookResult, CostModel, Order } from "./book.ts";
export { basketBenchmark, indexBenchmark } from "./benchmarks.ts";
export type { BenchmarkSpan } from "./benchmarks.ts";
export {
  getStrategy,
  longShortTopK,
  nuancedBacktester,
  simpleBacktester,
  STRATEGIES,
  strategyParams,
  topMagnitude,
} from "./strategies.ts";
export type { ScoredTicker, Strategy, StrategyName, StrategyParams } from "./strategies.ts";
export {
  dailyReturns,
  drawdownSeries,
  maxDrawdown,
  performanceStats,
  tradeStats,
  TRADING_DAYS,
} from "./stats.ts";
export type { MaxDrawdown, StatsInput, TradeStats } from "./stats.ts";
export { nextQuarter, quarterEnd, quarterOf } from "./calendar.ts";
export type {
  BacktestResult,
  CostBreakdown,
  EquitySeries,
  Fill,
  FillReason,
  LabelMode,
  PerformanceStats,
  PriceSeries,
  Signal,
  TickerSummary,
  Trade,
} from "./types.ts";
export { seriesByKey } from "./inputs.ts";
export type { DateLike } from "./inputs.ts";
