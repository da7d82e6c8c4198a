/**
 * The record and the report read what the other stages really produce: a `runBacktest` result
 * as the pipeline records it (`backtestRecord`: points, a costs breakdown made flat, no index
 * row without an index), the trainer's classification and regression metrics (confusion counts,
 * IC summaries), per-fold pre-train metrics, loss targets and analysis results with SHAP values.
 */
import { runBacktest } from "../src/backtest/engine.ts";
import { BacktestConfig } from "../src/config/schema.ts";
import { classificationMetrics, regressionMetrics } from "../src/train/metrics.ts";
import { lossTarget } from "../src/analysis/loss_target.ts";
import { renderReport } from "../src/report/report.ts";
import { renderJournal } from "../src/report/journal.ts";
import { metricValue } from "../src/report/format.ts";
import { backtestRecord, type RunRecord } from "../src/record/mod.ts";
import { readRunRecord, writeRunRecord } from "../src/store/run_record.ts";
import { assert, assertEquals } from "./assert.ts";
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
  const post = classificationMetrics(y, p);
  const pre = classificationMetrics(y, p.map(() => 0.5));
  record.metrics = {
    mode: "direction",
    preTrain: { folds: { "fold-1": { eval: pre }, "fold-2": { eval: pre } } },
    postTrain: { eval: post },
    perTicker: { AAA: post },
    baselines: { majority: classificationMetrics(y, y.map(() => 0.6)) },
  };
  record.backtest = backtestRecord(backtestResult());
  const target = (variance: number) => ({
    ...lossTarget(y.map((v) => v * 0.1)),
    n: 10,
    variance,
    targetMseR2: 0.2 * variance,
  });
  record.analysis = {
    shap: {
      method: "sampled permutation Shapley values against a training background sample",
      baseValue: 0.5,
      maxAdditivityError: 1e-7,
      tolerance: 1e-4,
      meanAbs: { a: 0.2, b: 0.1 },
      features: ["a", "b"],
      values: [[0.3, -0.1], [-0.1, 0.1], [0.2, 0.1]],
      featureValues: [[1.2, -0.3], [-0.8, 0.4], [0.1, 0.9]],
      topConfident: [{ row: "AAA 2000Q1", output: 0.9, top: [{ feature: "a", value: 0.3 }] }],
    },
    lossTarget: { train: target(0.24), eval: target(0.25), achievedEvalLoss: 0.61 },
  };
  return record;
}

Deno.test("a runBacktest result becomes equity points and flat statistics", () => {
  const raw = backtestResult();
  const recorded = backtestRecord(raw);
  assertEquals(
    Object.keys(recorded.stats),
    ["strategy", "basket"],
    "no index row without an index",
  );
  assertEquals(recorded.equity.length, raw.series.dates.length);
  assertEquals(recorded.equity[0], {
    date: raw.series.dates[0],
    strategy: raw.series.strategy[0],
    index: null,
    basket: raw.series.basket[0],
  });
  assert(!("series" in recorded) && !("drawdown" in recorded), "drawdowns follow from the equity");
  // The costs breakdown is flat; the drawdown stays the stage's positive fraction.
  assertEquals(recorded.stats.strategy.costs_total, raw.stats.strategy.costs.total);
  assertEquals(metricValue(recorded.stats.strategy, "costsTotal"), raw.stats.strategy.costs.total);
  assertEquals(recorded.stats.strategy.maxDrawdown, raw.stats.strategy.maxDrawdown);
  assertEquals(
    recorded.stats.strategy.maxDrawdownTradingDays,
    raw.stats.strategy.maxDrawdownTradingDays,
  );
  assertEquals(recorded.stats.strategy.maxDrawdownPeak, raw.stats.strategy.maxDrawdownPeak);
  assertEquals(recorded.trades, raw.trades);
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
  assert(
    markdown.includes(
      "| target MSE for the desired R² ((1 − R²) × variance) | 0.04800 | 0.05000 |",
    ),
  );
  assert(!/desiredR2|targetMseR2|achievedEvalLoss/.test(markdown), "no internal key names");
});

Deno.test("regression metrics' IC summaries show as IC and ICIR", async () => {
  const record = magnitudeRecord();
  const y = [0.05, -0.02, 0.03, 0.01, -0.04, 0.02];
  const p = [0.03, -0.01, 0.01, 0.02, -0.02, 0.0];
  const q = ["2000Q1", "2000Q1", "2000Q1", "2000Q2", "2000Q2", "2000Q2"];
  const m = regressionMetrics(y, p, q);
  record.metrics!.postTrain = { eval: m };
  const { markdown } = await renderReport(record);
  const ic = m.ic!, rank = m.rankIc!;
  // 4 significant digits (every value here lies between 0.0001 and 10000).
  assert(markdown.includes(`| IC | — | ${ic.mean!.toPrecision(4)} |`));
  assert(markdown.includes(`| ICIR | — | ${ic.icir!.toPrecision(4)} |`));
  assert(markdown.includes(`| rank IC | — | ${rank.mean!.toPrecision(4)} |`));
  assert(markdown.includes(`| rank ICIR | — | ${rank.icir!.toPrecision(4)} |`));
});

Deno.test("records written from stage outputs read back equal, their tables from Parquet", async () => {
  const results = await Deno.makeTempDir({ prefix: "alfred-stages-" });
  const record = stageRecord();
  const dir = await writeRunRecord(results, record);
  const back = await readRunRecord(dir);
  assertEquals(back, record);
  assert(back.backtest!.equity.length > 100);
  assertEquals(back.analysis!.shap!.values, record.analysis!.shap!.values);
  const journal = renderJournal([back]);
  assert(journal.includes("19990101T120000Z-3fa9c2d1"));
  await Deno.remove(results, { recursive: true });
});

Deno.test("flat cost rows, drawdowns from the starting equity, and rows without a value", async () => {
  const record = fixtureRecord();
  const backtest = record.backtest!;
  const point = (date: string, strategy: number, basket: number) => ({
    date,
    strategy,
    index: null,
    basket,
  });
  record.backtest = {
    ...backtest,
    stats: {
      strategy: { ...backtest.stats.strategy, costs_total: 12.5, costs_commission: 6.25 },
      basket: { ...backtest.stats.basket, costs_total: 2, costs_commission: 1 },
    },
    // The strategy opens 10% below its starting equity: the first peak is the capital.
    equity: [
      point("2000-01-03", 90_000, 100_000),
      point("2000-01-04", 95_000, 110_000),
      point("2000-01-05", 99_000, 99_000),
    ],
  };
  record.backtest.stats.strategy.maxDrawdownRecovery = null;
  record.backtest.stats.basket.maxDrawdownRecovery = null;
  const { markdown, plots } = await renderReport(record);
  assert(markdown.includes("| costs paid | 12.50 | 2.00 |"));
  assert(markdown.includes("| commission paid | 6.25 | 1.00 |"));
  assert(!markdown.includes("recovery"), "a row with no value anywhere is left out");
  assert(plots["drawdown.svg"].includes("-10%") || plots["drawdown.svg"].includes("−10%"));
});

Deno.test("a book ruined in runBacktest, recorded by the pipeline, is stated in the report", async () => {
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
  record.backtest = backtestRecord(raw);
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
