/**
 * The conformance suite every backtest strategy passes: weights for exactly
 * the scored tickers, finite, gross at most 1, long_only never short,
 * deterministic and independent of input order, flat on an uninformative
 * signal, and no trade from a signal whose ranking or side it ignores.
 *
 * @module
 */
import { assert, assertEquals } from "./assert.ts";
import {
  type ScoredTicker,
  type Strategy,
  type StrategyParams,
  strategyParams,
} from "../src/backtest/strategies.ts";
import type { LabelMode } from "../src/backtest/types.ts";
import { config } from "./backtest_helpers.ts";
import { rng } from "./synth_helpers.ts";

const TICKERS = ["AA", "BB", "CC", "DD", "EE", "FF", "GG"];

function randomScores(u: () => number, mode: LabelMode, n: number): ScoredTicker[] {
  return TICKERS.slice(0, n).map((ticker) => ({
    ticker,
    score: mode === "direction" ? u() : (u() - 0.5) * 0.6,
  }));
}

function variants(mode: LabelMode): StrategyParams[] {
  const out: StrategyParams[] = [];
  for (const long_only of [false, true]) {
    for (const weighting of ["equal", "signal"]) {
      for (const k of [1, 2, 3]) {
        out.push(strategyParams(config({ long_only, weighting, k }), mode));
      }
    }
  }
  return out;
}

/**
 * Registers the conformance tests of one strategy.
 *
 * @param strategy the strategy under test
 */
export function strategyContract(strategy: Strategy): void {
  for (const mode of ["direction", "magnitude"] as const) {
    Deno.test(`strategy contract "${strategy.name}" (${mode}): weights are well formed`, () => {
      const u = rng(7);
      for (const params of variants(mode)) {
        let previous = new Map<string, number>();
        for (let round = 0; round < 40; round++) {
          const n = 1 + Math.floor(u() * TICKERS.length);
          const scores = randomScores(u, mode, n);
          const w = strategy.targets(scores, previous, params);
          assertEquals([...w.keys()].sort(), scores.map((s) => s.ticker).sort());
          let gross = 0;
          for (const [t, x] of w) {
            assert(Number.isFinite(x), `weight of ${t} is ${x}`);
            if (params.longOnly) assert(x >= 0, `long_only shorted ${t}: ${x}`);
            gross += Math.abs(x);
          }
          assert(gross <= 1 + 1e-12, `gross exposure ${gross} > 1`);
          // Deterministic and independent of the order of the scores.
          const again = strategy.targets([...scores].reverse(), previous, params);
          assertEquals([...again].sort(), [...w].sort());
          previous = w;
        }
      }
    });

    Deno.test(`strategy contract "${strategy.name}" (${mode}): an uninformative signal stays flat`, () => {
      for (const params of variants(mode)) {
        if (!params.longOnly) continue;
        // Every score at the boundary: no side, no ranking.
        const scores = TICKERS.map((ticker) => ({ ticker, score: params.boundary }));
        const w = strategy.targets(scores, new Map(), params);
        for (const [t, x] of w) assertEquals(x, 0, `${t} got ${x} from a neutral signal`);
      }
    });

    Deno.test(`strategy contract "${strategy.name}" (${mode}): a larger score never lowers a weight`, () => {
      // Monotone in the score: raising one ticker's score (others fixed) never lowers its weight.
      const u = rng(11);
      for (const params of variants(mode)) {
        if (params.weighting === "signal") continue;
        for (let round = 0; round < 30; round++) {
          const scores = randomScores(u, mode, TICKERS.length);
          const i = Math.floor(u() * scores.length);
          const before = strategy.targets(scores, new Map(), params).get(scores[i].ticker)!;
          const up = scores.map((s, j) =>
            j === i
              ? { ...s, score: mode === "direction" ? Math.min(1, s.score + 0.3) : s.score + 0.3 }
              : s
          );
          const after = strategy.targets(up, new Map(), params).get(scores[i].ticker)!;
          assert(after >= before - 1e-12, `${scores[i].ticker}: ${before} -> ${after}`);
        }
      }
    });
  }
}
