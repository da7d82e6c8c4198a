/**
 * Sequence windows (`src/features/sequence.ts`): their layout, their values checked by hand
 * against the source rows, the leakage rule (no window reads past its row's last close: every
 * later price is perturbed and each row's window must stay bit-identical), the missing-value
 * policy, and the errors that locate a field or length the data cannot serve.
 */
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertMatch,
  assertStringIncludes,
  assertThrows,
  equal,
} from "./assert.ts";
import { capture } from "./cli_helpers.ts";
import { validateCommand } from "../src/cli/validate.ts";
import { synthCommand } from "../src/cli/data.ts";
import { configPathOf } from "../src/cli/data_checks.ts";
import { checkData } from "../src/dataset/prepare.ts";
import { Experiment, FeaturesConfig, type LabelConfig } from "../src/config/schema.ts";
import { semanticIssues } from "../src/config/semantic.ts";
import type { Dataset } from "../src/data/dataset.ts";
import { buildQuarterly, type QuarterlyFrame } from "../src/features/quarterly.ts";
import {
  dailyFieldsOf,
  fieldColumnIndices,
  fillWindow,
  sequenceColumns,
  SequenceError,
} from "../src/features/sequence.ts";
import { memoryDataset, type RawTables } from "./fixtures/features/memory_dataset.ts";
import { rng, weekdays } from "./synth_helpers.ts";
import { dayQuarter, isoToDay, quarterLabel } from "@alfred/core";
import { generateSynthetic, plantZigzag } from "../src/data/synth.ts";
import { parseExperimentText } from "../src/config/load.ts";
import { runExperiment } from "../src/pipeline.ts";
import { levelFeatures } from "../src/report/leakage.ts";
import { quietRun, tinySynthYaml } from "./pipeline_helpers.ts";

const DIRECTION: LabelConfig = { mode: "direction", horizon: 1 };

/** One day of the fixture's prices: every column a daily field can read. */
interface PriceRow {
  date: string;
  ticker: string;
  close: number | null;
  open: number | null;
  high: number | null;
  low: number | null;
  adj_close: number | null;
  volume: number | null;
}

/**
 * A small fixture: AAA trades 2003-01-01..2004-12-31, BBB from 2003-03-20 (too young for a long
 * window in its first quarter). Adjusted closes differ from closes by a slowly drifting factor
 * (dividends), so the returns basis matters. `perturbAfter` multiplies every price and volume
 * dated after it by a day-dependent factor.
 */
function fixtureRows(perturbAfter?: string): PriceRow[] {
  const r = rng(11);
  const out: PriceRow[] = [];
  for (const ticker of ["AAA", "BBB"]) {
    let p = ticker === "AAA" ? 40 : 90;
    let factor = 0.9;
    for (const date of weekdays("2003-01-01", "2004-12-31")) {
      p *= Math.exp(0.03 * (r() - 0.5));
      factor *= 1 + 0.0004 * r();
      const open = p * (1 + 0.01 * (r() - 0.5));
      const high = Math.max(p, open) * (1 + 0.01 * r());
      const low = Math.min(p, open) * (1 - 0.01 * r());
      const volume = Math.round(1e6 * (0.5 + r()));
      if (ticker === "BBB" && date < "2003-03-20") continue;
      const jolt = 1.5 + 0.1 * r(); // drawn every day: the stream does not depend on perturbAfter
      const k = perturbAfter !== undefined && date > perturbAfter ? jolt : 1;
      out.push({
        date,
        ticker,
        close: p * k,
        open: open * k,
        high: high * k,
        low: low * k,
        adj_close: p * factor * k,
        volume: Math.round(volume * k),
      });
    }
  }
  return out;
}

function dataset(rows: PriceRow[], adjusted = true): Dataset {
  const ds = memoryDataset("seq", { prices: rows as unknown as RawTables["prices"] });
  if (adjusted) ds.manifest.returns = "adj_close";
  return ds;
}

function features(sequence: Record<string, unknown>, families: Record<string, unknown> = {}) {
  return FeaturesConfig.parse({
    families: { price: { ma_windows: [5, 20] }, ...families },
    sequence,
  });
}

function build(ds: Dataset, f: FeaturesConfig): QuarterlyFrame {
  return buildQuarterly(ds, f, DIRECTION, { tickers: ["AAA", "BBB"] });
}

/** Each row's window as `ticker|quarter` -> its feature values. */
function windowsOf(q: QuarterlyFrame): Map<string, number[]> {
  const recs = q.frame.toRecords() as Record<string, unknown>[];
  return new Map(
    recs.map((r) => [`${r.ticker}|${r.quarter}`, q.features.map((c) => r[c] as number)]),
  );
}

Deno.test("the window's columns are time-major, oldest step first, and grouped by field", () => {
  const shape = { length: 3, fields: ["close", "return"] };
  assertEquals(sequenceColumns(shape), [
    "close@t-2",
    "return@t-2",
    "close@t-1",
    "return@t-1",
    "close@t-0",
    "return@t-0",
  ]);
  assertEquals(fieldColumnIndices(shape, "return"), [1, 3, 5]);
  assertThrows(() => fieldColumnIndices(shape, "open"), RangeError, '"open" is not in the window');
  assertThrows(() => sequenceColumns({ length: 0, fields: ["close"] }), RangeError);
});

Deno.test("a daily window holds exactly the ticker's last days up to the quarter's last close", () => {
  const rows = fixtureRows();
  const L = 5;
  const q = build(dataset(rows), features({ source: "daily", length: L }));
  const fields = ["close", "open", "high", "low", "return", "log_volume_change"];
  assertEquals(q.sequence, { length: L, fields });
  assertEquals(q.features, sequenceColumns({ length: L, fields }));
  assertEquals(q.families, {});
  const rec = (q.frame.toRecords() as Record<string, unknown>[]).find((r) =>
    r.ticker === "AAA" && r.quarter === "2003Q3"
  )!;
  assertEquals(rec.date, "2003-09-30");
  // By hand from the source rows: the five days ending 2003-09-30, on the adjusted basis.
  const aaa = rows.filter((r) => r.ticker === "AAA");
  const e = aaa.findIndex((r) => r.date === "2003-09-30");
  const last = aaa[e].adj_close!;
  const basis = (k: number, p: number) => p * aaa[k].adj_close! / aaa[k].close!;
  for (let t = 0; t < L; t++) {
    const k = e - (L - 1 - t);
    const lag = L - 1 - t;
    const want: Record<string, number> = {
      close: aaa[k].adj_close! / last - 1,
      open: basis(k, aaa[k].open!) / last - 1,
      high: basis(k, aaa[k].high!) / last - 1,
      low: basis(k, aaa[k].low!) / last - 1,
      return: aaa[k].adj_close! / aaa[k - 1].adj_close! - 1,
      log_volume_change: Math.log(aaa[k].volume! / aaa[k - 1].volume!),
    };
    for (const f of fields) {
      assertAlmostEquals(rec[`${f}@t-${lag}`] as number, want[f], 1e-14, `${f}@t-${lag}`);
    }
  }
  // The last step's close is the window's own normalizer.
  assertEquals(rec["close@t-0"], 0);
  // Without adjusted closes every field is on the raw close.
  const raw = build(dataset(rows, false), features({ source: "daily", length: L }));
  const r2 = (raw.frame.toRecords() as Record<string, unknown>[]).find((r) =>
    r.ticker === "AAA" && r.quarter === "2003Q3"
  )!;
  assertAlmostEquals(r2["open@t-1"] as number, aaa[e - 1].open! / aaa[e].close! - 1, 1e-14);
});

Deno.test("leakage: perturbing every price after a row's date leaves its window bit-identical", () => {
  const configs = [
    features({ source: "daily", length: 70 }),
    features({ source: "quarterly", length: 3 }, { volume: { ma_windows: [5] } }),
  ];
  for (const f of configs) {
    const base = windowsOf(build(dataset(fixtureRows()), f));
    const dates = new Map(
      (build(dataset(fixtureRows()), f).frame.toRecords() as Record<string, unknown>[]).map((
        r,
      ) => [`${r.ticker}|${r.quarter}`, r.date as string]),
    );
    assert(base.size >= 8, `only ${base.size} rows`);
    let compared = 0;
    for (const [key, date] of dates) {
      const after = windowsOf(build(dataset(fixtureRows(date)), f));
      // The row itself is kept (its label moved: it reads the later close) and its window is the same.
      assertEquals(after.get(key), base.get(key), `${f.sequence!.source} window of ${key}`);
      compared++;
    }
    assertEquals(compared, base.size);
    // Perturbing from the day before the row's date does change it: the test can see a leak.
    const [key, date] = [...dates][2];
    const day = weekdays("2003-01-01", date);
    const before = windowsOf(build(dataset(fixtureRows(day[day.length - 2])), f));
    assert(
      !equal(before.get(key), base.get(key)),
      "perturbing the row's own last day changes its window",
    );
  }
});

Deno.test("a quarterly window holds the families' values of the row's last quarters", () => {
  const ds = dataset(fixtureRows());
  const flat = build(ds, FeaturesConfig.parse({ families: { price: { ma_windows: [5, 20] } } }));
  const q = build(
    ds,
    features({ source: "quarterly", length: 3, fields: ["Close_diff_MA_20", "Close"] }),
  );
  assertEquals(q.sequence, { length: 3, fields: ["Close_diff_MA_20", "Close"] });
  assertEquals(q.families, { price: sequenceColumns(q.sequence!) });
  const values = new Map(
    (flat.frame.toRecords() as Record<string, unknown>[]).map((
      r,
    ) => [`${r.ticker}|${r.quarter}`, r]),
  );
  const recs = q.frame.toRecords() as Record<string, unknown>[];
  assert(recs.length > 0);
  for (const r of recs) {
    const [y, n] = (r.quarter as string).split("Q").map(Number);
    for (let lag = 0; lag < 3; lag++) {
      const qn = y * 4 + n - 1 - lag;
      const key = `${r.ticker}|${Math.floor(qn / 4)}Q${qn % 4 + 1}`;
      const src = values.get(key)!;
      assertEquals(r[`Close@t-${lag}`], src.Close, key);
      assertEquals(r[`Close_diff_MA_20@t-${lag}`], src.Close_diff_MA_20, key);
    }
  }
  // The first quarters have no three-quarter history (AAA's 2003Q1 is its first row; BBB's
  // 2003Q2): dropped and counted.
  assert(!recs.some((r) => r.quarter === "2003Q1" || r.quarter === "2003Q2"));
  const drop = q.missing.find((m) => m.family === "sequence (quarterly)")!;
  assertEquals(drop.rule, "drop");
  assert(drop.rows >= 3, `dropped ${drop.rows}`);
});

Deno.test("missing steps follow features.sequence.missing: drop, zero or ffill", () => {
  const rows = fixtureRows();
  // A null volume on one of AAA's days, inside its 2003Q3 window.
  const hole = rows.find((r) => r.ticker === "AAA" && r.date === "2003-08-20")!;
  hole.volume = null;
  const ds = dataset(rows);
  const seq = { source: "daily", length: 80, fields: ["close", "log_volume_change"] };
  const key = (q: QuarterlyFrame) => [...windowsOf(q).keys()];
  const dropped = build(ds, features(seq));
  // BBB's 2003Q2 (about 72 days since its first) and AAA's 2003Q3 (the null) are dropped.
  assert(!key(dropped).includes("BBB|2003Q2"));
  assert(!key(dropped).includes("AAA|2003Q3"));
  assert(key(dropped).includes("BBB|2003Q3"));
  assertEquals(
    dropped.missing.find((m) => m.family === "sequence (daily)"),
    { family: "sequence (daily)", rule: "drop", rows: 3 }, // AAA 2003Q1 too: 62 days
  );
  const zero = build(ds, features({ ...seq, missing: "zero" }));
  const w = windowsOf(zero).get("BBB|2003Q2")!;
  // BBB's oldest steps are before its first day: zeros; its first day's volume change too.
  const days = weekdays("2003-03-20", "2003-06-30").length;
  const lvc = fieldColumnIndices(zero.sequence!, "log_volume_change");
  const close = fieldColumnIndices(zero.sequence!, "close");
  for (let t = 0; t < 80 - days; t++) {
    assertEquals(w[close[t]], 0);
    assertEquals(w[lvc[t]], 0);
  }
  assertEquals(w[lvc[80 - days]], 0);
  assert(w[close[80 - days]] !== 0);
  assert(zero.missing.some((m) => m.family === "sequence (daily)" && m.rule === "zero"));
  // ffill carries the volume change over the null (2 missing steps: the day and the next) only
  // with a limit of 2; a window that starts before the ticker's first day stays dropped.
  const ff1 = key(build(ds, features({ ...seq, missing: "ffill", ffill_limit: 1 })));
  const ff2 = build(ds, features({ ...seq, missing: "ffill", ffill_limit: 2 }));
  assert(!ff1.includes("AAA|2003Q3"));
  assert(key(ff2).includes("AAA|2003Q3"));
  assert(!key(ff2).includes("BBB|2003Q2"));
  const ww = windowsOf(ff2).get("AAA|2003Q3")!;
  const at = weekdays("2003-08-20", "2003-09-30").length - 1; // lag of the null day
  const f = fieldColumnIndices(ff2.sequence!, "log_volume_change");
  assertEquals(ww[f[79 - at]], ww[f[79 - at - 1]]);
  assertEquals(ww[f[79 - at + 1]], ww[f[79 - at - 1]]);
});

Deno.test("a day the ticker did not trade is a missing step of the calendar, not skipped", () => {
  // AAA has no row on 2003-08-20 (BBB trades that day): a gap in its window.
  const rows = fixtureRows().filter((r) => !(r.ticker === "AAA" && r.date === "2003-08-20"));
  const ds = dataset(rows);
  const seq = { source: "daily", length: 40, fields: ["close", "return"] };
  const keys = (q: QuarterlyFrame) => [...windowsOf(q).keys()];
  assert(!keys(build(ds, features(seq))).includes("AAA|2003Q3"));
  // ffill: the gap's close is the day before's; its return and the next day's (which would span
  // two days) are two missing steps, so a limit of 1 leaves the window unfilled.
  assert(
    !keys(build(ds, features({ ...seq, missing: "ffill", ffill_limit: 1 }))).includes("AAA|2003Q3"),
  );
  const q = build(ds, features({ ...seq, missing: "ffill", ffill_limit: 2 }));
  const w = windowsOf(q).get("AAA|2003Q3")!;
  const lag = weekdays("2003-08-20", "2003-09-30").length - 1; // the gap's lag on the calendar
  const at = (f: string, l: number) => w[fieldColumnIndices(q.sequence!, f)[39 - l]];
  assertEquals(at("close", lag), at("close", lag + 1));
  assertEquals(at("return", lag), at("return", lag + 1));
  assertEquals(at("return", lag - 1), at("return", lag + 1));
  // The day after next is a plain one-day return again, and the step before the gap is by hand.
  const aaa = rows.filter((r) => r.ticker === "AAA");
  const e = aaa.findIndex((r) => r.date === "2003-09-30");
  const k = aaa.findIndex((r) => r.date === "2003-08-22");
  assertAlmostEquals(at("return", lag - 2), aaa[k].adj_close! / aaa[k - 1].adj_close! - 1, 1e-14);
  const j = aaa.findIndex((r) => r.date === "2003-08-19");
  assertAlmostEquals(at("close", lag + 1), aaa[j].adj_close! / aaa[e].adj_close! - 1, 1e-14);
});

Deno.test("fillWindow: zero fills, ffill carries within its limit, drop leaves the gap", () => {
  const nan = NaN;
  const w = () => Float64Array.of(1, nan, nan, 2, nan, nan); // 3 steps × 2 fields
  const z = w();
  assertEquals(fillWindow(z, 2, { missing: "zero", ffillLimit: 1 }), "filled");
  assertEquals([...z], [1, 0, 0, 2, 0, 0]);
  const f = w();
  assertEquals(fillWindow(f, 2, { missing: "ffill", ffillLimit: 1 }), "unfilled");
  assertEquals([...f].slice(0, 5), [1, nan, 1, 2, nan]);
  assertEquals(fillWindow(w(), 2, { missing: "drop", ffillLimit: 1 }), "unfilled");
  assertEquals(
    fillWindow(Float64Array.of(1, 2), 2, { missing: "drop", ffillLimit: 1 }),
    "complete",
  );
});

Deno.test("a field the data cannot give is an error located at the field", () => {
  const rows = fixtureRows().map(({ open: _, ...r }) => r) as PriceRow[];
  const ds = dataset(rows);
  assertEquals(dailyFieldsOf(ds.table("prices").columns), [
    "close",
    "high",
    "low",
    "return",
    "log_volume_change",
  ]);
  const e = assertThrows(
    () => build(ds, features({ source: "daily", fields: ["close", "open"] })),
    SequenceError,
    'daily field "open" needs column "open"',
  );
  assertEquals(e.configKey, "features.sequence.fields[1]");
  const q = assertThrows(
    () => build(ds, features({ source: "quarterly", fields: ["Close", "Volume"] })),
    SequenceError,
    '"Volume" is not a feature column of the chosen families: expected one of "Close"',
  );
  assertEquals(q.configKey, "features.sequence.fields[1]");
  // Config-only problems, before any data is read.
  assertEquals(
    semanticIssues(Experiment.parse({
      name: "x",
      data: { dataset: "x", train_tickers: ["A"], eval_tickers: ["B"] },
      label: { mode: "direction" },
      loss: { name: "bce" },
      features: {
        sequence: { source: "daily", fields: ["close", "Close", "close"] },
        exclude: ["Close"],
      },
    })).map((i) => i.path.join(".")),
    ["features.sequence.fields.1", "features.sequence.fields.2", "features.exclude"],
  );
});

Deno.test("checkData locates a window the dataset cannot serve before any long work", () => {
  const ds = dataset(fixtureRows().map(({ high: _, ...r }) => r) as PriceRow[]);
  const experiment = (sequence: Record<string, unknown>) =>
    Experiment.parse({
      name: "x",
      data: { dataset: "seq", train_tickers: ["AAA"], eval_tickers: ["BBB"] },
      features: { families: { price: { ma_windows: [5, 20] } }, sequence },
      split: { method: "by_ticker" },
      label: { mode: "direction" },
      loss: { name: "bce" },
    });
  const sequenceCheck = (sequence: Record<string, unknown>) =>
    checkData(experiment(sequence), ds).checks.find((c) => c.name === "sequence")!.error;
  assertEquals(sequenceCheck({ source: "daily", length: 500 }), null);
  const high = sequenceCheck({ source: "daily", fields: ["close", "high"] }) as SequenceError;
  assertEquals(high.configKey, "features.sequence.fields[1]");
  assertMatch(high.message, /daily field "high" needs column "high" of dataset "seq"/);
  const long = sequenceCheck({ source: "daily", length: 600 }) as SequenceError;
  const days = weekdays("2003-01-01", "2004-12-31").length;
  assertEquals(long.configKey, "features.sequence.length");
  assertEquals(
    long.message,
    `expected at most ${days} steps: the data window "2003-01-01".."2004-12-31" of dataset "seq" has ${days} trading days`,
  );
  const quarters = sequenceCheck({ source: "quarterly", length: 9 }) as SequenceError;
  assertMatch(quarters.message, /expected at most 8 steps: .* spans 8 calendar quarters/);
  const field = sequenceCheck({
    source: "quarterly",
    fields: ["Close_diff_MA_7"],
  }) as SequenceError;
  assertEquals(field.configKey, "features.sequence.fields[0]");
  assertMatch(field.message, /expected one of "Close", "Close_diff_MA_5", "Close_diff_MA_20"/);
  // The data-check command locates it in the YAML by that key.
  assertEquals(configPathOf(field), "features.sequence.fields[0]");
});

// ---- the planted temporal shape of the synthetic generator (SynthParams.shapeSignal) ----

/** Daily log returns of one ticker's closes in a price column laid out ticker by ticker. */
function logReturns(close: ArrayLike<number>, from: number, to: number): number[] {
  const out: number[] = [];
  for (let k = from; k <= to; k++) out.push(Math.log(close[k] / close[k - 1]));
  return out;
}

Deno.test("the planted zigzag keeps the quarter's close, return and last week; only its phase differs", () => {
  // Many iid paths of 40 days; the block is days 18..33 (16 days ending 6 before the last, 39).
  const r = rng(5);
  const normal = () => {
    const u = 1 - r(), v = r();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const diffs: number[] = [];
  let sumA = 0, sumB = 0, sumA2 = 0, sumB2 = 0;
  const paths = 3000;
  for (let p = 0; p < paths; p++) {
    const close = new Float64Array(40);
    close[0] = 50;
    for (let k = 1; k < 40; k++) {
      close[k] = Math.round(close[k - 1] * Math.exp(0.015 * normal()) * 100) / 100;
    }
    const copy = () => ({
      open: close.map((c) => c),
      high: close.map((c) => c * 1.01),
      low: close.map((c) => c * 0.99),
      close: close.slice(),
    });
    const a = copy(), b = copy();
    plantZigzag(a, 18, 1);
    plantZigzag(b, 18, -1);
    // The quarter's last close and return, and the last 7 days (Close_diff_MA_7) are identical.
    assertEquals(a.close.subarray(33), b.close.subarray(33));
    assertEquals(a.close.subarray(0, 18), b.close.subarray(0, 18));
    // Each pair's end close is untouched and its two returns are the same, in the other order
    // where they were swapped (to the cent's rounding).
    for (let j = 0; j < 8; j++) {
      const m = 18 + 2 * j;
      assertEquals(a.close[m + 1], close[m + 1]);
      const ra = logReturns(a.close, m, m + 1).sort(), rb = logReturns(b.close, m, m + 1).sort();
      assertAlmostEquals(ra[0], rb[0], 2e-3);
      assertAlmostEquals(ra[1], rb[1], 2e-3);
      // The phase: (lower, higher) on even pairs under +1, on odd pairs under −1.
      const [a0, a1] = logReturns(a.close, m, m + 1);
      const [b0, b1] = logReturns(b.close, m, m + 1);
      const s = j % 2 === 0 ? 1 : -1;
      assert(s * (a1 - a0) >= -2e-3 && s * (b0 - b1) >= -2e-3, `pair ${j} of path ${p}`);
    }
    // Close_diff_MA_30 under either phase.
    const ma = (c: Float64Array) => c[39] / (c.subarray(10).reduce((x, y) => x + y, 0) / 30) - 1;
    const da = ma(a.close), db = ma(b.close);
    diffs.push(da - db);
    sumA += da, sumB += db, sumA2 += da * da, sumB2 += db * db;
  }
  // Its distribution is the same under either phase: the paired difference has mean zero (within
  // 4 standard errors) and the spreads agree within 5%.
  const mean = diffs.reduce((x, y) => x + y, 0) / paths;
  const sd = Math.sqrt(diffs.reduce((x, y) => x + (y - mean) ** 2, 0) / (paths - 1));
  assert(Math.abs(mean) < 4 * sd / Math.sqrt(paths), `mean difference ${mean}, sd ${sd}`);
  const sdA = Math.sqrt(sumA2 / paths - (sumA / paths) ** 2);
  const sdB = Math.sqrt(sumB2 / paths - (sumB / paths) ** 2);
  assertAlmostEquals(sdA / sdB, 1, 0.05);
});

Deno.test("a daily window sees the planted phase; the generator's quarterly columns do not move with it", () => {
  const synth = generateSynthetic({
    seed: 3,
    tickers: 6,
    from: "2010-01-01",
    to: "2012-12-31",
    signal: 0,
    shapeSignal: 2,
  });
  const shapes = synth.plantedShapes!;
  assert(shapes.some((s) => s.phase === 1) && shapes.some((s) => s.phase === -1));
  assertMatch(synth.manifest.provenance, /--shape-signal 2 /);
  const ds = memoryDataset("shape", {
    prices: (synth.tables.prices.toRecords() as Record<string, unknown>[]).map((r) => ({
      ...r,
      date: (r.date as Date).toISOString().slice(0, 10),
    })) as RawTables["prices"],
  });
  const q = buildQuarterly(
    ds,
    FeaturesConfig.parse({ sequence: { source: "daily", length: 24, fields: ["return"] } }),
    DIRECTION,
    { tickers: synth.manifest.tickers },
  );
  const phase = new Map(shapes.map((s) => [`${s.ticker}|${s.quarter}`, s.phase]));
  const recs = q.frame.toRecords() as Record<string, unknown>[];
  let seen = 0;
  for (const r of recs) {
    const p = phase.get(`${r.ticker}|${r.quarter}`);
    if (p === undefined) continue;
    // The block's pair j is at lags 21 − 2j and 20 − 2j: the zigzag statistic's sign is the phase.
    let z = 0;
    for (let j = 0; j < 8; j++) {
      const s = j % 2 === 0 ? 1 : -1;
      z += s * ((r[`return@t-${20 - 2 * j}`] as number) - (r[`return@t-${21 - 2 * j}`] as number));
    }
    assertEquals(Math.sign(z), p, `${r.ticker} ${r.quarter}`);
    seen++;
  }
  assert(seen >= 40, `${seen} rows`);
  // The quarter's close and return do not depend on the phase: with the phases all flipped (the
  // same prices but each block's pairs swapped back), the quarter-end closes are the same.
  const flat = buildQuarterly(ds, FeaturesConfig.parse({}), DIRECTION, {
    tickers: synth.manifest.tickers,
  });
  const D = synth.tables.prices.height / 6;
  const P = {
    open: Float64Array.from(synth.tables.prices.getColumn("open").toArray() as number[]),
    high: Float64Array.from(synth.tables.prices.getColumn("high").toArray() as number[]),
    low: Float64Array.from(synth.tables.prices.getColumn("low").toArray() as number[]),
    close: Float64Array.from(synth.tables.prices.getColumn("close").toArray() as number[]),
  };
  const dates = (synth.tables.prices.getColumn("date").toArray() as unknown as Date[]).slice(0, D)
    .map((d) => d.toISOString().slice(0, 10));
  const before = P.close.slice();
  for (const s of shapes) {
    const i = synth.manifest.tickers.indexOf(s.ticker);
    const end = dates.findLastIndex((d) => quarterLabel(dayQuarter(isoToDay(d))) === s.quarter);
    plantZigzag(P, i * D + end - 21, s.phase === 1 ? -1 : 1);
  }
  const closes = (f: QuarterlyFrame) => f.frame.getColumn("Close").toArray();
  const flipped = memoryDataset("flipped", {
    prices: dates.flatMap((d, k) =>
      synth.manifest.tickers.map((t, i) => ({ date: d, ticker: t, close: P.close[i * D + k] }))
    ),
  });
  const flippedQ = buildQuarterly(flipped, FeaturesConfig.parse({}), DIRECTION, {
    tickers: synth.manifest.tickers,
  });
  assertEquals(closes(flippedQ), closes(flat));
  // Close_diff_MA_7 reads only the untouched last week (equal up to the roll-up's prefix sums,
  // which run over the earlier, changed closes).
  const ma7 = flippedQ.frame.getColumn("Close_diff_MA_7").toArray() as number[];
  (flat.frame.getColumn("Close_diff_MA_7").toArray() as number[]).forEach((v, k) =>
    assertAlmostEquals(ma7[k], v, 1e-12)
  );
  assert(P.close.some((c, k) => c !== before[k]), "flipping the phases changed the blocks");
});

Deno.test("a run with a daily window trains an MLP on the flat window and analyses it per field", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-sequence-" });
  try {
    const yaml = tinySynthYaml("sequence-daily", {
      rest: `train: { epochs: 2, backend: wasm }
analysis:
  ablation: { enabled: true }
  shap: { enabled: true, background: 4, explain: 4, permutations: 2 }
`,
    }).replace(
      "label:",
      "  sequence: { source: daily, length: 20, fields: [close, return, log_volume_change] }\nlabel:",
    );
    const [e] = await parseExperimentText(yaml, "sequence-daily.yaml");
    const { record } = await runExperiment(e, quietRun(root));
    const shape = { length: 20, fields: ["close", "return", "log_volume_change"] };
    assertEquals(record.features, sequenceColumns(shape));
    // The last step's close is always 0: left unscaled rather than refused as constant.
    const scaler = record.scaler!.columns.find((c) => c.column === "close@t-0")!;
    assertEquals(scaler.kind, "none");
    assertEquals(
      record.analysis!.ablation!.rows.map((r) => `${r.kind} ${r.name}`).sort(),
      shape.fields.map((f) => `field ${f}`).sort(),
    );
    assertEquals(record.analysis!.shap!.features, shape.fields);
    assert(record.analysis!.shap!.maxAdditivityError <= 1e-4);
    // The report's level warning: a daily window holds no level; a quarterly one names its
    // level fields once (not once per step).
    assertEquals(levelFeatures(record), []);
    const quarterly = structuredClone(record);
    quarterly.config.features.sequence = {
      source: "quarterly",
      length: 2,
      missing: "drop",
      ffill_limit: 1,
    };
    quarterly.features = sequenceColumns({
      length: 2,
      fields: ["Close", "Close_diff_MA_7", "SPY"],
    });
    quarterly.featureFamilies = {
      price: quarterly.features.filter((c) => !c.startsWith("SPY")),
      market: quarterly.features.filter((c) => c.startsWith("SPY")),
    };
    assertEquals(levelFeatures(quarterly).map((l) => l.feature), ["Close", "SPY"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a run with a daily window trains a GRU end to end, an ablation retrain included", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-sequence-" });
  try {
    const yaml = tinySynthYaml("sequence-gru", {
      rest: `train: { epochs: 2, backend: wasm }
analysis:
  ablation: { enabled: true, retrain_top: 2 }
`,
    }).replace(
      "label:",
      "  sequence: { source: daily, length: 10, fields: [close, return] }\nlabel:",
    ).replace(/model: \{[^}]*\}/, "model: { family: gru, size: 8 }");
    const [e] = await parseExperimentText(yaml, "sequence-gru.yaml");
    assertEquals(e.model.family, "gru");
    const { record } = await runExperiment(e, quietRun(root));
    assertEquals(record.features, sequenceColumns({ length: 10, fields: ["close", "return"] }));
    const ablation = record.analysis!.ablation!;
    // Retrains rebuild the GRU on the window's shape (deterministic: with this seed at least one
    // field is a drop candidate, so the retrain path runs).
    const retrained = ablation.retrained ?? [];
    assert(retrained.length > 0, JSON.stringify(ablation.rows));
    for (const r of retrained) assert(["close", "return"].includes(r.feature), r.feature);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("validate locates a window field the dataset cannot give in the YAML", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-sequence-validate-" });
  try {
    const file = `${dir}/x.yaml`;
    await Deno.writeTextFile(
      file,
      tinySynthYaml("sequence-validate").replace(
        "label:",
        "  sequence:\n    source: quarterly\n    fields: [Close_diff_MA_7, Volume]\nlabel:",
      ),
    );
    const io = capture();
    assertEquals(await validateCommand([file], io), 1);
    assertStringIncludes(io.stdout.join("\n"), "risk-free, sequence, tables");
    assertEquals(io.stderr.length, 2, JSON.stringify(io.stderr)); // the problem, then its count
    assertMatch(
      io.stderr[0],
      /x\.yaml:\d+:\d+ features\.sequence\.fields\[1\]: "Volume" is not a feature column of the chosen families: expected one of "Close_diff_MA_7", "Close_diff_MA_90"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("data synth --shape-signal plants the shape and says so in the manifest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-shape-" });
  const args = ["--seed", "2", "--tickers", "3", "--from", "2010-01-01", "--to", "2010-12-31"];
  try {
    assertEquals(
      await synthCommand([...args, "--signal", "0", "--shape-signal", "x", "--out", dir]),
      2,
    );
    assertEquals(
      await synthCommand([...args, "--signal", "0", "--shape-signal", "11", "--out", dir]),
      2,
    );
    assertEquals(
      await synthCommand([...args, "--signal", "0", "--shape-signal", "1.5", "--out", dir]),
      0,
    );
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
    assertEquals(manifest.generator.shape.signal, 1.5);
    assertMatch(manifest.provenance, /--shape-signal 1\.5 --out/);
    // The warnings the report repeats: no feature signal at strength 0, and the shape named.
    const warnings = manifest.warnings.join("\n");
    assertMatch(warnings, /No planted feature signal \(strength 0\)/);
    assertMatch(warnings, /Planted temporal shape of strength 1\.5: .*only a daily window/);
    assert(!warnings.includes("Planted signal of strength 0"), warnings);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
