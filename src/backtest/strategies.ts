/**
 * The strategy registry. A strategy turns one rebalance's scores (one per
 * ticker, formed at the same quarter end) into target weights of the book:
 * signed fractions of equity, gross at most 1.
 *
 * Scores are first centered on a boundary: direction scores (probabilities)
 * on `exit_threshold` (0.5 by default), magnitude scores (predicted moves) on
 * 0. The nuanced thresholds are read relative to that boundary, so for
 * magnitude scores the default bands are a predicted move above +20%
 * (`long_threshold - exit_threshold`) or below -20%.
 *
 * @module
 */
import { lookup } from "../registry.ts";
import type { BacktestConfig } from "../config/schema.ts";
import type { LabelMode } from "./types.ts";

/** A strategy's name, as written in `backtest.strategy`. */
export type StrategyName = BacktestConfig["strategy"];

/** One ticker's score at a rebalance. */
export interface ScoredTicker {
  ticker: string;
  score: number;
}

/** Strategy parameters, with thresholds already centered on the boundary. */
export interface StrategyParams {
  labelMode: LabelMode;
  /** Raw score separating long from short: `exit_threshold` (direction) or 0 (magnitude). */
  boundary: number;
  /** Nuanced: go long when the centered score is above this. */
  longAbove: number;
  /** Nuanced: go short when the centered score is below this. */
  shortBelow: number;
  /** long_short_top_k: names on each side. */
  k: number;
  /** Never short: a short target becomes flat. */
  longOnly: boolean;
  /** equal: each name the same share; signal: shares proportional to |centered score|. */
  weighting: "equal" | "signal";
}

/** A backtester: scores in, target weights out. */
export interface Strategy {
  name: StrategyName;
  /** One sentence for the report. */
  description: string;
  /** True when it ranks tickers against each other (needs `mode: portfolio`). */
  crossSectional: boolean;
  /** False: a position whose side is unchanged is held as is (not traded back to its weight). */
  resizeHeld: boolean;
  /**
   * Target weights for the scored tickers.
   *
   * @param scores this rebalance's scores, one per ticker
   * @param previous the previous rebalance's target weights (absent = flat)
   * @param params centered thresholds and options
   * @returns a weight for every scored ticker (0 = flat); gross at most 1
   */
  targets(
    scores: readonly ScoredTicker[],
    previous: ReadonlyMap<string, number>,
    params: StrategyParams,
  ): Map<string, number>;
}

/**
 * Reads the strategy parameters of a backtest config.
 *
 * @param config the backtest config
 * @param labelMode what the scores mean
 * @returns the parameters with thresholds centered on the boundary
 * @throws {RangeError} when the thresholds are not ordered short ≤ exit ≤ long
 */
export function strategyParams(config: BacktestConfig, labelMode: LabelMode): StrategyParams {
  if (
    !(config.short_threshold <= config.exit_threshold &&
      config.exit_threshold <= config.long_threshold)
  ) {
    throw new RangeError(
      `Invalid backtest thresholds: expected short_threshold <= exit_threshold <= long_threshold, got ${config.short_threshold}, ${config.exit_threshold}, ${config.long_threshold}`,
    );
  }
  return {
    labelMode,
    boundary: labelMode === "direction" ? config.exit_threshold : 0,
    longAbove: config.long_threshold - config.exit_threshold,
    shortBelow: config.short_threshold - config.exit_threshold,
    k: config.k,
    longOnly: config.long_only,
    weighting: config.weighting,
  };
}

function byTicker(a: ScoredTicker, b: ScoredTicker): number {
  return a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : 0;
}

/** Each name's share of the book: equal, or proportional to |centered score| over `names`. */
function shares(
  names: readonly ScoredTicker[],
  params: StrategyParams,
): Map<string, number> {
  const out = new Map<string, number>();
  if (params.weighting === "equal") {
    for (const s of names) out.set(s.ticker, names.length > 0 ? 1 / names.length : 0);
    return out;
  }
  // Summed in ticker order so the weights do not depend on the order of the input.
  let total = 0;
  for (const s of [...names].sort(byTicker)) total += Math.abs(s.score - params.boundary);
  for (const s of names) {
    out.set(s.ticker, total > 0 ? Math.abs(s.score - params.boundary) / total : 0);
  }
  return out;
}

function sideWeights(
  scores: readonly ScoredTicker[],
  params: StrategyParams,
  side: (s: ScoredTicker) => number,
): Map<string, number> {
  const share = shares(scores, params);
  const out = new Map<string, number>();
  for (const s of scores) {
    let dir = side(s);
    if (params.longOnly && dir < 0) dir = 0;
    out.set(s.ticker, dir === 0 ? 0 : dir * share.get(s.ticker)!);
  }
  return out;
}

/** The notes' SimpleBackTester: above the boundary long, otherwise short. */
export const simpleBacktester: Strategy = {
  name: "simple",
  description:
    "Long when the score is above the boundary (exit_threshold, or 0 for magnitudes), otherwise short; an opposite signal exits and reverses",
  crossSectional: false,
  resizeHeld: false,
  targets(scores, _previous, params) {
    return sideWeights(scores, params, (s) => (s.score - params.boundary > 0 ? 1 : -1));
  },
};

/** The notes' NuancedBackTester: strong scores open, crossing the boundary against the position exits. */
export const nuancedBacktester: Strategy = {
  name: "nuanced",
  description:
    "Long above long_threshold, short below short_threshold; a score on the other side of exit_threshold exits to flat; otherwise the position is held",
  crossSectional: false,
  resizeHeld: false,
  targets(scores, previous, params) {
    return sideWeights(scores, params, (s) => {
      const c = s.score - params.boundary;
      const held = Math.sign(previous.get(s.ticker) ?? 0);
      if (c > params.longAbove) return 1;
      if (c < params.shortBelow) return -1;
      if (held > 0 && c < 0) return 0;
      if (held < 0 && c >= 0) return 0;
      return held;
    });
  },
};

/** Hold only the ticker with the largest predicted move, long or short by its sign. */
export const topMagnitude: Strategy = {
  name: "top_magnitude",
  description:
    "Each quarter hold only the ticker with the largest |centered score|, long or short by its sign (long_only: the largest positive score, else flat)",
  crossSectional: true,
  resizeHeld: false,
  targets(scores, _previous, params) {
    const out = new Map<string, number>();
    let best: ScoredTicker | null = null;
    let bestKey = 0;
    for (const s of [...scores].sort(byTicker)) {
      out.set(s.ticker, 0);
      const c = s.score - params.boundary;
      const key = params.longOnly ? c : Math.abs(c);
      if (key > bestKey) {
        best = s;
        bestKey = key;
      }
    }
    if (best) out.set(best.ticker, Math.sign(best.score - params.boundary));
    return out;
  },
};

/** Long the k highest scores and short the k lowest (ranks, whatever their sign). */
export const longShortTopK: Strategy = {
  name: "long_short_top_k",
  description:
    "Long the k highest-scored tickers and short the k lowest (at most half the universe each side; long_only: the k highest only), gross exposure 1; flat when every score is equal",
  crossSectional: true,
  resizeHeld: true,
  targets(scores, _previous, params) {
    const ranked = [...scores].sort((a, b) => b.score - a.score || byTicker(a, b));
    const n = ranked.length;
    const out = new Map<string, number>();
    for (const s of ranked) out.set(s.ticker, 0);
    // Equal scores carry no ranking: the book stays flat.
    if (n === 0 || ranked[0].score === ranked[n - 1].score) return out;
    const m = params.longOnly ? Math.min(params.k, n) : Math.min(params.k, Math.floor(n / 2));
    const longs = ranked.slice(0, m);
    const shorts = params.longOnly ? [] : ranked.slice(n - m);
    const share = shares([...longs, ...shorts], params);
    for (const s of longs) out.set(s.ticker, share.get(s.ticker)!);
    for (const s of shorts) out.set(s.ticker, -share.get(s.ticker)!);
    return out;
  },
};

/** Every strategy, by the name `backtest.strategy` uses. */
export const STRATEGIES: Readonly<Record<StrategyName, Strategy>> = {
  simple: simpleBacktester,
  nuanced: nuancedBacktester,
  top_magnitude: topMagnitude,
  long_short_top_k: longShortTopK,
};

/**
 * Looks a strategy up by name.
 *
 * @param name the strategy name
 * @returns the strategy
 * @throws {RangeError} naming the allowed strategies when the name is unknown
 * @example
 * ```ts
 * getStrategy("simple").crossSectional; // false
 * ```
 */
export function getStrategy(name: string): Strategy {
  return lookup(STRATEGIES, name, "backtest strategy");
}
