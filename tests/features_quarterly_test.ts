import { assert, assertEquals, assertMatch, assertNotEquals, assertThrows } from "./assert.ts";
import { FeaturesConfig, type LabelConfig } from "../src/config/schema.ts";
import { MissingTableError } from "../src/data/dataset.ts";
import { dayQuarter, isoToDay, quarterLabel } from "@alfred/core";
import { FAMILY_ORDER, MissingColumnError } from "../src/features/families.ts";
import { buildQuarterly, type QuarterlyFrame } from "../src/features/quarterly.ts";
import { memoryDataset, type RawTables, synthTables } from "./fixtures/features/memory_dataset.ts";
import { rng, weekdays } from "./synth_helpers.ts";
import { everyFamily, NOTES_COLUMNS, NOTES_MARKET } from "./fixtures/features/notes.ts";

const ALL_FAMILIES = everyFamily({ missing: "ffill", ffill_limit: 2 });
const DIRECTION: LabelConfig = { mode: "direction", horizon: 1 };
const TICKERS = ["AAA", "BBB", "CCC"];

function col(q: QuarterlyFrame, name: string): unknown[] {
  return q.frame.getColumn(name).toArray();
}

function rowsOf(q: QuarterlyFrame): Record<string, unknown>[] {
  return q.frame.toRecords() as Record<string, unknown>[];
}

Deno.test("buildQuarterly produces the research notes' column set, sorted by ticker and date", () => {
  const q = buildQuarterly(memoryDataset("synth", synthTables()), ALL_FAMILIES, DIRECTION, {
    tickers: ["CCC", "AAA", "BBB"],
  });
  // The notes' columns and their deltas, of the market series the memory tables have.
  const have = ["^VIX", "SPY", "10year"];
  const notes = NOTES_COLUMNS.filter((c) => !NOTES_MARKET.includes(c) || have.includes(c));
  for (const c of notes) assert(q.features.includes(`delta_${c}`), `missing column delta_${c}`);
  for (const c of notes) assert(q.features.includes(c), `missing column ${c}`);
  assertEquals(q.label, "PQ");
  assertEquals(q.frame.columns.slice(0, 4), ["ticker", "quarter", "date", "close"]);
  assertEquals(q.frame.columns.slice(-2), ["PQ", "label_date"]);
  // Every family but news, which needs digested articles (tests/news_test.ts).
  assertEquals(Object.keys(q.families), FAMILY_ORDER.filter((f) => f !== "news"));
  assertEquals(Object.values(q.families).flat(), q.features);
  const rows = rowsOf(q);
  const keys = rows.map((r) => `${r.ticker}|${r.date}`);
  assertEquals(keys, [...keys].sort());
  assertEquals(new Set(rows.map((r) => `${r.ticker}|${r.quarter}`)).size, rows.length);
  for (const r of rows) {
    assertEquals(quarterLabel(dayQuarter(isoToDay(r.date as string))), r.quarter);
    assert((r.label_date as string) > (r.date as string));
  }
  // The quarter's date is its last trading day (a weekday within 7 days of the quarter end).
  assert(rows.some((r) => r.ticker === "AAA" && r.date === "2003-12-31"));
  assert(rows.some((r) => r.ticker === "AAA" && r.date === "2004-06-30"));
  assert(rows.some((r) => r.ticker === "AAA" && r.date === "2003-03-31"));
  // The last quarter has no label and is dropped; the first ones lack the 180-day MA.
  assert(!rows.some((r) => r.quarter === "2004Q4"));
  assert(!rows.some((r) => r.quarter === "2000Q1"));
});

Deno.test("buildQuarterly is deterministic and independent of the tables' row order", () => {
  const raw = synthTables();
  const a = buildQuarterly(memoryDataset("a", raw), ALL_FAMILIES, DIRECTION, { tickers: TICKERS });
  const shuffled: RawTables = {};
  const r = rng(99);
  for (const [k, v] of Object.entries(raw)) {
    const rows = [...(v as unknown[])];
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    (shuffled as Record<string, unknown>)[k] = rows;
  }
  const b = buildQuarterly(memoryDataset("b", shuffled), ALL_FAMILIES, DIRECTION, {
    tickers: TICKERS,
  });
  assertEquals(rowsOf(a), rowsOf(b));
  assertEquals(a.missing, b.missing);
});

Deno.test("changing any row dated after quarter q's last day changes no feature of quarter q", () => {
  const raw = synthTables({ seed: 11 });
  const base = buildQuarterly(memoryDataset("base", raw), ALL_FAMILIES, DIRECTION, {
    tickers: TICKERS,
  });
  const baseRows = rowsOf(base);
  const dates = [...new Set(baseRows.map((r) => r.date as string))].sort();
  const r = rng(5);
  for (const cut of [dates[1], dates[Math.floor(dates.length / 2)], dates[dates.length - 2]]) {
    const after = (d: string) => d > cut;
    const perturbed: RawTables = {
      prices: raw.prices!.map((p) =>
        after(p.date)
          ? { ...p, close: p.close! * (0.5 + r()), volume: (p.volume ?? 0) * (0.5 + r()) }
          : p
      ),
      fundamentals: raw.fundamentals!.map((f) =>
        after(f.report_date)
          ? {
            ...f,
            margin_gross: r(),
            reported_eps: 10 * r(),
            surprise: r(),
            margin_net_profit: null,
          }
          : f
      ),
      insider: raw.insider!.filter((x) => !after(x.date) || r() < 0.5).map((x) =>
        after(x.date) ? { ...x, acquisition: 1e7 * r() } : x
      ),
      sentiment: raw.sentiment!.map((
        x,
      ) => (after(x.date) ? { ...x, sentiment: r(), outlook: -r() } : x)),
      market: raw.market!.map((m) => (after(m.date) ? { ...m, value: m.value! * (1 + r()) } : m)),
    };
    const q = buildQuarterly(memoryDataset("perturbed", perturbed), ALL_FAMILIES, DIRECTION, {
      tickers: TICKERS,
    });
    const got = new Map(rowsOf(q).map((row) => [`${row.ticker}|${row.quarter}`, row]));
    let compared = 0;
    for (const row of baseRows) {
      if ((row.date as string) > cut) continue;
      const other = got.get(`${row.ticker}|${row.quarter}`);
      assert(other, `row ${row.ticker} ${row.quarter} vanished after perturbing rows after ${cut}`);
      for (const f of base.features) {
        assertEquals(
          other[f],
          row[f],
          `${f} of ${row.ticker} ${row.quarter} changed (cut ${cut})`,
        );
      }
      compared++;
    }
    assert(compared > 0);
    // The perturbation is real: later features did change.
    const later = baseRows.filter((row) => (row.date as string) > cut);
    assert(later.some((row) => got.get(`${row.ticker}|${row.quarter}`)?.Close !== row.Close));
  }
});

Deno.test("labels use only the closes of q and q + horizon", () => {
  const raw = synthTables({ seed: 3, tickers: ["AAA", "BBB"] });
  const features = FeaturesConfig.parse({ families: { price: { ma_windows: [7] } } });
  for (const horizon of [1, 2]) {
    for (const mode of ["direction", "magnitude"] as const) {
      const label: LabelConfig = { mode, horizon };
      const q = buildQuarterly(memoryDataset("s", raw), features, label, {
        tickers: ["AAA", "BBB"],
      });
      const closes = new Map(raw.prices!.map((p) => [`${p.ticker}|${p.date}`, p.close!]));
      const rows = rowsOf(q);
      const byKey = new Map(rows.map((r) => [`${r.ticker}|${r.quarter}`, r]));
      for (const r of rows) {
        const qn = dayQuarter(isoToDay(r.date as string));
        const later = byKey.get(`${r.ticker}|${quarterLabel(qn + horizon)}`);
        const c0 = closes.get(`${r.ticker}|${r.date}`)!;
        const c1 = closes.get(`${r.ticker}|${r.label_date}`)!;
        assertEquals(dayQuarter(isoToDay(r.label_date as string)), qn + horizon);
        if (later) assertEquals(later.date, r.label_date);
        const want = mode === "direction" ? (c1 > c0 ? 1 : 0) : c1 / c0 - 1;
        assertEquals(r[q.label], want);
        assertEquals(r.close, c0);
      }
      // The last `horizon` quarters of each ticker have no label and are gone.
      const lastQuarter = rows.filter((r) => r.ticker === "AAA").at(-1)!.quarter as string;
      assertEquals(lastQuarter, quarterLabel(dayQuarter(isoToDay("2004-12-31")) - horizon));
      // Perturbing closes strictly between q's last day and q+h's last day changes no label.
      const labelDays = new Set(
        rows.flatMap((r) => [`${r.ticker}|${r.date}`, `${r.ticker}|${r.label_date}`]),
      );
      const lastDays = new Set<string>();
      for (const t of ["AAA", "BBB"]) {
        const days = raw.prices!.filter((p) => p.ticker === t).map((p) => p.date);
        for (let i = 0; i < days.length; i++) {
          if (
            i + 1 === days.length ||
            dayQuarter(isoToDay(days[i + 1])) !== dayQuarter(isoToDay(days[i]))
          ) {
            lastDays.add(`${t}|${days[i]}`);
          }
        }
      }
      const r = rng(horizon);
      const perturbed = {
        ...raw,
        prices: raw.prices!.map((p) =>
          lastDays.has(`${p.ticker}|${p.date}`) ? p : { ...p, close: p.close! * (0.2 + 2 * r()) }
        ),
      };
      const q2 = buildQuarterly(memoryDataset("p", perturbed), features, label, {
        tickers: ["AAA", "BBB"],
      });
      assertNotEquals(col(q2, "Close_diff_MA_7"), col(q, "Close_diff_MA_7"));
      assert(labelDays.size > 0);
      assertEquals(col(q2, q.label), col(q, q.label));
      assertEquals(col(q2, "label_date"), col(q, "label_date"));
    }
  }
});

/** One ticker, weekdays of 2001-2002, close = 100 + day index. */
function smallPrices(ticker = "AAA"): NonNullable<RawTables["prices"]> {
  return weekdays("2001-01-01", "2002-12-31").map((date, i) => ({
    date,
    ticker,
    close: 100 + i,
    volume: 1000 + i,
  }));
}

function report(ticker: string, report_date: string, fiscal: string, margin: number) {
  return {
    ticker,
    report_date,
    fiscal_date_ending: fiscal,
    margin_gross: margin,
    margin_operating: margin / 2,
    margin_net_profit: margin / 4,
    reported_eps: margin * 10,
    estimated_eps: margin * 9,
    surprise: margin,
    surprise_percentage: 10 * margin,
  };
}

const PRICE_ONLY = { price: { ma_windows: [2] } };

Deno.test("fundamentals join on the report date, never the fiscal period end", () => {
  const ds = memoryDataset("fund", {
    prices: smallPrices(),
    fundamentals: [
      report("AAA", "2001-02-15", "2000-12-31", 0.05),
      report("AAA", "2001-04-20", "2001-03-15", 0.1),
      report("AAA", "2001-07-20", "2001-06-15", 0.2),
      // Reported on the quarter's last trading day itself: known at that close.
      report("AAA", "2001-09-28", "2001-09-15", 0.3),
      report("AAA", "2002-01-25", "2001-12-15", 0.4),
    ],
  });
  const q = buildQuarterly(
    ds,
    FeaturesConfig.parse({ families: { ...PRICE_ONLY, fundamentals: {}, earnings: {} } }),
    DIRECTION,
    { tickers: ["AAA"] },
  );
  const got = Object.fromEntries(rowsOf(q).map((r) => [r.quarter, r.Margin_Gross]));
  assertEquals(got, {
    "2001Q1": 0.05, // the 2001-03-15 fiscal quarter was not reported until 2001-04-20
    "2001Q2": 0.1,
    "2001Q3": 0.3,
    "2001Q4": 0.3,
    "2002Q1": 0.4,
    "2002Q2": 0.4,
    "2002Q3": 0.4,
  });
  assertEquals(col(q, "reportedEPS").slice(0, 2), [0.5, 1]);
  assertEquals(q.missing.find((m) => m.family === "fundamentals"), {
    family: "fundamentals",
    rule: "drop",
    rows: 0,
  });
});

Deno.test("insider and sentiment windows end at the quarter's last trading day", () => {
  // 2002-03-31 is a Sunday: the quarter's last trading day is Friday 2002-03-29.
  const ds = memoryDataset("win", {
    prices: smallPrices(),
    insider: [
      { ticker: "AAA", date: "2002-01-10", acquisition: 5, disposal: 1 },
      { ticker: "AAA", date: "2002-03-29", acquisition: 7, disposal: null },
      { ticker: "AAA", date: "2002-03-30", acquisition: 100, disposal: 100 },
      { ticker: "AAA", date: "2002-05-01", acquisition: 1, disposal: 2 },
    ],
    sentiment: [
      { ticker: "AAA", date: "2002-02-01", sentiment: 0.2, outlook: 1 },
      { ticker: "AAA", date: "2002-03-01", sentiment: 0.4, outlook: null },
      { ticker: "AAA", date: "2002-03-31", sentiment: -1, outlook: -1 },
    ],
    market: [
      { date: "2002-03-01", series: "10year", value: 5 },
      { date: "2002-04-01", series: "10year", value: 6 },
      { date: "2002-03-29", series: "^VIX", value: 20 },
      { date: "2002-03-30", series: "^VIX", value: 99 },
      { date: "2002-06-28", series: "^VIX", value: null },
    ],
  });
  const q = buildQuarterly(
    ds,
    FeaturesConfig.parse({
      families: {
        ...PRICE_ONLY,
        insider: { missing: "zero" },
        sentiment: { missing: "zero" },
        market: { missing: "zero" },
      },
    }),
    DIRECTION,
    { tickers: ["AAA"] },
  );
  const rows = Object.fromEntries(rowsOf(q).map((r) => [r.quarter, r]));
  assertEquals(rows["2002Q1"].date, "2002-03-29");
  assertEquals(rows["2002Q1"].insider_acquisition, 12);
  assertEquals(rows["2002Q1"].insider_disposal, 1);
  assertEquals(rows["2002Q2"].insider_acquisition, 101);
  assertEquals(rows["2002Q2"].insider_disposal, 102);
  assert(Math.abs((rows["2002Q1"].mean_sentiment as number) - 0.3) < 1e-12);
  assertEquals(rows["2002Q1"].mean_outlook, 1);
  assertEquals(rows["2002Q2"].mean_sentiment, -1);
  assertEquals(rows["2002Q1"]["10year"], 5);
  assertEquals(rows["2002Q1"]["^VIX"], 20);
  assertEquals(rows["2002Q2"]["10year"], 6);
  assertEquals(rows["2002Q2"]["^VIX"], 99); // a null value is no observation: the last known one holds
  assertEquals(q.families.market, ["10year", "^VIX"]);
  assertEquals(rows["2001Q1"].insider_acquisition, 0); // no trades: zero by the family's rule
});

Deno.test("missing-value rules drop, zero or forward-fill with a limit, and count the rows", () => {
  const sentiment = ["2001-02-01", "2001-05-01", "2001-11-01", "2002-08-01"].map((date, i) => ({
    ticker: "AAA",
    date,
    sentiment: i + 1,
    outlook: -(i + 1),
  }));
  const ds = memoryDataset("miss", { prices: smallPrices(), sentiment });
  const build = (sent: Record<string, unknown>) =>
    buildQuarterly(
      ds,
      FeaturesConfig.parse({ families: { ...PRICE_ONLY, sentiment: sent } }),
      DIRECTION,
      { tickers: ["AAA"] },
    );
  const sentimentOf = (q: QuarterlyFrame) =>
    Object.fromEntries(rowsOf(q).map((r) => [r.quarter, r.mean_sentiment]));

  const drop = build({});
  assertEquals(sentimentOf(drop), { "2001Q1": 1, "2001Q2": 2, "2001Q4": 3, "2002Q3": 4 });
  assertEquals(drop.missing, [
    { family: "label", rule: "drop", rows: 1 },
    { family: "price", rule: "drop", rows: 0 },
    { family: "sentiment", rule: "drop", rows: 3 },
  ]);

  const zero = build({ missing: "zero" });
  assertEquals(sentimentOf(zero), {
    "2001Q1": 1,
    "2001Q2": 2,
    "2001Q3": 0,
    "2001Q4": 3,
    "2002Q1": 0,
    "2002Q2": 0,
    "2002Q3": 4,
  });
  assertEquals(zero.missing.at(-1), { family: "sentiment", rule: "zero", rows: 3 });

  const ffill1 = build({ missing: "ffill", ffill_limit: 1 });
  assertEquals(sentimentOf(ffill1), {
    "2001Q1": 1,
    "2001Q2": 2,
    "2001Q3": 2,
    "2001Q4": 3,
    "2002Q1": 3,
    "2002Q3": 4,
  });
  assertEquals(ffill1.missing.slice(-2), [
    { family: "sentiment", rule: "ffill (limit 1)", rows: 2 },
    { family: "sentiment", rule: "ffill (limit 1): unfilled, dropped", rows: 1 },
  ]);
  const ffill2 = build({ missing: "ffill", ffill_limit: 2 });
  assertEquals(ffill2.frame.height, 7);
  assertEquals(sentimentOf(ffill2)["2002Q2"], 3);

  // Deltas: the first quarter has no previous quarter.
  const deltas = build({ missing: "zero", deltas: ["mean_sentiment"] });
  assertEquals(col(deltas, "delta_mean_sentiment"), [0, 1, -2, 3, -3, 0, 4]);
  assert(!deltas.features.includes("delta_mean_outlook"));
  // Excluding a column means its missing values drop no row.
  const excluded = buildQuarterly(
    memoryDataset("miss2", {
      prices: smallPrices(),
      sentiment: sentiment.map((s) => ({ ...s, outlook: null })),
    }),
    FeaturesConfig.parse({
      families: { ...PRICE_ONLY, sentiment: {} },
      exclude: ["mean_outlook", "Close"],
    }),
    DIRECTION,
    { tickers: ["AAA"] },
  );
  assertEquals(excluded.features, ["Close_diff_MA_2", "mean_sentiment"]);
  assertEquals(excluded.frame.height, 4);
});

Deno.test("buildQuarterly errors name the dataset, table, column, ticker and quarter", () => {
  const ds = memoryDataset("tiny", { prices: smallPrices() }, {
    dropColumns: { prices: ["volume"] },
  });
  const label = DIRECTION;
  const opts = { tickers: ["AAA"] };
  const noTable = assertThrows(
    () => buildQuarterly(ds, FeaturesConfig.parse({ families: { fundamentals: {} } }), label, opts),
    MissingTableError,
  );
  assertEquals(noTable.tableName, "fundamentals");
  assertMatch(noTable.message, /fundamentals" feature family/);
  const noColumn = assertThrows(
    () => buildQuarterly(ds, FeaturesConfig.parse({ families: { volume: {} } }), label, opts),
    MissingColumnError,
  );
  assertMatch(noColumn.message, /Dataset "tiny".*"volume".*"volume" feature family.*"close"/);
  const withMarket = memoryDataset("mkt", {
    prices: smallPrices(),
    market: [{ date: "2001-01-02", series: "SPY", value: 1 }],
  });
  assertMatch(
    assertThrows(() =>
      buildQuarterly(
        withMarket,
        FeaturesConfig.parse({ families: { market: { series: ["^VIX"] } } }),
        label,
        opts,
      )
    ).message,
    /Dataset "mkt" table "market" has no series "\^VIX".*it has "SPY"/,
  );
  assertMatch(
    assertThrows(() =>
      buildQuarterly(
        ds,
        FeaturesConfig.parse({ families: PRICE_ONLY, exclude: ["Volume"] }),
        label,
        opts,
      )
    ).message,
    /Cannot exclude feature "Volume".*"Close", "Close_diff_MA_2"/,
  );
  assertThrows(
    () =>
      buildQuarterly(ds, FeaturesConfig.parse({ families: PRICE_ONLY }), label, {
        tickers: ["ZZZ"],
      }),
    Error,
    'no prices for ticker "ZZZ": it has "AAA"',
  );
  assertThrows(
    () =>
      buildQuarterly(
        ds,
        FeaturesConfig.parse({ families: { price: { deltas: ["Volume"] } } }),
        label,
        opts,
      ),
    Error,
    'delta of "Volume" to the "price" family',
  );
  const prices = smallPrices().map((p) => (p.date === "2001-06-29" ? { ...p, close: NaN } : p));
  assertThrows(
    () =>
      buildQuarterly(
        memoryDataset("nan", { prices }),
        FeaturesConfig.parse({ families: PRICE_ONLY }),
        label,
        opts,
      ),
    Error,
    'Feature "Close" is NaN for ticker "AAA" in quarter 2001Q2 (2001-06-29) of dataset "nan"',
  );
  const fundamentals = [report("AAA", "2001-02-01", "2000-12-31", 0.1), {
    ...report("AAA", "2001-08-01", "2001-06-30", 0.1),
    margin_operating: Infinity,
  }];
  assertThrows(
    () =>
      buildQuarterly(
        memoryDataset("inf", { prices: smallPrices(), fundamentals }),
        FeaturesConfig.parse({ families: { fundamentals: {} } }),
        label,
        opts,
      ),
    Error,
    'Feature "Margin_Operating" is Infinity for ticker "AAA" in quarter 2001Q3',
  );
  const dup = [...smallPrices(), { date: "2001-03-01", ticker: "AAA", close: 1, volume: 1 }];
  assertThrows(
    () =>
      buildQuarterly(memoryDataset("dup", { prices: dup }), FeaturesConfig.parse({}), label, opts),
    Error,
    'two rows for ticker "AAA" on "2001-03-01"',
  );
});

Deno.test("from/to bound the daily data; partial quarters are not rows", () => {
  const ds = memoryDataset("range", { prices: smallPrices() });
  const q = buildQuarterly(ds, FeaturesConfig.parse({ families: PRICE_ONLY }), DIRECTION, {
    tickers: ["AAA"],
    from: "2001-02-15",
    to: "2002-08-15",
  });
  assertEquals(col(q, "quarter"), ["2001Q2", "2001Q3", "2001Q4", "2002Q1"]);
  assertEquals(q.missing[0], { family: "quarters", rule: "partial quarter dropped", rows: 2 });
  assertEquals(col(q, "label_date").at(-1), "2002-06-28");
});
