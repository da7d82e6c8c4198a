import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  dailyReturns,
  drawdownSeries,
  maxDrawdown,
  performanceStats,
  type StatsInput,
  tradeStats,
} from "../src/backtest/stats.ts";
import type { Trade } from "../src/backtest/types.ts";
import { near } from "./backtest_helpers.ts";
import { rng, weekdays } from "./synth_helpers.ts";
import type { MaxDrawdown } from "../src/backtest/stats.ts";

const DATES = ["2000-01-03", "2000-01-04", "2000-01-05", "2000-01-06", "2000-01-07", "2000-01-10"];
const DATES_LONG = weekdays("2000-01-03", "2000-03-31");
const NO_COSTS = { commission: 0, slippage: 0, borrow: 0, total: 0 };

function input(equity: number[], over: Partial<StatsInput> = {}): StatsInput {
  return {
    dates: DATES.slice(0, equity.length),
    equity,
    capital: 100,
    exposed: equity.map((_, i) => (i > 0 ? 1 : 0)),
    trades: [],
    costs: NO_COSTS,
    tradedNotional: 0,
    riskFreeDaily: null,
    riskFreeLabel: "0 (no risk-free series)",
    indexReturns: null,
    ...over,
  };
}

function equalDrawdown(
  m: MaxDrawdown,
  want: { peak: string; trough: string; recovery: string | null },
): void {
  assertEquals({ peak: m.peak, trough: m.trough, recovery: m.recovery }, want);
}

function trade(pnl: number, ret: number): Trade {
  return {
    ticker: "A",
    side: "long",
    entryDate: "2000-01-03",
    entryPrice: 1,
    entryNotional: pnl / ret || 1,
    exitDate: "2000-01-04",
    exitPrice: 1,
    open: false,
    pnl,
    return: ret,
    costs: 0,
    bars: 1,
  };
}

Deno.test("daily returns start from the capital, so the first day's costs count", () => {
  const r = dailyReturns(100, [99, 108.9]);
  near(r[0], -0.01, 1e-15, "first");
  near(r[1], 0.1, 1e-15, "second");
});

Deno.test("Sharpe, Sortino and volatility against hand computation", () => {
  // Returns 1%, -2%, 3%, 1% from 100.
  const eq = [101, 101 * 0.98, 101 * 0.98 * 1.03, 101 * 0.98 * 1.03 * 1.01];
  const s = performanceStats(input(eq));
  // mean 0.0075; squared deviations sum to 0.001275; sample sd = sqrt(0.001275 / 3).
  const sd = Math.sqrt(0.001275 / 3);
  near(s.volatility!, sd * Math.sqrt(252), 1e-9, "volatility");
  near(s.sharpe!, (0.0075 / sd) * Math.sqrt(252), 1e-9, "sharpe");
  // Downside deviation: sqrt(0.02^2 / 4) = 0.01.
  near(s.sortino!, (0.0075 / 0.01) * Math.sqrt(252), 1e-9, "sortino");
  assertEquals(s.riskFree, "0 (no risk-free series)");
  // A 1 bp daily risk-free rate lowers the mean excess return by 0.0001; the sd is unchanged.
  const withRf = performanceStats(
    input(eq, { riskFreeDaily: [1e-4, 1e-4, 1e-4, 1e-4], riskFreeLabel: "T-bill" }),
  );
  near(withRf.sharpe!, (0.0074 / sd) * Math.sqrt(252), 1e-9, "sharpe with risk-free");
  assertEquals(withRf.riskFree, "T-bill");
});

Deno.test("max drawdown: depth, peak, trough, recovery and duration in trading days", () => {
  const eq = [110, 120, 90, 100, 130, 125];
  const m = maxDrawdown(DATES, 100, eq);
  assertEquals(m, {
    depth: 0.25,
    peak: "2000-01-04",
    trough: "2000-01-05",
    recovery: "2000-01-07",
    tradingDays: 3,
  });
  const open = maxDrawdown(DATES.slice(0, 4), 100, [110, 120, 90, 100]);
  assertEquals(open.recovery, null);
  assertEquals(open.tradingDays, 2); // peak to the last date
  // The capital is the first peak: costs on day one are a drawdown.
  const first = maxDrawdown(DATES.slice(0, 2), 100, [99.8, 100.5]);
  near(first.depth, 0.002, 1e-12, "first-day drawdown");
  assertEquals(first.peak, "2000-01-03");
  assertEquals(first.recovery, "2000-01-04");
  assertEquals(first.tradingDays, 1);
  assertEquals(maxDrawdown(DATES.slice(0, 2), 100, [101, 102]).depth, 0);
  assertEquals(maxDrawdown(DATES.slice(0, 2), 100, [101, 102]).tradingDays, 0);
  const dd = drawdownSeries(100, eq);
  near(dd[2], 0.25, 1e-15, "drawdown series");
  assertEquals(dd[4], 0);
  const s = performanceStats(input(eq));
  assertEquals(s.maxDrawdown, 0.25);
  assertEquals(s.maxDrawdownTradingDays, 3);
  assertThrows(() => maxDrawdown(DATES, 100, [1, 2]), Error, "2 equity values but 6 dates");
});

Deno.test("drawdown durations count closes, not calendar days: weekends and holidays are free", () => {
  // Peak on Friday 2000-01-07, trough on Monday, recovery on Tuesday 2000-01-18: a weekend,
  // days without closes and the 2000-01-17 holiday lie between, and none of them counts.
  const dates = ["2000-01-06", "2000-01-07", "2000-01-10", "2000-01-14", "2000-01-18"];
  const m = maxDrawdown(dates, 100, [105, 110, 95, 100, 111]);
  equalDrawdown(m, { peak: "2000-01-07", trough: "2000-01-10", recovery: "2000-01-18" });
  assertEquals(m.tradingDays, 3); // 3 closes after the peak; 11 calendar days
  // Not recovered: the peak's close to the last close.
  const open = maxDrawdown(dates, 100, [105, 110, 95, 100, 109]);
  assertEquals(open.recovery, null);
  assertEquals(open.tradingDays, 3);
  // Two drawdowns: from the capital to 97 and back (3 closes), and from 101 to 80 and back
  // (2 closes): the duration is the deepest one's, not the longest one's.
  const two = maxDrawdown(
    [...DATES, "2000-01-11", "2000-01-12"],
    100,
    [99, 98, 97, 101, 80, 101.5, 102, 103],
  );
  assertEquals(two.peak, "2000-01-06");
  assertEquals(two.trough, "2000-01-07");
  assertEquals(two.recovery, "2000-01-10");
  assertEquals(two.tradingDays, 2);
});

Deno.test("a drawdown never lasts longer than the backtest (random curves, and one that never recovers)", () => {
  const u = rng(3);
  for (let round = 0; round < 200; round++) {
    const n = 1 + Math.floor(u() * 40);
    const dates = DATES_LONG.slice(0, n);
    const eq: number[] = [];
    let e = 100;
    for (let i = 0; i < n; i++) eq.push(e *= 1 + (u() - 0.5) * 0.1);
    const m = maxDrawdown(dates, 100, eq);
    assert(m.tradingDays >= 0 && m.tradingDays <= n - 1, `${m.tradingDays} of ${n} closes`);
  }
  // Down on the first close and never back: the whole backtest, closes less one.
  const falling = DATES_LONG.slice(0, 30).map((_, i) => 99 - i);
  assertEquals(maxDrawdown(DATES_LONG.slice(0, 30), 100, falling).tradingDays, 29);
});

Deno.test("a ruined curve: drawdown above 100%, never recovered, flat returns after the ruin", () => {
  const s = performanceStats(input([80, -20, -20, -20]));
  near(s.maxDrawdown, 1.2, 1e-12, "depth");
  assertEquals(s.maxDrawdownRecovery, null);
  assertEquals(s.maxDrawdownTradingDays, 3);
  near(s.totalReturn, -1.2, 1e-12, "total return");
  assertEquals(s.cagr, -1);
  const r = dailyReturns(100, [80, -20, -20, -20]);
  assertEquals(Array.from(r).slice(2), [0, 0]);
  near(r[1], -1.25, 1e-12, "the ruin day's return");
});

Deno.test("CAGR over calendar time and Calmar", () => {
  // 1461 days = 4 years of 365.25 days; 100 -> 146.41 is 10% a year.
  const s = performanceStats({
    ...input([100, 146.41]),
    dates: ["2000-01-01", "2004-01-01"],
  });
  near(s.cagr!, 0.1, 1e-12, "cagr");
  near(s.totalReturn, 0.4641, 1e-12, "total return");
  assertEquals(s.calmar, null); // no drawdown
  const dd = performanceStats({ ...input([80, 146.41]), dates: ["2000-01-01", "2004-01-01"] });
  near(dd.calmar!, 0.1 / 0.2, 1e-12, "calmar");
});

Deno.test("alpha and beta from daily excess returns regressed on the index's", () => {
  const x = [0, 0.01, -0.005, 0.02, 0, -0.01];
  const eq: number[] = [];
  let e = 100;
  for (let i = 0; i < x.length; i++) {
    e *= 1 + (i === 0 ? 0 : 2 * x[i] + 0.001);
    eq.push(e);
  }
  const s = performanceStats(input(eq, { indexReturns: x }));
  near(s.beta!, 2, 1e-9, "beta");
  near(s.alpha!, 0.001 * 252, 1e-9, "alpha");
  assertEquals(performanceStats(input(eq)).beta, null);
});

Deno.test("trade statistics: win rate, average win and loss, profit factor", () => {
  const t = tradeStats([
    trade(10, 0.1),
    trade(-5, -0.05),
    trade(20, 0.3),
    trade(0, 0),
    trade(-15, -0.15),
  ]);
  assertEquals(t.trades, 5);
  assertEquals(t.wins, 2);
  near(t.winRate!, 0.4, 1e-15, "win rate");
  near(t.avgWin!, 0.2, 1e-15, "average win");
  near(t.avgLoss!, -0.1, 1e-15, "average loss");
  near(t.profitFactor!, 30 / 20, 1e-15, "profit factor");
  assertEquals(tradeStats([]), {
    trades: 0,
    wins: 0,
    winRate: null,
    avgWin: null,
    avgLoss: null,
    profitFactor: null,
  });
});

Deno.test("exposure, turnover and costs", () => {
  const s = performanceStats({
    ...input([100, 100, 100]),
    dates: ["2000-01-01", "2001-01-01", "2002-01-01"],
    exposed: [0, 1, 0],
    tradedNotional: 400,
    costs: { commission: 1, slippage: 2, borrow: 3, total: 6 },
  });
  near(s.exposure, 0.5, 1e-15, "exposure");
  // 400 traded over 731 / 365.25 years on an average equity of 100.
  near(s.turnover!, 400 / (731 / 365.25) / 100, 1e-12, "turnover");
  assertEquals(s.costs, { commission: 1, slippage: 2, borrow: 3, total: 6 });
  assertThrows(() => performanceStats(input([])), Error, "Invalid statistics input");
});
