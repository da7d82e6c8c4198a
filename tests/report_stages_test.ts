/**
 * The report and journal read what the other stages really produce: a `runBacktest` result as
 * the pipeline records it (columnar series, `null` index statistics, a costs breakdown, positive
 * drawdowns), the trainer's classification and regression metrics (confusion object, IC
 * summaries), per-fold pre-train metrics, and analysis results with SHAP values.
 */
import { assert, assertEquals } from "./assert.ts";
import { runBacktest } from "../src/backtest/engine.ts";
import { BacktestConfig } from "../src/config/schema.ts";
import { classificationMetrics, regressionMetrics } from "../src/train/metrics.ts";
import { renderReport } from "../src/report/report.ts";
import { renderJournal } from "../src/report/journal.ts";
import { backtestSummary } from "../src/report/normalize.ts";
import { metricValue } from "../src/report/format.ts";
import { readRunRecord, type RunRecord, writeRunRecord } from "../src/store/run_record.ts";
import { fixtureRecord, magnitudeRecord } from "./report_helpers.ts";

/** Two tickers, daily closes over 2000 (weekdays), deterministic. */
function prices() {
  const dates: string[] = [];
  for (let t = Date.UTC(2000, 0, 3); t <= Date.UTC(2000, 11, 29); t += 86_400_000) {
    const d = new Date(t);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) dates.push(d.toISOString().slice(0, 10));
  }
  const series = (drift: number, wiggle: number) => ({
    dates,
    close: Float64Array.from(dates, (_, i) => 50 * (1 + drift * i) + wiggle * Math.sin(i / 7)),
  });
  return { dates, map: new Map([["AAA", series(0.002, 2)], ["BBB", series(-0.001, 1.5)]]) };
}

function backtestResult() {
  const { map } = prices();
  const quarterEnds = ["2000-03-31", "2000-06-30", "2000-09-29"];
  const signals = quarterEnds.flatMap((date, q) => [
    { ticker: "AAA", date, score: q === 1 ? 0.3 : 0.8 },
    { ticker: "BBB", date, score: q === 0 ? 0.6 : 0.2 },
  ]);
  return runBacktest({
    signals,
    prices: map,
    index: null,
    riskFree: null,
    labelMode: "direction",
    config: BacktestConfig.parse({}),
  });
}

function stageRecord(): RunRecord {
  const record = fixtureRecord();
  const y = [1, 0, 1, 1, 0, 1, 0, 0, 1, 1];
  const p = [0.8, 0.3, 0.6, 0.4, 0.45, 0.9, 0.7, 0.2, 0.55, 0.65];
  const post = classificationMetrics(y, p) as unknown as Record<string, number>;
  const pre = classificationMetrics(y, p.map(() => 0.5)) as unknown as Record<string, number>;
  record.metrics = {
    mode: "direction",
    preTrain: { eval: { "fold-1": pre, "fold-2": pre } },
    postTrain: { eval: post },
    perTicker: { AAA: post },
    baselines: { majority: classificationMetrics(y, y.map(() => 0.6)) as never },
  };
  record.backtest = backtestResult() as unknown as RunRecord["backtest"];
  record.analysis = {
    shap: {
      meanAbs: { a: 0.2, b: 0.1 },
      maxAdditivityError: 1e-7,
      baseValue: 0.5,
      features: ["a", "b"],
      values: [[0.3, -0.1], [-0.1, 0.1], [0.2, 0.1]],
      featureValues: [[1.2, -0.3], [-0.8, 0.4], [0.1, 0.9]],
      topConfident: [{ row: "AAA 2000Q1", output: 0.9, top: [{ feature: "a", value: 0.3 }] }],
    },
    lossTarget: {
      train: { n: 10, variance: 0.24, targetMseR2: 0.048 },
      eval: { n: 10, variance: 0.25, targetMseR2: 0.05 },
      achievedEvalLoss: 0.61,
    },
  };
  return record;
}

Deno.test("a runBacktest result becomes equity points and clean statistics", () => {
  const raw = backtestResult();
  const summary = backtestSummary(raw)!;
  assertEquals(Object.keys(summary.stats), ["strategy", "basket"], "null index dropped");
  assertEquals(summary.equity.length, raw.series.dates.length);
  assertEquals(summary.equity[0], {
    date: raw.series.dates[0],
    strategy: raw.series.strategy[0],
    basket: raw.series.basket[0],
  });
  assert(!("series" in summary));
  // The costs breakdown reads as its total; the drawdown stays the stage's positive fraction.
  assertEquals(metricValue(summary.stats.strategy, "costs"), raw.stats.strategy.costs.total);
  assertEquals(metricValue(summary.stats.strategy, "maxDrawdown"), raw.stats.strategy.maxDrawdown);
  assertEquals(
    metricValue(summary.stats.strategy, "maxDrawdownDuration"),
    raw.stats.strategy.maxDrawdownTradingDays,
  );
});

Deno.test("the report renders real stage outputs", async () => {
  const { markdown, plots } = await renderReport(stageRecord());
  for (const f of ["confusion.svg", "equity.svg", "drawdown.svg", "shap-beeswarm.svg"]) {
    assert(f in plots, f);
  }
  assert(plots["equity.svg"].includes(">basket<"));
  assert(!plots["equity.svg"].includes(">index<"), "no index series without an index");
  // Per-fold pre-train metrics become one column per fold; confusion counts are not a row.
  assert(markdown.includes("| pre-train eval fold-1 | pre-train eval fold-2 | model eval |"));
  assert(!markdown.includes("| confusion |"));
  assert(markdown.includes("| costs paid |"));
  assert(markdown.includes("Strategy `simple` in per-ticker mode (each eval ticker trades alone"));
  assert(markdown.includes("Risk-free rate: 0"), "the stage's assumptions are listed");
  assert(markdown.includes("| AAA 2000Q1 | 0.9000 | a +0.3000 |"));
  assert(markdown.includes("|  | train | eval |"));
  assert(markdown.includes("| achieved eval loss | 0.6100 |  |"));
  assert(markdown.includes(
    "| target MSE for the desired R² ((1 − R²) × variance) | 0.04800 | 0.05000 |",
  ));
  assert(!/desiredR2|targetMseR2|achievedEvalLoss/.test(markdown), "no internal key names");
});

Deno.test("regression metrics' IC summaries show as IC and ICIR", async () => {
  const record = magnitudeRecord();
  const y = [0.05, -0.02, 0.03, 0.01, -0.04, 0.02];
  const p = [0.03, -0.01, 0.01, 0.02, -0.02, 0.0];
  const q = ["2000Q1", "2000Q1", "2000Q1", "2000Q2", "2000Q2", "2000Q2"];
  const m = regressionMetrics(y, p, q) as unknown as Record<string, number>;
  record.metrics!.postTrain = { eval: m };
  const { markdown } = await renderReport(record);
  const ic = m.ic as unknown as { mean: number; icir: number };
  const rank = m.rankIc as unknown as { mean: number; icir: number };
  // 4 significant digits (every value here lies between 0.0001 and 10000).
  assert(markdown.includes(`| IC | — | ${ic.mean.toPrecision(4)} |`));
  assert(markdown.includes(`| ICIR | — | ${ic.icir.toPrecision(4)} |`));
  assert(markdown.includes(`| rank IC | — | ${rank.mean.toPrecision(4)} |`));
  assert(markdown.includes(`| rank ICIR | — | ${rank.icir.toPrecision(4)} |`));
});

Deno.test("records written from stage outputs read back in the summary shape", async () => {
  const results = await Deno.makeTempDir({ prefix: "alfred-stages-" });
  const dir = await writeRunRecord(results, stageRecord());
  const back = await readRunRecord(dir);
  assert(Array.isArray(back.backtest!.equity) && back.backtest!.equity.length > 100);
  assert(!("series" in back.backtest!));
  const journal = renderJournal([back]);
  assert(journal.includes("19990101T120000Z-3fa9c2d1"));
  await Deno.remove(results, { recursive: true });
});

Deno.test("flattened cost columns, recorded drawdowns and empty unknown rows", async () => {
  const record = fixtureRecord();
  const equity = [
    { date: "2000-01-03", strategy: 100, index: null, basket: 100 },
    { date: "2000-01-04", strategy: 90, index: null, basket: 110 },
    { date: "2000-01-05", strategy: 95, index: null, basket: 99 },
  ];
  record.backtest = {
    stats: {
      strategy: { sharpe: 0.5, costs_total: 12.5, costs_commission: 6.25, endEquity: 95 },
      basket: { sharpe: 0.4, costs_total: 2, costs_commission: 1, endEquity: 99 },
      index: { sharpe: null, costs_total: null, maxDrawdownRecovery: null },
    },
    equity: equity as never,
    // The stage's drawdowns: positive fractions, its own peak rule (deeper than the equity's).
    drawdown: [
      { date: "2000-01-03", strategy: 0, index: null, basket: 0 },
      { date: "2000-01-04", strategy: 0.25, index: null, basket: 0 },
      { date: "2000-01-05", strategy: 0.2, index: null, basket: 0.1 },
    ],
    perTicker: [],
    warnings: [],
    assumptions: [],
  };
  const { markdown, plots } = await renderReport(record);
  assert(markdown.includes("| costs paid | 12.50 | — | 2.00 |"));
  assert(markdown.includes("| commission paid | 6.25 | — | 1.00 |"));
  assert(markdown.includes("| end equity | 95.00 | — | 99.00 |"));
  assert(!markdown.includes("recovery"), "a row with no value anywhere is left out");
  // -25% is drawn from the recorded series (the equity alone would give -10%).
  assert(plots["drawdown.svg"].includes("-25%") || plots["drawdown.svg"].includes("−25%"));
});

Deno.test("a book ruined in runBacktest, recorded by the pipeline, is stated in the report", async () => {
  const { backtestSummary: recordedBacktest } = await import("../src/pipeline.ts");
  const dates = [
    "2000-03-31",
    "2000-04-03",
    "2000-04-04",
    "2000-04-05",
    "2000-06-30",
    "2000-07-03",
  ];
  const raw = runBacktest({
    signals: [
      { ticker: "L", date: dates[0], score: 0.9 },
      { ticker: "S", date: dates[0], score: 0.1 },
    ],
    prices: new Map([
      ["L", { dates, close: Float64Array.from([10, 10, 10, 10, 10, 10]) }],
      ["S", { dates, close: Float64Array.from([10, 10, 40, 45, 50, 50]) }],
    ]),
    index: null,
    riskFree: null,
    labelMode: "direction",
    config: BacktestConfig.parse({ strategy: "long_short_top_k", mode: "portfolio", k: 1 }),
  });
  const record = fixtureRecord();
  record.backtest = recordedBacktest(raw);
  const { markdown } = await renderReport(await writeAndRead(record));
  // 50,000 long, 50,000 short at 10 (less 10 bps): S at 40 leaves about -50,000.
  assert(
    markdown.includes("**⚠ RUINED: The book was ruined on 2000-04-04: its equity was -49,950.05"),
  );
  assert(markdown.includes("| max drawdown duration (trading days) | 4 |"));
  assert(markdown.includes("| total return | -150.20% |"));
});

/** The record as it reads back from disk (what the journal and a rewrite see). */
async function writeAndRead(record: RunRecord): Promise<RunRecord> {
  const results = await Deno.makeTempDir({ prefix: "alfred-ruin-" });
  try {
    return await readRunRecord(await writeRunRecord(results, record));
  } finally {
    await Deno.remove(results, { recursive: true });
  }
}
