/**
 * The run record schema: the single source of truth for what a run records, as
 * `src/config/schema.ts` is for what an experiment says. The TypeScript types are inferred from
 * it; the store validates every record against it when it writes one and when it reads one back
 * (`src/record/parse.ts` words the errors: the file and the field path).
 *
 * A record is versioned ({@linkcode RECORD_VERSION}). Records written before the version field
 * existed are brought to this version once, when they are read (`src/record/migrate.ts`).
 *
 * In memory a record holds everything, its tables included (the training history, the daily
 * equity, the trades, the per-quarter IC, the correlations, the scaler's columns, the ablation
 * rows, the SHAP values, the per-ticker metrics and backtest rows, and long ticker lists). On disk `record.json` holds the rest, and each table is a Parquet
 * file beside it (`src/record/tables.ts`).
 *
 * Numbers a stage leaves undefined on purpose (R² of constant labels, a Sharpe ratio without
 * returns, the index of a run without one) are `null`. Other numbers are plain numbers; one that
 * came out not finite (a diverged loss) is NaN in memory and `null` in JSON and Parquet, which
 * hold no NaN.
 *
 * @module
 */
import { z } from "zod";
import { Experiment, IsoDate, type Parsed, ScalerKind } from "../config/schema.ts";
import { Count, Float, FoldName, Num, Quarter } from "./fields.ts";
import { RunNews } from "./news.ts";

/** The version of the record this schema describes; `record.json` says it in `version`. */
export const RECORD_VERSION = 4;

/** Pattern every run id matches: `YYYYMMDDTHHMMSSZ-<hash8>`, or `…Z.<n>-<hash8>` for the n-th. */
export const RUN_ID_PATTERN: RegExp = /^\d{8}T\d{6}Z(\.\d+)?-[0-9a-f]{8}$/;

/** Pattern every experiment name matches (it names the folder `results/<name>/`). */
export const EXPERIMENT_NAME_PATTERN: RegExp = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * How a run ended. A crashed run never gets a record (only a `.tmp-*` folder).
 *
 * @ignore zod's inferred schema type cannot be written out or documented; the type is.
 */
export const RunStatus = z.enum(["complete", "interrupted", "failed"]);
/** How a run ended. */
export type RunStatus = Parsed<typeof RunStatus>;

// ---------------------------------------------------------------------------------------------
// metrics

/** Counts of a confusion matrix (positive: label 1, or a probability above the threshold). */
export const Confusion = z.strictObject({
  tp: Count.describe("true positives"),
  fp: Count.describe("false positives"),
  tn: Count.describe("true negatives"),
  fn: Count.describe("false negatives"),
});
/** Counts of a confusion matrix. */
export type Confusion = z.infer<typeof Confusion>;

/** Direction metrics (`classificationMetrics` in `src/train/metrics.ts`). */
export const DirectionMetrics = z.strictObject({
  n: Count.describe("rows"),
  threshold: z.number().describe("a row is predicted up when its probability is above this"),
  loss: Float.describe("binary cross-entropy of the probabilities"),
  accuracy: Float.describe("share of rows predicted right"),
  precision: Float.describe("tp / (tp + fp); 0 with a note when nothing is predicted up"),
  recall: Float.describe("tp / (tp + fn); 0 with a note when no label is up"),
  f1: Float.describe("harmonic mean of precision and recall"),
  confusion: Confusion.describe("the confusion matrix"),
  positiveRate: Float.describe("share of rows whose label is up"),
  notes: z.array(z.string()).describe("why a metric was set to 0 or null"),
});
/** Direction metrics. */
export type DirectionMetrics = z.infer<typeof DirectionMetrics>;

/** One quarter's cross-sectional information coefficients. */
export const QuarterIc = z.strictObject({
  quarter: Quarter.describe("the quarter"),
  ic: Num.describe("Pearson between predictions and labels over the quarter's names"),
  rankIc: Num.describe("Spearman between predictions and labels over the quarter's names"),
  n: Count.describe("names in the quarter"),
});
/** One quarter's cross-sectional information coefficients. */
export type QuarterIc = z.infer<typeof QuarterIc>;

const icSummary = {
  mean: Num.describe("mean of the per-quarter coefficients"),
  std: Num.describe("their sample standard deviation"),
  icir: Num.describe("mean / std: null with fewer than two quarters or no spread"),
  quarters: Count.describe("quarters whose coefficient is defined"),
};

/** The IC summary: mean, spread and ICIR of the per-quarter coefficients, and the quarters. */
export const Ic = z.strictObject({
  ...icSummary,
  perQuarter: z.array(QuarterIc).describe("each quarter's coefficients (ic.parquet on disk)"),
  skipped: Count.describe("quarters left out for having fewer than 3 names"),
});
/** The IC summary with its quarters. */
export type Ic = z.infer<typeof Ic>;

/** The rank IC summary (its per-quarter values are in the IC's quarters). */
export const RankIc = z.strictObject(icSummary);

/** Magnitude metrics (`regressionMetrics` in `src/train/metrics.ts`, with the run's own loss). */
export const MagnitudeMetrics = z.strictObject({
  n: Count.describe("rows"),
  loss: Float.describe("the experiment's own loss (comparable with the training history)"),
  mse: Float.describe("mean squared error"),
  mae: Float.describe("mean absolute error"),
  r2: Num.describe("1 - SSres / SStot; null when the labels are constant"),
  pearson: Num.describe("Pearson between predictions and labels; null when either is constant"),
  signAccuracy: Float.describe("share of rows whose predicted sign is the label's"),
  ic: Ic.nullable().describe("information coefficient per quarter; null without quarters"),
  rankIc: RankIc.nullable().describe("rank information coefficient; null without quarters"),
  notes: z.array(z.string()).describe("why a metric is null"),
});
/** Magnitude metrics. */
export type MagnitudeMetrics = z.infer<typeof MagnitudeMetrics>;

/** One model's (or baseline's) metrics on one set of rows. */
export const MetricSet = z.union([DirectionMetrics, MagnitudeMetrics]);
/** One model's (or baseline's) metrics on one set of rows. */
export type MetricSet = z.infer<typeof MetricSet>;

/** Metrics on the training, validation and eval rows. */
const splitSets = {
  train: MetricSet.optional().describe("training rows"),
  validation: MetricSet.optional().describe("validation rows (early stopping)"),
  eval: MetricSet.optional().describe("eval rows (walk-forward: pooled over the folds)"),
};
/** Metrics of one fold. */
export const FoldMetrics = z.strictObject(splitSets);
/** Metrics of one fold. */
export type FoldMetrics = z.infer<typeof FoldMetrics>;

/** Metrics of one model on each split; walk-forward runs add each fold's. */
export const SplitMetrics = z.strictObject({
  ...splitSets,
  folds: z.record(FoldName, FoldMetrics).optional().describe(
    "walk-forward: each fold's own metrics, by fold name",
  ),
});
/** Metrics of one model on each split. */
export type SplitMetrics = z.infer<typeof SplitMetrics>;

/** Where a metric set sits in {@linkcode RunMetrics}, for the IC table. */
export type MetricSetPlace = "preTrain" | "postTrain" | "lastEpoch" | "perTicker" | "baselines";

/** Metrics before and after training, per eval ticker and for the baselines. */
export const RunMetrics = z.strictObject({
  mode: z.enum(["direction", "magnitude"]).describe("the label mode, which decides the metrics"),
  preTrain: SplitMetrics.describe("the untrained model (the notes' pre-train eval)"),
  postTrain: SplitMetrics.describe("the trained (or restored) model"),
  lastEpoch: SplitMetrics.optional().describe(
    "training rows under the last epoch's weights, where early stopping kept an earlier epoch's",
  ),
  perTicker: z.record(z.string(), MetricSet).describe("eval metrics per eval ticker"),
  baselines: z.record(z.string(), MetricSet).describe(
    "eval metrics per baseline (majority or mean, momentum, logistic or linear, shuffled labels)",
  ),
}).superRefine((m, ctx) => {
  // Every metric set is of the run's mode.
  const want = m.mode === "direction" ? "confusion" : "signAccuracy";
  for (const { path, set } of metricSets(m)) {
    if (!(want in set)) {
      ctx.addIssue({
        code: "custom",
        path: path,
        message: `expected ${m.mode} metrics in a ${m.mode} run`,
      });
    }
  }
});
/** Metrics before and after training, per eval ticker and for the baselines. */
export type RunMetrics = z.infer<typeof RunMetrics>;

/** A metric set and where it is. */
export interface PlacedMetricSet {
  /** Path below `metrics`, e.g. `["postTrain", "folds", "fold-1", "eval"]`. */
  path: string[];
  /** Which table of {@linkcode RunMetrics} holds it. */
  place: MetricSetPlace;
  /** Split name (`train`, `validation`, `eval`), eval ticker or baseline name. */
  name: string;
  /** Walk-forward fold, or null for the run's own (pooled) sets. */
  fold: string | null;
  /** The metrics. */
  set: MetricSet;
}

/**
 * Every metric set of a run's metrics, in a fixed order: pre-train, post-train and last-epoch
 * splits (then their folds), per-ticker, baselines.
 *
 * @param m the run's metrics
 * @returns each set with its place
 */
export function metricSets(m: Omit<RunMetrics, "mode">): PlacedMetricSet[] {
  const out: PlacedMetricSet[] = [];
  const splits = ["train", "validation", "eval"] as const;
  for (const place of ["preTrain", "postTrain", "lastEpoch"] as const) {
    const s = m[place];
    if (!s) continue;
    for (const name of splits) {
      const set = s[name];
      if (set) out.push({ path: [place, name], place, name, fold: null, set });
    }
    for (const [fold, f] of Object.entries(s.folds ?? {})) {
      for (const name of splits) {
        const set = f[name];
        if (set) out.push({ path: [place, "folds", fold, name], place, name, fold, set });
      }
    }
  }
  for (const place of ["perTicker", "baselines"] as const) {
    for (const [name, set] of Object.entries(m[place])) {
      out.push({ path: [place, name], place, name, fold: null, set });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// data, environment, model, split, training

/** An uncorrelated ticker selection (`resolveTickers` in `src/data/select.ts`). */
export const TickerSelection = z.strictObject({
  side: z.enum(["train", "eval"]).describe("the side the tickers were picked for"),
  method: z.literal("uncorrelated").describe("how they were picked"),
  start: z.string().describe("the first ticker picked"),
  picked: z.array(z.string()).describe("the picked tickers, in pick order"),
  maxAbsCorrelation: z.array(Float).describe(
    "per pick: its largest absolute correlation to the tickers picked before it",
  ),
  correlationSummary: z.strictObject({
    mean: Float.describe("mean pairwise return correlation of the picked tickers"),
    max: Float.describe("largest"),
    min: Float.describe("smallest"),
  }).describe("pairwise return correlations among the picked tickers"),
  period: z.tuple([IsoDate, IsoDate]).describe("first and last date whose returns were used"),
});

/** The data the run used. */
export const RunData = z.strictObject({
  dataset: z.string().describe("dataset name (or path) as the config gives it"),
  fingerprint: z.string().describe("sha256 over the dataset's manifest and table bytes"),
  manifestWarnings: z.array(z.string()).describe(
    "the dataset manifest's warnings (survivorship bias, ...), repeated in every report",
  ),
  synthetic: z.boolean().describe("generated data: reports say so in bold at the very top"),
  returns: z.enum(["close", "adj_close"]).optional().describe(
    "the prices column returns, labels and the backtest used: adj_close (total return) or close; " +
      "absent in runs recorded before it was recorded (they used close)",
  ),
  universe: z.enum(["point-in-time", "fixed"]).optional().describe(
    "point-in-time: the dataset's universe table decided which tickers were members when " +
      "(selection, rows, the backtest's exits); fixed: the dataset's tickers throughout " +
      "(survivorship bias where they were chosen after the fact); absent in runs recorded before it was recorded",
  ),
  tickers: z.strictObject({
    train: z.array(z.string()).describe("tickers the model was trained on"),
    eval: z.array(z.string()).describe("held-out tickers evaluated and backtested"),
    selection: z.strictObject({
      returnsUpTo: IsoDate.describe("the last date whose returns a selection could see"),
      selections: z.array(TickerSelection).describe("each uncorrelated selection made"),
    }).optional().describe("how tickers were selected, when a selection picked them"),
  }).describe("the resolved tickers"),
  from: IsoDate.optional().describe("first daily date used"),
  to: IsoDate.optional().describe("last daily date used"),
  synth: z.strictObject({
    params: z.record(z.string(), z.union([z.string(), Float])).describe(
      "the generator's parameters as it ran them (SynthParams: every default filled in, the name included)",
    ),
    generator: z.string().describe(
      "the generator's version: sha256 of its source files (src/data/synth_cache.ts)",
    ),
    key: z.string().describe(
      "the cache key (sha256 of the format, the generator's version and the parameters)",
    ),
  }).optional().describe(
    "for a dataset the experiment generated (data.synth): what generated it; absent otherwise",
  ),
});
/** The data the run used. */
export type RunData = z.infer<typeof RunData>;

/** Where and with what the run ran. */
export const RunEnvironment = z.strictObject({
  backend: z.string().describe("tfjs backend that ran (wasm, cpu, webgpu, cpu-blas, ...)"),
  device: z.string().describe("device, and the engine that trained"),
  versions: z.strictObject({
    deno: z.string().describe("Deno"),
    tfjs: z.string().describe("TensorFlow.js"),
    polars: z.string().describe("nodejs-polars"),
    alfred: z.string().describe("Alfred"),
  }).describe("versions of the runtime and libraries"),
  git: z.strictObject({
    commit: z.string().nullable().describe("the checkout's commit; null outside a git checkout"),
    dirty: z.boolean().describe("the working tree had changes"),
  }).describe("the git state"),
  host: z.string().describe("host name (unknown without --allow-sys)"),
  platform: z.string().describe("operating system and architecture, e.g. linux x86_64"),
});
/** Where and with what the run ran. */
export type RunEnvironment = z.infer<typeof RunEnvironment>;

/** Wall-clock timings. */
export const RunTimings = z.strictObject({
  start: z.iso.datetime().describe("ISO 8601 timestamp, UTC"),
  end: z.iso.datetime().describe("ISO 8601 timestamp, UTC"),
  stages: z.record(z.string(), z.number()).describe("stage name to seconds, in pipeline order"),
});

/** The run's memory: the plan printed before training beside the measured peak. */
export const RunMemory = z.strictObject({
  planned: z.number().describe("the expected peak resident memory of the process, in bytes"),
  parts: z.array(z.strictObject({
    what: z.string().describe("the part"),
    bytes: z.number().describe("its bytes"),
  })).describe("what the plan is made of"),
  peak: Num.describe("the measured peak resident memory; null where unknown"),
});

/** The model that was trained (or restored). */
export const RunModel = z.strictObject({
  family: z.string().describe("model family, e.g. vanilla.small"),
  size: Count.describe("hidden layer width"),
  layers: Count.describe("hidden layers"),
  parameters: Count.describe("trainable parameters"),
  bytes: z.number().describe("estimated memory of the weights, in bytes"),
  modelHash: z.string().describe("model store key: hash of everything that determines the weights"),
  restoredFromStore: z.boolean().describe("the weights came from the model store"),
});
/** The model that was trained (or restored). */
export type RunModel = z.infer<typeof RunModel>;

/** One scaled column (`Scaler.toJSON` in `src/dataset/scaler.ts`). */
export const ScalerColumn = z.strictObject({
  column: z.string().describe("feature column"),
  kind: ScalerKind.describe("scaler kind"),
  center: z.number().describe("subtracted first: mean, min, median or 0"),
  scale: z.number().describe("divided by next: std, max - min, IQR or 1"),
  stats: z.record(z.string(), z.number()).describe(
    "kind-specific statistics: mean and std, min and max, or median, q1 and q3",
  ),
});
/** One scaled column. */
export type ScalerColumn = z.infer<typeof ScalerColumn>;

/** The last fold's fitted scaler. */
export const RunScaler = z.strictObject({
  version: z.literal(1).describe("the scaler's own format version"),
  columns: z.array(ScalerColumn).describe("one entry per feature column (scaler.parquet on disk)"),
  fittedRows: Count.describe("training rows it was fitted on"),
  rowsHash: z.string().describe("sha256 of the sorted fitted row indices"),
});

/** One fold of the split, by periods and row counts. */
export const RunFold = z.strictObject({
  name: z.string().describe("holdout, or fold-1.. for walk-forward splits"),
  trainPeriod: z.tuple([IsoDate, IsoDate]).describe("first and last quarter-end of training rows"),
  evalPeriod: z.tuple([IsoDate, IsoDate]).describe("first and last quarter-end of eval rows"),
  trainRows: Count.describe("training rows"),
  validationRows: Count.describe("validation rows (held out of training for early stopping)"),
  evalRows: Count.describe("eval rows"),
  lastTrainLabelDate: IsoDate.optional().describe(
    "latest day a training or validation label is known; absent in runs recorded before it was",
  ),
  trainRowsHash: z.string().optional().describe(
    "hash of the training row set; absent in older runs",
  ),
  scalerRows: Count.optional().describe(
    "rows the fold's scaler was fitted on; absent in older runs",
  ),
  scalerRowsHash: z.string().optional().describe(
    "the scaler's row-set hash: equal to trainRowsHash when it saw training rows only",
  ),
});
/** One fold of the split. */
export type RunFold = z.infer<typeof RunFold>;

/** The split as run. */
export const RunSplit = z.strictObject({
  method: z.enum(["ticker_and_time", "by_ticker", "by_time", "walk_forward"]).describe(
    "split.method of the config",
  ),
  folds: z.array(RunFold).describe("the folds, in order"),
  warnings: z.array(z.string()).describe("split warnings (by_ticker shares quarters, ...)"),
  horizon: z.int().min(1).describe("label horizon in quarters"),
  purge: Count.describe("quarters dropped between the training side and the eval period"),
  embargo: Count.describe("extra quarters dropped on top of the purge"),
  evalFrom: IsoDate.nullable().describe(
    "first day of the eval period as resolved; null for by_ticker, and for runs recorded before " +
      "it was that left it to the default",
  ),
});
/** The split as run. */
export type RunSplit = z.infer<typeof RunSplit>;

/** One feature's correlation with the label on training rows. */
export const CorrelationRow = z.strictObject({
  feature: z.string().describe("feature column"),
  pearson: Float.describe("Pearson r with the label; null for a constant column"),
  spearman: Float.describe("Spearman rank correlation with the label"),
  strength: z.string().describe("the correlation in words, e.g. Very Weak"),
});
/** One feature's correlation with the label. */
export type CorrelationRow = z.infer<typeof CorrelationRow>;

/** One epoch of training. */
export const EpochRecord = z.strictObject({
  epoch: z.int().min(1).describe("1-based epoch number"),
  loss: Float.describe("mean training loss"),
  valLoss: Float.describe("validation loss"),
  lr: Float.describe("learning rate of the epoch"),
  seconds: z.number().describe("wall-clock seconds of the epoch"),
});
/** One epoch of training. */
export type EpochRecord = z.infer<typeof EpochRecord>;

/** The training history. */
export const RunTraining = z.strictObject({
  history: z.array(EpochRecord).describe(
    "one entry per epoch of the last fold (epochs.parquet on disk; empty when restored)",
  ),
  bestEpoch: Count.describe("epoch whose weights were kept (0 when restored)"),
  bestValLoss: Float.describe("its validation loss"),
  stoppedBy: z.enum(["patience", "epochs", "interrupted", "restored"]).describe(
    "why training ended; restored when the model store supplied the weights",
  ),
});
/** The training history. */
export type RunTraining = z.infer<typeof RunTraining>;

// ---------------------------------------------------------------------------------------------
// backtest

/** Statistics of one equity curve (`PerformanceStats` in `src/backtest/types.ts`, costs flat). */
export const SeriesStats = z.strictObject({
  startEquity: z.number().describe("capital before the first fill"),
  endEquity: Float.describe("equity at the last close"),
  totalReturn: Float.describe("endEquity / startEquity - 1"),
  cagr: Num.describe("compound annual growth over calendar days / 365.25"),
  volatility: Num.describe("standard deviation of daily returns, annualized"),
  sharpe: Num.describe("annualized Sharpe ratio of daily excess returns"),
  sortino: Num.describe("annualized Sortino ratio"),
  calmar: Num.describe("CAGR / max drawdown"),
  maxDrawdown: Float.describe("largest fall below the running peak, a positive fraction"),
  maxDrawdownPeak: IsoDate.nullable().optional().describe(
    "date of the peak before the deepest trough; absent in runs recorded before version 2",
  ),
  maxDrawdownTrough: IsoDate.nullable().optional().describe(
    "date of the deepest trough; absent in runs recorded before version 2",
  ),
  maxDrawdownRecovery: IsoDate.nullable().optional().describe(
    "date equity regained the peak, null when it never did; absent in older runs that recovered",
  ),
  maxDrawdownTradingDays: Count.optional().describe(
    "trading days from the peak to the recovery (or the last close)",
  ),
  maxDrawdownCalendarDays: Count.optional().describe(
    "calendar days of the same, as runs before trading days recorded it, when their daily " +
      "equity is not there to count trading days",
  ),
  trades: Count.describe("round trips"),
  winRate: Num.describe("share of trades with a positive pnl"),
  avgWin: Num.describe("mean return of winning trades"),
  avgLoss: Num.describe("mean return of losing trades"),
  profitFactor: Num.describe("gross trade profit / gross trade loss"),
  exposure: Float.describe("share of daily returns earned with a position held"),
  turnover: Num.describe("traded notional a year / mean equity"),
  costs_commission: z.number().describe("commission paid"),
  costs_slippage: z.number().describe("slippage paid"),
  costs_borrow: z.number().describe("short borrow paid"),
  costs_total: z.number().describe("every cost paid"),
  alpha: Num.describe("annualized intercept of excess returns on the index's"),
  beta: Num.describe("slope of that regression"),
  riskFree: z.string().optional().describe(
    "where the risk-free rate came from; absent in runs recorded before version 2",
  ),
}).refine(
  (s) => (s.maxDrawdownTradingDays === undefined) !== (s.maxDrawdownCalendarDays === undefined),
  { message: "expected maxDrawdownTradingDays, or maxDrawdownCalendarDays in an older run" },
);
/** Statistics of one equity curve. */
export type SeriesStats = z.infer<typeof SeriesStats>;

/** One day of the backtest's equity curves (series.parquet on disk). */
export const EquityPoint = z.strictObject({
  date: IsoDate.describe("the close"),
  strategy: Float.describe("the strategy's equity"),
  index: Num.describe("buy-and-hold of the index; null without an index"),
  basket: Float.describe("buy-and-hold of the equal-weight eval basket"),
});
/** One day of the equity curves. */
export type EquityPoint = z.infer<typeof EquityPoint>;

/** One eval ticker's row of the backtest (`TickerSummary` in `src/backtest/types.ts`). */
export const TickerSummary = z.strictObject({
  ticker: z.string().describe("the eval ticker"),
  trades: Count.describe("round trips"),
  wins: Count.describe("winning round trips"),
  winRate: Num.describe("share of winning trades"),
  avgWin: Num.describe("mean return of winning trades"),
  avgLoss: Num.describe("mean return of losing trades"),
  profitFactor: Num.describe("gross profit / gross loss"),
  pnl: Float.describe("profit and loss after costs"),
  totalReturn: Float.describe("per_ticker: its own book's return; portfolio: pnl / capital"),
  buyHoldReturn: Num.describe("the ticker's own close-to-close return, no costs"),
  exposure: Float.describe("share of daily returns with a position in it"),
  costs: Float.describe("costs charged to its positions"),
  maxDrawdown: Num.describe("per_ticker: its book's max drawdown; portfolio: null"),
});
/** One eval ticker's row of the backtest. */
export type TickerSummary = z.infer<typeof TickerSummary>;

/** A round trip (`Trade` in `src/backtest/types.ts`; trades.parquet on disk). */
export const TradeRecord = z.strictObject({
  ticker: z.string().describe("the ticker"),
  side: z.enum(["long", "short"]).describe("long or short"),
  entryDate: IsoDate.describe("date of the opening fill"),
  entryPrice: z.number().describe("its price"),
  entryNotional: z.number().describe("its notional"),
  exitDate: IsoDate.describe("date of the closing fill, or the last mark when open"),
  exitPrice: z.number().describe("its price"),
  open: z.boolean().describe("still held at the end (marked, not sold)"),
  pnl: Float.describe("profit and loss after every cost"),
  return: Float.describe("pnl / entryNotional"),
  costs: Float.describe("costs charged to the position"),
  bars: Count.describe("trading days from entry to exit"),
});
/** A round trip. */
export type TradeRecord = z.infer<typeof TradeRecord>;

/** A ruined book (`Ruin` in `src/backtest/types.ts`). */
export const RuinRecord = z.strictObject({
  book: z.string().describe('portfolio, or book "IBM" in per_ticker mode'),
  capital: z.number().describe("the book's starting capital"),
  date: IsoDate.describe("first close at which its marked equity was at or below zero"),
  equity: z.number().describe("marked equity at that close"),
  liquidatedOn: IsoDate.nullable().describe(
    "close that closed the last position; null when one never had a price again",
  ),
  liquidationValue: z.number().describe("equity after the liquidation (negative: a debt)"),
  liquidationCosts: z.number().describe("costs the liquidation fills paid"),
});
/** A ruined book. */
export type RuinRecord = z.infer<typeof RuinRecord>;

/** The backtest as recorded. */
export const RunBacktest = z.strictObject({
  strategy: z.enum(["simple", "nuanced", "top_magnitude", "long_short_top_k"]).describe(
    "the strategy",
  ),
  mode: z.enum(["per_ticker", "portfolio"]).describe("per-ticker books or one portfolio"),
  period: z.strictObject({
    start: IsoDate.describe("first fill date"),
    end: IsoDate.describe("last date"),
    days: Count.describe("trading days in it"),
  }).describe("what was backtested"),
  benchmarks: z.strictObject({
    index: z.string().nullable().describe("the index bought and held; null without one"),
    basket: z.array(z.string()).describe("the equal-weight basket's tickers"),
  }).describe("the buy-and-hold benchmarks"),
  stats: z.strictObject({
    strategy: SeriesStats.describe("the strategy"),
    index: SeriesStats.optional().describe("buy-and-hold of the index, when there is one"),
    basket: SeriesStats.describe("buy-and-hold of the eval basket"),
  }).describe("statistics of each equity curve"),
  equity: z.array(EquityPoint).describe(
    "daily equity of the strategy and its benchmarks (series.parquet on disk); drawdowns " +
      "follow from it and the starting equity (drawdownSeries in src/backtest/stats.ts)",
  ),
  perTicker: z.array(TickerSummary).describe("one row per eval ticker"),
  trades: z.array(TradeRecord).describe("every round trip (trades.parquet on disk)"),
  ruin: z.array(RuinRecord).describe("books that lost their equity and were liquidated"),
  warnings: z.array(z.string()).describe("things the reader must know (gaps, deferred fills)"),
  assumptions: z.array(z.string()).describe("the rules the numbers rest on"),
});
/** The backtest as recorded. */
export type RunBacktest = z.infer<typeof RunBacktest>;

// ---------------------------------------------------------------------------------------------
// analysis

const Verdict = z.enum(["needed", "drop candidate", "unclear"]);

/** One ablated input (`AblationRow` in `src/analysis/ablation.ts`). */
export const AblationRecord = z.strictObject({
  name: z.string().describe("feature, window field or family"),
  kind: z.enum(["feature", "field", "family"]).describe(
    "one feature, one field of a window over all its time steps, or a whole family",
  ),
  columns: z.array(z.string()).describe("the columns neutralized"),
  loss: Float.describe("eval loss with them neutralized"),
  metric: Float.describe("the main metric with them neutralized"),
  deltaLoss: Float.describe("change in eval loss"),
  deltaMetric: Float.describe("change in the main metric"),
  verdict: Verdict.describe("needed: removal hurts; drop candidate: removal lowers the loss"),
});
/** One ablated input. */
export type AblationRecord = z.infer<typeof AblationRecord>;

/** One drop candidate retrained from scratch without its column. */
export const RetrainRecord = z.strictObject({
  feature: z.string().describe("the neutralized feature"),
  loss: Float.describe("eval loss of the retrained model"),
  metric: Float.describe("its main metric"),
  deltaLoss: Float.describe("change in eval loss against the full model"),
  deltaMetric: Float.describe("change in the main metric"),
  verdict: Verdict.describe("the verdict on the retrained change"),
  epochs: Count.describe("epochs the retraining ran"),
});

/** The ablation. */
export const RunAblation = z.strictObject({
  metric: z.string().describe("the main metric's name: f1 or signAccuracy"),
  neutralizedWith: z.string().describe("what a neutralized input is replaced with"),
  full: z.strictObject({
    loss: Float.describe("eval loss with every input"),
    metric: Float.describe("the main metric with every input"),
  }).describe("the model with every input"),
  rows: z.array(AblationRecord).describe(
    "one row per feature and family, largest loss change first (ablation.parquet on disk)",
  ),
  retrained: z.array(RetrainRecord).optional().describe(
    "the top drop candidates retrained without their column, when asked",
  ),
});

/** The Shapley values of eval predictions. */
export const RunShap = z.strictObject({
  method: z.string().describe("how they were computed"),
  baseValue: Float.describe("expected model output over the background sample"),
  maxAdditivityError: Float.describe("largest |base value + sum of attributions - output|"),
  tolerance: z.number().describe("the additivity tolerance"),
  meanAbs: z.record(z.string(), Float).describe(
    "feature (window field) to mean |SHAP| over the explained rows",
  ),
  features: z.array(z.string()).describe(
    "feature columns, in the order of each row's values; for a window input, its fields (each attributed over all its time steps as one group)",
  ),
  values: z.array(z.array(Float)).describe("attributions per explained row (shap.parquet on disk)"),
  featureValues: z.array(z.array(Float)).describe(
    "the explained rows' scaled inputs, same shape (for a window, each field's last step)",
  ),
  topConfident: z.array(z.strictObject({
    row: z.string().describe("the eval row, e.g. IBM 1999Q2"),
    output: Float.describe("the model's output"),
    top: z.array(z.strictObject({
      feature: z.string().describe("feature"),
      value: Float.describe("its attribution"),
    })).describe("its largest attributions"),
  })).describe("the most confident eval predictions and their largest attributions"),
});

/** The notes' loss-target helper on one label column (`src/analysis/loss_target.ts`). */
export const LossTarget = z.strictObject({
  n: Count.describe("labels"),
  mean: Float.describe("label mean"),
  variance: Float.describe("population variance: the MSE of predicting the mean"),
  std: Float.describe("label standard deviation"),
  min: Float.describe("smallest label"),
  max: Float.describe("largest label"),
  range: Float.describe("max - min"),
  desiredR2: Float.describe("the R² the target is for"),
  targetMseR2: Float.describe("(1 - R²) × variance"),
  targetMseRange: Float.describe("(0.1 × range)²"),
  suggestedMse: Float.describe("the larger target"),
  suggestedRmse: Float.describe("its square root"),
  suggestedRmsePercentOfRange: Float.describe("suggested RMSE as a percentage of the range"),
});
/** Loss targets of one label column. */
export type LossTarget = z.infer<typeof LossTarget>;

/** Optional analyses, each when the config asked for it. */
export const RunAnalysis = z.strictObject({
  ablation: RunAblation.optional().describe("feature and family ablation"),
  shap: RunShap.optional().describe("Shapley values of eval predictions"),
  lossTarget: z.strictObject({
    train: LossTarget.describe("on the training labels"),
    eval: LossTarget.describe("on the eval labels"),
    achievedEvalLoss: Float.describe("the model's eval loss"),
  }).optional().describe("the notes' loss-target helper"),
});
/** Optional analyses. */
export type RunAnalysis = z.infer<typeof RunAnalysis>;

// ---------------------------------------------------------------------------------------------
// inference and seeds

/** A percentile bootstrap interval and how it was made (`BootstrapInterval` of src/inference). */
export const BootstrapRecord = z.strictObject({
  estimate: z.number().describe("the statistic on the original sample"),
  lower: z.number().describe("lower end of the interval"),
  upper: z.number().describe("upper end"),
  level: z.number().describe("two-sided confidence level, e.g. 0.95"),
  method: z.literal("percentile").describe("percentile interval"),
  scheme: z.enum(["stationary", "rows", "clusters"]).describe(
    "stationary bootstrap of daily returns, rows resampled, or quarters resampled",
  ),
  resamples: Count.describe("resamples drawn"),
  used: Count.describe("resamples whose statistic was finite"),
  seed: z.int().describe("seed of the resampling"),
  standardError: z.number().describe("standard deviation of the bootstrap statistics"),
  blockLength: Num.describe("expected block length (stationary), else null"),
  blockLengthSource: z.enum(["politis-white", "given"]).nullable().describe(
    "where the block length came from; null for the other schemes",
  ),
  clusters: Count.nullable().describe("quarters resampled (clusters scheme), else null"),
});
/** A percentile bootstrap interval. */
export type BootstrapRecord = z.infer<typeof BootstrapRecord>;

/** A paired test of the model (or strategy) against its best baseline (or a benchmark). */
export const PairedTestRecord = z.strictObject({
  test: z.enum(["mcnemar", "diebold-mariano", "sharpe-difference"]).describe("which test"),
  name: z.string().describe("the test as the report names it"),
  metric: z.string().describe("the metric it is about (accuracy, loss, mse, sharpe, ...)"),
  against: z.string().describe("the baseline or benchmark, the best on that metric"),
  statistic: z.number().describe("the test statistic"),
  pValue: z.number().describe("two-sided p-value of no difference"),
  pValueModelBetter: z.number().describe("one-sided p-value of the model being better"),
  details: z.record(z.string(), z.number()).describe("the test's own numbers (counts, df, ...)"),
});
/** A paired test. */
export type PairedTestRecord = z.infer<typeof PairedTestRecord>;

/** Whether the model (or strategy) beats what it is tested against, and by which test. */
export const VerdictRecord = z.strictObject({
  beats: z.boolean().describe("the one-sided p-value is below 1 - level"),
  level: z.number().describe("confidence level"),
  test: z.string().describe("the test's name"),
  pValue: z.number().describe("its one-sided p-value of the model being better"),
  statement: z.string().describe("one sentence for the report"),
  against: z.string().describe("the baseline or benchmark"),
});
/** A verdict. */
export type VerdictRecord = z.infer<typeof VerdictRecord>;

/** Intervals, paired tests and verdicts of one run (`runInference` in src/inference/run.ts). */
export const RunInference = z.strictObject({
  level: z.number().describe("confidence level of every interval and verdict"),
  resamples: Count.describe("bootstrap resamples"),
  seed: z.int().describe("seed of every resampling (the run's seed)"),
  metrics: z.record(z.string(), BootstrapRecord).describe(
    "eval metric to its interval: rows resampled; IC and rank IC: quarters resampled",
  ),
  backtest: z.record(z.string(), BootstrapRecord).describe(
    "strategy statistic (Sharpe, Sortino, CAGR, max drawdown) to its stationary-bootstrap interval",
  ),
  blockLength: z.strictObject({
    stationary: z.number().describe("expected block length in days (Politis & White)"),
    bandwidth: Count.describe("bandwidth M of the flat-top lag window"),
    days: Count.describe("daily returns it was chosen from"),
  }).nullable().describe("the block length chosen on the strategy's daily returns"),
  tests: z.array(PairedTestRecord).describe("paired tests against the best baseline and benchmark"),
  verdict: VerdictRecord.nullable().describe("the model against its best baseline"),
  backtestVerdict: VerdictRecord.nullable().describe("the strategy against buy-and-hold"),
  notes: z.array(z.string()).describe("what could not be computed, and why"),
});
/** Intervals, paired tests and verdicts of one run. */
export type RunInference = z.infer<typeof RunInference>;

/** Mean ± std of one figure over seeds (`SeedSummary` of src/inference/seeds.ts). */
export const SeedSummaryRecord = z.strictObject({
  n: Count.describe("seeds with a value"),
  mean: z.number().describe("mean over the seeds"),
  std: z.number().describe("sample standard deviation (n - 1); 0 for one seed"),
  standardError: Num.describe("std / sqrt(n); null for one seed"),
  min: z.number().describe("smallest"),
  max: z.number().describe("largest"),
  interval: z.strictObject({
    lower: z.number().describe("lower end"),
    upper: z.number().describe("upper end"),
    level: z.number().describe("confidence level"),
  }).nullable().describe("t interval of the mean; null for one seed"),
});
/** Mean ± std of one figure over seeds. */
export type SeedSummaryRecord = z.infer<typeof SeedSummaryRecord>;

/** A seed's verdict, without the sentence (the first seed's is in `inference`). */
const SeedVerdict = VerdictRecord.omit({ statement: true, level: true });

/** One seed's results in a run of several seeds. */
export const SeedRun = z.strictObject({
  seed: z.int().describe("the seed"),
  status: RunStatus.describe("how its run ended"),
  modelHash: z.string().describe("its model's store key (the seed is part of it)"),
  restoredFromStore: z.boolean().describe("its model came from the store"),
  eval: z.record(z.string(), Num).nullable().describe(
    "its main eval metrics (IC and rank IC: their means); null when it stopped before them",
  ),
  backtest: z.record(z.string(), Num).nullable().describe(
    "its strategy's main statistics (SEED_STATISTICS of src/seeds.ts); null without a backtest",
  ),
  verdict: SeedVerdict.nullable().describe("its model against its best baseline"),
  backtestVerdict: SeedVerdict.nullable().describe("its strategy against buy-and-hold"),
});
/** One seed's results. */
export type SeedRun = z.infer<typeof SeedRun>;

/** Every seed's results and their mean ± std. */
export const RunSeeds = z.strictObject({
  runs: z.array(SeedRun).describe(
    "one per seed, in the config's order; the first is this record's",
  ),
  metrics: z.record(z.string(), SeedSummaryRecord).describe("eval metric to mean ± std"),
  backtest: z.record(z.string(), SeedSummaryRecord).describe("strategy statistic to mean ± std"),
  beats: z.strictObject({
    baseline: Count.describe("seeds whose model beats its best baseline at the level"),
    buyAndHold: Count.describe("seeds whose strategy beats buy-and-hold at the level"),
  }).describe("how many seeds' verdicts say beats"),
});
/** Every seed's results and their mean ± std. */
export type RunSeeds = z.infer<typeof RunSeeds>;

// ---------------------------------------------------------------------------------------------
// the record

/**
 * Everything a run records.
 *
 * @ignore zod's inferred schema type cannot be written out or documented; the type is.
 */
export const RunRecord = z.strictObject({
  version: z.literal(RECORD_VERSION).describe("the record's version"),
  runId: z.string().regex(RUN_ID_PATTERN, {
    message: "expected a run id like 20260101T120000Z-ab12cd34",
  }).describe("YYYYMMDDTHHMMSSZ-<hash8>: the start time and the config hash's first 8 digits"),
  experiment: z.string().regex(EXPERIMENT_NAME_PATTERN, {
    message: "expected lower-case letters, digits, '.', '_' or '-'",
  }).describe("the experiment's name"),
  description: z.string().describe("the experiment's description"),
  status: RunStatus.describe("how the run ended"),
  error: z.string().optional().describe("what happened, when the run failed or was interrupted"),
  configHash: z.string().regex(/^[0-9a-f]{8,}$/, { message: "expected hex digits" }).describe(
    "the config hash (hex)",
  ),
  configYaml: z.string().describe("the resolved config as YAML text (also config.yaml)"),
  config: Experiment.describe("the resolved config: every default filled in"),
  data: RunData.describe("the data the run used"),
  seeds: z.record(z.string(), z.int()).describe("the seed, and any derived seeds"),
  environment: RunEnvironment.describe("backend, device, versions, git state, host"),
  timings: RunTimings.describe("start, end and per-stage seconds"),
  memory: RunMemory.optional().describe("planned and peak memory; absent in older runs"),
  model: RunModel.nullable().describe("the model; null when the run stopped before one"),
  features: z.array(z.string()).describe("feature columns in model input order"),
  featureFamilies: z.record(z.string(), z.array(z.string())).optional().describe(
    "feature family to its columns; absent in older runs",
  ),
  missing: z.array(z.strictObject({
    family: z.string().describe("feature family"),
    rule: z.string().describe("the missing-value rule, e.g. ffill (limit 2)"),
    rows: Count.describe("rows it touched"),
  })).describe("rows each missing-value rule touched"),
  scaler: RunScaler.nullable().describe("the last fold's scaler; null when none was fitted"),
  split: RunSplit.nullable().describe("the split; null when the run stopped before splitting"),
  correlations: z.array(CorrelationRow).describe(
    "feature-label correlations on training rows, by |Pearson| descending (correlations.parquet)",
  ),
  training: RunTraining.nullable().describe("training; null when the run stopped before it"),
  metrics: RunMetrics.nullable().describe("metrics; null when the run stopped before evaluating"),
  backtest: RunBacktest.nullable().describe("the backtest; null when there was none"),
  analysis: RunAnalysis.optional().describe("analyses, when the config asked for any"),
  inference: RunInference.optional().describe(
    "intervals, paired tests and verdicts; absent in runs recorded before version 3",
  ),
  seedRuns: RunSeeds.optional().describe(
    "with several seeds: each seed's results and their mean ± std (the rest of the record is " +
      "the first seed's run)",
  ),
  news: RunNews.optional().describe("the news digestion (issue 21), when the news family ran"),
  warnings: z.array(z.string()).describe("data, split, training and backtest warnings"),
});
/** Everything a run records. */
export type RunRecord = Parsed<typeof RunRecord>;
