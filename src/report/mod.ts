/**
 * The report stage: each run's `report.md` with Vega-Lite plots rendered to SVG, the results
 * journal `JOURNAL.md` regenerated from stored runs, and the comparison of two runs. Every report
 * opens with a ruined book (if any), its warnings (level features, eval sets too small to judge)
 * and the leakage checks the run applied, read from its record (`leakage.ts`); numbers follow
 * one format (`format.ts`). Run records themselves (writing, listing, reading) live in
 * `src/store/run_record.ts`.
 *
 * @module
 */
export {
  baselinesNotBeaten,
  bestBaseline,
  collectWarnings,
  NOT_BEATEN,
  renderReport,
  ruinSentences,
  summaryLine,
} from "./report.ts";
export {
  leakageChecks,
  levelFeatures,
  levelFeatureWarning,
  MIN_EVAL_ROWS,
  smallEvalWarning,
  splitPhrase,
  STATIONARY_MARKET_SERIES,
} from "./leakage.ts";
export type { LeakageCheck, LevelFeature } from "./leakage.ts";
export type { RenderedReport, ReportOptions } from "./report.ts";
export {
  beeswarmSpec,
  confusionSpec,
  correlationSpec,
  drawdowns,
  drawdownSpec,
  equitySpec,
  perTickerSpec,
  plotSpecs,
  renderSvg,
  scatterSpec,
  shapSpec,
  trainingSpec,
} from "./plots.ts";
export type { PlotEntry, PredictionPoint, TickerReturn } from "./plots.ts";
export {
  BACKTEST_COLUMNS,
  DIRECTION_COLUMNS,
  MAGNITUDE_COLUMNS,
  renderJournal,
} from "./journal.ts";
export type { JournalOptions } from "./journal.ts";
export { diffRuns, diffStoredRuns, loadRunRef } from "./run_diff.ts";
export { backtestSummary, normalizeRecord } from "./normalize.ts";
