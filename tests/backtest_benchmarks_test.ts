import { assert, assertEquals, assertMatch } from "./assert.ts";
import { runBacktest } from "../src/backtest/mod.ts";
import { config, near, quarterEnds, series, signalsFor } from "./backtest_helpers.ts";
import { weekdays } from "./synth_helpers.ts";

const days = weekdays("2000-01-03", "2000-12-29");
const ends = quarterEnds(days);

function ramp(from: number, step: number) {
  return series(days, days.map((_, i) => from + step * i));
}

const prices = new Map([
  ["A", ramp(10, 0.05)],
  ["B", ramp(50, -0.02)],
]);
// The index lacks one day (a holiday of its own): its last value is carried forward.
const indexDates = days.filter((d) => d !== "2000-05-15");
const index = {
  name: "DJIA",
  series: series(indexDates, indexDates.map((d) => 1000 + days.indexOf(d))),
};

Deno.test("benchmarks span exactly the strategy's period and pay the same costs on the purchase", () => {
  // Signals for Q1..Q3: the first fill is the day after Q1's last day; Q3's positions close one
  // quarter later, at Q4's last close (no trading day follows it), which ends the period.
  const signals = signalsFor(["A", "B"], ends.slice(0, 3), (t) => (t === "A" ? 0.8 : 0.3));
  const r = runBacktest({
    signals,
    prices,
    index,
    riskFree: null,
    labelMode: "direction",
    config: config(),
  });
  const start = days.indexOf(ends[0]) + 1;
  assertEquals(r.period.start, days[start]);
  assertEquals(r.period.end, days[days.length - 1]);
  assertEquals(r.series.dates, days.slice(start));
  assertEquals(r.series.index!.length, r.series.dates.length);
  assertEquals(r.series.basket.length, r.series.dates.length);
  assertEquals(r.series.drawdown.index!.length, r.series.dates.length);

  const c = 0.001;
  const invested = 100_000 / (1 + c);
  const level = (d: string) => 1000 + days.indexOf(d);
  near(r.series.index![0], invested, 1e-12, "index after its purchase");
  near(r.stats.index!.costs.total, 100_000 - invested, 1e-9, "index purchase costs");
  near(
    r.stats.index!.endEquity,
    (invested * level(r.period.end)) / level(r.period.start),
    1e-12,
    "index buy and hold",
  );
  // On the index's missing day its previous level is used.
  const k = r.series.dates.indexOf("2000-05-15");
  near(r.series.index![k], r.series.index![k - 1], 1e-15, "carried forward");
  const pa = prices.get("A")!.close;
  const pb = prices.get("B")!.close;
  const end = days.length - 1;
  near(
    r.stats.basket.endEquity,
    (invested / 2) * (pa[end] / pa[start]) + (invested / 2) * (pb[end] / pb[start]),
    1e-12,
    "basket: equal initial weights, no rebalancing",
  );
  assertEquals(r.stats.basket.trades, 2);
  assertEquals(r.stats.index!.trades, 1);
  // Index against itself: beta 1, alpha 0 (its first-day cost is not in the regression).
  near(r.stats.index!.beta!, 1, 1e-9, "index beta");
  near(r.stats.index!.alpha!, 0, 1e-9, "index alpha");
  assertEquals(r.benchmarks.index, "DJIA");
  assertEquals(r.benchmarks.basket, ["A", "B"]);
  assert(r.assumptions.some((a) => a.startsWith("Benchmarks: buy-and-hold")));
});

Deno.test("the risk-free series sets the Sharpe ratio's excess return and is named in the stats", () => {
  const signals = signalsFor(["A", "B"], ends.slice(0, 2), () => 0.8);
  const base = { signals, prices, index, labelMode: "direction" as const, config: config() };
  const none = runBacktest({ ...base, riskFree: null });
  const fivePct = runBacktest({ ...base, riskFree: series(["1999-12-01"], [5]) });
  assertEquals(none.stats.strategy.riskFree, "0 (no risk-free series)");
  assertMatch(fivePct.stats.strategy.riskFree, /risk-free series/);
  const named = runBacktest({
    ...base,
    riskFree: { ...series(["1999-12-01"], [5]), name: "1year" },
  });
  assertMatch(named.stats.strategy.riskFree, /^"1year" \(annualized % yield/);
  assertEquals(named.stats.strategy.sharpe, fivePct.stats.strategy.sharpe);
  assert(fivePct.assumptions.some((a) => a.startsWith("Risk-free rate: the risk-free series")));
  // Same returns, lower mean excess by 5% / 252 a day: Sharpe falls by that over the sd.
  const eq = none.series.strategy;
  const r = eq.map((e, i) => e / (i === 0 ? 100_000 : eq[i - 1]) - 1);
  const m = r.reduce((a, b) => a + b, 0) / r.length;
  const sd = Math.sqrt(r.reduce((a, b) => a + (b - m) ** 2, 0) / (r.length - 1));
  near(none.stats.strategy.sharpe!, (m / sd) * Math.sqrt(252), 1e-9, "sharpe, rf 0");
  near(
    fivePct.stats.strategy.sharpe!,
    ((m - 0.05 / 252) / sd) * Math.sqrt(252),
    1e-9,
    "sharpe, rf 5%",
  );
  const late = runBacktest({ ...base, riskFree: series([days[100]], [5]) });
  assert(late.warnings.some((w) => w.includes("risk-free series starts after")));
  assert(
    fivePct.warnings.some((w) =>
      w.startsWith("The risk-free series ends on 1999-12-01, before the period starts")
    ),
  );
  const ending = runBacktest({ ...base, riskFree: series(["1999-12-01", days[100]], [5, 6]) });
  assert(ending.warnings.some((w) => w.includes(`ends on ${days[100]}, before the period's end`)));
});

Deno.test("an index that starts late is bought at its first value, with a warning", () => {
  const signals = signalsFor(["A", "B"], ends.slice(0, 2), () => 0.8);
  const lateIndex = { name: "SPY", series: series(days.slice(80), days.slice(80).map(() => 100)) };
  const r = runBacktest({
    signals,
    prices,
    index: lateIndex,
    riskFree: null,
    labelMode: "direction",
    config: config(),
  });
  assert(r.warnings.some((w) => w.includes('"SPY" had no price on')));
  assertEquals(r.series.index![0], 100_000);
  assertEquals(r.series.dates.length, r.series.index!.length);
});
