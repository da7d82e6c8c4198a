/**
 * Records, reports and plots at market scale (issue 17): what grows with the eval tickers is
 * Parquet beside `record.json` (per-ticker metrics and backtest rows, long ticker lists), so a
 * 3,000-ticker record stays under 50 KB and reads back the same; repeated backtest warnings are
 * summarised; the report's per-ticker tables and the plots are capped; a version 3 record, its
 * per-ticker parts inline, still reads.
 */
import pl from "nodejs-polars";
import {
  type MetricSet,
  migrateRecord,
  parseRecord,
  RECORD_VERSION,
  recordHeadJson,
  type RunRecord,
  splitRecord,
  summariseWarnings,
  type TickerSummary,
} from "../src/record/mod.ts";
import { readRunFiles, readRunRecord, writeRunRecord } from "../src/store/run_record.ts";
import { MAX_TABLE_TICKERS, renderReport } from "../src/report/report.ts";
import {
  MAX_SCATTER_POINTS,
  MAX_TICKER_BARS,
  perTickerReturns,
  plotSpecs,
  scatterSpec,
} from "../src/report/plots.ts";
import { assert, assertEquals, assertStringIncludes, equal } from "./assert.ts";
import { fixtureRecord, magnitudeRecord } from "./report_helpers.ts";

const TICKERS = 3000;
const name = (i: number) => `SYN${String(i).padStart(4, "0")}`;

/** A magnitude metric set whose numbers follow from `i` (an IC on every third ticker). */
function tickerSet(i: number): MetricSet {
  const withIc = i % 3 === 0;
  return {
    n: 10 + (i % 7),
    loss: 0.05 + i / 1e5,
    mse: 0.05 + i / 1e5,
    mae: 0.17 + i / 1e6,
    r2: i % 11 === 0 ? null : -0.5 + i / 6000,
    pearson: Math.sin(i) / 2,
    signAccuracy: (i * 7919 % 1000) / 1000,
    ic: withIc
      ? {
        mean: 0.1,
        std: 0.2,
        icir: 0.5,
        quarters: 2,
        perQuarter: [
          { quarter: "2020Q1", ic: 0.3, rankIc: 0.2, n: 4 },
          { quarter: "2020Q2", ic: -0.1, rankIc: null, n: 3 },
        ],
        skipped: 1,
      }
      : null,
    rankIc: withIc ? { mean: 0.2, std: null, icir: null, quarters: 1 } : null,
    notes: i % 5 === 0 ? ["17 quarters with fewer than 3 names skipped in the IC"] : [],
  };
}

function tickerRow(i: number): TickerSummary {
  return {
    ticker: name(i),
    trades: i % 4,
    wins: i % 2,
    winRate: i % 4 === 0 ? null : 0.5,
    avgWin: 0.3,
    avgLoss: -0.1,
    profitFactor: 1.5,
    pnl: 1000 - i,
    totalReturn: (i * 104729 % 2001 - 1000) / 1000,
    buyHoldReturn: -0.2,
    exposure: 0.1,
    costs: 5,
    maxDrawdown: null,
  };
}

/** The magnitude fixture with 300 train and 2,700 eval tickers, their metrics and backtest rows. */
function marketRecord(): RunRecord {
  const base = magnitudeRecord();
  const train = Array.from({ length: 300 }, (_, i) => name(i));
  const evalTickers = Array.from({ length: TICKERS - 300 }, (_, i) => name(300 + i));
  const perTicker: Record<string, MetricSet> = {};
  for (let i = 300; i < TICKERS; i++) perTicker[name(i)] = tickerSet(i);
  return parseRecord({
    ...base,
    data: { ...base.data, tickers: { train, eval: evalTickers } },
    metrics: { ...base.metrics!, perTicker },
    backtest: {
      ...base.backtest!,
      benchmarks: { index: null, basket: evalTickers.slice(0, 1543) },
      perTicker: evalTickers.map((_, i) => tickerRow(300 + i)),
    },
  }, "market");
}

async function tempResults(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "alfred-record-scale-" });
}

Deno.test("a 3,000-ticker record writes record.json under 50 KB and reads its per-ticker rows back from Parquet", async () => {
  const results = await tempResults();
  const record = marketRecord();
  const dir = await writeRunRecord(results, record);
  const text = await Deno.readTextFile(`${dir}/record.json`);
  const bytes = new TextEncoder().encode(text).length;
  assert(bytes < 50 * 1024, `record.json is ${bytes} bytes`);
  const head = JSON.parse(text);
  assertEquals(head.version, RECORD_VERSION);
  assertEquals("perTicker" in head.metrics, false);
  assertEquals("perTicker" in head.backtest, false);
  // Lists past TICKERS_INLINE_MAX leave the head; the selection and the rest stay.
  assertEquals(head.data.tickers, {});
  assertEquals(head.backtest.benchmarks, { index: null });
  assertEquals(head.tables.tickerMetrics, 2700);
  assertEquals(head.tables.tickerBacktest, 2700);
  assertEquals(head.tables.tickers, 300 + 2700 + 1543);
  const back = await readRunRecord(dir);
  // equal() without a diff: a failing deep assertEquals of 3,000 tickers diffs for minutes.
  assert(equal(back, record), "the record reads back equal");
  assertEquals(Object.keys(back.metrics!.perTicker), record.data.tickers.eval);
  // The tables are Parquet any tool reads, typed.
  const metrics = pl.readParquet(`${dir}/ticker-metrics.parquet`);
  assertEquals(metrics.height, 2700);
  assertEquals(metrics.getColumn("ticker").toArray().slice(0, 2), ["SYN0300", "SYN0301"]);
  assertEquals(metrics.getColumn("icQuarters").toArray().slice(0, 2) as unknown[], [2, null]);
  const backtest = pl.readParquet(`${dir}/ticker-backtest.parquet`);
  assertEquals(backtest.getColumn("pnl").toArray()[0], 700);
  await Deno.remove(results, { recursive: true });
});

Deno.test("a small run keeps its ticker lists in record.json; direction metrics round-trip", () => {
  const record = fixtureRecord();
  const { head, tables } = splitRecord(record);
  assertEquals((head.data as RunRecord["data"]).tickers, record.data.tickers);
  assertEquals(tables.tickers, []);
  assertEquals(tables.tickerMetrics.length, Object.keys(record.metrics!.perTicker).length);
  assertEquals(tables.tickerMetrics[0].tp !== null, true);
  assertEquals(tables.tickerMetrics[0].mse, null);
});

Deno.test("a version 3 record, its per-ticker parts inside record.json, reads as this version", async () => {
  const record = fixtureRecord();
  const { head, tables } = splitRecord(record);
  // What Alfred wrote at version 3: the per-ticker parts in the head, no tables for them.
  const v3: Record<string, unknown> = {
    ...head,
    version: 3,
    metrics: { ...(head.metrics as object), perTicker: structuredClone(record.metrics!.perTicker) },
    backtest: { ...(head.backtest as object), perTicker: record.backtest!.perTicker },
  };
  for (const set of Object.values((v3.metrics as RunRecord["metrics"])!.perTicker)) {
    if ("ic" in set && set.ic) delete (set.ic as { perQuarter?: unknown }).perQuarter;
  }
  const counts = { ...head.tables };
  delete counts.tickerMetrics;
  delete counts.tickerBacktest;
  v3.tables = counts;
  const files = new Map<string, Uint8Array>([
    ["record.json", new TextEncoder().encode(recordHeadJson(v3 as typeof head))],
  ]);
  const dir = await Deno.makeTempDir({ prefix: "alfred-record-v3-" });
  const { writeTables } = await import("../src/store/run_tables.ts");
  await writeTables(dir, { ...tables, tickerMetrics: [], tickerBacktest: [] });
  for await (const e of Deno.readDir(dir)) {
    files.set(e.name, await Deno.readFile(`${dir}/${e.name}`));
  }
  const back = await readRunFiles(dir, (file) => Promise.resolve(files.get(file) ?? null));
  assertEquals(back, record);
  assertEquals(migrateRecord({ ...head, version: 3 }, "f"), { ...head, version: RECORD_VERSION });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("repeated backtest warnings become one per kind and book, naming the count and the first tickers", () => {
  const noPrice = Array.from(
    { length: 685 },
    (_, i) =>
      `portfolio: "${name(i)}" has no price after 2017-${
        String(1 + i % 12).padStart(2, "0")
      }-11: position closed at that close`,
  );
  const late = Array.from(
    { length: 7 },
    (_, i) =>
      `equal-weight basket: "${name(i % 3)}" had no price on 2018-01-0${
        i + 1
      }: its order filled at the next close, 2018-01-1${i}`,
  );
  const left = [
    'portfolio: "AAA" left the universe on 2019-03-01: position closed at that close',
    'portfolio: "BBB" left the universe on 2019-04-01: position closed at that close',
  ];
  const others = Array.from(
    { length: 6 },
    (_, i) => `"${name(i)}" has a gap before 2020-01-0${i + 1}`,
  );
  const single = "Prices end on 2024-12-31: positions from 2024Q3's signals close at that close";
  assertEquals(summariseWarnings([single, ...noPrice, ...left, ...late, ...others]), [
    single,
    "portfolio: 685 tickers have no price after their last close (2017-01-11 to 2017-12-11): " +
    'each position closed at that close: "SYN0000", "SYN0001", "SYN0002", "SYN0003", "SYN0004" and 680 more',
    // Two of a kind are kept word for word.
    ...left,
    "equal-weight basket: 7 orders had no price on their day (2018-01-01 to 2018-01-07): " +
    'each filled at the next close: "SYN0000", "SYN0001", "SYN0002"',
    '6 warnings like this one, differing in names or dates; "SYN0000", "SYN0001", "SYN0002", ' +
    '"SYN0003", "SYN0004" and 1 more; 2020-01-01 to 2020-01-06: "SYN0000" has a gap before 2020-01-01',
  ]);
  assertEquals(summariseWarnings(left), left);
});

Deno.test("the report shows the best and worst tickers past 30 and names the Parquet files; the plots are capped", async () => {
  const record = marketRecord();
  const predictions = Array.from({ length: 37_696 }, (_, i) => ({
    ticker: name(300 + i % 2700),
    quarter: "2020Q1",
    date: "2020-03-31",
    split: "eval",
    actual: Math.sin(i),
    predicted: Math.cos(i) / 3,
  }));
  const { markdown } = await renderReport(record, { predictions });
  assertStringIncludes(
    markdown,
    "2,700 eval tickers: the 15 best and 15 worst by sign accuracy are shown, in ticker order; " +
      "every ticker's row is in `ticker-metrics.parquet` beside the record.",
  );
  assertStringIncludes(markdown, "`ticker-backtest.parquet`");
  // Ticker lists past TICKERS_INLINE_MAX name their first 30 and count the rest.
  assertStringIncludes(
    markdown,
    "| eval tickers | SYN0300, SYN0301, SYN0302, SYN0303, SYN0304, SYN0305, SYN0306, SYN0307, " +
      "SYN0308, SYN0309, SYN0310, SYN0311, SYN0312, SYN0313, SYN0314, SYN0315, SYN0316, SYN0317, " +
      "SYN0318, SYN0319, SYN0320, SYN0321, SYN0322, SYN0323, SYN0324, SYN0325, SYN0326, SYN0327, " +
      "SYN0328, SYN0329 and 2,670 more (every one in `tickers.parquet` beside the record) |",
  );
  const tickerRows = markdown.split("\n").filter((l) => /^\| SYN\d{4} \|/.test(l));
  assertEquals(tickerRows.length, 2 * MAX_TABLE_TICKERS);
  // The best sign accuracy is among them: ticker 2,889's (7919 · 2889 mod 1000 = 991).
  const best = Object.entries(record.metrics!.perTicker).reduce((a, b) =>
    ("signAccuracy" in b[1] && "signAccuracy" in a[1] && b[1].signAccuracy > a[1].signAccuracy)
      ? b
      : a
  );
  assert(tickerRows.some((l) => l.startsWith(`| ${best[0]} |`)), best[0]);
  // A ticker with two eval rows and a perfect score is not ranked: it would be luck.
  const lucky = name(1234);
  const young = {
    ...record,
    metrics: {
      ...record.metrics!,
      perTicker: {
        ...record.metrics!.perTicker,
        [lucky]: { ...record.metrics!.perTicker[lucky], n: 2, signAccuracy: 1 } as MetricSet,
      },
    },
  };
  const youngReport = (await renderReport(young, { predictions })).markdown;
  assertStringIncludes(
    youngReport,
    "2,700 eval tickers: the 15 best and 15 worst by sign accuracy among the 2,699 with at least " +
      "4 eval rows are shown,",
  );
  assert(!youngReport.includes(`| ${lucky} |`), "the two-row ticker is not among the best");
  const scatter = scatterSpec(predictions) as unknown as {
    title: string;
    layer: { data: { values: unknown[] } }[];
  };
  assertEquals(scatter.layer[1].data.values.length, MAX_SCATTER_POINTS);
  assertEquals(scatter.title, "Predicted against actual (a seeded sample of 2,000 of 37,696 rows)");
  // The same predictions give the same sample.
  assertEquals(scatterSpec(predictions), scatterSpec(predictions));
  const bars = perTickerReturns(record.backtest!.perTicker);
  assertEquals(new Set(bars.map((b) => b.ticker)).size, MAX_TICKER_BARS);
  const plots = plotSpecs(record, predictions);
  assertEquals(
    plots.find((p) => p.file === "per-ticker.svg")?.alt,
    "Per-ticker returns (the 15 best and 15 worst of 2,700)",
  );
  assertStringIncludes(
    markdown,
    "![Predicted against actual (a seeded sample of 2,000 of 37,696 rows)]",
  );
});
