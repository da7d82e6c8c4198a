import assert from "node:assert/strict";
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

const DATES = ["2000-01-03", "2000-01-04", "2000-01-05", "2000-01-06", "2000-01-07", "2000-01-10"];
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
  assert.equal(s.riskFree, "0 (no risk-free series)");
  // A 1 bp daily risk-free rate lowers the mean excess return by 0.0001; the sd is unchanged.
  const withRf = performanceStats(
    input(eq, { riskFreeDaily: [1e-4, 1e-4, 1e-4, 1e-4], riskFreeLabel: "T-bill" }),
  );
  near(withRf.sharpe!, (0.0074 / sd) * Math.sqrt(252), 1e-9, "sharpe with risk-free");
  assert.equal(withRf.riskFree, "T-bill");
});

Deno.test("max drawdown: depth, peak, trough, recovery and duration in calendar days", () => {
  const eq = [110, 120, 90, 100, 130, 125];
  const m = maxDrawdown(DATES, 100, eq);
  assert.deepEqual(m, {
    depth: 0.25,
    peak: "2000-01-04",
    trough: "2000-01-05",
    recovery: "2000-01-07",
    days: 3,
  });
  const open = maxDrawdown(DATES.slice(0, 4), 100, [110, 120, 90, 100]);
  assert.equal(open.recovery, null);
  assert.equal(open.days, 2); // peak to the last date
  // The capital is the first peak: costs on day one are a drawdown.
  const first = maxDrawdown(DATES.slice(0, 2), 100, [99.8, 100.5]);
  near(first.depth, 0.002, 1e-12, "first-day drawdown");
  assert.equal(first.peak, "2000-01-03");
  assert.equal(first.recovery, "2000-01-04");
  assert.deepEqual(maxDrawdown(DATES.slice(0, 2), 100, [101, 102]).depth, 0);
  const dd = drawdownSeries(100, eq);
  near(dd[2], 0.25, 1e-15, "drawdown series");
  assert.equal(dd[4], 0);
  const s = performanceStats(input(eq));
  assert.equal(s.maxDrawdown, 0.25);
  assert.equal(s.maxDrawdownDays, 3);
});

Deno.test("CAGR over calendar time and Calmar", () => {
  // 1461 days = 4 years of 365.25 days; 100 -> 146.41 is 10% a year.
  const s = performanceStats({
    ...input([100, 146.41]),
    dates: ["2000-01-01", "2004-01-01"],
  });
  near(s.cagr!, 0.1, 1e-12, "cagr");
  near(s.totalReturn, 0.4641, 1e-12, "total return");
  assert.equal(s.calmar, null); // no drawdown
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
  assert.equal(performanceStats(input(eq)).beta, null);
});

Deno.test("trade statistics: win rate, average win and loss, profit factor", () => {
  const t = tradeStats([
    trade(10, 0.1),
    trade(-5, -0.05),
    trade(20, 0.3),
    trade(0, 0),
    trade(-15, -0.15),
  ]);
  assert.equal(t.trades, 5);
  assert.equal(t.wins, 2);
  near(t.winRate!, 0.4, 1e-15, "win rate");
  near(t.avgWin!, 0.2, 1e-15, "average win");
  near(t.avgLoss!, -0.1, 1e-15, "average loss");
  near(t.profitFactor!, 30 / 20, 1e-15, "profit factor");
  assert.deepEqual(tradeStats([]), {
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
  assert.deepEqual(s.costs, { commission: 1, slippage: 2, borrow: 3, total: 6 });
  assert.throws(() => performanceStats(input([])), /Invalid statistics input/);
});
