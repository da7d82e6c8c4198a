/**
 * The inference of a run (intervals, paired tests, verdicts), runs of several seeds, and a
 * sweep's selection statistics, as the pipeline, report and journal use them (issue 22).
 */
import { Prng } from "@alfred/core";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertStringIncludes,
} from "./assert.ts";
import { ROW_METRICS, runInference } from "../src/inference/run.ts";
import { bootstrapRows } from "../src/inference/bootstrap.ts";
import { classificationMetrics } from "../src/train/metrics.ts";
import { sweepSelection, type SweepTrial } from "../src/inference/sweep.ts";
import { deflatedSharpeRatio, sampleMoments } from "../src/inference/deflated.ts";
import { performanceStats } from "../src/backtest/stats.ts";
import { seedList, summarizeSeedRuns, withSeed } from "../src/seeds.ts";
import { renderReport } from "../src/report/report.ts";
import { renderJournal } from "../src/report/journal.ts";
import { parseRecord, type RunRecord } from "../src/record/mod.ts";
import { fixtureRecord } from "./report_helpers.ts";

function dates(n: number): string[] {
  const out: string[] = [];
  const d = new Date(Date.UTC(1998, 0, 1));
  while (out.length < n) {
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

function equityOf(returns: number[], capital = 100): number[] {
  let e = capital;
  return returns.map((r) => (e *= 1 + r));
}

/** A direction run: 200 rows, the model right on 150, the baseline right on 100. */
function directionInput(seed = 7) {
  const rng = Prng.fromState(3);
  const n = 200;
  const y = Float32Array.from({ length: n }, (_, i) => (i % 2));
  // Model right on rows 0..149, wrong on 150..199; baseline right on even rows only.
  const pred = Float32Array.from(
    y,
    (v, i) => (i < 150 ? (v === 1 ? 0.8 : 0.2) : (v === 1 ? 0.3 : 0.7)),
  );
  const majority = new Float32Array(n).fill(0.4);
  const days = dates(300);
  const returns = days.map(() => 0.0005 + 0.01 * (rng.next() - 0.5));
  const index = days.map(() => 0.0002 + 0.01 * (rng.next() - 0.5));
  return {
    mode: "direction" as const,
    y,
    pred,
    quarters: Array.from({ length: n }, (_, i) => `1998Q${(i % 4) + 1}`),
    baselines: { majority },
    backtest: {
      dates: days,
      capital: 100,
      strategy: equityOf(returns),
      riskFreeDaily: null,
      benchmarks: [{ name: "index", label: "buy-and-hold of DJIA", equity: equityOf(index) }],
    },
    seed,
    resamples: 300,
  };
}

Deno.test("runInference counts McNemar's discordant rows by hand and gives its verdict", async () => {
  const r = await runInference(directionInput());
  const mcnemar = r.tests.find((t) => t.test === "mcnemar")!;
  // Model right and baseline wrong: odd rows below 150 (75) ; model wrong, baseline right: even
  // rows from 150 (25).
  assertEquals(mcnemar.details, { b: 75, c: 25, discordant: 100 });
  assertEquals(mcnemar.against, "majority");
  assert(r.verdict!.beats);
  assertStringIncludes(r.verdict!.statement, "beats its best baseline (majority) at 95%");
  assertEquals(r.tests.map((t) => t.test), ["mcnemar", "diebold-mariano", "sharpe-difference"]);
  assertEquals(r.backtestVerdict?.against, "index");
});

Deno.test("runInference: each row metric's interval is that metric's own row bootstrap", async () => {
  // The metrics share one computation per resample; each must still be exactly its own bootstrap.
  const input = directionInput(7);
  const r = await runInference(input);
  const options = { seed: input.seed, resamples: input.resamples!, level: 0.95 };
  const pick = (v: ArrayLike<number>, rows: Int32Array) => Float64Array.from(rows, (i) => v[i]);
  for (const name of ROW_METRICS.direction) {
    const own = bootstrapRows(input.y.length, (rows) => {
      const m = classificationMetrics(pick(input.y, rows), pick(input.pred, rows));
      return m[name];
    }, options);
    assertEquals(r.metrics[name], { ...own }, name);
  }
  assertNotEquals(r.metrics.loss.lower, r.metrics.accuracy.lower);
});

Deno.test("runInference intervals hold the estimate, are seeded and record the block length", async () => {
  const a = await runInference(directionInput(7));
  const b = await runInference(directionInput(7));
  const c = await runInference(directionInput(8));
  assertEquals(a, b);
  assertNotEquals(a.metrics, c.metrics);
  assertEquals(a.metrics.accuracy.estimate, 0.75);
  for (const interval of [...Object.values(a.metrics), ...Object.values(a.backtest)]) {
    assert(interval.lower <= interval.estimate && interval.estimate <= interval.upper);
    assertEquals(interval.level, 0.95);
  }
  assertEquals(Object.keys(a.backtest), ["sharpe", "sortino", "cagr", "maxDrawdown"]);
  assertEquals(a.backtest.sharpe.blockLength, a.blockLength!.stationary);
  assertEquals(a.backtest.sharpe.blockLengthSource, "politis-white");
  // The bootstrapped Sharpe is the statistics table's.
  const input = directionInput(7);
  const table = performanceStats({
    dates: input.backtest.dates,
    equity: input.backtest.strategy,
    capital: 100,
    exposed: new Uint8Array(300),
    trades: [],
    costs: { commission: 0, slippage: 0, borrow: 0, total: 0 },
    tradedNotional: 0,
    riskFreeDaily: null,
    riskFreeLabel: "0",
    indexReturns: null,
  });
  assertAlmostEquals(a.backtest.sharpe.estimate, table.sharpe!, 1e-12);
});

Deno.test("runInference says what it could not compute instead of failing", async () => {
  const input = directionInput();
  const flat = { ...input.backtest, strategy: new Array(300).fill(100) };
  const r = await runInference({ ...input, backtest: flat });
  assertEquals(r.backtestVerdict, null);
  assert(r.notes.some((n) => n.startsWith("Sharpe difference against buy-and-hold of DJIA")));
});

Deno.test("seedList counts from seed, takes a list as given, and defaults to the one seed", () => {
  assertEquals(seedList({ seed: 42, seeds: undefined }), [42]);
  assertEquals(seedList({ seed: 42, seeds: 3 }), [42, 43, 44]);
  assertEquals(seedList({ seed: 42, seeds: [7, 1] }), [7, 1]);
  const e = { ...fixtureRecord().config, seeds: 5 };
  const one = withSeed(e, 44);
  assertEquals(one.seed, 44);
  assert(!("seeds" in one));
});

function seeded(seed: number, accuracy: number, sharpe: number, beats: boolean): RunRecord {
  const r = fixtureRecord();
  const evalSet = { ...r.metrics!.postTrain.eval!, accuracy } as NonNullable<
    RunRecord["metrics"]
  >["postTrain"]["eval"];
  return {
    ...r,
    config: { ...r.config, seed },
    metrics: { ...r.metrics!, postTrain: { ...r.metrics!.postTrain, eval: evalSet } },
    backtest: {
      ...r.backtest!,
      stats: { ...r.backtest!.stats, strategy: { ...r.backtest!.stats.strategy, sharpe } },
    },
    inference: {
      level: 0.95,
      resamples: 10,
      seed,
      metrics: {},
      backtest: {},
      blockLength: null,
      tests: [],
      verdict: {
        beats,
        level: 0.95,
        test: "McNemar (exact-binomial)",
        pValue: beats ? 0.01 : 0.4,
        statement: "x",
        against: "majority",
      },
      backtestVerdict: null,
      notes: [],
    },
  };
}

Deno.test("summarizeSeedRuns gives mean ± std by hand, and the report and journal show it", async () => {
  const records = [
    seeded(42, 0.5, 0.1, true),
    seeded(43, 0.6, 0.3, false),
    seeded(44, 0.7, 0.2, true),
  ];
  const s = summarizeSeedRuns(records);
  assertAlmostEquals(s.metrics.accuracy.mean, 0.6, 1e-12);
  assertAlmostEquals(s.metrics.accuracy.std, 0.1, 1e-12);
  assertAlmostEquals(s.backtest.sharpe.mean, 0.2, 1e-12);
  assertEquals(s.runs.map((r) => r.seed), [42, 43, 44]);
  assertEquals(s.beats, { baseline: 2, buyAndHold: 0 });
  const record = parseRecord(
    JSON.parse(JSON.stringify({ ...records[0], seedRuns: s })),
    "seeded",
  );
  const { markdown } = await renderReport(record);
  assertStringIncludes(markdown, "## Over 3 seeds");
  assertStringIncludes(markdown, "| accuracy | 0.6000 ± 0.1000 |");
  assertStringIncludes(markdown, "<details>\n<summary>Each seed's values</summary>");
  assertStringIncludes(markdown, "(2 of 3 seeds say it does; this is seed 42's test)");
  const journal = renderJournal([record]);
  assertStringIncludes(journal, "0.6000 ± 0.1000");
  assertStringIncludes(journal, "beats majority (McNemar, p 0.01000); 2 of 3 seeds beat");
  assertStringIncludes(journal, "seeds 42, 43, 44");
});

Deno.test("the journal marks a run by its verdict, not by comparing figures", () => {
  const beaten = seeded(42, 0.1, 0.1, false);
  const journal = renderJournal([beaten]);
  const row = journal.split("\n").find((l) => l.startsWith("| [") && l.includes(beaten.runId))!;
  // Accuracy 0.1 is below every baseline, but only the verdict cell carries the mark.
  assertEquals(row.split("⚠").length - 1, 1);
  assertStringIncludes(row, "⚠ not at 95% vs majority (McNemar, p 0.4000)");
});

function trial(label: string, mean: number, seed: number, days: string[]): SweepTrial {
  const rng = Prng.fromState(seed);
  const returns = days.map(() => mean + 0.01 * (rng.next() - 0.5));
  const equity = equityOf(returns);
  const table = performanceStats({
    dates: days,
    equity,
    capital: 100,
    exposed: new Uint8Array(days.length),
    trades: [],
    costs: { commission: 0, slippage: 0, borrow: 0, total: 0 },
    tradedNotional: 0,
    riskFreeDaily: null,
    riskFreeLabel: "0",
    indexReturns: null,
  });
  return { label, sharpe: table.sharpe!, dates: days, equity, capital: 100 };
}

Deno.test("sweepSelection deflates the best point's Sharpe ratio, and gives PBO from 8 points", () => {
  const days = dates(320);
  const trials = Array.from(
    { length: 12 },
    (_, i) => trial(`p${i}`, 0.0002 * i - 0.001, i + 1, days),
  );
  const s = sweepSelection(trials)!;
  const bestAt = trials.reduce((b, t, i) => (t.sharpe > trials[b].sharpe ? i : b), 0);
  assertEquals(s.best, `p${bestAt}`);
  assertEquals(s.trials, 12);
  const perDay = trials.map((t) => t.sharpe / Math.sqrt(252));
  const mean = perDay.reduce((a, b) => a + b) / 12;
  const variance = perDay.reduce((a, b) => a + (b - mean) ** 2, 0) / 11;
  assertAlmostEquals(s.trialVariance, variance, 1e-15);
  const eq = Array.from(trials[bestAt].equity);
  const r = eq.map((e, i) => e / (i ? eq[i - 1] : 100) - 1);
  const m = sampleMoments(r);
  const expected = deflatedSharpeRatio({
    sharpe: perDay[bestAt],
    observations: 320,
    skewness: m.skewness,
    kurtosis: m.kurtosis,
    trials: 12,
    trialVariance: variance,
  });
  assertAlmostEquals(s.dsr.dsr, expected.dsr, 1e-12);
  assert(s.pbo !== null && s.pbo.pbo >= 0 && s.pbo.pbo <= 1);
  assertEquals(s.pbo.trials, 12);
  const few = sweepSelection(trials.slice(0, 7))!;
  assertEquals(few.pbo, null);
  assertEquals(few.pboNote, "PBO needs at least 8 points; this sweep has 7");
  assertEquals(sweepSelection(trials.slice(0, 1)), null);
});
