/**
 * The report stage: each run's `report.md` with Vega-Lite plots rendered to SVG, the results
 * journal `JOURNAL.md` regenerated from stored runs, and the comparison of two runs. Run records
 * themselves (writing, listing, reading) live in `src/store/run_record.ts`.
 *
 * @module
 */
export {
  baselinesNotBeaten,
  bestBaseline,
  collectWarnings,
  NOT_BEATEN,
  renderReport,
  summaryLine,
} from "./report.ts";
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
