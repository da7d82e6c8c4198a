/**
 * The portfolio manager's training time per epoch, for `deno task bench`: the EIIE-style policy
 * and PPO trained on a fixed synthetic shape (assets × analysts × training decisions, drawn from
 * the seeded `Prng`) on each tfjs backend a portfolio experiment may name, with the portfolio
 * experiment's default network and training settings. An EIIE epoch is one full-batch Adam step
 * over the training decisions; a PPO epoch is one iteration: `rollouts` rollouts of the
 * decisions, then `update_epochs` gradient steps on their batch.
 *
 * Figures only: nothing here is asserted about speed.
 *
 * @module
 */
import { Prng } from "@alfred/core";
import { selectBackend } from "../train/backend.ts";
import type { Decision, EnvironmentConfig } from "./environment.ts";
import { type PolicyTrainConfig, trainEiie } from "./eiie.ts";
import { type PpoConfig, trainPpo } from "./ppo.ts";
import { PortfolioExperiment } from "./schema.ts";

/** One synthetic training set's shape. */
export interface PortfolioBenchShape {
  /** Label in the table, e.g. `quarterly`. */
  name: string;
  assets: number;
  analysts: number;
  /** Training decisions (rebalances whose outcome is known). */
  decisions: number;
}

/** Options of {@linkcode portfolioBench}. */
export interface PortfolioBenchOptions {
  shapes: PortfolioBenchShape[];
  /** tfjs backends, as a portfolio experiment's `backend:` names them. */
  backends: ("cpu" | "wasm")[];
  /** Timed EIIE epochs per cell, after an untimed one-epoch fit. */
  eiieEpochs: number;
  /** Timed PPO iterations per cell, after an untimed one-iteration fit. */
  ppoIterations: number;
  seed: number;
}

/**
 * The default shapes: ten years of quarterly rebalances and of monthly ones over a Dow-30-sized
 * universe with two analysts (the notes' direction and magnitude models).
 */
export const DEFAULT_PORTFOLIO_BENCH: PortfolioBenchOptions = {
  shapes: [
    { name: "quarterly", assets: 30, analysts: 2, decisions: 40 },
    { name: "monthly", assets: 30, analysts: 2, decisions: 120 },
  ],
  backends: ["cpu", "wasm"],
  eiieEpochs: 50,
  ppoIterations: 5,
  seed: 42,
};

/** `--quick`: one tiny shape, so a test runs the section in seconds. */
export const QUICK_PORTFOLIO_BENCH: PortfolioBenchOptions = {
  shapes: [{ name: "tiny", assets: 6, analysts: 2, decisions: 8 }],
  backends: ["cpu"],
  eiieEpochs: 2,
  ppoIterations: 1,
  seed: 42,
};

/**
 * What a bench run trains, in one line for the usage text.
 *
 * @param o the section's options
 * @returns e.g. `EIIE (50 epochs) and PPO (5 iterations), each after one untimed, on 40 quarterly ...`
 */
export function portfolioBenchSummary(o: PortfolioBenchOptions): string {
  const shapes = o.shapes.map((s) => `${s.decisions} ${s.name}`).join(" and ");
  const sizes = [...new Set(o.shapes.map((s) => `${s.assets} assets x ${s.analysts} analysts`))];
  return `EIIE (${o.eiieEpochs} epochs) and PPO (${o.ppoIterations} iterations), each after one ` +
    `untimed, on ${shapes} synthetic decisions of ${sizes.join(", ")}, on ${
      o.backends.join(" and ")
    }`;
}

/** One measured (shape, backend, manager) cell. */
export interface PortfolioBenchRow {
  shape: PortfolioBenchShape;
  backend: string;
  device: string;
  manager: "eiie" | "ppo";
  epochs: number;
  secondsPerEpoch: number;
  /** The training objective after the last epoch (mean net log return per period). */
  finalObjective: number;
}

/** What the section measured, with the settings it trained with. */
export interface PortfolioBenchResult {
  options: PortfolioBenchOptions;
  policy: PolicyTrainConfig;
  ppo: PpoConfig;
  rows: PortfolioBenchRow[];
}

/** The environment the bench trains in: long-only with cash, the schema's default costs. */
const BENCH_ENV: EnvironmentConfig = {
  period: "horizon",
  commission_bps: 5,
  spread_bps: 10,
  long_only: true,
  gross_leverage: 1,
  max_weight: 1,
  initial_capital: 100_000,
  lookback_days: 63,
};

/** A standard normal draw. */
function gauss(prng: Prng): number {
  const u = Math.max(prng.next(), 1e-12), v = prng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Training decisions of a shape, drawn from the seeded generator: standardized signals, trailing
 * return and volatility, and each period's moves (with a little of the first analyst's signal in
 * them, so the policies have something to learn); every asset eligible.
 *
 * @param shape assets, analysts and decisions
 * @param seed the generator's seed
 * @returns the decisions, in time order, 63 trading days apart
 */
export function syntheticDecisions(shape: PortfolioBenchShape, seed: number): Decision[] {
  const prng = new Prng(seed);
  const { assets: n, analysts: a } = shape;
  const out: Decision[] = [];
  for (let k = 0; k < shape.decisions; k++) {
    const signals = Float64Array.from({ length: n * a }, () => gauss(prng));
    const returns = Float64Array.from(
      { length: n },
      (_, i) => 0.01 + 0.02 * signals[i * a] + 0.08 * gauss(prng),
    );
    out.push({
      date: `bench-${k}`,
      signalDay: 63 * k + 62,
      fillDay: 63 * k + 63,
      endDay: 63 * k + 126,
      signals,
      rawSignals: signals,
      eligible: new Uint8Array(n).fill(1),
      momentum: Float64Array.from({ length: n }, () => 0.1 * gauss(prng)),
      volatility: Float64Array.from({ length: n }, () => 0.01 + 0.005 * Math.abs(gauss(prng))),
      returns,
      sinceLastFill: Float64Array.from({ length: n }, () => 0.01 * gauss(prng)),
    });
  }
  return out;
}

/**
 * Trains EIIE and PPO on every shape and backend and reads their seconds per epoch. Leaves the
 * wasm backend active.
 *
 * @param o shapes, backends, epochs and seed
 * @param log progress lines (default: none)
 * @returns one row per (shape, backend, manager)
 */
export async function portfolioBench(
  o: PortfolioBenchOptions,
  log: (line: string) => void = () => {},
): Promise<PortfolioBenchResult> {
  const defaults = PortfolioExperiment.parse({
    kind: "portfolio",
    name: "bench",
    analysts: [{ file: "bench.yaml" }],
  });
  const policy = defaults.policy, ppo = defaults.ppo;
  const rows: PortfolioBenchRow[] = [];
  try {
    for (const shape of o.shapes) {
      const known = syntheticDecisions(shape, o.seed);
      const base = { analysts: shape.analysts, env: BENCH_ENV, seed: o.seed };
      for (const backend of o.backends) {
        const info = await selectBackend(backend);
        const cell =
          `${shape.name} (${shape.decisions} x ${shape.assets} x ${shape.analysts}) on ${backend}`;
        log(`training EIIE on ${cell}: 1 warm-up epoch + ${o.eiieEpochs}`);
        trainEiie(known, { ...base, config: { ...policy, epochs: 1 } }).dispose();
        const eiie = trainEiie(known, { ...base, config: { ...policy, epochs: o.eiieEpochs } });
        eiie.dispose();
        rows.push({
          shape,
          backend: info.backend,
          device: info.device,
          manager: "eiie",
          epochs: o.eiieEpochs,
          secondsPerEpoch: eiie.secondsPerEpoch,
          finalObjective: eiie.history.at(-1) ?? NaN,
        });
        log(`training PPO on ${cell}: 1 warm-up iteration + ${o.ppoIterations}`);
        trainPpo(known, { ...base, config: { ...ppo, iterations: 1 } }).dispose();
        const p = trainPpo(known, { ...base, config: { ...ppo, iterations: o.ppoIterations } });
        p.dispose();
        rows.push({
          shape,
          backend: info.backend,
          device: info.device,
          manager: "ppo",
          epochs: o.ppoIterations,
          secondsPerEpoch: p.secondsPerEpoch,
          finalObjective: p.history.at(-1) ?? NaN,
        });
      }
    }
  } finally {
    await selectBackend("wasm");
  }
  return { options: o, policy, ppo, rows };
}

/**
 * The section as plain-text lines: what an epoch is, the settings, then one row per cell.
 *
 * @param r the section's result
 * @returns printable lines
 */
export function formatPortfolioBench(r: PortfolioBenchResult): string[] {
  const p = r.policy, q = r.ppo;
  const lines = [
    `Portfolio manager: training time per epoch on synthetic decisions (seed ${r.options.seed}), ` +
    `long-only with cash, the portfolio experiment's default settings`,
    `  eiie: hidden ${p.hidden}, Adam lr ${p.learning_rate}; an epoch is one full-batch step over the decisions`,
    `  ppo:  hidden ${q.hidden}, Adam lr ${q.learning_rate}; an epoch is one iteration: ${q.rollouts} rollouts ` +
    `of the decisions, then ${q.update_epochs} update steps`,
    `  after one untimed warm-up epoch per cell`,
  ];
  const devices = new Map(r.rows.map((row) => [row.backend, row.device]));
  for (const [b, d] of devices) lines.push(`  ${b}: ${d}`);
  const header = [
    "shape".padEnd(10),
    "decisions".padStart(9),
    "assets".padStart(6),
    "analysts".padStart(8),
    "backend".padEnd(7),
    "manager".padEnd(7),
    "epochs".padStart(6),
    "s/epoch".padStart(9),
    "objective".padStart(9),
  ].join("  ");
  lines.push("", header, "-".repeat(header.length));
  for (const row of r.rows) {
    lines.push([
      row.shape.name.padEnd(10),
      String(row.shape.decisions).padStart(9),
      String(row.shape.assets).padStart(6),
      String(row.shape.analysts).padStart(8),
      row.backend.padEnd(7),
      row.manager.padEnd(7),
      String(row.epochs).padStart(6),
      row.secondsPerEpoch.toFixed(4).padStart(9),
      (Number.isFinite(row.finalObjective) ? row.finalObjective.toFixed(4) : "-").padStart(9),
    ].join("  "));
  }
  return lines;
}
