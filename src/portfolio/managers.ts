/**
 * The portfolio managers, one registry: baselines (equal weight, inverse volatility,
 * buy-and-hold of the index, the analysts' own top-k long-short, mean-variance with a
 * Ledoit–Wolf covariance) and learned managers (the EIIE-style policy, PPO). Every manager is
 * evaluated the same way ({@linkcode runManager}): walk-forward over the decisions, refitted at
 * the start of each block on the decisions whose outcomes are known by then, its weights put
 * through the environment's constraints and traded by the backtest's book.
 *
 * @module
 */
import { deriveSeed } from "@alfred/core";
import { longShortTopK } from "../backtest/strategies.ts";
import {
  constrain,
  type Decision,
  drift,
  type EnvironmentConfig,
  knownBefore,
  type Panel,
  type PortfolioOutcome,
  simulatePortfolio,
} from "./environment.ts";
import { choleskySolve, ledoitWolf } from "./covariance.ts";
import { type PolicyTrainConfig, trainEiie } from "./eiie.ts";
import { type PpoConfig, trainPpo } from "./ppo.ts";

/** A manager's name, as a portfolio experiment lists it. */
export type ManagerName =
  | "equal_weight"
  | "inverse_volatility"
  | "index"
  | "top_k"
  | "mean_variance"
  | "eiie"
  | "ppo";

/** Every manager's name, baselines first. */
export const MANAGER_NAMES: readonly ManagerName[] = [
  "equal_weight",
  "inverse_volatility",
  "index",
  "top_k",
  "mean_variance",
  "eiie",
  "ppo",
];

/** What a manager is fitted with. */
export interface ManagerContext {
  panel: Panel;
  env: EnvironmentConfig;
  /** Number of analysts (columns of each decision's signals). */
  analysts: number;
  /** top_k: names a side. */
  k: number;
  /** mean_variance: trading days of daily returns in the covariance. */
  covarianceDays: number;
  policy: PolicyTrainConfig;
  ppo: PpoConfig;
  seed: number;
}

/** Weights for a decision given what is held at its close; null places no order (holds). */
export type Policy = (d: Decision, held: Float64Array) => Float64Array | null;

/** What fitting gave: the policy and, for learned managers, its training figures. */
export interface Fitted {
  policy: Policy;
  /** Learned: mean objective per epoch. */
  history?: number[];
  secondsPerEpoch?: number;
  dispose?: () => void;
}

/** One manager. */
export interface Manager {
  name: ManagerName;
  kind: "baseline" | "learned";
  /** One sentence for the report. */
  description: string;
  /** Trades the index series instead of the universe. */
  holdsIndex?: boolean;
  /**
   * Fits the manager on decisions whose outcomes are known (in time order).
   *
   * @param known the training decisions
   * @param ctx the panel, environment and settings
   * @param seed this fit's seed
   */
  fit(known: readonly Decision[], ctx: ManagerContext, seed: number): Fitted;
}

/** Equal weights over the eligible assets (long-only, fully invested). */
function equalWeights(d: Decision): Float64Array {
  const n = d.eligible.reduce((s, x) => s + x, 0);
  return Float64Array.from(d.eligible, (e) => (e && n > 0 ? 1 / n : 0));
}

/** The analysts' signals averaged per asset (each standardized across the assets). */
export function combinedSignal(d: Decision, analysts: number): Float64Array {
  const n = d.eligible.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < analysts; j++) s += d.signals[i * analysts + j];
    out[i] = s / analysts;
  }
  return out;
}

/** Daily simple returns of the eligible assets over `days` closes up to the signal close. */
function trailingReturns(panel: Panel, d: Decision, days: number, assets: number[]): number[][] {
  const rows: number[][] = [];
  for (let t = Math.max(1, d.signalDay - days + 1); t <= d.signalDay; t++) {
    rows.push(assets.map((i) => {
      const a = panel.filled[i][t - 1], b = panel.filled[i][t];
      return Number.isFinite(a) && Number.isFinite(b) ? b / a - 1 : 0;
    }));
  }
  return rows;
}

/** Every manager, by name. */
export const MANAGERS: Readonly<Record<ManagerName, Manager>> = {
  equal_weight: {
    name: "equal_weight",
    kind: "baseline",
    description: "1/N: equal weights over the eligible names, rebalanced every period",
    fit: () => ({ policy: equalWeights }),
  },
  inverse_volatility: {
    name: "inverse_volatility",
    kind: "baseline",
    description: "Weights proportional to 1 / trailing volatility, fully invested, rebalanced",
    fit: () => ({
      policy: (d) => {
        const inv = Float64Array.from(d.volatility, (v, i) => (d.eligible[i] && v > 0 ? 1 / v : 0));
        const s = inv.reduce((a, b) => a + b, 0);
        return s > 0 ? inv.map((x) => x / s) : equalWeights(d);
      },
    }),
  },
  index: {
    name: "index",
    kind: "baseline",
    description: "Buy-and-hold of the index from the first rebalance, never traded again",
    holdsIndex: true,
    fit: () => {
      let bought = false;
      return {
        policy: () => {
          if (bought) return null;
          bought = true;
          return Float64Array.of(1);
        },
      };
    },
  },
  top_k: {
    name: "top_k",
    kind: "baseline",
    description:
      "The analysts' own strategy: long the k best and short the k worst of their averaged standardized signals (long_only: the k best), gross 1 (backtest strategy long_short_top_k)",
    fit: (_known, ctx) => ({
      policy: (d) => {
        const score = combinedSignal(d, ctx.analysts);
        const names = ctx.panel.tickers;
        const scored = names.flatMap((
          t,
          i,
        ) => (d.eligible[i] ? [{ ticker: t, score: score[i] }] : []));
        const targets = longShortTopK.targets(scored, new Map(), {
          labelMode: "magnitude",
          boundary: 0,
          longAbove: 0,
          shortBelow: 0,
          k: ctx.k,
          longOnly: ctx.env.long_only,
          weighting: "equal",
        });
        return Float64Array.from(names, (t) => targets.get(t) ?? 0);
      },
    }),
  },
  mean_variance: {
    name: "mean_variance",
    kind: "baseline",
    description:
      "Mean-variance: the averaged standardized signals as expected returns, Σ⁻¹μ with a Ledoit-Wolf shrunk covariance of trailing daily returns, scaled to the gross limit (long_only: negatives dropped, fully invested)",
    fit: (_known, ctx) => ({
      policy: (d) => {
        const assets = [...d.eligible.keys()].filter((i) => d.eligible[i]);
        if (assets.length === 0) return new Float64Array(d.eligible.length);
        const mu = combinedSignal(d, ctx.analysts);
        const cov = ledoitWolf(trailingReturns(ctx.panel, d, ctx.covarianceDays, assets));
        const x = choleskySolve(cov.matrix, assets.map((i) => mu[i]));
        const w = new Float64Array(d.eligible.length);
        assets.forEach((i, k) => (w[i] = ctx.env.long_only ? Math.max(0, x[k]) : x[k]));
        const gross = w.reduce((s, v) => s + Math.abs(v), 0);
        const target = ctx.env.long_only ? 1 : ctx.env.gross_leverage;
        return gross > 0 ? w.map((v) => (v * target) / gross) : w;
      },
    }),
  },
  eiie: {
    name: "eiie",
    kind: "learned",
    description:
      "EIIE-style policy: a per-asset scorer shared across names (signals, trailing return and volatility, held weight), softmax with cash (long-only) or normalized tanh (long-short), trained by gradient ascent on the mean log return net of costs",
    fit: (known, ctx, seed) => {
      const p = trainEiie(known, {
        analysts: ctx.analysts,
        env: ctx.env,
        config: ctx.policy,
        seed,
      });
      return {
        policy: (d, held) => p.decide(d, held),
        history: p.history,
        secondsPerEpoch: p.secondsPerEpoch,
        dispose: p.dispose,
      };
    },
  },
  ppo: {
    name: "ppo",
    kind: "learned",
    description:
      "PPO: a Dirichlet (long-only, with cash) or Gaussian-through-normalized-tanh (long-short) policy over the same per-asset state, a value critic for the advantage, clipped ratio and entropy bonus; evaluated at the policy's mean",
    fit: (known, ctx, seed) => {
      const p = trainPpo(known, { analysts: ctx.analysts, env: ctx.env, config: ctx.ppo, seed });
      return {
        policy: (d, held) => p.decide(d, held),
        history: p.history,
        secondsPerEpoch: p.secondsPerEpoch,
        dispose: p.dispose,
      };
    },
  },
};

/**
 * A manager by name.
 *
 * @param name the name
 * @returns the manager
 * @throws {RangeError} naming every manager when there is none by that name
 */
export function getManager(name: string): Manager {
  const m = MANAGERS[name as ManagerName];
  if (!m) {
    throw new RangeError(
      `Unknown manager "${name}": expected one of ${MANAGER_NAMES.map((n) => `"${n}"`).join(", ")}`,
    );
  }
  return m;
}

/** How the managers are walked forward over the decisions. */
export interface Schedule {
  /** Decisions before the first evaluated one (learned managers' first training set). */
  warmup: number;
  /** Evaluated decisions between refits. */
  refitEvery: number;
}

/** One fit of a manager in the walk-forward. */
export interface ManagerFit {
  /** The first decision the fit traded. */
  from: string;
  /** Decisions it was trained on. */
  trainedOn: number;
  seed: number;
  history?: number[];
  secondsPerEpoch?: number;
}

/** A manager's walk-forward evaluation. */
export interface ManagerRun {
  manager: Manager;
  /** The evaluated decisions. */
  decisions: Decision[];
  /** Weights traded at each evaluated decision (after the constraints); null: held. */
  weights: (Float64Array | null)[];
  outcome: PortfolioOutcome;
  fits: ManagerFit[];
}

/**
 * Evaluates one manager: the decisions after the warm-up are cut into blocks of `refitEvery`;
 * at each block's first signal close the manager is fitted on the decisions whose periods had
 * ended by then, and decides every decision of the block from the state at its close. The
 * weights pass through {@linkcode constrain} and are traded by the book.
 *
 * @param manager the manager
 * @param decisions every decision, in time order
 * @param ctx the panel, environment and settings
 * @param schedule the warm-up and refit interval
 * @returns its weights, book and fits
 * @throws {RangeError} when the warm-up leaves no decision to evaluate
 */
export function runManager(
  manager: Manager,
  decisions: readonly Decision[],
  ctx: ManagerContext,
  schedule: Schedule,
): ManagerRun {
  const evaluated = decisions.slice(schedule.warmup);
  if (evaluated.length === 0) {
    throw new RangeError(
      `No decision to evaluate: ${decisions.length} decisions and a warm-up of ${schedule.warmup}`,
    );
  }
  const n = ctx.panel.tickers.length;
  const weights: (Float64Array | null)[] = [];
  const fits: ManagerFit[] = [];
  let held: Float64Array = new Float64Array(manager.holdsIndex ? 1 : n);
  let last: Float64Array | null = null;
  for (let b = 0; b < evaluated.length; b += schedule.refitEvery) {
    const block = evaluated.slice(b, b + schedule.refitEvery);
    const known = knownBefore(decisions, block[0].signalDay);
    const seed = deriveSeed(ctx.seed, fits.length, MANAGER_NAMES.indexOf(manager.name));
    const fitted = manager.fit(known, ctx, seed);
    fits.push({
      from: block[0].date,
      trainedOn: known.length,
      seed,
      ...(fitted.history ? { history: fitted.history } : {}),
      ...(fitted.secondsPerEpoch !== undefined ? { secondsPerEpoch: fitted.secondsPerEpoch } : {}),
    });
    try {
      for (const d of block) {
        if (last) held = manager.holdsIndex ? held : drift(last, d.sinceLastFill);
        const proposed = fitted.policy(d, held);
        const w = proposed === null
          ? null
          : manager.holdsIndex
          ? proposed
          : constrain(proposed, d.eligible, ctx.env);
        weights.push(w);
        if (w) last = w;
      }
    } finally {
      fitted.dispose?.();
    }
  }
  const outcome = simulatePortfolio(ctx.panel, evaluated, weights, ctx.env, manager.holdsIndex);
  return { manager, decisions: evaluated, weights, outcome, fits };
}
