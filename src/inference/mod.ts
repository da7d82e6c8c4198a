/**
 * Statistical inference for results you can trust (issue 22), as a library the pipeline and the
 * report call:
 *
 * - **Seeds**: {@linkcode summarizeSeeds}: mean ± std (and a t interval of the mean) of a
 *   metric over training seeds.
 * - **Intervals** (percentile, 95% by default, deterministic given a seed):
 *   {@linkcode bootstrapReturns} / {@linkcode bootstrapSeries}: the stationary bootstrap of daily
 *   returns (Politis & Romano 1994) with the block length chosen and recorded
 *   ({@linkcode optimalBlockLength}: Politis & White 2004, Patton–Politis–White 2009), for the
 *   backtest's own Sharpe, Sortino, CAGR and maximum drawdown ({@linkcode backtestStatistic});
 *   {@linkcode bootstrapPeriods} / {@linkcode bootstrapClusters}: quarters resampled for IC and
 *   Rank IC; {@linkcode bootstrapRows}: rows resampled for classification and regression metrics.
 * - **Paired tests of the model against its best baseline**: {@linkcode mcnemar} (accuracy),
 *   {@linkcode dieboldMariano} (loss over evaluation rows), {@linkcode sharpeDifferenceLedoitWolf}
 *   and {@linkcode sharpeDifferenceMemmel} (the backtest against buy-and-hold), and the
 *   {@linkcode verdict} they support.
 * - **Sweeps**: {@linkcode deflatedSharpeOfBest} / {@linkcode deflatedSharpeRatio} (Bailey &
 *   López de Prado 2014) and {@linkcode probabilityOfBacktestOverfitting} (CSCV; Bailey, Borwein,
 *   López de Prado & Zhu 2017) for sweeps of at least {@linkcode PBO_MIN_POINTS} points.
 *
 * Sharpe ratios given to the tests and to the deflated Sharpe ratio are per day (the table's
 * annualized Sharpe / √252: {@linkcode dailySharpe}). All randomness comes from core's `Prng`.
 *
 * @module
 */
export {
  BOOTSTRAP_DEFAULTS,
  bootstrapClusters,
  bootstrapPeriods,
  bootstrapReturns,
  bootstrapRows,
  bootstrapSeries,
  optimalBlockLength,
  quantileSorted,
  stationaryIndices,
} from "./bootstrap.ts";
export type {
  BlockLength,
  BootstrapInterval,
  BootstrapOptions,
  StationaryOptions,
} from "./bootstrap.ts";
export {
  deflatedSharpeOfBest,
  deflatedSharpeRatio,
  EULER_GAMMA,
  expectedMaxSharpe,
  PBO_MIN_POINTS,
  probabilisticSharpeRatio,
  probabilityOfBacktestOverfitting,
  sampleMoments,
} from "./deflated.ts";
export type {
  DsrInput,
  DsrResult,
  PboOptions,
  PboResult,
  PsrInput,
  SampleMoments,
} from "./deflated.ts";
export {
  binomialCdf,
  chiSquareCdf,
  chiSquareSf,
  erfc,
  logBeta,
  logGamma,
  normalCdf,
  normalQuantile,
  normalSf,
  regularizedBeta,
  regularizedGamma,
  studentTCdf,
  studentTQuantile,
  studentTSf,
} from "./distributions.ts";
export { summarizeSeeds } from "./seeds.ts";
export type { SeedSummary } from "./seeds.ts";
export { backtestStatistic, dailySharpe, equityFromReturns, statsOfReturns } from "./sharpe.ts";
export type { BacktestContext, BacktestStatisticName, ReturnStatistic } from "./sharpe.ts";
export {
  dieboldMariano,
  mcnemar,
  MCNEMAR_EXACT_BELOW,
  mcnemarFromCounts,
  sharpeDifferenceFromMoments,
  sharpeDifferenceLedoitWolf,
  sharpeDifferenceMemmel,
  verdict,
} from "./tests.ts";
export type {
  DieboldMarianoOptions,
  DieboldMarianoResult,
  McNemarResult,
  SharpeDifferenceResult,
  SharpeMoments,
  Verdict,
} from "./tests.ts";
