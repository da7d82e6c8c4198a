/**
 * The report stage: each run's `report.md` with Vega-Lite plots rendered to SVG, the results
 * journal `JOURNAL.md` regenerated from stored runs, and the comparison of two runs. Every report
 * opens with a ruined book (if any), its warnings (level features, eval sets too small to judge)
 * and the leakage checks the run applied, read from its record (`leakage.ts`); numbers follow
 * one format (`format.ts`). It renders the typed record (`src/record/`) and parses nothing;
 * writing and reading records is the store's (`src/store/run_record.ts`), which writes what
 * {@linkcode reportFiles} renders.
 *
 * @module
 */
export {
  baselinesNotBeaten,
  bestBaseline,
  collectWarnings,
  NOT_BEATEN,
  renderReport,
  reportFiles,
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
export type { PlotEntry, SeriesName, TickerReturn } from "./plots.ts";
export {
  BACKTEST_COLUMNS,
  DIRECTION_COLUMNS,
  MAGNITUDE_COLUMNS,
  renderJournal,
} from "./journal.ts";
export type { JournalOptions } from "./journal.ts";
export { diffRuns, diffStoredRuns, loadRunRef } from "./run_diff.ts";
