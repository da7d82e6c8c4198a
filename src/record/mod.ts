/**
 * The run record: one zod schema (`schema.ts`) is the source of its type and its validation,
 * versioned, with the migration of older records (`migrate.ts`), its tables and how they are
 * split from `record.json` (`tables.ts`), located errors and the `record.json` text
 * (`parse.ts`), and the backtest stage's result as a record keeps it (`backtest.ts`).
 *
 * Below both the store (which writes and reads records) and the report (which renders them):
 * this folder imports neither.
 *
 * @module
 */
export {
  AblationRecord,
  BootstrapRecord,
  Confusion,
  CorrelationRow,
  DirectionMetrics,
  EpochRecord,
  EquityPoint,
  EXPERIMENT_NAME_PATTERN,
  FoldMetrics,
  Ic,
  LossTarget,
  MagnitudeMetrics,
  MetricSet,
  type MetricSetPlace,
  metricSets,
  PairedTestRecord,
  type PlacedMetricSet,
  QuarterIc,
  RECORD_VERSION,
  RetrainRecord,
  RuinRecord,
  RUN_ID_PATTERN,
  RunAnalysis,
  RunBacktest,
  RunData,
  RunEnvironment,
  RunFold,
  RunInference,
  RunMetrics,
  RunModel,
  RunRecord,
  RunSeeds,
  RunSplit,
  RunStatus,
  RunTraining,
  SeedRun,
  SeedSummaryRecord,
  SeriesStats,
  SplitMetrics,
  TickerSummary,
  TradeRecord,
  VerdictRecord,
} from "./schema.ts";
export { RunNews } from "./news.ts";
export { formatPath, RecordError, type RecordIssue } from "./errors.ts";
export { jsonData, parseRecord, parseTable, recordHeadJson } from "./parse.ts";
export { migrateRecord } from "./migrate.ts";
export {
  type ColumnKind,
  IcRow,
  isTableName,
  joinRecord,
  PREDICTION_COLUMNS,
  PredictionRow,
  type RecordHead,
  type RunTables,
  ScalerRow,
  ShapRow,
  splitRecord,
  TABLE_COLUMNS,
  TABLE_NAMES,
  TABLE_ROWS,
  tableFile,
  type TableName,
  TICKER_LISTS,
  TickerListRow,
  TickerMetricsRow,
  TICKERS_INLINE_MAX,
} from "./tables.ts";
export { backtestRecord, seriesStats } from "./backtest.ts";
export { summariseWarnings, SUMMARY_MIN, SUMMARY_NAMED } from "./warnings.ts";
