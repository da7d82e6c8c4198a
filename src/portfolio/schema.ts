/**
 * The portfolio experiment schema (a file with `kind: portfolio`): its analysts, the
 * environment, the managers and how they are walked forward; and the portfolio run record.
 * Every default is written here, so the config hash covers every value that determines a run.
 *
 * @module
 */
import { z } from "zod";
import { MAX_NAME_LENGTH } from "../config/schema.ts";
import { BootstrapRecord, PairedTestRecord, VerdictRecord } from "../record/schema.ts";

/** One analyst: an experiment file (relative to the portfolio file) and `--set` overrides. */
export const AnalystConfig = z.strictObject({
  file: z.string().min(1).describe("experiment file, relative to this file's folder"),
  set: z.array(z.string().regex(/^[^=\s]+=.*$/)).default([]).describe(
    "--set overrides of it, key=value",
  ),
});

export const PortfolioEnvironment = z.strictObject({
  period: z.enum(["horizon", "month"]).default("horizon").describe(
    "rebalance every analysts' label horizon, or at every month's last close",
  ),
  commission_bps: z.number().min(0).max(1000).default(5),
  spread_bps: z.number().min(0).max(2000).default(10).describe(
    "quoted spread; half is paid per trade",
  ),
  long_only: z.boolean().default(true),
  gross_leverage: z.number().gt(0).max(10).default(1).describe("long-short: the most Σ|w|"),
  max_weight: z.number().gt(0).max(10).default(1).describe("the most |w| of one name"),
  initial_capital: z.number().gt(0).default(100_000),
  lookback_days: z.int().min(2).max(756).default(63).describe(
    "trading days of the state's trailing return and volatility",
  ),
});

export const PortfolioExperiment = z.strictObject({
  $schema: z.string().optional(),
  kind: z.literal("portfolio"),
  name: z.string().max(MAX_NAME_LENGTH).regex(/^[a-z0-9][a-z0-9._-]*$/),
  description: z.string().default(""),
  seed: z.int().min(0).max(2 ** 31 - 1).default(42),
  analysts: z.array(AnalystConfig).min(1).describe("the analysts whose signals the managers read"),
  environment: PortfolioEnvironment.prefault({}),
  managers: z.array(
    z.enum([
      "equal_weight",
      "inverse_volatility",
      "index",
      "top_k",
      "mean_variance",
      "eiie",
      "ppo",
    ]),
  ).min(1).default([
    "equal_weight",
    "inverse_volatility",
    "index",
    "top_k",
    "mean_variance",
    "eiie",
  ]),
  walk_forward: z.strictObject({
    warmup: z.int().min(1).default(8).describe("decisions before the first evaluated one"),
    refit_every: z.int().min(1).default(4).describe("evaluated decisions between refits"),
  }).prefault({}),
  top_k: z.int().min(1).default(3),
  covariance_days: z.int().min(10).max(2000).default(126),
  policy: z.strictObject({
    hidden: z.int().min(1).max(256).default(8),
    epochs: z.int().min(1).max(100_000).default(150),
    learning_rate: z.number().gt(0).max(1).default(0.02),
    l2: z.number().min(0).default(1e-4),
  }).prefault({}),
  ppo: z.strictObject({
    hidden: z.int().min(1).max(256).default(8),
    iterations: z.int().min(1).max(10_000).default(20),
    rollouts: z.int().min(1).max(256).default(4),
    update_epochs: z.int().min(1).max(100).default(4),
    learning_rate: z.number().gt(0).max(1).default(0.02),
    clip: z.number().gt(0).lt(1).default(0.2),
    entropy: z.number().min(0).default(0.001),
    gamma: z.number().min(0).max(1).default(0.5),
    lambda: z.number().min(0).max(1).default(0.9),
  }).prefault({}),
  attribution: z.boolean().default(true).describe(
    "rerun each learned manager without each analyst: the change in Sharpe is the analyst's share",
  ),
  backend: z.enum(["cpu", "wasm"]).default("cpu").describe(
    "tfjs backend the learned managers train on",
  ),
});
/** A resolved portfolio experiment. */
export type PortfolioExperiment = z.infer<typeof PortfolioExperiment>;

const Stats = z.strictObject({
  cagr: z.number().nullable(),
  sharpe: z.number().nullable(),
  sortino: z.number().nullable(),
  maxDrawdown: z.number(),
  turnover: z.number().nullable(),
  costs: z.number(),
  exposure: z.number().describe("mean gross weight held"),
  endEquity: z.number(),
});

/**
 * What a manager's daily net returns support (`portfolioInference` of `src/portfolio/inference.ts`):
 * intervals of its statistics and, for every manager but 1/N, the test against 1/N.
 */
export const ManagerInference = z.strictObject({
  blockLength: z.strictObject({
    stationary: z.number().describe("expected block length in days (Politis & White)"),
    bandwidth: z.int().min(0).describe("bandwidth M of the flat-top lag window"),
    days: z.int().min(0).describe("daily returns it was chosen from"),
  }).nullable().describe("the block length chosen on the manager's daily net returns"),
  intervals: z.record(z.string(), BootstrapRecord).describe(
    "statistic (Sharpe, Sortino, CAGR, max drawdown) to its stationary-bootstrap interval",
  ),
  test: PairedTestRecord.nullable().describe(
    "Ledoit-Wolf Sharpe difference against 1/N on the same days; null for 1/N itself",
  ),
  verdict: VerdictRecord.nullable().describe("whether it beats 1/N net of costs; null for 1/N"),
  notes: z.array(z.string()).describe("what could not be computed, and why"),
});
/** What a manager's daily net returns support. */
export type ManagerInference = z.infer<typeof ManagerInference>;

/** The settings every manager's inference shares. */
export const PortfolioInference = z.strictObject({
  level: z.number().describe("confidence level of every interval and verdict"),
  resamples: z.int().min(1).describe("bootstrap resamples"),
  seed: z.int().describe("seed of every resampling (the experiment's seed)"),
  against: z.string().describe("the manager every other is tested against (1/N)"),
});
/** The settings every manager's inference shares. */
export type PortfolioInference = z.infer<typeof PortfolioInference>;

/** One manager's result in a portfolio run. */
export const ManagerRecord = z.strictObject({
  name: z.string(),
  kind: z.enum(["baseline", "learned"]),
  description: z.string(),
  stats: Stats,
  fits: z.array(z.strictObject({
    from: z.string(),
    trainedOn: z.int(),
    seed: z.int(),
    epochs: z.int().optional(),
    finalObjective: z.number().optional(),
    secondsPerEpoch: z.number().optional(),
  })),
  /** Weights at each evaluated decision (null: held). */
  weights: z.array(z.array(z.number()).nullable()),
  /** Equity at each decision's fill and at the end. */
  equity: z.array(z.strictObject({ date: z.string(), equity: z.number() })),
  /** Attribution: Sharpe without each analyst minus Sharpe with all. */
  withoutAnalyst: z.record(z.string(), z.number().nullable()).optional(),
  /** Intervals and the test against 1/N (absent in runs made before they were recorded). */
  inference: ManagerInference.optional(),
});

/** A portfolio run's record (`results/<name>/<run-id>/portfolio.json`). */
export const PortfolioRecord = z.strictObject({
  version: z.literal(1),
  kind: z.literal("portfolio"),
  runId: z.string(),
  experiment: z.string(),
  description: z.string(),
  configHash: z.string(),
  config: PortfolioExperiment,
  backend: z.string(),
  analysts: z.array(z.strictObject({
    name: z.string(),
    file: z.string(),
    set: z.array(z.string()),
    configHash: z.string(),
    runId: z.string(),
    /** True: read from the signal store; no analyst was trained by this run. */
    reused: z.boolean(),
    labelMode: z.enum(["direction", "magnitude"]),
    horizon: z.int(),
    folds: z.int(),
    signals: z.int(),
  })),
  universe: z.array(z.string()),
  decisions: z.strictObject({
    total: z.int(),
    evaluated: z.int(),
    from: z.string(),
    to: z.string(),
  }),
  managers: z.array(ManagerRecord),
  /** The managers' inference settings (absent in runs made before it was recorded). */
  inference: PortfolioInference.optional(),
  timings: z.strictObject({ start: z.string(), end: z.string(), analystsSeconds: z.number() }),
  warnings: z.array(z.string()),
});
/** A portfolio run's record. */
export type PortfolioRecord = z.infer<typeof PortfolioRecord>;

/**
 * The text of `schemas/portfolio.schema.json`, the portfolio experiment's JSON Schema (for
 * editors), generated from {@linkcode PortfolioExperiment}; a test fails when the file is stale.
 *
 * @returns the file's contents
 */
export function portfolioJsonSchemaText(): string {
  const generated = z.toJSONSchema(PortfolioExperiment, {
    target: "draft-2020-12",
    io: "input",
    unrepresentable: "any",
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return JSON.stringify(
    {
      $schema,
      title: "Alfred portfolio experiment",
      description:
        "An Alfred portfolio experiment (YAML, kind: portfolio). Generated from src/portfolio/schema.ts: do not edit by hand.",
      ...rest,
    },
    null,
    2,
  ) + "\n";
}
