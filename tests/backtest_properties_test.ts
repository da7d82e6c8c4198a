import { assert, assertEquals } from "./assert.ts";
import { runBacktest } from "../src/backtest/mod.ts";
import type { BacktestResult, LabelMode, PriceSeries, Signal } from "../src/backtest/mod.ts";
import {
  assertFinite,
  config,
  normal,
  quarterEnds,
  randomWalk,
  signalsFor,
} from "./backtest_helpers.ts";
import { rng, weekdays } from "./synth_helpers.ts";

// Random price paths with a fixed seed: 6 tickers over three years, daily vol 1.5%.
const DAYS = weekdays("2000-01-03", "2003-01-10");
const TICKERS = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"];
const u0 = rng(42);
const PRICES = new Map<string, PriceSeries>(TICKERS.map((t) => [t, randomWalk(DAYS, u0)]));
const ENDS = quarterEnds(DAYS);
// Signals at the ends of 10 quarters; the position of quarter q is held from the close after
// ENDS[q] to the close after ENDS[q + 1] (the last one exits at the close after ENDS[10]).
const SIGNAL_DATES = ENDS.slice(0, 10);
const FILL = ENDS.slice(0, 11).map((d) => DAYS.indexOf(d) + 1);

/** The true move over each signal's holding period. */
function trueMove(ticker: string, q: number): number {
  const p = PRICES.get(ticker)!.close;
  return p[FILL[q + 1]] / p[FILL[q]] - 1;
}

interface Case {
  label: string;
  labelMode: LabelMode;
  over: Record<string, unknown>;
}

const CASES: Case[] = [
  { label: "simple per_ticker", labelMode: "direction", over: { strategy: "simple" } },
  {
    label: "simple per_ticker long_only",
    labelMode: "direction",
    over: { strategy: "simple", long_only: true },
  },
  {
    label: "simple portfolio",
    labelMode: "direction",
    over: { strategy: "simple", mode: "portfolio" },
  },
  {
    label: "simple portfolio magnitude",
    labelMode: "magnitude",
    over: { strategy: "simple", mode: "portfolio" },
  },
  { label: "nuanced per_ticker", labelMode: "direction", over: { strategy: "nuanced" } },
  {
    label: "nuanced portfolio",
    labelMode: "direction",
    over: { strategy: "nuanced", mode: "portfolio" },
  },
  {
    label: "top_magnitude",
    labelMode: "magnitude",
    over: { strategy: "top_magnitude", mode: "portfolio" },
  },
  {
    label: "top_magnitude long_only",
    labelMode: "magnitude",
    over: { strategy: "top_magnitude", mode: "portfolio", long_only: true },
  },
  {
    label: "long_short_top_k k=2",
    labelMode: "magnitude",
    over: { strategy: "long_short_top_k", mode: "portfolio", k: 2 },
  },
  {
    label: "long_short_top_k k=2 long_only",
    labelMode: "magnitude",
    over: { strategy: "long_short_top_k", mode: "portfolio", k: 2, long_only: true },
  },
  {
    label: "long_short_top_k k=1 direction",
    labelMode: "direction",
    over: { strategy: "long_short_top_k", mode: "portfolio", k: 1 },
  },
];

function run(c: Case, signals: Signal[], over: Record<string, unknown> = {}): BacktestResult {
  return runBacktest({
    signals,
    prices: PRICES,
    index: null,
    riskFree: null,
    labelMode: c.labelMode,
    config: config({ ...c.over, ...over }),
  });
}

function foresight(c: Case): Signal[] {
  return signalsFor(TICKERS, SIGNAL_DATES, (t, q) => {
    const m = trueMove(t, q);
    return c.labelMode === "direction" ? (m > 0 ? 1 : 0) : m;
  });
}

function randomSignals(c: Case, u: () => number): Signal[] {
  return signalsFor(
    TICKERS,
    SIGNAL_DATES,
    () => (c.labelMode === "direction" ? u() : 0.1 * normal(u)),
  );
}

Deno.test("perfect foresight bounds every strategy from above (many random signals)", () => {
  const u = rng(2024);
  for (const c of CASES) {
    for (const costs of [{ commission_bps: 0, slippage_bps: 0 }, {}]) {
      const best = run(c, foresight(c), costs);
      assertEquals(
        best.period.end,
        DAYS[FILL[10]],
        `${c.label}: exit after the last holding period`,
      );
      for (let i = 0; i < 40; i++) {
        const r = run(c, randomSignals(c, u), costs);
        assert(
          r.stats.strategy.endEquity <= best.stats.strategy.endEquity + 1e-6,
          `${c.label} ${
            JSON.stringify(costs)
          }: random signal ${i} ended at ${r.stats.strategy.endEquity}, above foresight's ${best.stats.strategy.endEquity}`,
        );
      }
    }
  }
});

Deno.test("doubling costs never raises returns", () => {
  const u = rng(7);
  for (const c of CASES) {
    for (let i = 0; i < 8; i++) {
      const signals = i === 0 ? foresight(c) : randomSignals(c, u);
      const once = run(c, signals, { commission_bps: 5, slippage_bps: 5, borrow_bps: 50 });
      const twice = run(c, signals, { commission_bps: 10, slippage_bps: 10, borrow_bps: 100 });
      assert(
        twice.stats.strategy.totalReturn <= once.stats.strategy.totalReturn + 1e-12,
        `${c.label} signal ${i}: ${once.stats.strategy.totalReturn} -> ${twice.stats.strategy.totalReturn}`,
      );
      if (once.fills.length > 0) {
        assert(twice.stats.strategy.costs.total > once.stats.strategy.costs.total * 1.5);
      }
    }
  }
});

Deno.test("a flat (never-in-the-market) signal earns exactly zero and pays no costs", () => {
  const flat: [Case, number][] = [
    [{
      label: "simple long_only",
      labelMode: "direction",
      over: { strategy: "simple", long_only: true },
    }, 0.5],
    [{ label: "nuanced", labelMode: "direction", over: { strategy: "nuanced" } }, 0.5],
    [{
      label: "nuanced magnitude",
      labelMode: "magnitude",
      over: { strategy: "nuanced", mode: "portfolio" },
    }, 0],
    [{
      label: "top_magnitude",
      labelMode: "magnitude",
      over: { strategy: "top_magnitude", mode: "portfolio" },
    }, 0],
    [
      {
        label: "long_short_top_k",
        labelMode: "magnitude",
        over: { strategy: "long_short_top_k", mode: "portfolio" },
      },
      0.03,
    ],
  ];
  for (const [c, score] of flat) {
    const r = run(c, signalsFor(TICKERS, SIGNAL_DATES, () => score), { borrow_bps: 100 });
    assert(r.series.strategy.every((e) => e === 100_000), `${c.label}: equity moved`);
    assertEquals(r.stats.strategy.totalReturn, 0, c.label);
    assertEquals(r.stats.strategy.costs.total, 0, c.label);
    assertEquals(r.fills.length, 0, c.label);
    assertEquals(r.trades.length, 0, c.label);
    assertEquals(r.stats.strategy.exposure, 0, c.label);
    assertEquals(r.stats.strategy.maxDrawdown, 0, c.label);
    // The benchmarks still run over the same period.
    assertEquals(r.series.basket.length, r.series.dates.length);
  }
});

Deno.test("accounting identities hold on random signals", () => {
  const u = rng(99);
  for (const c of CASES) {
    const r = run(c, randomSignals(c, u), { borrow_bps: 50 });
    assertFinite(r, c.label);
    const s = r.stats.strategy;
    // Trade pnl (after every cost) adds up to the equity change; so does the per-ticker table.
    const tradePnl = r.trades.reduce((a, t) => a + t.pnl, 0);
    const tickerPnl = r.perTicker.reduce((a, t) => a + t.pnl, 0);
    assert(
      Math.abs(tradePnl - (s.endEquity - s.startEquity)) < 1e-6,
      `${c.label}: trades ${tradePnl}`,
    );
    assert(
      Math.abs(tickerPnl - (s.endEquity - s.startEquity)) < 1e-6,
      `${c.label}: tickers ${tickerPnl}`,
    );
    const fillCosts = r.fills.reduce((a, f) => a + f.commission + f.slippage, 0);
    assert(Math.abs(fillCosts - (s.costs.commission + s.costs.slippage)) < 1e-6);
    assert(Math.abs(s.costs.total - s.costs.commission - s.costs.slippage - s.costs.borrow) < 1e-6);
    // Nothing is held at the end, and no fill falls outside the period.
    assert(r.trades.every((t) => !t.open), c.label);
    assert(r.fills.every((f) => f.date >= r.period.start && f.date <= r.period.end));
    // Every fill is at the close after a quarter's last day (next_close).
    const fillDates = new Set(FILL.map((i) => DAYS[i]));
    assert(r.fills.every((f) => fillDates.has(f.date)), `${c.label}: fill off the schedule`);
  }
});

Deno.test("the same seed gives the same result", () => {
  const c = CASES[8];
  const a = run(c, randomSignals(c, rng(5)));
  const b = run(c, randomSignals(c, rng(5)));
  assertEquals(a, b);
});
