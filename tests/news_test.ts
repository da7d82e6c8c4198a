/**
 * The news analyst's deterministic parts: the VADER lexicon on fixed sentences with published
 * scores, the synthetic templates' tone, the point-in-time rule at the market close (daylight
 * saving time and standard time), the `news` table's checks and the `news` family's roll-up.
 */
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import pl from "nodejs-polars";
import { isoToDay } from "@alfred/core";
import { FeaturesConfig } from "../src/config/schema.ts";
import { parseExperimentText } from "../src/config/load.ts";
import { dateSeries, loadDatasetFolder, type Manifest, writeDataset } from "../src/data/dataset.ts";
import { generateSynthetic, NEWS_TEMPLATES, syntheticCalendar } from "../src/data/synth.ts";
import { buildQuarterly } from "../src/features/quarterly.ts";
import {
  countsForQuarter,
  digestNews,
  lexiconDigest,
  marketCloseMs,
  vaderCompound,
  zonedTimeMs,
} from "../src/news/mod.ts";

Deno.test("the lexicon digester gives VADER's published compound scores on its README sentences", () => {
  // The vaderSentiment README's examples and scores (cjhutto/vaderSentiment).
  const cases: [string, number][] = [
    ["VADER is smart, handsome, and funny.", 0.8316],
    ["VADER is smart, handsome, and funny!", 0.8439],
    ["VADER is very smart, handsome, and funny.", 0.8545],
    ["VADER is VERY SMART, handsome, and FUNNY.", 0.9227],
    ["VADER is not smart, handsome, nor funny.", -0.7424],
    ["The book was good.", 0.4404],
    ["The book was kind of good.", 0.3832],
    ["A really bad, horrible book.", -0.8211],
    ["At least it isn't a horrible book.", 0.431],
    ["Today SUX!", -0.5461],
  ];
  for (const [text, score] of cases) assertAlmostEquals(vaderCompound(text), score, 1e-4, text);
  const d = lexiconDigest({
    id: "a1",
    ticker: "AAA",
    publishedMs: 0,
    headline: "The book was good.",
    summary: null,
    source: null,
    url: null,
    tickerCount: 4,
  });
  assertEquals(d, {
    sentiment: 0.4404,
    relevance: 0.25,
    event_type: null,
    summary: "The book was good.",
  });
});

Deno.test("the synthetic news templates carry their tone through the lexicon", () => {
  for (const [tone, list] of Object.entries(NEWS_TEMPLATES)) {
    for (const [h, s] of list) {
      const score = vaderCompound(`${h}\n${s}`.replaceAll("{t}", "SYN01"));
      if (tone === "positive") assert(score > 0.5, `${h}: ${score}`);
      else if (tone === "negative") assert(score < -0.5, `${h}: ${score}`);
      else assertEquals(score, 0, h);
    }
  }
});

Deno.test("the market close is 16:00 New York time in daylight saving and standard time", () => {
  const close = { time_zone: "America/New_York", time: "16:00" };
  assertEquals(marketCloseMs(isoToDay("2020-03-31"), close), Date.parse("2020-03-31T20:00:00Z"));
  assertEquals(marketCloseMs(isoToDay("2020-12-31"), close), Date.parse("2020-12-31T21:00:00Z"));
  // The first trading day after the spring change and the first after the autumn change.
  assertEquals(marketCloseMs(isoToDay("2020-03-09"), close), Date.parse("2020-03-09T20:00:00Z"));
  assertEquals(marketCloseMs(isoToDay("2020-11-02"), close), Date.parse("2020-11-02T21:00:00Z"));
  assertEquals(
    marketCloseMs(isoToDay("2020-03-31"), { time_zone: "Asia/Tokyo", time: "15:00" }),
    Date.parse("2020-03-31T06:00:00Z"),
  );
  assertThrows(
    () => marketCloseMs(0, { time_zone: "Mars/Olympus", time: "16:00" }),
    RangeError,
    'Unknown time zone "Mars/Olympus"',
  );
});

Deno.test("a wall-clock time in a zone: seconds, both offsets, and the hours daylight saving time skips or repeats", () => {
  const ny = "America/New_York";
  assertEquals(zonedTimeMs("2024-01-05", "14:30:00", ny), Date.parse("2024-01-05T19:30:00Z"));
  assertEquals(zonedTimeMs("2024-07-05", "14:30:15", ny), Date.parse("2024-07-05T18:30:15Z"));
  assertEquals(zonedTimeMs("2024-07-05", "23:59", "UTC"), Date.parse("2024-07-05T23:59:00Z"));
  // 02:30 does not exist on 2024-03-10 in New York: read with the new offset (UTC-4).
  assertEquals(zonedTimeMs("2024-03-10", "02:30", ny), Date.parse("2024-03-10T06:30:00Z"));
  // 01:30 happens twice on 2024-11-03: the first time (still UTC-4).
  assertEquals(zonedTimeMs("2024-11-03", "01:30", ny), Date.parse("2024-11-03T05:30:00Z"));
  assertThrows(() => zonedTimeMs("2024-1-5", "14:30", ny), RangeError, "Invalid wall-clock time");
  assertThrows(
    () => zonedTimeMs("2024-01-05", "14:30", "Mars/Olympus"),
    RangeError,
    "Mars/Olympus",
  );
});

Deno.test("an article counts for the quarter whose last close comes after it; at or after the close, the next", () => {
  const close = { time_zone: "America/New_York", time: "16:00" };
  const q4 = [isoToDay("2020-09-30"), isoToDay("2020-12-31")] as const; // EST close 21:00Z
  const q1 = [isoToDay("2020-12-31"), isoToDay("2021-03-31")] as const; // EDT close 20:00Z
  const at = (iso: string) => Date.parse(iso);
  assert(countsForQuarter(at("2020-12-31T20:59:59Z"), ...q4, close));
  assert(!countsForQuarter(at("2020-12-31T21:00:00Z"), ...q4, close), "at the close: next");
  assert(countsForQuarter(at("2020-12-31T21:00:00Z"), ...q1, close));
  assert(countsForQuarter(at("2021-03-31T19:59:59Z"), ...q1, close));
  assert(!countsForQuarter(at("2021-03-31T20:00:00Z"), ...q1, close));
  // 16:30 New York on the quarter's last day is 20:30Z in summer: after the close.
  assert(!countsForQuarter(at("2021-03-31T20:30:00Z"), ...q1, close));
});

/** A one-ticker dataset with prices for 2020Q1..Q3 and the given articles. */
async function newsDataset(
  dir: string,
  articles: { id: string; at: string; headline: string; tickers?: string[] }[],
) {
  const days = syntheticCalendar("2020-01-01", "2020-09-30");
  const rows = articles.flatMap((a) => (a.tickers ?? ["AAA"]).map((t) => ({ ...a, t })))
    .sort((x, y) => x.t.localeCompare(y.t) || Date.parse(x.at) - Date.parse(y.at));
  const manifest: Manifest = {
    name: "news-boundary",
    description: "test",
    synthetic: true,
    provenance: "tests/news_test.ts",
    licence: "CC0-1.0",
    warnings: [],
    tables: ["prices", "news"],
    tickers: ["AAA", "BBB"],
    from: days[0],
    to: days[days.length - 1],
    index: null,
    riskFree: null,
    series: [],
  };
  await writeDataset(dir, manifest, {
    prices: pl.DataFrame([
      dateSeries("date", [...days, ...days]),
      pl.Series("ticker", [...days.map(() => "AAA"), ...days.map(() => "BBB")], pl.Utf8),
      pl.Series("close", [...days, ...days].map((_, i) => 100 + (i % 7)), pl.Float64),
    ]),
    news: pl.DataFrame([
      pl.Series("ticker", rows.map((r) => r.t), pl.Utf8),
      pl.Series("published_at", rows.map((r) => Date.parse(r.at)), pl.Int64).cast(
        pl.Datetime("ms", "UTC"),
      ),
      pl.Series("article_id", rows.map((r) => r.id), pl.Utf8),
      pl.Series("headline", rows.map((r) => r.headline), pl.Utf8),
      pl.Series("summary", rows.map(() => null), pl.Utf8),
      pl.Series("source", rows.map(() => "test"), pl.Utf8),
      pl.Series("url", rows.map(() => null), pl.Utf8),
    ]),
  });
  return await loadDatasetFolder(dir);
}

Deno.test("the news family counts articles up to the quarter's close and rolls sentiment up by quarter", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-news-" });
  try {
    const dataset = await newsDataset(`${dir}/ds`, [
      { id: "a", at: "2020-02-10T15:00:00Z", headline: "The book was good." },
      { id: "b", at: "2020-03-31T19:59:59Z", headline: "A really bad, horrible book." },
      // At the close of 2020Q1's last trading day: counts for 2020Q2.
      { id: "c", at: "2020-03-31T20:00:00Z", headline: "The book was kind of good." },
      { id: "d", at: "2020-06-30T19:59:59Z", headline: "Today SUX!", tickers: ["AAA", "BBB"] },
      // After 2020Q2's close: 2020Q3, which has no label and is dropped.
      { id: "e", at: "2020-06-30T20:00:01Z", headline: "The book was good." },
    ]);
    const [e] = await parseExperimentText(
      `name: t
data: { dataset: x, train_tickers: [AAA], eval_tickers: [BBB] }
features: { families: { news: { deltas: [news_sentiment], missing: zero } } }
label: { mode: magnitude }
loss: { name: mse }
`,
      "t.yaml",
    );
    const cfg = e.features.families.news!;
    const news = await digestNews(dataset, cfg, ["AAA", "BBB"], Infinity);
    assertEquals(news.stats.articles, 6);
    assertEquals(news.stats.requests, 0);
    const q = buildQuarterly(dataset, FeaturesConfig.parse(e.features), e.label, {
      tickers: ["AAA", "BBB"],
      news,
    });
    assertEquals(q.features, [
      "news_count",
      "news_sentiment",
      "news_sentiment_weighted",
      "delta_news_sentiment",
    ]);
    const rows = q.frame.toRecords() as Record<string, number | string>[];
    const aaa = rows.filter((r) => r.ticker === "AAA");
    assertEquals(aaa.map((r) => r.quarter), ["2020Q1", "2020Q2"]);
    assertEquals(aaa.map((r) => r.news_count), [2, 2]);
    const v = (s: string) => vaderCompound(s);
    assertAlmostEquals(
      aaa[0].news_sentiment as number,
      (v("The book was good.") + v("A really bad, horrible book.")) / 2,
      1e-12,
    );
    // "d" is about two tickers: the lexicon gives it relevance 1/2 against "c"'s 1.
    const c = v("The book was kind of good."), d = v("Today SUX!");
    assertAlmostEquals(aaa[1].news_sentiment as number, (c + d) / 2, 1e-12);
    assertAlmostEquals(aaa[1].news_sentiment_weighted as number, (c + d / 2) / 1.5, 1e-12);
    assertAlmostEquals(
      aaa[1].delta_news_sentiment as number,
      (aaa[1].news_sentiment as number) - (aaa[0].news_sentiment as number),
      1e-12,
    );
    const bbb = rows.filter((r) => r.ticker === "BBB");
    // BBB has no article in 2020Q1: missing, filled with zero by the family's rule.
    assertEquals(bbb.map((r) => r.news_count), [0, 1]);
    assertEquals(q.missing.find((m) => m.family === "news")!.rows, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the news table must have a time zone and a unique article id per ticker", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alfred-news-" });
  try {
    const { manifest, tables } = generateSynthetic({
      seed: 3,
      tickers: 2,
      from: "2010-01-01",
      to: "2010-12-31",
      signal: 1,
      newsSignal: 1,
    });
    const news = tables.news!;
    const naive = news.withColumns(pl.col("published_at").cast(pl.Datetime("ms")));
    await assertRejects(
      () => writeDataset(`${dir}/a`, manifest, { ...tables, news: naive }),
      Error,
      'column "published_at" has no time zone',
    );
    const twice = pl.concat([news.head(1), news]).sort(["ticker", "published_at"]);
    await assertRejects(
      () => writeDataset(`${dir}/b`, manifest, { ...tables, news: twice }),
      Error,
      "appears twice for",
    );
    const noHeadline = news.withColumns(
      pl.when(pl.col("article_id").eq(pl.lit(news.getColumn("article_id").get(3))))
        .then(pl.lit(null).cast(pl.Utf8)).otherwise(pl.col("headline")).alias("headline"),
    );
    await assertRejects(
      () => writeDataset(`${dir}/c`, manifest, { ...tables, news: noHeadline }),
      Error,
      "has no headline",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("synthetic news is opt-in and leaves the other tables byte-identical", () => {
  const params = { seed: 5, tickers: 6, from: "2010-01-01", to: "2011-06-30", signal: 1 };
  const plain = generateSynthetic(params);
  const withNews = generateSynthetic({ ...params, newsSignal: 2 });
  assertEquals(plain.tables.news, undefined);
  assertEquals(plain.manifest.tables.includes("news"), false);
  assertEquals(withNews.manifest.tables.at(-1), "news");
  for (const t of ["prices", "fundamentals", "insider", "sentiment", "market"] as const) {
    assertEquals(
      new Uint8Array(plain.tables[t].writeParquet()),
      new Uint8Array(withNews.tables[t].writeParquet()),
      t,
    );
  }
  const n = withNews.tables.news!;
  assert(n.height > 6 * 6 * 3, `articles: ${n.height}`);
  // Sector roundups are about several tickers: the same id on more than one row.
  const ids = n.getColumn("article_id").toArray() as string[];
  assert(new Set(ids).size < ids.length, "some articles name several tickers");
});

Deno.test("news imports from CSV and JSON Lines with located errors, into an existing dataset", async () => {
  const { importNews, parseNewsFiles } = await import("../src/data/news.ts");
  const dir = await Deno.makeTempDir({ prefix: "alfred-news-import-" });
  try {
    await newsDataset(`${dir}/ds`, [{ id: "x", at: "2020-02-03T15:00:00Z", headline: "Old." }]);
    await Deno.writeTextFile(
      `${dir}/good.csv`,
      "Ticker,Published At,Headline,Summary,URL,Provider Sentiment\n" +
        'AAA,2020-03-31T15:59:00-04:00,"AAA beats, again","Line one\nline two",https://e.x/1,0.4\n' +
        "AAA;BBB,2020-04-01T09:00:00Z,Sector roundup,,https://e.x/2,\n",
    );
    await Deno.writeTextFile(
      `${dir}/good.jsonl`,
      '{"tickers":"BBB","published_at":"2020-05-01T12:00:00Z","article_id":"j1","headline":"BBB wins"}\n',
    );
    const ok = await importNews([`${dir}/good.csv`, `${dir}/good.jsonl`], `${dir}/ds`);
    assertEquals(ok.problems, []);
    assertEquals(ok.rows, 4);
    const ds = await loadDatasetFolder(`${dir}/ds`);
    const news = ds.table("news").toRecords() as Record<string, unknown>[];
    assertEquals(news.map((r) => `${r.ticker}/${r.article_id}`), [
      "AAA/https://e.x/1",
      "AAA/https://e.x/2",
      "BBB/https://e.x/2",
      "BBB/j1",
    ]);
    assertEquals((news[0].published_at as Date).toISOString(), "2020-03-31T19:59:00.000Z");
    assertEquals(news[0].provider_sentiment, 0.4);
    assertEquals(news[0].summary, "Line one\nline two");
    assert(ds.has("prices"), "the other tables are kept");

    await Deno.writeTextFile(
      `${dir}/bad.csv`,
      "ticker,published_at,headline,url\n" +
        "AAA,2020-03-31T15:59:00,Naive time,https://e.x/3\n" +
        "AAA,2020-04-01T10:00:00Z,,https://e.x/4\n",
    );
    await Deno.writeTextFile(`${dir}/bad.jsonl`, '{"ticker":"AAA"}\nnot json\n');
    const { problems } = parseNewsFiles([`${dir}/bad.csv`, `${dir}/bad.jsonl`]);
    const messages = problems.map((p) => p.message);
    assert(
      messages.includes(
        `${dir}/bad.csv: row 1 (line 2): published_at "2020-03-31T15:59:00" has no time zone: expected ISO 8601 with Z or an offset, e.g. "2020-03-31T15:30:00-04:00"`,
      ),
      messages.join("\n"),
    );
    assert(messages.includes(`${dir}/bad.csv: row 2 (line 3): no headline`), messages.join("\n"));
    assert(
      messages.includes(`${dir}/bad.jsonl: row 1 (line 1): no published_at`),
      messages.join("\n"),
    );
    assert(messages.some((m) => m.startsWith(`${dir}/bad.jsonl: line 2: `)), messages.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
