import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { runBacktest } from "../src/backtest/mod.ts";
import type { Signal } from "../src/backtest/mod.ts";
import { assertFinite, config, near, series } from "./backtest_helpers.ts";

// A tiny calendar: each quarter's last trading day and the next trading day.
const D = [
  "2000-03-31", // Q1 end (signal)
  "2000-04-03", // fill of Q1's signal
  "2000-06-30", // Q2 end
  "2000-07-03", // fill of Q2's signal
  "2000-09-29", // Q3 end
  "2000-10-02", // fill after Q3
  "2000-12-29", // Q4 end
  "2001-01-02", // fill after Q4
];

Deno.test("simple: fills at the next close, reversal pays costs on both legs, exit one quarter later", () => {
  const prices = new Map([["A", series(D.slice(0, 6), [100, 100, 110, 120, 90, 80])]]);
  const signals: Signal[] = [
    { ticker: "A", date: "2000-03-31", score: 0.9 },
    { ticker: "A", date: "2000-06-30", score: 0.2 },
  ];
  const r = runBacktest({
    signals,
    prices,
    index: null,
    riskFree: null,
    labelMode: "direction",
    config: config(), // commission 5 + slippage 5 bps
  });
  const c = 0.001;
  const E0 = 100_000;
  // Long at 100 on 2000-04-03 with all the equity net of its own cost.
  const x1 = E0 / (1 + c);
  const shares1 = x1 / 100;
  // 2000-07-03 at 120: equity, then reverse to short: x2 = (E - c*E) / (1 + c).
  const E1 = shares1 * 120;
  const x2 = (E1 * (1 - c)) / (1 + c);
  const short = x2 / 120;
  // No Q3 signal: the short closes at the next close after Q3's last day: 2000-10-02 at 80.
  const final = x2 + short * (120 - 80) - c * short * 80;

  assertEquals(r.period.start, "2000-04-03");
  assertEquals(r.period.end, "2000-10-02");
  assertEquals(r.series.dates, D.slice(1, 6));
  assertEquals(r.fills.map((f) => [f.date, Math.sign(f.quantity), f.price, f.reason]), [
    ["2000-04-03", 1, 100, "signal"],
    ["2000-07-03", -1, 120, "signal"],
    ["2000-10-02", 1, 80, "exit"],
  ]);
  near(r.fills[0].quantity, shares1, 1e-12, "long shares");
  near(r.fills[1].quantity, -(shares1 + short), 1e-12, "reversal shares");
  // The reversal trades both legs: its notional is the old long plus the new short.
  near(r.fills[1].notional, E1 + x2, 1e-12, "reversal notional");
  near(r.fills[1].commission + r.fills[1].slippage, c * (E1 + x2), 1e-12, "reversal costs");
  near(r.series.strategy[0], x1, 1e-12, "equity after the first fill");
  near(r.series.strategy[1], shares1 * 110, 1e-12, "equity at Q2 end");
  near(r.series.strategy[2], x2, 1e-12, "equity after the reversal");
  near(r.series.strategy[3], x2 + short * 30, 1e-12, "equity at Q3 end");
  near(r.series.strategy[4], final, 1e-12, "final equity");
  near(r.stats.strategy.totalReturn, final / E0 - 1, 1e-12, "total return");
  near(r.stats.strategy.costs.total, E0 - x1 + E1 - x2 + c * short * 80, 1e-9, "costs");

  assertEquals(r.trades.length, 2);
  const [long, shortTrade] = r.trades;
  assertEquals(long.side, "long");
  assertEquals(long.entryDate, "2000-04-03");
  assertEquals(long.exitDate, "2000-07-03");
  assertEquals(shortTrade.side, "short");
  assertEquals(shortTrade.exitDate, "2000-10-02");
  assertEquals(shortTrade.open, false);
  near(long.pnl + shortTrade.pnl, final - E0, 1e-9, "trade pnl sums to the equity change");
  // The reversal's cost is split between the legs in proportion to their shares.
  const reversalCost = E1 - x2;
  near(long.costs, E0 - x1 + (reversalCost * E1) / (E1 + x2), 1e-9, "long leg costs");
  assertEquals(r.stats.strategy.trades, 2);
  assertEquals(r.stats.strategy.winRate, 1);
  assertEquals(r.stats.strategy.exposure, 1);
  assertEquals(r.warnings, []);
  assert(r.assumptions.some((a) => a.includes("next trading day's close")));
});

Deno.test("nuanced: weak scores do not open, holds without trading, exits on the boundary", () => {
  const closes = [100, 100, 100, 100, 110, 110, 121, 121];
  const dates = [...D, "2001-03-30", "2001-04-02", "2001-06-29", "2001-07-02"];
  const prices = new Map([["A", series(dates, [...closes, 100, 100, 80, 80])]]);
  // Q1 0.6: stays flat; Q2 0.8: long; Q3 0.6: hold; Q4 0.45: exit; 2001Q1 0.1: short; 2001Q2 0.5: exit.
  const scores = [0.6, 0.8, 0.6, 0.45, 0.1, 0.5];
  const signalDates = [dates[0], dates[2], dates[4], dates[6], dates[8], dates[10]];
  const signals = signalDates.map((date, i) => ({ ticker: "A", date, score: scores[i] }));
  const r = runBacktest({
    signals,
    prices,
    index: null,
    riskFree: null,
    labelMode: "direction",
    config: config({ strategy: "nuanced", commission_bps: 0, slippage_bps: 0 }),
  });
  assertEquals(r.fills.map((f) => [f.date, Math.sign(f.quantity), f.reason]), [
    ["2000-07-03", 1, "signal"], // long at 100
    ["2001-01-02", -1, "signal"], // exit at 121
    ["2001-04-02", -1, "signal"], // short at 100
    // Cover at 80: the 0.5 signal's exit and the final exit coincide (prices end that day).
    ["2001-07-02", 1, "exit"],
  ]);
  assertEquals(r.warnings, [
    `Prices end on 2001-07-02: positions from 2001Q2's signals close at that close, not the next trading day's ("A")`,
  ]);
  assertEquals(r.period.start, "2000-04-03");
  assertEquals(r.period.end, "2001-07-02");
  // 100000 -> long 100..121 -> 121000 -> short 100..80 -> 145200.
  near(r.stats.strategy.endEquity, 145_200, 1e-12, "final equity");
  assertEquals(r.stats.strategy.costs.total, 0);
  assertEquals(r.trades.map((t) => [t.side, t.entryDate, t.exitDate]), [
    ["long", "2000-07-03", "2001-01-02"],
    ["short", "2001-04-02", "2001-07-02"],
  ]);
  near(r.trades[0].return, 0.21, 1e-12, "long trade return");
  near(r.trades[1].return, 0.2, 1e-12, "short trade return");
  // Flat from 2000-04-03 to 2000-07-03 and from 2001-01-02 to 2001-04-02: 6 of 10 return days exposed.
  near(r.stats.strategy.exposure, 6 / 10, 1e-12, "exposure");
});

Deno.test("top_magnitude switches to the largest predicted move and holds it without resizing", () => {
  const dates = D.slice(0, 6);
  const prices = new Map([
    ["A", series(dates, [10, 10, 10, 10, 12, 15])],
    ["B", series(dates, [20, 20, 16, 16, 16, 16])],
    ["C", series(dates, [30, 30, 31, 32, 33, 34])],
  ]);
  const scores: Record<string, number[]> = { A: [0.05, 0.2], B: [-0.1, -0.1], C: [0.02, 0] };
  const signals: Signal[] = [];
  for (const t of ["A", "B", "C"]) {
    signals.push({ ticker: t, date: dates[0], score: scores[t][0] });
    signals.push({ ticker: t, date: dates[2], score: scores[t][1] });
  }
  const r = runBacktest({
    signals,
    prices,
    index: null,
    riskFree: null,
    labelMode: "magnitude",
    config: config({
      strategy: "top_magnitude",
      mode: "portfolio",
      commission_bps: 0,
      slippage_bps: 0,
    }),
  });
  // Q1: short B (|-0.1| largest) at 20; Q2: cover B at 16 and buy A at 10; exit A at 15.
  assertEquals(r.fills.map((f) => [f.date, f.ticker, Math.sign(f.quantity)]), [
    ["2000-04-03", "B", -1],
    ["2000-07-03", "A", 1],
    ["2000-07-03", "B", 1],
    ["2000-10-02", "A", -1],
  ]);
  // 100000 short B 20 -> 16: 120000; long A 10 -> 15: 180000.
  near(r.stats.strategy.endEquity, 180_000, 1e-12, "final equity");
  const byTicker = Object.fromEntries(r.perTicker.map((p) => [p.ticker, p]));
  near(byTicker.B.pnl, 20_000, 1e-9, "B pnl");
  near(byTicker.A.pnl, 60_000, 1e-9, "A pnl");
  near(byTicker.A.totalReturn, 0.6, 1e-12, "A contribution");
  assertEquals(byTicker.C.trades, 0);
  near(byTicker.C.buyHoldReturn!, 34 / 30 - 1, 1e-12, "C buy and hold");
});

Deno.test("long_short_top_k: equal weights at the fill, long_only, weights by signal", () => {
  const dates = D.slice(0, 6);
  const tickers = ["A", "B", "C", "D", "E"];
  const prices = new Map(tickers.map((t, i) => [t, series(dates, dates.map(() => 10 * (i + 1)))]));
  const score: Record<string, number> = { A: 0.3, B: -0.2, C: 0.1, D: -0.05, E: 0.2 };
  const signals = tickers.map((t) => ({ ticker: t, date: dates[0], score: score[t] }));
  const run = (over: Record<string, unknown>) =>
    runBacktest({
      signals,
      prices,
      index: null,
      riskFree: null,
      labelMode: "magnitude",
      config: config({
        strategy: "long_short_top_k",
        mode: "portfolio",
        commission_bps: 0,
        slippage_bps: 0,
        ...over,
      }),
    });
  const notionalAt = (r: ReturnType<typeof run>) =>
    Object.fromEntries(
      r.fills.filter((f) => f.date === "2000-04-03").map((
        f,
      ) => [f.ticker, Math.sign(f.quantity) * f.notional]),
    );
  // k=2: long A, E; short B, D; each a quarter of the equity.
  assertEquals(notionalAt(run({ k: 2 })), { A: 25_000, E: 25_000, B: -25_000, D: -25_000 });
  // k=3 on 5 names: at most 2 a side.
  assertEquals(notionalAt(run({ k: 3 })), { A: 25_000, E: 25_000, B: -25_000, D: -25_000 });
  assertEquals(notionalAt(run({ k: 2, long_only: true })), { A: 50_000, E: 50_000 });
  const w = notionalAt(run({ k: 2, weighting: "signal" }));
  // |0.3| + |0.2| + |-0.2| + |-0.05| = 0.75
  near(w.A, (100_000 * 0.3) / 0.75, 1e-12, "A signal weight");
  near(w.E, (100_000 * 0.2) / 0.75, 1e-12, "E signal weight");
  near(w.B, (-100_000 * 0.2) / 0.75, 1e-12, "B signal weight");
  near(w.D, (-100_000 * 0.05) / 0.75, 1e-12, "D signal weight");
  // Flat prices: nothing earned, nothing lost.
  assertEquals(run({ k: 2 }).stats.strategy.endEquity, 100_000);
});

Deno.test("per_ticker mode splits the capital equally and the portfolio is the sum of the books", () => {
  const dates = D.slice(0, 6);
  const prices = new Map([
    ["A", series(dates, [10, 10, 11, 12, 12, 13])],
    ["B", series(dates, [50, 50, 45, 40, 40, 42])],
  ]);
  const signals: Signal[] = [
    { ticker: "A", date: dates[0], score: 0.9 },
    { ticker: "B", date: dates[0], score: 0.1 },
    { ticker: "A", date: dates[2], score: 0.8 },
    { ticker: "B", date: dates[2], score: 0.7 },
  ];
  const r = runBacktest({
    signals,
    prices,
    index: null,
    riskFree: null,
    labelMode: "direction",
    config: config({ commission_bps: 0, slippage_bps: 0 }),
  });
  // A: long 10 -> 13 with 50000: 65000. B: short 50 -> 40 (+10000: 60000), long 40 -> 42: 63000.
  const byTicker = Object.fromEntries(r.perTicker.map((p) => [p.ticker, p]));
  near(byTicker.A.totalReturn, 0.3, 1e-12, "A book");
  near(byTicker.B.totalReturn, 0.26, 1e-12, "B book");
  near(r.stats.strategy.endEquity, 128_000, 1e-12, "sum of the books");
  near(byTicker.A.pnl + byTicker.B.pnl, 28_000, 1e-9, "pnl adds up");
  assertEquals(byTicker.A.trades, 1); // held long through Q2 without trading
  assertEquals(byTicker.B.trades, 2);
  assertEquals(r.fills.filter((f) => f.ticker === "A").length, 2);
  near(byTicker.B.maxDrawdown!, 0, 1e-12, "B never fell below its peak at a close");
});

Deno.test("same_close fills at the signal's own close and is flagged", () => {
  const prices = new Map([["A", series(D.slice(0, 6), [100, 105, 110, 120, 90, 80])]]);
  const signals = [{ ticker: "A", date: "2000-03-31", score: 0.9 }];
  const base = { signals, prices, index: null, riskFree: null, labelMode: "direction" as const };
  const same = runBacktest({ ...base, config: config({ fill: "same_close" }) });
  const next = runBacktest({ ...base, config: config() });
  assertEquals(same.fills[0].date, "2000-03-31");
  assertEquals(same.fills[0].price, 100);
  assertEquals(same.fills[1].date, "2000-06-30"); // exit at Q2's last close, no shift
  assert(same.warnings.some((w) => w.startsWith("Same-close fills:")));
  assertEquals(same.sameCloseFills, true);
  assertEquals(next.sameCloseFills, false);
  assert(same.assumptions.some((a) => a.includes("same-close fills, optimistic")));
  assertEquals(next.fills[0].date, "2000-04-03");
  assert(!next.warnings.some((w) => w.startsWith("Same-close fills:")));
});

Deno.test("short borrow accrues daily on the previous close's short value", () => {
  const dates = [
    "2000-03-31",
    "2000-04-03",
    "2000-04-04",
    "2000-04-05",
    "2000-06-30",
    "2000-07-03",
  ];
  const prices = new Map([["A", series(dates, [100, 100, 100, 100, 100, 100])]]);
  const r = runBacktest({
    signals: [{ ticker: "A", date: dates[0], score: 0.1 }],
    prices,
    index: null,
    riskFree: null,
    labelMode: "direction",
    config: config({ commission_bps: 0, slippage_bps: 0, borrow_bps: 252 }),
  });
  // 252 bps a year = 1 bp a day on 100000 short: 10 a day, 4 days held.
  near(r.stats.strategy.costs.borrow, 40, 1e-9, "borrow");
  near(r.stats.strategy.endEquity, 100_000 - 40, 1e-9, "equity");
  near(r.series.strategy[1], 100_000 - 10, 1e-9, "first day's accrual");
  near(r.trades[0].pnl, -40, 1e-9, "borrow charged to the trade");
});

Deno.test("a gap in the signals closes positions one quarter after their signal", () => {
  const dates = [...D, "2001-03-30", "2001-04-02"];
  const prices = new Map([["A", series(dates, [10, 10, 11, 12, 13, 14, 15, 16, 17, 18])]]);
  const signals = [
    { ticker: "A", date: "2000-03-31", score: 0.9 },
    { ticker: "A", date: "2000-09-29", score: 0.9 },
  ];
  const r = runBacktest({
    signals,
    prices,
    index: null,
    riskFree: null,
    labelMode: "direction",
    config: config({ commission_bps: 0, slippage_bps: 0 }),
  });
  assertEquals(r.fills.map((f) => [f.date, f.reason]), [
    ["2000-04-03", "signal"],
    ["2000-07-03", "exit"],
    ["2000-10-02", "signal"],
    ["2001-01-02", "exit"],
  ]);
  assert(r.warnings.some((w) => w.includes("No signals for 2000Q2")));
});

Deno.test("a ticker whose prices end is closed at its last close; nothing trades past the last price", () => {
  const prices = new Map([
    ["A", series(["2000-03-31", "2000-04-03", "2000-05-01"], [10, 10, 12])],
    ["B", series(D.slice(0, 6), [10, 10, 10, 10, 10, 10])],
  ]);
  const signals = [
    { ticker: "A", date: "2000-03-31", score: 0.9 },
    { ticker: "B", date: "2000-03-31", score: 0.9 },
  ];
  const r = runBacktest({
    signals,
    prices,
    index: null,
    riskFree: null,
    labelMode: "direction",
    config: config({ mode: "portfolio", commission_bps: 0, slippage_bps: 0 }),
  });
  const a = r.fills.filter((f) => f.ticker === "A");
  assertEquals(a.map((f) => [f.date, f.reason]), [["2000-04-03", "signal"], [
    "2000-05-01",
    "delisted",
  ]]);
  assert(r.warnings.some((w) => w.includes('"A" has no price after 2000-05-01')));
  near(r.stats.strategy.endEquity, 110_000, 1e-12, "A's gain kept in cash");
  assert(r.fills.every((f) => f.date <= r.period.end));
});

Deno.test("invalid inputs fail with errors that name what is wrong", () => {
  const prices = new Map([["A", series(D.slice(0, 6), [1, 1, 1, 1, 1, 1])]]);
  const base = { prices, index: null, riskFree: null, labelMode: "direction" as const };
  assertMatch(
    assertThrows(() =>
      runBacktest({
        ...base,
        signals: [{ ticker: "A", date: D[0], score: 0.9 }],
        config: config({ strategy: "top_magnitude" }),
      })
    ).message,
    /needs backtest.mode "portfolio"/,
  );
  assertThrows(
    () =>
      runBacktest({
        ...base,
        signals: [{ ticker: "Z", date: D[0], score: 0.9 }],
        config: config(),
      }),
    Error,
    'No prices for signalled tickers "Z": prices cover A',
  );
  assertMatch(
    assertThrows(() =>
      runBacktest({
        ...base,
        signals: [{ ticker: "A", date: D[0], score: 1.5 }],
        config: config(),
      })
    ).message,
    /"A" on "2000-03-31": score 1.5 is not a probability/,
  );
  assertThrows(
    () =>
      runBacktest({
        ...base,
        signals: [{ ticker: "A", date: D[0], score: 0.9 }, {
          ticker: "A",
          date: "2000-03-30",
          score: 0.2,
        }],
        config: config(),
      }),
    Error,
    'Duplicate signal for "A" in quarter 2000Q1',
  );
  assertThrows(
    () =>
      runBacktest({
        ...base,
        signals: [{ ticker: "A", date: D[0], score: 0.9 }],
        config: config({ short_threshold: 0.6 }),
      }),
    Error,
    "short_threshold <= exit_threshold <= long_threshold",
  );
  assertThrows(
    () =>
      runBacktest({
        ...base,
        prices: new Map([["A", series(["2000-03-31", "2000-03-30"], [1, 1])]]),
        signals: [{ ticker: "A", date: D[0], score: 0.9 }],
        config: config(),
      }),
    Error,
    '"A": dates must be strictly ascending',
  );
  assertThrows(
    () => runBacktest({ ...base, signals: [], config: config() }),
    Error,
    "No signals to backtest",
  );
  // Dates are checked once each across tickers: a bad date in a later ticker is still found.
  assertThrows(
    () =>
      runBacktest({
        ...base,
        prices: new Map([
          ["A", series(["2000-03-30", "2000-03-31"], [1, 1])],
          ["B", series(["2000-03-30", "2000-02-30"], [1, 1])],
        ]),
        signals: [{ ticker: "A", date: D[0], score: 0.9 }, { ticker: "B", date: D[0], score: 0.9 }],
        config: config(),
      }),
    Error,
    'Invalid date "2000-02-30" in price series "B"',
  );
});

Deno.test("a short that more than doubles ruins the book: liquidated, stats stay finite", () => {
  const dates = [
    "2000-03-31",
    "2000-04-03",
    "2000-04-04",
    "2000-04-05",
    "2000-06-30",
    "2000-07-03",
  ];
  const prices = new Map([["A", series(dates, [10, 10, 25, 35, 35, 35])]]);
  const r = runBacktest({
    signals: [{ ticker: "A", date: dates[0], score: 0.1 }],
    prices,
    index: { name: "IDX", series: series(dates, [1, 1, 1.1, 1.2, 1.1, 1.0]) },
    riskFree: null,
    labelMode: "direction",
    config: config({ commission_bps: 0, slippage_bps: 0 }),
  });
  // Short 10000 shares at 10; at 25 equity is 100000 - 150000: liquidated at that close.
  assertEquals(r.ruin, [{
    book: 'book "A"',
    capital: 100_000,
    date: "2000-04-04",
    equity: -50_000,
    liquidatedOn: "2000-04-04",
    liquidationValue: -50_000,
    liquidationCosts: 0,
  }]);
  assertEquals(r.fills.map((f) => [f.date, f.price, f.reason]), [
    ["2000-04-03", 10, "signal"],
    ["2000-04-04", 25, "liquidation"],
  ]);
  assertEquals(r.series.strategy, [100_000, -50_000, -50_000, -50_000, -50_000]);
  assertEquals(r.stats.strategy.totalReturn, -1.5);
  assertEquals(r.stats.strategy.cagr, -1);
  assertFinite(r);
});

Deno.test("a long-short book whose short multiplies is liquidated at that bar and trades no more", () => {
  const dates = [
    "2000-03-31", // Q1 signals
    "2000-04-03", // fill: long L, short S
    "2000-05-01", // S at 25: equity 0.25 x, still alive
    "2000-05-02", // S at 40: equity -0.5 x, ruined here
    "2000-05-03",
    "2000-06-30", // Q2 signals: ignored
    "2000-07-03",
    "2000-09-29",
    "2000-10-02",
  ];
  const prices = new Map([
    ["L", series(dates, [10, 10, 10, 10, 12, 12, 12, 12, 12])],
    ["S", series(dates, [10, 10, 25, 40, 60, 5, 5, 5, 5])],
  ]);
  const signals: Signal[] = [
    { ticker: "L", date: dates[0], score: 0.9 },
    { ticker: "S", date: dates[0], score: 0.1 },
    { ticker: "L", date: dates[5], score: 0.1 },
    { ticker: "S", date: dates[5], score: 0.9 },
  ];
  const r = runBacktest({
    signals,
    prices,
    index: null,
    riskFree: null,
    labelMode: "direction",
    config: config({ strategy: "long_short_top_k", mode: "portfolio", k: 1 }),
  });
  // Gross 1 at 10 bps: x = 100000 / 1.001 is invested, half long L, half short S, cash x.
  const c = 0.001;
  const x = 100_000 / (1 + c);
  near(r.series.strategy[0], x, 1e-12, "equity after the fill");
  near(r.series.strategy[1], x + 0.5 * x - 0.5 * x * 2.5, 1e-12, "S at 25: 0.25 x");
  // S at 40: equity x + 0.5 x - 2 x = -0.5 x at the mark; closing 0.5 x of L and 2 x of S
  // costs 10 bps of 2.5 x.
  assertEquals(r.ruin.length, 1);
  const ruin = r.ruin[0];
  assertEquals(ruin.book, "portfolio");
  assertEquals(ruin.date, "2000-05-02");
  assertEquals(ruin.liquidatedOn, "2000-05-02");
  near(ruin.equity, -0.5 * x, 1e-12, "equity at the ruin close");
  near(ruin.liquidationCosts, c * 2.5 * x, 1e-12, "liquidation costs");
  near(ruin.liquidationValue, -0.5 * x - c * 2.5 * x, 1e-12, "liquidation value");
  // Both positions closed at that bar's closes; nothing traded afterwards (Q2's signals ignored).
  assertEquals(
    r.fills.filter((f) => f.date >= "2000-05-02").map((f) => [f.date, f.ticker, f.price, f.reason]),
    [["2000-05-02", "L", 10, "liquidation"], ["2000-05-02", "S", 40, "liquidation"]],
  );
  assert(r.trades.every((t) => !t.open && t.exitDate <= "2000-05-02"));
  // The equity stays at the liquidation value to the end; the statistics use that path.
  for (const e of r.series.strategy.slice(2)) near(e, ruin.liquidationValue, 1e-12, "flat");
  near(r.stats.strategy.endEquity, ruin.liquidationValue, 1e-12, "end equity");
  near(r.stats.strategy.totalReturn, ruin.liquidationValue / 100_000 - 1, 1e-12, "total return");
  assertEquals(r.stats.strategy.cagr, -1);
  assertEquals(r.stats.strategy.maxDrawdownRecovery, null);
  assertEquals(r.stats.strategy.maxDrawdownTradingDays, r.period.days - 1);
  assert(r.assumptions.some((a) => a.startsWith("Ruin: ")));
  assertFinite(r);
});

Deno.test("a ruined book closes a ticker without a price that day at its next close", () => {
  const dates = ["2000-03-31", "2000-04-03", "2000-04-04", "2000-04-05", "2000-04-06"];
  // L has no bar on 2000-04-04, the day S's jump ruins the book: L closes on 2000-04-05.
  const prices = new Map([
    ["L", series(["2000-03-31", "2000-04-03", "2000-04-05", "2000-04-06"], [10, 10, 11, 11])],
    ["S", series(dates, [10, 10, 40, 40, 40])],
  ]);
  const r = runBacktest({
    signals: [
      { ticker: "L", date: dates[0], score: 0.9 },
      { ticker: "S", date: dates[0], score: 0.1 },
    ],
    prices,
    index: null,
    riskFree: null,
    labelMode: "direction",
    config: config({
      strategy: "long_short_top_k",
      mode: "portfolio",
      k: 1,
      commission_bps: 0,
      slippage_bps: 0,
    }),
  });
  // 50000 long L at 10, 50000 short S at 10, cash 100000: at S 40, -50000 at the mark.
  assertEquals(r.ruin, [{
    book: "portfolio",
    capital: 100_000,
    date: "2000-04-04",
    equity: -50_000,
    liquidatedOn: "2000-04-05",
    liquidationValue: -45_000,
    liquidationCosts: 0,
  }]);
  assertEquals(r.fills.slice(2).map((f) => [f.date, f.ticker, f.reason]), [
    ["2000-04-04", "S", "liquidation"],
    ["2000-04-05", "L", "liquidation"],
  ]);
  assertEquals(r.series.strategy, [100_000, -50_000, -45_000, -45_000]);
});

Deno.test("per_ticker: one ruined book is liquidated, the others trade on", () => {
  const dates = ["2000-03-31", "2000-04-03", "2000-04-04", "2000-06-30", "2000-07-03"];
  const prices = new Map([
    ["A", series(dates, [10, 10, 11, 12, 12])],
    ["B", series(dates, [10, 10, 30, 30, 30])],
  ]);
  const r = runBacktest({
    signals: [
      { ticker: "A", date: dates[0], score: 0.9 },
      { ticker: "B", date: dates[0], score: 0.1 },
    ],
    prices,
    index: null,
    riskFree: null,
    labelMode: "direction",
    config: config({ commission_bps: 0, slippage_bps: 0 }),
  });
  // B's book: short 5000 at 10 with 50000; at 30 it holds 100000 - 150000.
  assertEquals(r.ruin.map((x) => [x.book, x.date, x.equity]), [[
    'book "B"',
    "2000-04-04",
    -50_000,
  ]]);
  // A's book is untouched: long 5000 at 10, closed at 12 one quarter later.
  const a = r.trades.find((t) => t.ticker === "A")!;
  assertEquals(a.exitDate, "2000-07-03");
  near(a.pnl, 10_000, 1e-12, "A's pnl");
  assertEquals(r.series.strategy, [100_000, 55_000 - 50_000, 60_000 - 50_000, 60_000 - 50_000]);
});

Deno.test("equity is marked daily: an intra-quarter dip is a real drawdown", () => {
  const dates = [
    "2000-03-31",
    "2000-04-03",
    "2000-04-14",
    "2000-05-15",
    "2000-06-30",
    "2000-07-03",
  ];
  const prices = new Map([["A", series(dates, [100, 100, 80, 95, 110, 110])]]);
  const r = runBacktest({
    signals: [{ ticker: "A", date: dates[0], score: 0.9 }],
    prices,
    index: null,
    riskFree: null,
    labelMode: "direction",
    config: config({ commission_bps: 0, slippage_bps: 0 }),
  });
  // Quarter-end equity alone (100000 -> 110000) would show no drawdown at all.
  assertEquals(r.series.strategy, [100_000, 80_000, 95_000, 110_000, 110_000]);
  const s = r.stats.strategy;
  near(s.maxDrawdown, 0.2, 1e-12, "max drawdown");
  assertEquals(s.maxDrawdownPeak, "2000-04-03");
  assertEquals(s.maxDrawdownTrough, "2000-04-14");
  assertEquals(s.maxDrawdownRecovery, "2000-06-30");
  // Peak 2000-04-03, recovery 2000-06-30: 3 trading days of this calendar (88 calendar days).
  assertEquals(s.maxDrawdownTradingDays, 3);
  near(r.series.drawdown.strategy[2], 0.05, 1e-12, "drawdown series");
});
