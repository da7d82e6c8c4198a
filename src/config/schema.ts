/**
 * The experiment schema: the single source of truth for what an experiment
 * YAML may say. `schemas/experiment.schema.json` is generated from it
 * (`deno task schema`) and a test fails when the committed file is stale.
 *
 * Every default is written here, so `deno task validate --resolved` can print
 * the fully resolved config and the config hash covers every value that
 * determines a run.
 *
 * @module
 */
import { z } from "zod";
import { isIsoDate } from "@alfred/core";

/**
 * The value a zod schema parses to (`z.output`), under this project's own name: `deno doc` cannot
 * describe zod's types, so the stored shapes a library user meets ({@link Experiment}, the run
 * record) name this alias, and their schema stays the single source of the type.
 *
 * @ignore
 */
export type Parsed<T extends z.ZodType> = z.output<T>;

/**
 * The longest experiment name. The name is a folder (`results/<name>/`) and a prefix of run
 * labels: 64 characters keep it a valid, readable file name on every file system.
 */
export const MAX_NAME_LENGTH = 64;

/** Most seeds one experiment may run (`seeds:`). */
export const MAX_SEEDS = 100;

/** ISO calendar date `YYYY-MM-DD`. */
export const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, {
  message: "expected a date as YYYY-MM-DD",
}).refine(isCalendarDateOrMalformed, { message: "expected a real calendar date as YYYY-MM-DD" });

/** True unless `s` has the YYYY-MM-DD shape but names no real day (the regex reports bad shapes). */
function isCalendarDateOrMalformed(s: string): boolean {
  return !/^\d{4}-\d{2}-\d{2}$/.test(s) || isIsoDate(s);
}

const Ticker = z.string().min(1).max(16).describe("ticker symbol as it appears in the dataset");

/** A rule that picks tickers instead of listing them. */
export const TickerSelection = z.strictObject({
  select: z.enum(["uncorrelated", "all", "rest"]).describe(
    "uncorrelated: greedy least-correlated pick (the notes' scanner.py); all: every ticker with enough history; rest: every ticker the other side did not take",
  ),
  start: Ticker.optional().describe("first ticker of an uncorrelated pick"),
  count: z.int().min(1).max(10000).optional().describe("how many tickers to pick"),
  since: IsoDate.optional().describe("only tickers with continuous history since this date"),
});
export type TickerSelection = z.infer<typeof TickerSelection>;

export const TickerSpec = z.union([z.array(Ticker).min(1), TickerSelection]);
export type TickerSpec = z.infer<typeof TickerSpec>;

/**
 * The most tickers `data.synth` may ask for: the generator's own limit (`generateSynthetic` in
 * `src/data/synth.ts` refuses more).
 */
export const MAX_SYNTH_TICKERS = 10_000;

/**
 * A synthetic dataset generated for the experiment: the parameters of `generateSynthetic`
 * (`SynthParams` in `src/data/synth.ts`), in snake_case. The dataset is generated once into a
 * git-ignored cache (`.alfred/synth/`), keyed by these parameters, the dataset's name and the
 * generator's version, and reused by every run that asks for the same.
 */
export const SynthConfig = z.strictObject({
  seed: z.int().min(0).max(2 ** 31 - 1).describe(
    "the generator's seed: the same parameters give byte-identical tables",
  ),
  tickers: z.int().min(2).max(MAX_SYNTH_TICKERS).describe(
    "number of tickers, named SYN01, SYN02, ... (zero-padded to the digits of the count: SYN0001 from 1,000 on)",
  ),
  from: IsoDate.describe("first calendar date generated (inclusive)"),
  to: IsoDate.describe(
    "last calendar date generated (inclusive; at least 130 trading days after from)",
  ),
  signal: z.number().min(0).max(10).describe(
    "strength of the planted signal: the standard deviation of the planted next-quarter return as a multiple of the ticker's idiosyncratic quarterly volatility; 0 plants nothing",
  ),
  sectors: z.int().min(1).max(MAX_SYNTH_TICKERS).optional().describe(
    "number of sectors, at most the tickers (default 4, or the tickers when fewer)",
  ),
  tail_df: z.int().min(3).max(100).default(5).describe(
    "degrees of freedom of the Student-t shocks (lower is fatter-tailed)",
  ),
  turnover: z.number().min(0).max(1).optional().describe(
    "listings and delistings: the yearly rate at which tickers leave the universe (losers more often); writes a universe table, so selection, rows and the backtest are point-in-time. Absent or 0: every ticker trades throughout",
  ),
  news_signal: z.number().min(0).max(10).optional().describe(
    "write a news table whose tone carries the planted score with this strength (0: tone is noise); absent: no news table",
  ),
  shape_signal: z.number().min(0).max(10).optional().describe(
    "plant a temporal shape only a daily sequence window can see (the phase of a zigzag in each quarter's last weeks drives next quarter's drift with this strength); absent or 0: none",
  ),
});
export type SynthConfig = z.infer<typeof SynthConfig>;

/** The dataset an experiment reads when it names none and has no `data.synth`. */
export const DEFAULT_DATASET = "dow30-1991-2000";

/**
 * The name of the dataset `data.synth` generates when `data.dataset` is not written: the
 * generator's own default name, `synth-s<seed>-k<tickers>`.
 *
 * @param synth the experiment's `data.synth`
 * @returns the dataset name
 * @example
 * ```ts
 * synthDatasetName({ seed: 7, tickers: 3000 }); // "synth-s7-k3000"
 * ```
 */
export function synthDatasetName(synth: Pick<SynthConfig, "seed" | "tickers">): string {
  return `synth-s${synth.seed}-k${synth.tickers}`;
}

export const DataConfig = z.strictObject({
  dataset: z.string().min(1).default(DEFAULT_DATASET).describe(
    `dataset name under data/, or a path to a dataset folder inside data/ or the experiment file's folder (default "${DEFAULT_DATASET}"); with synth: the generated dataset's name (default synth-s<seed>-k<tickers>), not a path`,
  ),
  synth: SynthConfig.optional().describe(
    "generate the dataset instead of reading one from data/: the synthetic generator's parameters; it is generated once into the git-ignored cache .alfred/synth/ and reused",
  ),
  train_tickers: TickerSpec.describe("tickers the model is trained on"),
  eval_tickers: TickerSpec.describe("held-out tickers the model is evaluated and backtested on"),
  from: IsoDate.optional().describe("first date of daily data used (inclusive)"),
  to: IsoDate.optional().describe("last date of daily data used (inclusive)"),
});
export type DataConfig = z.infer<typeof DataConfig>;

export const MissingPolicy = z.enum(["drop", "ffill", "zero"]).describe(
  "what to do with a missing value: drop the row, forward-fill (up to ffill_limit quarters), or use zero",
);
export const ScalerKind = z.enum(["standard", "minmax", "robust", "none"]);
export type ScalerKind = z.infer<typeof ScalerKind>;

const familyCommon = {
  deltas: z.union([z.boolean(), z.array(z.string())]).default(false).describe(
    "add delta_ (quarter-over-quarter change) columns: true for all of the family, or a list of column names",
  ),
  missing: MissingPolicy.default("drop"),
  ffill_limit: z.int().min(1).max(8).default(1).describe("quarters a value may be carried forward"),
  scaler: ScalerKind.optional().describe(
    "scaler for this family's columns (default: scaling.default)",
  ),
};

const MaWindows = z.array(z.int().min(2).max(400)).min(1).default([7, 30, 90, 180]).describe(
  "moving-average windows in trading days",
);

// --- news (issue 21): the digester and its language-model endpoint -------------------------------

/** The event types a digester may tag an article with (the `news` family counts each). */
export const NEWS_EVENT_TYPES = [
  "earnings",
  "guidance",
  "merger_acquisition",
  "legal_regulatory",
  "product",
  "management",
  "analyst_rating",
  "capital",
  "macro",
  "other",
] as const;

/** An OpenAI-compatible chat-completions endpoint that digests news (`digester: llm`). */
export const LlmConfig = z.strictObject({
  url: z.string().regex(/^https?:\/\/[^\s]+$/, { message: "expected an http(s) URL" }).describe(
    "base URL of an OpenAI-compatible API, e.g. http://localhost:11434/v1 (Ollama) or http://localhost:8080/v1 (llama.cpp); /chat/completions is appended",
  ),
  model: z.string().min(1).describe("model name the endpoint serves, e.g. qwen2.5:1.5b"),
  api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default("ALFRED_LLM_API_KEY")
    .describe(
      "environment variable holding the API key (sent as a Bearer token when set; never written anywhere)",
    ),
  prompt: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/).default("news-digest-v1").describe(
    "prompt version: the file src/news/prompts/<prompt>.md",
  ),
  concurrency: z.int().min(1).max(64).default(4).describe("requests in flight at once"),
  timeout_s: z.number().gt(0).max(3600).default(60).describe("seconds one request may take"),
  retries: z.int().min(0).max(10).default(3).describe(
    "retries of a failed request (timeouts, 429, 5xx, connection errors) with exponential backoff",
  ),
  backoff_s: z.number().min(0).max(600).default(1).describe(
    "first backoff; doubles each retry; a 429's Retry-After wins when longer",
  ),
  max_tokens: z.int().min(16).max(8192).default(256).describe("completion tokens per answer"),
});
export type LlmConfig = z.infer<typeof LlmConfig>;

/** When the exchange closes: an article published at or after a day's close counts from the next. */
export const MarketCloseConfig = z.strictObject({
  time_zone: z.string().min(1).default("America/New_York").describe("IANA time zone"),
  time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: "expected HH:MM" }).default(
    "16:00",
  ).describe("closing time in that zone, HH:MM"),
});
export type MarketCloseConfig = z.infer<typeof MarketCloseConfig>;

// -------------------------------------------------------------------------------------------------

export const FeatureFamilies = z.strictObject({
  price: z.strictObject({
    ...familyCommon,
    close: z.boolean().default(true).describe("include the quarter's last close itself"),
    ma_windows: MaWindows,
  }).optional().describe("Close and Close_diff_MA_N (close relative to its N-day moving average)"),
  volume: z.strictObject({
    ...familyCommon,
    volume: z.boolean().default(true),
    ma_windows: MaWindows,
  }).optional().describe("Volume and Volume_diff_MA_N; needs a volume column"),
  fundamentals: z.strictObject({ ...familyCommon }).optional().describe(
    "Margin_Gross, Margin_Operating, Margin_Net_Profit, joined on the report date",
  ),
  earnings: z.strictObject({ ...familyCommon }).optional().describe(
    "reportedEPS, estimatedEPS, surprise, surprisePercentage, joined on the report date",
  ),
  insider: z.strictObject({ ...familyCommon }).optional().describe(
    "insider_acquisition, insider_disposal summed over the quarter",
  ),
  sentiment: z.strictObject({ ...familyCommon }).optional().describe(
    "mean_sentiment, mean_outlook averaged over the quarter",
  ),
  market: z.strictObject({
    ...familyCommon,
    series: z.array(z.string().min(1)).min(1).optional().describe(
      "market/macro series to include (default: every series the dataset has)",
    ),
  }).optional().describe(
    "market and macro series (^VIX, SPY, CL=F, BZ=F, BTC=F, yields, index levels)",
  ),
  news: z.strictObject({
    ...familyCommon,
    digester: z.enum(["lexicon", "llm"]).default("lexicon").describe(
      "lexicon: VADER (vader-sentiment), embedded and deterministic; llm: a chat-completions endpoint (llm:)",
    ),
    llm: LlmConfig.optional().describe("the endpoint, for digester: llm"),
    events: z.boolean().default(false).describe(
      "add one news_event_<type> count column per event type (needs digester: llm; the lexicon tags no events)",
    ),
    market_close: MarketCloseConfig.prefault({}).describe(
      "the exchange's close: an article counts for the quarter whose last close comes after it",
    ),
  }).optional().describe(
    "news_count, news_sentiment (mean), news_sentiment_weighted (relevance-weighted) and event counts of the articles of the quarter, digested by the lexicon or a language model",
  ),
});
export type FeatureFamilies = z.infer<typeof FeatureFamilies>;

/** The daily fields a `source: daily` window can hold (see `src/features/sequence.ts`). */
export const DailySequenceField = z.enum([
  "close",
  "open",
  "high",
  "low",
  "return",
  "log_volume_change",
]);
export type DailySequenceField = z.infer<typeof DailySequenceField>;

export const SequenceConfig = z.strictObject({
  source: z.enum(["daily", "quarterly"]).describe(
    "daily: the last `length` trading days ending at the quarter's last close; quarterly: the ticker's last `length` quarterly feature rows (the families' columns), ending at this quarter",
  ),
  length: z.int().min(2).max(1000).optional().describe(
    "time steps in a window (default: 60 for daily, 8 for quarterly)",
  ),
  fields: z.array(z.string().min(1)).min(1).optional().describe(
    "daily: any of close, open, high, low (each ÷ the window's last close − 1), return (the day's total return), log_volume_change (ln of volume ÷ the previous day's); default: every one the dataset has columns for. quarterly: feature columns of the families; default: all of them",
  ),
  missing: MissingPolicy.default("drop").describe(
    "a window step without a value (a ticker too young for a full window, a day or quarter without data, a null): drop the row, use zero, or carry the field's previous step forward (up to ffill_limit steps; a window that starts without a value is dropped)",
  ),
  ffill_limit: z.int().min(1).max(1000).default(1).describe(
    "steps a value may be carried forward (missing: ffill)",
  ),
});
export type SequenceConfig = z.infer<typeof SequenceConfig>;

export const FeaturesConfig = z.strictObject({
  families: FeatureFamilies.prefault({ price: {} }),
  sequence: SequenceConfig.optional().describe(
    "a window of history per row: when set, the model's input is the window (time-major, oldest step first), which sequence model families need and an MLP sees flattened",
  ),
  exclude: z.array(z.string()).default([]).describe("feature columns to drop by name"),
});
export type FeaturesConfig = z.infer<typeof FeaturesConfig>;

export const LabelConfig = z.strictObject({
  mode: z.enum(["direction", "magnitude"]).describe(
    "direction: PQ, 1 when the close after the horizon is above today's; magnitude: PM, fractional change to the close after the horizon",
  ),
  horizon: z.int().min(1).max(8).default(1).describe("label horizon in quarters"),
});
export type LabelConfig = z.infer<typeof LabelConfig>;

export const SplitConfig = z.strictObject({
  method: z.enum(["ticker_and_time", "by_ticker", "by_time", "walk_forward"]).default(
    "ticker_and_time",
  ).describe(
    "ticker_and_time: eval tickers and eval period both unseen; by_ticker: the notes' method (shares quarters, warned); by_time: train before eval_from; walk_forward: N folds",
  ),
  eval_from: IsoDate.optional().describe(
    "first date of the eval period (by_time, ticker_and_time: default 70% into the data window's quarters; walk_forward: start of the first eval fold, default 1/(folds + 1) into them)",
  ),
  purge: z.int().min(0).max(16).optional().describe(
    "quarters dropped between train and eval (default and minimum: the label horizon)",
  ),
  embargo: z.int().min(0).max(16).default(0).describe(
    "extra quarters dropped between the training side and the eval period, on top of the purge",
  ),
  folds: z.int().min(2).max(50).default(4).describe("walk_forward: number of folds"),
  window: z.enum(["expanding", "rolling"]).default("expanding").describe(
    "walk_forward: training window",
  ),
  validation_fraction: z.number().gt(0).lt(0.5).default(0.2).describe(
    "share of training quarters (the latest) held out for early stopping",
  ),
});
export type SplitConfig = z.infer<typeof SplitConfig>;

export const ScalingConfig = z.strictObject({
  default: ScalerKind.default("standard"),
  columns: z.record(z.string(), ScalerKind).default({}).describe("per-column overrides"),
});
export type ScalingConfig = z.infer<typeof ScalingConfig>;

export const ModelFamily = z.enum([
  "vanilla.small",
  "vanilla.medium",
  "vanilla.large",
  "vanilla.small.tanh",
  "vanilla.medium.tanh",
  "vanilla.large.tanh",
  "vanilla.compression",
  "vanilla.compression.tanh",
  "vanilla.deep.norm",
  "vanilla.deep.norm.tanh",
  "lstm",
  "gru",
  "conv-lstm",
  "transformer",
]);
export type ModelFamily = z.infer<typeof ModelFamily>;

export const ModelConfig = z.strictObject({
  family: ModelFamily.default("vanilla.small"),
  size: z.int().min(1).max(65536).optional().describe(
    "layer width; lstm, gru, conv-lstm: recurrent units; transformer: model width (default: the family's)",
  ),
  layers: z.int().min(1).max(1000).optional().describe(
    "hidden layers; lstm, gru, conv-lstm: stacked recurrent layers; transformer: encoder blocks (default: the family's)",
  ),
  activation: z.enum(["relu", "tanh", "elu", "selu", "gelu", "sigmoid", "linear"]).default("relu"),
  dropout: z.number().min(0).lt(1).default(0),
  normalization: z.enum(["none", "batch", "layer"]).optional().describe(
    "normalization after each hidden layer (default: the family's)",
  ),
  heads: z.int().min(1).max(64).optional().describe(
    "transformer: attention heads per block (default 4; must divide size)",
  ),
  ff_size: z.int().min(1).max(65536).optional().describe(
    "transformer: width of each block's feed-forward layer (default 2 × size)",
  ),
  positions: z.enum(["sinusoidal", "learned"]).optional().describe(
    "transformer: position encoding added to the projected inputs (default sinusoidal)",
  ),
  pooling: z.enum(["mean", "last"]).optional().describe(
    "transformer: how the encoder's steps become one vector for the head (default mean)",
  ),
  conv: z.strictObject({
    filters: z.int().min(1).max(4096).default(32),
    kernel: z.int().min(1).max(64).default(5),
    layers: z.int().min(1).max(16).default(1),
  }).optional().describe(
    "conv-lstm: the causal Conv1D stack (ReLU) before the LSTM (default 1 layer of 32 filters, kernel 5)",
  ),
});
export type ModelConfig = z.infer<typeof ModelConfig>;

export const LossConfig = z.strictObject({
  name: z.enum(["bce", "mse", "huber", "mse-sign", "huber-sign", "sign-ratio"]).describe(
    "bce for direction; mse, huber and the notes' sign-penalized losses for magnitude",
  ),
  delta: z.number().gt(0).default(1).describe("huber, huber-sign: transition point"),
  sign_weight: z.number().min(0).default(1).describe(
    "mse-sign, huber-sign: weight of the sign error",
  ),
  value_ratio: z.number().min(0).default(0.5).describe("sign-ratio: scale of the value error"),
  sign_ratio: z.number().min(0).default(2).describe("sign-ratio: scale of the sign error"),
});
export type LossConfig = z.infer<typeof LossConfig>;

/**
 * The parameters each loss uses (it ignores the others): two losses measure the same thing only
 * when their names and these parameters match.
 */
export const LOSS_PARAMETERS: Readonly<
  Record<LossConfig["name"], readonly Exclude<keyof LossConfig, "name">[]>
> = {
  bce: [],
  mse: [],
  huber: ["delta"],
  "mse-sign": ["sign_weight"],
  "huber-sign": ["delta", "sign_weight"],
  "sign-ratio": ["value_ratio", "sign_ratio"],
};

export const Backend = z.enum(["auto", "wasm", "cpu", "webgpu", "tensorflow", "cpu-blas"]);
export type Backend = z.infer<typeof Backend>;

export const TrainConfig = z.strictObject({
  epochs: z.int().min(1).max(1_000_000).default(200),
  batch_size: z.int().min(1).max(1_000_000).default(64),
  learning_rate: z.number().gt(0).max(10).default(0.001),
  optimizer: z.enum(["adam", "sgd"]).default("adam"),
  patience: z.int().min(1).default(20).describe(
    "epochs without validation improvement before stopping",
  ),
  lr_patience: z.int().min(1).default(10).describe(
    "epochs without improvement before the LR is reduced",
  ),
  lr_factor: z.number().gt(0).lt(1).default(0.5),
  min_lr: z.number().min(0).default(1e-6),
  backend: Backend.default("auto"),
  engine: z.enum(["tfjs", "fused"]).default("tfjs").describe(
    "fused: a hand-written MLP engine: WGSL shaders on backend webgpu; on the CPU wasm SIMD kernels and threads with BLAS sgemm on backend cpu-blas or its own wasm SIMD sgemm on backend wasm (no dropout or layer norm)",
  ),
});
export type TrainConfig = z.infer<typeof TrainConfig>;

export const BacktestConfig = z.strictObject({
  strategy: z.enum(["simple", "nuanced", "top_magnitude", "long_short_top_k"]).default("simple"),
  mode: z.enum(["per_ticker", "portfolio"]).default("per_ticker"),
  long_threshold: z.number().min(0).max(1).default(0.7).describe("nuanced: go long above"),
  short_threshold: z.number().min(0).max(1).default(0.3).describe("nuanced: go short below"),
  exit_threshold: z.number().min(0).max(1).default(0.5).describe(
    "simple/nuanced: the long/short boundary",
  ),
  k: z.int().min(1).default(2).describe("long_short_top_k: names on each side"),
  long_only: z.boolean().default(false),
  weighting: z.enum(["equal", "signal"]).default("equal"),
  fill: z.enum(["next_close", "same_close"]).default("next_close").describe(
    "next_close: signals formed at a quarter's last close fill at the next trading day's close; same_close is optimistic and flagged",
  ),
  commission_bps: z.number().min(0).max(1000).default(5),
  slippage_bps: z.number().min(0).max(1000).default(5),
  borrow_bps: z.number().min(0).max(10000).default(0).describe("annual short borrow cost"),
  initial_capital: z.number().gt(0).default(100_000),
  benchmark: z.string().optional().describe(
    "index series to buy and hold (default: the dataset's)",
  ),
});
export type BacktestConfig = z.infer<typeof BacktestConfig>;

export const AnalysisConfig = z.strictObject({
  ablation: z.strictObject({
    enabled: z.boolean().default(true),
    retrain_top: z.int().min(0).default(0).describe("retrain without each of the top N candidates"),
  }).optional(),
  shap: z.strictObject({
    enabled: z.boolean().default(true),
    background: z.int().min(1).max(10000).default(32),
    explain: z.int().min(1).max(100000).default(64).describe("eval rows explained"),
    permutations: z.int().min(1).max(100000).default(64),
    tolerance: z.number().gt(0).default(1e-4),
  }).optional(),
  loss_target: z.strictObject({
    r2: z.number().gt(0).lt(1).default(0.8),
  }).optional(),
  shuffled_control: z.strictObject({
    enabled: z.boolean().default(true),
  }).optional().describe(
    "also train the same model on shuffled training labels: its eval metrics show what chance looks like",
  ),
});
export type AnalysisConfig = z.infer<typeof AnalysisConfig>;

/** The sweep grid: dotted config key → values, one run per point. */
export const SweepConfig = z.record(
  z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, {
    message: "expected a config key, dotted like model.size",
  }),
  z.array(z.union([z.string(), z.number(), z.boolean()])).min(1),
);

/**
 * The experiment schema: parses a config (after `extends`, `--set` and sweep
 * expansion) into a resolved {@link Experiment} with every default filled in.
 * Load files with `loadExperiments` (src/config/load.ts), which locates errors.
 *
 * @ignore zod's inferred schema type cannot be written out or documented; the type is.
 */
export const Experiment = z.strictObject({
  $schema: z.string().optional().describe(
    "JSON Schema of this file, for editors; ignored by Alfred",
  ),
  extends: z.string().optional().describe(
    "base config file (.yaml or .yml), relative to this one and inside the experiment file's folder or below: mappings merge key by key, lists replace, null removes an inherited key",
  ),
  name: z.string().max(MAX_NAME_LENGTH).regex(/^[a-z0-9][a-z0-9._-]*$/, {
    message: "expected lower-case letters, digits, '.', '_' or '-', starting with a letter or " +
      "digit (the name is the folder results/<name>/)",
  }).describe(
    `experiment name: 1 to ${MAX_NAME_LENGTH} lower-case letters, digits, '.', '_' or '-', starting with a letter or digit; runs are recorded under results/<name>/`,
  ),
  description: z.string().default("").describe("free text shown in reports and the journal"),
  seed: z.int().min(0).max(2 ** 31 - 1).default(42).describe(
    "seed for initialization, shuffling and sampling: the same config and seed give the same run",
  ),
  seeds: z.union([
    z.int().min(2).max(MAX_SEEDS),
    z.array(z.int().min(0).max(2 ** 31 - 1)).min(2).max(MAX_SEEDS).refine(
      (list) => new Set(list).size === list.length,
      { message: "expected distinct seeds" },
    ),
  ]).optional().describe(
    `train and evaluate once per seed, sharing data and features: a count n (2 to ${MAX_SEEDS}) runs seed, seed + 1, ..., seed + n - 1; a list runs those seeds (the first is the one whose plots the report shows); the report gives every metric as mean ± std over the seeds; absent: one run with seed`,
  ),
  data: DataConfig.describe("the dataset and the train and eval tickers"),
  features: FeaturesConfig.prefault({}).describe("feature families and excluded columns"),
  label: LabelConfig.describe("what the model predicts"),
  split: SplitConfig.prefault({}).describe("how rows are split into train, validation and eval"),
  scaling: ScalingConfig.prefault({}).describe("feature scalers, fitted on training rows only"),
  model: ModelConfig.prefault({}).describe("the network"),
  loss: LossConfig.describe("the training loss; must suit label.mode"),
  train: TrainConfig.prefault({}).describe("the training loop and backend"),
  backtest: BacktestConfig.prefault({}).describe("trading the eval predictions"),
  analysis: AnalysisConfig.prefault({}).describe("ablation, Shapley values and the loss target"),
  sweep: SweepConfig.optional().describe(
    "grid of config keys to value lists, one run per point; the last key varies fastest",
  ),
});

/** A resolved experiment: every default filled in, `extends` and `sweep` gone. */
export type Experiment = Parsed<typeof Experiment>;
