/**
 * Run records: everything a finished (or interrupted) run leaves behind, as one
 * JSON-serializable value. `results/<experiment>/<run-id>/record.json` holds it;
 * `report.md`, the plots and `predictions.parquet` sit beside it.
 *
 * Every field is plain JSON (strings, numbers, `null`, arrays and objects):
 * no `Date`, no typed arrays, no `undefined` inside arrays, no `NaN` (use `null`).
 *
 * @module
 */

/** How a run ended. A crashed run never gets a record (only a `.tmp-*` folder). */
export type RunStatus = "complete" | "interrupted" | "failed";

/** A metric table: metric name → value. Objects are allowed for e.g. a confusion matrix. */
export type Metrics = Record<string, number | null | object>;

/** Metrics of one model on each split. */
export interface SplitMetrics {
  train?: Metrics;
  validation?: Metrics;
  eval?: Metrics;
}

/** The data the run used. */
export interface RunData {
  /** Dataset name (or path) as given in the config. */
  dataset: string;
  /** `Dataset.fingerprint()`: sha256 over the manifest and table bytes. */
  fingerprint: string;
  /** The dataset manifest's warnings (survivorship bias, ...), repeated in every report. */
  manifestWarnings: string[];
  /** True for generated data; reports say so in bold at the very top. */
  synthetic: boolean;
  /** Resolved tickers. */
  tickers: {
    train: string[];
    eval: string[];
    /** How an uncorrelated selection was made (free-form, from `resolveTickers`). */
    selection?: Record<string, unknown>;
  };
  /** First and last daily dates used, when known. */
  from?: string;
  to?: string;
}

/** Where and with what the run ran. */
export interface RunEnvironment {
  /** tfjs backend that ran (`wasm`, `cpu`, `webgpu`, `tensorflow`, ...). */
  backend: string;
  /** Device description (WebGPU adapter name, CPU model, ...). */
  device: string;
  versions: { deno: string; tfjs: string; polars: string; alfred: string };
  /** `commit` is null outside a git checkout. */
  git: { commit: string | null; dirty: boolean };
  host: string;
  /** e.g. `linux x86_64`. */
  platform: string;
}

/** Wall-clock timings. */
export interface RunTimings {
  /** ISO 8601 timestamp, UTC. */
  start: string;
  /** ISO 8601 timestamp, UTC. */
  end: string;
  /** Stage name → seconds, in pipeline order. */
  stages: Record<string, number>;
}

/** The model that was trained (or restored). */
export interface RunModel {
  family: string;
  size: number;
  layers: number;
  parameters: number;
  /** Estimated memory of the weights in bytes. */
  bytes: number;
  /** Model store key: hash of everything that determines the trained weights. */
  modelHash: string;
  /** True when the weights came from the model store instead of training. */
  restoredFromStore: boolean;
}

/** One fold of the split, described by periods and row counts (not the indices). */
export interface RunFold {
  name: string;
  trainPeriod: [string, string];
  evalPeriod: [string, string];
  trainRows: number;
  validationRows: number;
  evalRows: number;
}

/** The split as run. */
export interface RunSplit {
  method: string;
  folds: RunFold[];
  warnings: string[];
}

/** One feature's correlation with the label on training rows. */
export interface CorrelationRow {
  feature: string;
  pearson: number | null;
  spearman: number | null;
  strength: string;
}

/** One epoch of training. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  valLoss: number;
  lr: number;
  seconds: number;
}

/** The training history. */
export interface RunTraining {
  history: EpochRecord[];
  bestEpoch: number;
  bestValLoss: number;
  stoppedBy: "patience" | "epochs" | "interrupted" | "restored";
}

/** Metrics before and after training, per ticker and for the baselines. */
export interface RunMetrics {
  mode: "direction" | "magnitude";
  /** Metrics of the untrained model (the notes' "pre-train eval"). */
  preTrain: SplitMetrics;
  postTrain: SplitMetrics;
  /** Eval metrics per eval ticker. */
  perTicker: Record<string, Metrics>;
  /** Baseline name (majority/mean, momentum, linear/logistic) → its eval metrics. */
  baselines: Record<string, Metrics>;
}

/** One point of the equity series (values in currency, or growth of 1). */
export interface EquityPoint {
  date: string;
  strategy: number;
  index?: number | null;
  basket?: number | null;
}

/** The backtest stage's result as recorded (loosely typed: the stage owns the exact shape). */
export interface BacktestSummary {
  /** Series name (`strategy`, `index`, `basket`) → statistic name → value. */
  stats: Record<string, Record<string, number | null>>;
  /** Daily equity of the strategy and its benchmarks. */
  equity: EquityPoint[];
  /** One row per eval ticker (`ticker` plus statistics). */
  perTicker: Record<string, unknown>[];
  warnings: string[];
  /** Stated assumptions: fill rule, costs, risk-free source, ... */
  assumptions: Record<string, unknown> | string[];
  /** Anything else the stage reports. */
  [key: string]: unknown;
}

/** One ablation row: the effect of neutralizing one feature or family. */
export interface AblationRow {
  name: string;
  kind: "feature" | "family";
  deltaLoss: number;
  deltaMetric: number;
  verdict?: string;
  [key: string]: unknown;
}

/** Optional analysis results. */
export interface RunAnalysis {
  ablation?: {
    rows: AblationRow[];
    metric: string;
    neutralizedWith: string;
    [key: string]: unknown;
  };
  shap?: {
    /** Feature → mean |SHAP| over explained rows. */
    meanAbs: Record<string, number>;
    maxAdditivityError: number;
    baseValue?: number;
    [key: string]: unknown;
  };
  lossTarget?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Everything a run records. JSON-serializable. */
export interface RunRecord {
  /** `YYYYMMDDTHHMMSSZ-<hash8>`; see {@linkcode newRunId}. */
  runId: string;
  /** The experiment's `name`. */
  experiment: string;
  /** The experiment's `description`. */
  description: string;
  status: RunStatus;
  /** The resolved config as YAML text. */
  configYaml: string;
  /** Full config hash (hex). */
  configHash: string;
  data: RunData;
  /** `seed` and any derived seeds (e.g. `split`, `init`, `shuffle`). */
  seeds: Record<string, number>;
  environment: RunEnvironment;
  timings: RunTimings;
  model: RunModel | null;
  /** Feature column names in model input order. */
  features: string[];
  /** Rows each missing-value rule touched. */
  missing: { family: string; rule: string; rows: number }[];
  /** `Scaler.toJSON()`. */
  scaler: unknown;
  split: RunSplit | null;
  correlations: CorrelationRow[];
  training: RunTraining | null;
  metrics: RunMetrics | null;
  backtest: BacktestSummary | null;
  analysis?: RunAnalysis;
  /** Every data, split and backtest warning, shown at the top of the report. */
  warnings: string[];
  /** Set when status is "failed" or "interrupted": what happened. */
  error?: string;
}

/**
 * A run id: the UTC start time `YYYYMMDDTHHMMSSZ` and the first 8 hex digits of the config hash.
 * Sorting run ids as strings sorts runs by start time.
 *
 * @param date when the run started
 * @param configHash the config hash (hex, at least 8 characters)
 * @returns e.g. `20260101T120000Z-ab12cd34`
 * @throws {RangeError} when the date is invalid or the hash is shorter than 8 hex digits
 * @example
 * ```ts
 * newRunId(new Date("2026-01-01T12:00:00Z"), "ab12cd34ef"); // "20260101T120000Z-ab12cd34"
 * ```
 */
export function newRunId(date: Date, configHash: string): string {
  if (Number.isNaN(date.getTime())) {
    throw new RangeError("Cannot make a run id: the date is invalid");
  }
  const hash8 = configHash.slice(0, 8).toLowerCase();
  if (!/^[0-9a-f]{8}$/.test(hash8)) {
    throw new RangeError(
      `Cannot make a run id from config hash "${configHash}": expected at least 8 hex digits`,
    );
  }
  const iso = date.toISOString(); // 2026-01-01T12:00:00.000Z
  const stamp = iso.slice(0, 19).replace(/[-:]/g, "") + "Z";
  return `${stamp}-${hash8}`;
}

/** Pattern every run id matches. */
export const RUN_ID_PATTERN: RegExp = /^\d{8}T\d{6}Z-[0-9a-f]{8}$/;
