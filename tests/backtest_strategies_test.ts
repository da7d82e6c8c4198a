import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  getStrategy,
  longShortTopK,
  nuancedBacktester,
  simpleBacktester,
  STRATEGIES,
  strategyParams,
  topMagnitude,
} from "../src/backtest/strategies.ts";
import { config } from "./backtest_helpers.ts";
import { strategyContract } from "./backtest_strategy_contract.ts";

for (const strategy of Object.values(STRATEGIES)) strategyContract(strategy);

const direction = strategyParams(config(), "direction");
const magnitude = strategyParams(config(), "magnitude");
const one = (score: number) => [{ ticker: "A", score }];

Deno.test("simple: above the boundary long, at or below it short", () => {
  assertEquals(simpleBacktester.targets(one(0.51), new Map(), direction).get("A"), 1);
  assertEquals(simpleBacktester.targets(one(0.5), new Map(), direction).get("A"), -1);
  assertEquals(simpleBacktester.targets(one(0.1), new Map(), direction).get("A"), -1);
  // Magnitudes: the sign of the predicted move.
  assertEquals(simpleBacktester.targets(one(0.001), new Map(), magnitude).get("A"), 1);
  assertEquals(simpleBacktester.targets(one(-0.3), new Map(), magnitude).get("A"), -1);
  const custom = strategyParams(config({ exit_threshold: 0.6 }), "direction");
  assertEquals(simpleBacktester.targets(one(0.55), new Map(), custom).get("A"), -1);
});

Deno.test("nuanced: the notes' state machine, thresholds 0.7 / 0.3 / 0.5", () => {
  const cases: [number, number, number][] = [
    // [held, score, expected]
    [0, 0.71, 1],
    [0, 0.7, 0],
    [0, 0.29, -1],
    [0, 0.3, 0],
    [0, 0.55, 0],
    [1, 0.55, 1], // weak but on its side: hold
    [1, 0.5, 1],
    [1, 0.49, 0], // crossed the boundary against the long: exit
    [1, 0.2, -1], // strong opposite: reverse
    [-1, 0.45, -1],
    [-1, 0.5, 0], // ">= 0.5" exits a short
    [-1, 0.8, 1],
  ];
  for (const [held, score, expected] of cases) {
    const w = nuancedBacktester.targets(one(score), new Map([["A", held]]), direction).get("A");
    assertEquals(w, expected, `held ${held}, score ${score}`);
  }
  // Magnitudes: bands at +-0.2 around 0.
  assertEquals(nuancedBacktester.targets(one(0.25), new Map(), magnitude).get("A"), 1);
  assertEquals(nuancedBacktester.targets(one(0.1), new Map(), magnitude).get("A"), 0);
  assertEquals(nuancedBacktester.targets(one(-0.05), new Map([["A", 1]]), magnitude).get("A"), 0);
});

Deno.test("portfolio weights: equal shares of the scored names, or by |score - boundary|", () => {
  const scores = [{ ticker: "A", score: 0.9 }, { ticker: "B", score: 0.4 }, {
    ticker: "C",
    score: 0.6,
  }];
  assertEquals([...simpleBacktester.targets(scores, new Map(), direction)], [["A", 1 / 3], [
    "B",
    -1 / 3,
  ], ["C", 1 / 3]]);
  const signal = strategyParams(config({ weighting: "signal" }), "direction");
  const w = simpleBacktester.targets(scores, new Map(), signal);
  assert(Math.abs(w.get("A")! - 0.4 / 0.6) < 1e-12);
  assert(Math.abs(w.get("B")! + 0.1 / 0.6) < 1e-12);
  // Nuanced: a flat name's share stays in cash.
  const n = nuancedBacktester.targets(scores, new Map(), direction);
  assertEquals([...n], [["A", 1 / 3], ["B", 0], ["C", 0]]);
});

Deno.test("top_magnitude: the largest |move| by its sign, ties to the first ticker, long_only", () => {
  const scores = [{ ticker: "B", score: 0.1 }, { ticker: "A", score: -0.1 }, {
    ticker: "C",
    score: 0.05,
  }];
  assertEquals([...topMagnitude.targets(scores, new Map(), magnitude)].sort(), [
    ["A", -1],
    ["B", 0],
    ["C", 0],
  ]);
  const longOnly = strategyParams(config({ long_only: true }), "magnitude");
  assertEquals(topMagnitude.targets(scores, new Map(), longOnly).get("B"), 1);
  const down = [{ ticker: "A", score: -0.1 }, { ticker: "B", score: -0.2 }];
  assert([...topMagnitude.targets(down, new Map(), longOnly).values()].every((x) => x === 0));
  // Direction scores: the most confident probability.
  const probs = [{ ticker: "A", score: 0.7 }, { ticker: "B", score: 0.15 }];
  assertEquals(topMagnitude.targets(probs, new Map(), direction).get("B"), -1);
});

Deno.test("long_short_top_k: ranks, k capped at half the universe, flat on equal scores", () => {
  const scores = [0.3, -0.2, 0.1, -0.05, 0.2].map((score, i) => ({ ticker: "ABCDE"[i], score }));
  const k1 = strategyParams(config({ k: 1 }), "magnitude");
  assertEquals(Object.fromEntries(longShortTopK.targets(scores, new Map(), k1)), {
    A: 0.5,
    B: -0.5,
    C: 0,
    D: 0,
    E: 0,
  });
  // Ranking, not sign: with every move positive the lowest is still shorted.
  const up = scores.map((s) => ({ ...s, score: s.score + 1 }));
  assertEquals(longShortTopK.targets(up, new Map(), k1).get("B"), -0.5);
  const flat = scores.map((s) => ({ ...s, score: 0.02 }));
  assert([...longShortTopK.targets(flat, new Map(), k1).values()].every((x) => x === 0));
  assertEquals(longShortTopK.resizeHeld, true);
});

Deno.test("registry: lookup by name, unknown names listed", () => {
  assertEquals(getStrategy("nuanced"), nuancedBacktester);
  assertThrows(
    () => getStrategy("momentum"),
    Error,
    'Unknown backtest strategy "momentum": expected one of "simple"',
  );
  assertEquals(Object.keys(STRATEGIES), [
    "simple",
    "nuanced",
    "top_magnitude",
    "long_short_top_k",
  ]);
  assertEquals(simpleBacktester.crossSectional, false);
  assertEquals(topMagnitude.crossSectional, true);
});
