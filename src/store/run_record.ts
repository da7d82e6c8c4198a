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
import { renderReport } from "../report/report.ts";
import { normalizeRecord } from "../report/normalize.ts";
import type { PredictionPoint } from "../report/plots.ts";
import {
  claimFolder,
  OWNER_FILE,
  type RemovedTemp,
  removeStaleTemps,
  type TempLock,
  tempName,
} from "./temp.ts";

/** How a run ended. A crashed run never gets a record (only a `.tmp-*` folder). */
export type RunStatus = "complete" | "interrupted" | "failed";

/** A metric table: metric name → value. Objects are allowed for e.g. a confusion matrix. */
export type Metrics = Record<string, number | null | object>;

/** Metrics of one model on each split. */
export interface SplitMetrics {
  /** Training rows. */
  train?: Metrics;
  /** Validation rows (early stopping). */
  validation?: Metrics;
  /** Eval rows; walk-forward runs may hold one table per fold here (`{ "fold-1": {...} }`). */
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
    /** Tickers the model was trained on. */
    train: string[];
    /** Held-out tickers evaluated and backtested. */
    eval: string[];
    /** How an uncorrelated selection was made (free-form, from `resolveTickers`). */
    selection?: Record<string, unknown>;
  };
  /** First daily date used (ISO), when known. */
  from?: string;
  /** Last daily date used (ISO), when known. */
  to?: string;
}

/** Where and with what the run ran. */
export interface RunEnvironment {
  /** tfjs backend that ran (`wasm`, `cpu`, `webgpu`, `tensorflow`, ...). */
  backend: string;
  /** Device description (WebGPU adapter name, CPU model, ...). */
  device: string;
  /** Versions of Deno, TensorFlow.js, nodejs-polars and Alfred. */
  versions: { deno: string; tfjs: string; polars: string; alfred: string };
  /** `commit` is null outside a git checkout. */
  git: { commit: string | null; dirty: boolean };
  /** Host name (`unknown` without `--allow-sys`). */
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

/** The run's memory: the plan printed before training beside the measured peak. */
export interface RunMemory {
  /** The expected peak resident memory of the process, in bytes. */
  planned: number;
  /** What the plan is made of. */
  parts: { what: string; bytes: number }[];
  /** The peak resident memory the run reached (`getrusage`), null where it cannot be read. */
  peak: number | null;
}

/** The model that was trained (or restored). */
export interface RunModel {
  /** Model family, e.g. `vanilla.small`. */
  family: string;
  /** Hidden layer width. */
  size: number;
  /** Hidden layers. */
  layers: number;
  /** Trainable parameters. */
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
  /** `holdout`, or `fold-1`.. for walk-forward splits. */
  name: string;
  /** First and last quarter-end dates of the training rows. */
  trainPeriod: [string, string];
  /** First and last quarter-end dates of the eval rows. */
  evalPeriod: [string, string];
  /** Training rows. */
  trainRows: number;
  /** Validation rows (held out of training for early stopping). */
  validationRows: number;
  /** Eval rows. */
  evalRows: number;
  /**
   * Latest `label_date` (the day a label is known) of the training and validation rows;
   * absent in runs recorded before it was.
   */
  lastTrainLabelDate?: string;
  /** Row-set hash (`rowSetHash`) of the training rows; absent in older runs. */
  trainRowsHash?: string;
  /** Rows the fold's scaler was fitted on (its `fittedRows`); absent when none was fitted. */
  scalerRows?: number;
  /** The fold's scaler's `rowsHash`: equal to `trainRowsHash` when it saw training rows only. */
  scalerRowsHash?: string;
}

/** The split as run. */
export interface RunSplit {
  /** `split.method` of the config. */
  method: string;
  /** The folds, in order. */
  folds: RunFold[];
  /** Split warnings (e.g. by_ticker shares quarters between train and eval). */
  warnings: string[];
  /** Label horizon in quarters: a row's label is the close this many quarters later. */
  horizon?: number;
  /** Quarters dropped between the training side and the eval period (at least the horizon). */
  purge?: number;
  /** Extra quarters dropped on top of the purge. */
  embargo?: number;
  /** First day of the eval period as the run resolved it (config or default); null for by_ticker. */
  evalFrom?: string | null;
}

/** One feature's correlation with the label on training rows. */
export interface CorrelationRow {
  /** Feature column. */
  feature: string;
  /** Pearson r with the label; null when undefined (a constant column). */
  pearson: number | null;
  /** Spearman rank correlation with the label; null when undefined. */
  spearman: number | null;
  /** Verbal strength of the correlation, e.g. `Very Weak`. */
  strength: string;
}

/** One epoch of training. */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss. */
  loss: number;
  /** Validation loss. */
  valLoss: number;
  /** Learning rate used in the epoch. */
  lr: number;
  /** Wall-clock seconds of the epoch. */
  seconds: number;
}

/** The training history. */
export interface RunTraining {
  /** One entry per epoch (empty when the model was restored). */
  history: EpochRecord[];
  /** Epoch whose weights were kept. */
  bestEpoch: number;
  /** Its validation loss (null in JSON when the model was restored). */
  bestValLoss: number;
  /** Why training ended; `restored` when the model store supplied the weights. */
  stoppedBy: "patience" | "epochs" | "interrupted" | "restored";
}

/** Metrics before and after training, per ticker and for the baselines. */
export interface RunMetrics {
  /** The label mode, which decides the metric set. */
  mode: "direction" | "magnitude";
  /** Metrics of the untrained model (the notes' "pre-train eval"). */
  preTrain: SplitMetrics;
  /** Metrics of the trained (or restored) model. */
  postTrain: SplitMetrics;
  /**
   * Training-row metrics of the last epoch's weights, where early stopping
   * restored an earlier epoch's (how far training fitted); absent otherwise.
   */
  lastEpoch?: SplitMetrics;
  /** Eval metrics per eval ticker. */
  perTicker: Record<string, Metrics>;
  /** Baseline name (majority/mean, momentum, linear/logistic) → its eval metrics. */
  baselines: Record<string, Metrics>;
}

/** One point of the equity series (values in currency, or growth of 1). */
export interface EquityPoint {
  /** ISO date. */
  date: string;
  /** The strategy's equity. */
  strategy: number;
  /** Buy-and-hold of the index; absent or null without an index. */
  index?: number | null;
  /** Buy-and-hold of the equal-weight eval basket. */
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
  /** Backtest warnings (same-bar fills, gaps, ...). */
  warnings: string[];
  /** Stated assumptions: fill rule, costs, risk-free source, ... */
  assumptions: Record<string, unknown> | string[];
  /** Anything else the stage reports. */
  [key: string]: unknown;
}

/** One ablation row: the effect of neutralizing one feature or family. */
export interface AblationRow {
  /** Feature or family name. */
  name: string;
  /** Whether one feature or a whole family was neutralized. */
  kind: "feature" | "family";
  /** Change in eval loss when neutralized. */
  deltaLoss: number;
  /** Change in the main metric (F1 or sign accuracy) when neutralized. */
  deltaMetric: number;
  /** `needed`, `drop candidate`, ... */
  verdict?: string;
  /** Anything else the analysis stage reports. */
  [key: string]: unknown;
}

/** Optional analysis results. */
export interface RunAnalysis {
  /** Feature and family ablation. */
  ablation?: {
    /** One row per feature and family, in the analysis stage's order. */
    rows: AblationRow[];
    /** The main metric's name (`f1`, `signAccuracy`). */
    metric: string;
    /** What a neutralized input is replaced with. */
    neutralizedWith: string;
    /** Anything else the analysis stage reports. */
    [key: string]: unknown;
  };
  /** Shapley values of eval predictions. */
  shap?: {
    /** Feature → mean |SHAP| over explained rows. */
    meanAbs: Record<string, number>;
    /** Largest |base value + Σ attributions − output| over explained rows. */
    maxAdditivityError: number;
    /** Expected model output over the background sample. */
    baseValue?: number;
    /** Also read when present: `features`, `values`, `featureValues`, `topConfident`. */
    [key: string]: unknown;
  };
  /** The notes' loss-target helper: per split (`train`, `eval`) or flat key → value. */
  lossTarget?: Record<string, unknown>;
  /** Other analyses, shown as JSON. */
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
  /** How the run ended. */
  status: RunStatus;
  /** The resolved config as YAML text. */
  configYaml: string;
  /** Full config hash (hex). */
  configHash: string;
  /** The data the run used. */
  data: RunData;
  /** `seed` and any derived seeds (e.g. `split`, `init`, `shuffle`). */
  seeds: Record<string, number>;
  /** Backend, device, versions, git state, host. */
  environment: RunEnvironment;
  /** Start, end and per-stage seconds. */
  timings: RunTimings;
  /** Planned and peak memory; absent in older runs. */
  memory?: RunMemory;
  /** The model; null when the run stopped before building one. */
  model: RunModel | null;
  /** Feature column names in model input order. */
  features: string[];
  /** Feature family → its columns, as the features stage built them; absent in older runs. */
  featureFamilies?: Record<string, string[]>;
  /** Rows each missing-value rule touched. */
  missing: { family: string; rule: string; rows: number }[];
  /** `Scaler.toJSON()`. */
  scaler: unknown;
  /** The split; null when the run stopped before splitting. */
  split: RunSplit | null;
  /** Feature–label correlations on training rows, by |Pearson| descending. */
  correlations: CorrelationRow[];
  /** Training history; null when the run stopped before training. */
  training: RunTraining | null;
  /** Metrics; null when the run stopped before evaluating. */
  metrics: RunMetrics | null;
  /** Backtest; null when there was none. */
  backtest: BacktestSummary | null;
  /** Analysis results, when the config asked for any. */
  analysis?: RunAnalysis;
  /** Every data, split and backtest warning, shown at the top of the report. */
  warnings: string[];
  /** Set when status is "failed" or "interrupted": what happened. */
  error?: string;
}

/**
 * A run id: the UTC start time `YYYYMMDDTHHMMSSZ` and the first 8 hex digits of the config hash;
 * the second and later runs of one config started in the same second get a sequence number after
 * the time (`YYYYMMDDTHHMMSSZ.2-<hash8>`), handed out by {@linkcode reserveRunId}. Sorting run ids
 * as strings sorts runs by start time.
 *
 * @param date when the run started
 * @param configHash the config hash (hex, at least 8 characters)
 * @param sequence 1 for the first run of the second (no number), 2 and up for later ones
 * @returns e.g. `20260101T120000Z-ab12cd34`, or `20260101T120000Z.2-ab12cd34`
 * @throws {RangeError} when the date is invalid, the hash is shorter than 8 hex digits or the
 *   sequence is not an integer >= 1
 * @example
 * ```ts
 * newRunId(new Date("2026-01-01T12:00:00Z"), "ab12cd34ef"); // "20260101T120000Z-ab12cd34"
 * ```
 */
export function newRunId(date: Date, configHash: string, sequence = 1): string {
  if (Number.isNaN(date.getTime())) {
    throw new RangeError("Cannot make a run id: the date is invalid");
  }
  const hash8 = configHash.slice(0, 8).toLowerCase();
  if (!/^[0-9a-f]{8}$/.test(hash8)) {
    throw new RangeError(
      `Cannot make a run id from config hash "${configHash}": expected at least 8 hex digits`,
    );
  }
  if (!Number.isInteger(sequence) || sequence < 1) {
    throw new RangeError(`Cannot make a run id: sequence "${sequence}" is not an integer >= 1`);
  }
  const iso = date.toISOString(); // 2026-01-01T12:00:00.000Z
  const stamp = iso.slice(0, 19).replace(/[-:]/g, "") + "Z";
  return `${stamp}${sequence > 1 ? `.${sequence}` : ""}-${hash8}`;
}

/** Pattern every run id matches. */
export const RUN_ID_PATTERN: RegExp = /^\d{8}T\d{6}Z(\.\d+)?-[0-9a-f]{8}$/;

/** Top-level keys of `record.json`, in the order they are written. */
export const RECORD_KEYS: readonly (keyof RunRecord)[] = [
  "runId",
  "experiment",
  "description",
  "status",
  "error",
  "configHash",
  "configYaml",
  "data",
  "seeds",
  "environment",
  "timings",
  "model",
  "features",
  "featureFamilies",
  "missing",
  "scaler",
  "split",
  "correlations",
  "training",
  "metrics",
  "backtest",
  "analysis",
  "warnings",
];

const STATUSES: readonly RunStatus[] = ["complete", "interrupted", "failed"];
const EXPERIMENT_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** Object paths whose keys keep their insertion order (the order carries meaning). */
const ORDERED_PATHS = new Set(["timings.stages"]);

function canonicalize(value: unknown, path: string): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return Number(value);
  if (ArrayBuffer.isView(value)) {
    return Array.from(value as unknown as ArrayLike<number>, (v) => canonicalize(v, path));
  }
  if (Array.isArray(value)) return value.map((v) => canonicalize(v, path));
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && typeof v !== "function");
    if (!ORDERED_PATHS.has(path)) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) out[k] = canonicalize(v, path ? `${path}.${k}` : k);
    return out;
  }
  throw new TypeError(`Cannot store a ${typeof value} in a run record at "${path}"`);
}

/**
 * The record as `record.json` text: top-level keys in {@linkcode RECORD_KEYS} order, nested keys
 * sorted (except `timings.stages`, kept in pipeline order), 2-space indent, non-finite numbers as
 * `null`, a final newline. The same record always gives the same bytes.
 *
 * @param record the run record
 * @returns JSON text
 * @throws {TypeError} when the record holds something JSON cannot (a function at a key is dropped)
 */
export function recordToJson(record: RunRecord): string {
  const out: Record<string, unknown> = {};
  const source = record as unknown as Record<string, unknown>;
  for (const key of RECORD_KEYS) {
    if (source[key] !== undefined) out[key] = canonicalize(source[key], key);
  }
  for (const key of Object.keys(source).sort()) {
    if (!(key in out) && source[key] !== undefined) out[key] = canonicalize(source[key], key);
  }
  return JSON.stringify(out, null, 2) + "\n";
}

/**
 * The subset written to `metrics.json`: metrics and backtest statistics, canonical JSON.
 *
 * @param record the run record
 * @returns JSON text
 */
export function metricsToJson(record: RunRecord): string {
  const subset = {
    runId: record.runId,
    experiment: record.experiment,
    status: record.status,
    mode: record.metrics?.mode ?? null,
    preTrain: record.metrics?.preTrain ?? null,
    postTrain: record.metrics?.postTrain ?? null,
    perTicker: record.metrics?.perTicker ?? null,
    baselines: record.metrics?.baselines ?? null,
    backtest: record.backtest?.stats ?? null,
  };
  return JSON.stringify(canonicalize(subset, ""), null, 2) + "\n";
}

/** A finished run directory found under the results folder. */
export interface RunEntry {
  /** Experiment name (its folder). */
  experiment: string;
  /** Run id (its folder). */
  runId: string;
  /** `results/<experiment>/<run-id>` */
  dir: string;
}

/** The part of a Polars `DataFrame` the writer uses (a `pl.DataFrame` fits). */
export interface PredictionFrame {
  /** Write the frame as Parquet. */
  writeParquet(path: string): unknown;
  /** The rows as objects. */
  toRecords(): Record<string, unknown>[];
}

/** Rows or a Polars data frame of predictions. */
export type PredictionsInput = PredictionFrame | Record<string, unknown>[];

/** What {@linkcode writeRunRecord} writes beside the record. */
export interface RunExtras {
  /**
   * One row per prediction; columns `ticker`, `date` (or `quarter`), `split`, `actual`,
   * `predicted` (other spellings such as `label`/`prediction` are read too). Written as
   * `predictions.parquet`.
   */
  predictions?: PredictionsInput;
}

const ACTUAL_COLUMNS = ["actual", "label", "y_true", "target", "PM", "PQ"];
const PREDICTED_COLUMNS = ["predicted", "prediction", "pred", "y_pred", "score", "probability"];

/**
 * Prediction points for the report's scatter plot: eval rows when a `split` column has them,
 * otherwise every row.
 *
 * @param rows prediction rows
 * @returns actual/predicted pairs (rows without both numbers are skipped)
 */
export function predictionPoints(rows: Record<string, unknown>[]): PredictionPoint[] {
  if (rows.length === 0) return [];
  const columns = Object.keys(rows[0]);
  const actual = ACTUAL_COLUMNS.find((c) => columns.includes(c));
  const predicted = PREDICTED_COLUMNS.find((c) => columns.includes(c));
  if (!actual || !predicted) return [];
  const hasEval = rows.some((r) => r.split === "eval");
  const points: PredictionPoint[] = [];
  for (const row of rows) {
    if (hasEval && row.split !== "eval") continue;
    const a = Number(row[actual]);
    const p = Number(row[predicted]);
    if (row[actual] === null || row[predicted] === null) continue;
    if (!Number.isFinite(a) || !Number.isFinite(p)) continue;
    points.push({
      actual: a,
      predicted: p,
      split: typeof row.split === "string" ? row.split : undefined,
      ticker: typeof row.ticker === "string" ? row.ticker : undefined,
    });
  }
  return points;
}

/**
 * A run id held by this process: its temporary folder `results/<experiment>/.tmp-<run-id>/`
 * exists, with a marker this process holds locked (see `temp.ts`), until the run's files are
 * renamed to `results/<experiment>/<run-id>/`. An id is taken while either folder exists, so two
 * runs never share one.
 */
export interface RunReservation {
  runId: string;
  experiment: string;
  /** Where the run's files are written. */
  tmpDir: string;
  /** Where they end up. */
  finalDir: string;
  /** The lock on the temporary folder's marker, released once the folder is renamed or removed. */
  lock: TempLock;
  /** Folders the reservation created above its temporary one (the experiment's, the results'), innermost first. */
  created: string[];
}

/** Claims `runId` exclusively: null when another run holds or has written it. */
async function claimRunId(
  resultsDir: string,
  experiment: string,
  runId: string,
): Promise<RunReservation | null> {
  const experimentDir = join(resultsDir, experiment);
  const tmpDir = join(experimentDir, `.tmp-${runId}`);
  const finalDir = join(experimentDir, runId);
  const created: string[] = [];
  for (const d of [experimentDir, resultsDir]) if (!(await exists(d))) created.push(d);
  for (let attempt = 0;; attempt++) {
    await Deno.mkdir(experimentDir, { recursive: true });
    try {
      await Deno.mkdir(tmpDir); // exclusive: fails when another run holds the id
      break;
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) return null;
      // A failed run's release removed the then-empty experiment folder in between.
      if (e instanceof Deno.errors.NotFound && attempt < 5) continue;
      throw e;
    }
  }
  // A finished run renamed its temporary folder away: the id is still taken.
  if (await exists(finalDir)) {
    await Deno.remove(tmpDir, { recursive: true });
    return null;
  }
  return { runId, experiment, tmpDir, finalDir, lock: await claimFolder(tmpDir), created };
}

/**
 * Reserve a new run id for a run of `configHash` started at `date`: the first of
 * `YYYYMMDDTHHMMSSZ-<hash8>`, `YYYYMMDDTHHMMSSZ.2-<hash8>`, … that no other run holds or has
 * written, claimed by creating its temporary folder exclusively. Runs started in the same second,
 * in one process or several, get different ids.
 *
 * @param resultsDir the results folder
 * @param experiment the experiment's name
 * @param date when the run started
 * @param configHash the config hash
 * @returns the reservation; pass it to {@linkcode writeRunRecord}, or {@linkcode releaseRunId}
 * @throws {RangeError} for an unsafe experiment name, or when 1000 ids of that second are taken
 * @example
 * ```ts
 * const reservation = await reserveRunId("results", e.name, new Date(), hash);
 * ```
 */
export async function reserveRunId(
  resultsDir: string,
  experiment: string,
  date: Date,
  configHash: string,
): Promise<RunReservation> {
  for (let sequence = 1; sequence <= 1000; sequence++) {
    const runId = newRunId(date, configHash, sequence);
    checkNames(experiment, runId);
    const r = await claimRunId(resultsDir, experiment, runId);
    if (r) return r;
  }
  throw new RangeError(
    `Cannot reserve a run id for "${experiment}": 1000 runs of config ${
      configHash.slice(0, 8)
    } started in the second ${date.toISOString().slice(0, 19)}Z`,
  );
}

/**
 * Give a reserved run id back without writing the run (it failed): its temporary folder goes.
 *
 * @param reservation what {@linkcode reserveRunId} returned
 */
export async function releaseRunId(reservation: RunReservation): Promise<void> {
  try {
    await Deno.remove(reservation.tmpDir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  } finally {
    reservation.lock.release();
  }
  // A failed run leaves nothing: the folders the reservation made go too, when nothing else is
  // in them (removing a non-empty folder fails).
  for (const dir of reservation.created) {
    try {
      await Deno.remove(dir);
    } catch {
      break; // another run's files are there, or it is gone already
    }
  }
}

/**
 * Write a run's folder atomically: everything goes to `results/<experiment>/.tmp-<run-id>/` (the
 * reservation's, or one claimed here for `record.runId`), which is renamed to
 * `results/<experiment>/<run-id>/` only once every file is written. An error removes the
 * temporary folder; a crash mid-way leaves it, and {@linkcode listRuns} ignores it
 * (`.gitignore` excludes it) until {@linkcode removeStaleRunTemps} removes it. Interrupted and failed runs are written too, with
 * their status in the record and at the top of the report.
 *
 * Files: `config.yaml`, `record.json`, `metrics.json`, `predictions.parquet` (when predictions are
 * given), `report.md` and the report's SVG plots.
 *
 * @param resultsDir the results folder (e.g. `results`)
 * @param record the run record
 * @param extras predictions
 * @param reservation the run id reserved by {@linkcode reserveRunId} (default: claim
 *   `record.runId` now)
 * @returns the finished run's folder
 * @throws {RangeError} when the experiment name or run id is not a safe folder name, or the
 *   reservation is of another run
 * @throws {Error} when the run id is taken (written, or being written by another run), or any
 *   file cannot be written
 * @example
 * ```ts
 * const dir = await writeRunRecord("results", record, { predictions });
 * ```
 */
export async function writeRunRecord(
  resultsDir: string,
  record: RunRecord,
  extras: RunExtras = {},
  reservation?: RunReservation,
): Promise<string> {
  checkNames(record.experiment, record.runId);
  record = normalizeRecord(record);
  if (
    reservation &&
    (reservation.runId !== record.runId || reservation.experiment !== record.experiment)
  ) {
    throw new RangeError(
      `Cannot write run "${record.experiment}/${record.runId}" into the reservation of "${reservation.experiment}/${reservation.runId}"`,
    );
  }
  const own = reservation ?? await claimRunId(resultsDir, record.experiment, record.runId);
  if (!own) {
    const finalDir = join(resultsDir, record.experiment, record.runId);
    throw new Error(
      `Cannot write run "${record.runId}": ${
        await exists(finalDir) ? `"${finalDir}" already exists` : "another run is writing it"
      }`,
    );
  }
  try {
    await writeRecordFiles(own.tmpDir, record);
    let points: PredictionPoint[] | undefined;
    if (extras.predictions !== undefined) {
      points = await writePredictions(join(own.tmpDir, "predictions.parquet"), extras.predictions);
    }
    await writeReportFiles(own.tmpDir, record, points);
    // The marker goes first (still locked: a cleaner sees a fresh folder without one and keeps it).
    await Deno.remove(join(own.tmpDir, OWNER_FILE)).catch(() => {});
    await Deno.rename(own.tmpDir, own.finalDir);
  } catch (e) {
    await releaseRunId(own).catch(() => {});
    throw e;
  }
  own.lock.release();
  return own.finalDir;
}

/**
 * Remove the temporary folders of runs whose process has ended (killed mid-run or mid-write, or
 * a second Ctrl-C): `results/<experiment>/.tmp-*` whose marker is no longer locked by its run, or
 * without a marker and older than an hour. A live run's folder is never touched.
 *
 * @param resultsDir the results folder
 * @param log told about each removal
 * @returns what was removed
 */
export async function removeStaleRunTemps(
  resultsDir: string,
  log?: (line: string) => void,
): Promise<RemovedTemp[]> {
  const removed: RemovedTemp[] = [];
  let experiments: Deno.DirEntry[];
  try {
    experiments = [...Deno.readDirSync(resultsDir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  for (const experiment of experiments) {
    if (!experiment.isDirectory || experiment.name.startsWith(".")) continue;
    removed.push(
      ...await removeStaleTemps(join(resultsDir, experiment.name), { match: /^\.tmp-/, log }),
    );
  }
  return removed;
}

/** The record, its config and its metrics, into `dir`. */
async function writeRecordFiles(dir: string, record: RunRecord): Promise<void> {
  await Deno.writeTextFile(join(dir, "config.yaml"), record.configYaml.replace(/\n*$/, "\n"));
  await Deno.writeTextFile(join(dir, "record.json"), recordToJson(record));
  await Deno.writeTextFile(join(dir, "metrics.json"), metricsToJson(record));
}

/** The report and its plots, into `dir`. */
async function writeReportFiles(
  dir: string,
  record: RunRecord,
  points: PredictionPoint[] | undefined,
): Promise<void> {
  const report = await renderReport(record, { predictions: points });
  for (const [file, svg] of Object.entries(report.plots)) {
    await Deno.writeTextFile(join(dir, file), svg);
  }
  await Deno.writeTextFile(join(dir, "report.md"), report.markdown);
}

/**
 * Replace a finished run's record (e.g. with a new `analysis`) and re-render its report, without
 * ever leaving a half-written run: the new folder is built beside the old one as
 * `.tmp-<run-id>-rewrite-<random>.<owner>` (predictions copied over), then swapped in with two renames.
 *
 * @param dir the run's folder (`results/<experiment>/<run-id>`)
 * @param record the new record; its run id and experiment must match the folder's
 * @throws {RangeError} when the record belongs to another run
 */
export async function rewriteRunRecord(dir: string, record: RunRecord): Promise<void> {
  const old = await readRunRecord(dir);
  if (old.runId !== record.runId || old.experiment !== record.experiment) {
    throw new RangeError(
      `Cannot rewrite "${dir}" with the record of run "${record.experiment}/${record.runId}"`,
    );
  }
  record = normalizeRecord(record);
  const parent = dir.replace(/\/+$/, "").replace(/\/[^/]+$/, "");
  const tmpDir = join(
    parent,
    tempName(".tmp-", `${record.runId}-rewrite-${crypto.randomUUID().slice(0, 8)}`),
  );
  const oldDir = join(parent, `.old-${record.runId}`);
  await Deno.mkdir(tmpDir);
  try {
    let points: PredictionPoint[] | undefined;
    const predictions = join(dir, "predictions.parquet");
    if (await exists(predictions)) {
      await Deno.copyFile(predictions, join(tmpDir, "predictions.parquet"));
      const { default: polars } = await import("nodejs-polars");
      points = predictionPoints(polars.readParquet(predictions).toRecords());
    }
    await writeRecordFiles(tmpDir, record);
    await writeReportFiles(tmpDir, record, points);
  } catch (e) {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
    throw e;
  }
  await Deno.rename(dir, oldDir);
  await Deno.rename(tmpDir, dir);
  await Deno.remove(oldDir, { recursive: true });
}

async function writePredictions(path: string, input: PredictionsInput): Promise<PredictionPoint[]> {
  if (Array.isArray(input)) {
    const { default: polars } = await import("nodejs-polars");
    const frame = input.length > 0 ? polars.DataFrame(input) : polars.DataFrame({});
    frame.writeParquet(path);
    return predictionPoints(input);
  }
  input.writeParquet(path);
  return predictionPoints(input.toRecords());
}

function checkNames(experiment: string, runId: string): void {
  if (!EXPERIMENT_NAME.test(experiment)) {
    throw new RangeError(
      `Cannot write a run for experiment "${experiment}": expected lower-case letters, digits, '.', '_' or '-'`,
    );
  }
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new RangeError(
      `Cannot write run "${runId}": expected a run id like 20260101T120000Z-ab12cd34`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function join(...parts: string[]): string {
  return parts.filter((p) => p.length > 0).join("/").replace(/\/+/g, "/");
}

/**
 * Every finished run under a results folder: `<experiment>/<run-id>/record.json`. Temporary
 * (`.tmp-*`) and other dot folders, and folders that are not run ids, are skipped.
 *
 * @param resultsDir the results folder; a missing folder has no runs
 * @returns runs ordered by experiment name, then run id (i.e. start time)
 */
export async function listRuns(resultsDir: string): Promise<RunEntry[]> {
  const runs: RunEntry[] = [];
  let experiments: Deno.DirEntry[];
  try {
    experiments = [...Deno.readDirSync(resultsDir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  for (const experiment of experiments) {
    if (!experiment.isDirectory || experiment.name.startsWith(".")) continue;
    const experimentDir = join(resultsDir, experiment.name);
    for await (const run of Deno.readDir(experimentDir)) {
      if (!run.isDirectory || !RUN_ID_PATTERN.test(run.name)) continue;
      const dir = join(experimentDir, run.name);
      if (!(await exists(join(dir, "record.json")))) continue;
      runs.push({ experiment: experiment.name, runId: run.name, dir });
    }
  }
  return runs.sort((a, b) =>
    a.experiment < b.experiment
      ? -1
      : a.experiment > b.experiment
      ? 1
      : a.runId < b.runId
      ? -1
      : a.runId > b.runId
      ? 1
      : 0
  );
}

/**
 * Read and check a run's `record.json`.
 *
 * @param dir the run folder
 * @returns the record
 * @throws {SyntaxError} when the file is not JSON
 * @throws {TypeError} when required fields are missing or of the wrong kind (the message names
 *   the file and the field)
 */
export async function readRunRecord(dir: string): Promise<RunRecord> {
  const path = join(dir, "record.json");
  const text = await Deno.readTextFile(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`Cannot parse run record "${path}": ${(e as Error).message}`);
  }
  return checkRecord(parsed, path);
}

function checkRecord(value: unknown, path: string): RunRecord {
  const fail = (field: string, expected: string): never => {
    throw new TypeError(`Invalid run record "${path}": "${field}" ${expected}`);
  };
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    fail("(root)", "must be an object");
  }
  const r = value as Record<string, unknown>;
  if (typeof r.runId !== "string" || !RUN_ID_PATTERN.test(r.runId)) {
    fail("runId", "must be a run id like 20260101T120000Z-ab12cd34");
  }
  for (const key of ["experiment", "description", "configYaml", "configHash"]) {
    if (typeof r[key] !== "string") fail(key, "must be a string");
  }
  if (!STATUSES.includes(r.status as RunStatus)) {
    fail("status", `must be one of ${STATUSES.map((s) => `"${s}"`).join(", ")}`);
  }
  const data = r.data as Record<string, unknown> | undefined;
  if (!data || typeof data !== "object") fail("data", "must be an object");
  const tickers = data!.tickers as Record<string, unknown> | undefined;
  if (!tickers || !Array.isArray(tickers.train) || !Array.isArray(tickers.eval)) {
    fail("data.tickers", "must have train and eval arrays");
  }
  if (!Array.isArray(data!.manifestWarnings)) fail("data.manifestWarnings", "must be an array");
  for (const key of ["features", "missing", "correlations", "warnings"]) {
    if (!Array.isArray(r[key])) fail(key, "must be an array");
  }
  for (const key of ["environment", "timings", "seeds"]) {
    if (!r[key] || typeof r[key] !== "object") fail(key, "must be an object");
  }
  return r as unknown as RunRecord;
}

/**
 * Read every finished run's record under a results folder, in {@linkcode listRuns} order.
 *
 * @param resultsDir the results folder
 * @returns the records
 */
export async function loadRuns(resultsDir: string): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (const entry of await listRuns(resultsDir)) out.push(await readRunRecord(entry.dir));
  return out;
}

/**
 * Find a run by its id or a unique prefix of it (e.g. `20260101T1200`), in any experiment.
 *
 * @param resultsDir the results folder
 * @param runId a run id or a prefix of one
 * @returns the run
 * @throws {RangeError} when no run, or more than one, matches (the message lists candidates)
 */
export async function findRun(resultsDir: string, runId: string): Promise<RunEntry> {
  const runs = await listRuns(resultsDir);
  const exact = runs.filter((r) => r.runId === runId);
  const matches = exact.length ? exact : runs.filter((r) => r.runId.startsWith(runId));
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) {
    throw new RangeError(`No run "${runId}" under "${resultsDir}"`);
  }
  throw new RangeError(
    `Run id "${runId}" is ambiguous: ${
      matches.map((m) => `${m.experiment}/${m.runId}`).join(", ")
    }`,
  );
}
