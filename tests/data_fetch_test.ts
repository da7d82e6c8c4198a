import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./assert.ts";
import pl from "nodejs-polars";
import { join } from "node:path";
import {
  FetchCache,
  fetchDataset,
  FetchError,
  type FetchOptions,
  joinFundamentals,
  parseEarnings,
  parseIncomeStatement,
  parseNewsFeed,
  TokenBucket,
} from "../src/data/fetch/mod.ts";
import { fetchCommand } from "../src/cli/data_fetch.ts";
import { loadDatasetFolder, type Manifest } from "../src/data/dataset.ts";
import { exists } from "./data_helpers.ts";
import { isoToDay } from "@alfred/core";
import { countsForQuarter } from "../src/news/mod.ts";

const FIX = "tests/fixtures/data/fetch";
const KEY = "SECRETKEY123";

/** A scripted answer: status and body (a fixture name or literal JSON). */
interface Scripted {
  status?: number;
  fixture?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A local server replaying Yahoo's chart endpoint and Alpha Vantage's `/query` from fixtures.
 * Routes are named `chart:SYMBOL` and `FUNCTION:SYMBOL`; `script` queues answers per route
 * (used before the fixtures), `counts` counts requests per route.
 */
class ReplayServer {
  counts = new Map<string, number>();
  urls: string[] = [];
  /** User-Agent of each chart request. */
  agents: string[] = [];
  script = new Map<string, Scripted[]>();
  /**
   * Articles NEWS_SENTIMENT answers from, by ticker, as Alpha Vantage does: those of the ticker
   * whose minute lies in time_from..time_to (inclusive), newest first, at most `limit`.
   */
  newsCorpus = new Map<string, Record<string, unknown>[]>();
  /** The parameters of each NEWS_SENTIMENT request, apikey left out. */
  newsRequests: Record<string, string>[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (req) => this.#handle(req),
    );
  }

  get base(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  count(route: string): number {
    return this.counts.get(route) ?? 0;
  }

  total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  queue(route: string, ...answers: Scripted[]) {
    this.script.set(route, [...(this.script.get(route) ?? []), ...answers]);
  }

  async close() {
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    this.urls.push(req.url);
    let route: string;
    let fixture: string;
    let symbol: string;
    const chart = /^\/v8\/finance\/chart\/(.+)$/.exec(url.pathname);
    if (chart) {
      symbol = decodeURIComponent(chart[1]);
      route = `chart:${symbol}`;
      this.agents.push(req.headers.get("user-agent") ?? "");
      fixture = `chart_${symbol.replace(/[^A-Za-z0-9]/g, "")}.json`;
    } else if (url.pathname === "/query") {
      const fn = url.searchParams.get("function") ?? "";
      symbol = url.searchParams.get("symbol") ?? url.searchParams.get("tickers") ??
        url.searchParams.get("maturity") ?? "";
      route = `${fn}:${symbol}`;
      fixture = fn === "TREASURY_YIELD" ? `av_${fn}_${symbol}.json` : `av_${fn}_AAA.json`;
      if (url.searchParams.get("apikey") !== KEY) {
        return Response.json({ "Error Message": "the parameter apikey is invalid or missing" });
      }
    } else {
      return new Response("not found", { status: 404 });
    }
    this.counts.set(route, this.count(route) + 1);
    if (route.startsWith("NEWS_SENTIMENT:")) {
      const params = Object.fromEntries(url.searchParams);
      delete params.apikey;
      this.newsRequests.push(params);
    }
    const scripted = this.script.get(route)?.shift();
    if (scripted) {
      const text = scripted.fixture !== undefined
        ? await Deno.readTextFile(join(FIX, scripted.fixture))
        : typeof scripted.body === "string"
        ? scripted.body
        : JSON.stringify(scripted.body);
      return new Response(text, { status: scripted.status ?? 200, headers: scripted.headers });
    }
    const corpus = this.newsCorpus.get(symbol);
    if (route.startsWith("NEWS_SENTIMENT:") && corpus) {
      const from = url.searchParams.get("time_from") ?? "";
      const to = url.searchParams.get("time_to") ?? "99999999T9999";
      const feed = corpus
        .filter((a) => {
          const minute = String(a.time_published).slice(0, 13);
          return minute >= from && minute <= to;
        })
        .sort((a, b) => String(b.time_published).localeCompare(String(a.time_published)))
        .slice(0, Number(url.searchParams.get("limit") ?? 50));
      return Response.json({ items: String(feed.length), feed });
    }
    try {
      const text = await Deno.readTextFile(join(FIX, fixture));
      return new Response(text.replaceAll('"AAA"', JSON.stringify(symbol)), {
        headers: { "content-type": "application/json" },
      });
    } catch {
      return Response.json({
        chart: { result: null, error: { code: "Not Found", description: "No data found" } },
      }, {
        status: 404,
      });
    }
  }
}

async function withServer(fn: (s: ReplayServer, dir: string) => Promise<void>) {
  const server = new ReplayServer();
  const dir = await Deno.makeTempDir({ prefix: "alfred-fetch-" });
  try {
    await fn(server, dir);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function options(server: ReplayServer, dir: string, extra: Partial<FetchOptions> = {}) {
  const sleeps: number[] = [];
  const logs: string[] = [];
  const o: FetchOptions = {
    tickers: ["AAA", "BBB"],
    market: ["SPY", "^VIX"],
    since: "2023-01-01",
    to: "2024-01-10",
    out: join(dir, "set"),
    alphaVantage: true,
    apiKey: KEY,
    maturities: ["2year"],
    yahooBaseUrl: server.base,
    alphaVantageBaseUrl: server.base,
    cacheDir: join(dir, "cache"),
    retry: { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1000 },
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    log: (line) => logs.push(line),
    ...extra,
  };
  return { o, sleeps, logs };
}

/** Every file's text under a folder. */
async function allText(dir: string): Promise<string> {
  let out = "";
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    out += e.isDirectory
      ? await allText(p)
      : `${p}\n${await Deno.readTextFile(p).catch(() => "")}\n`;
  }
  return out;
}

const column = (df: pl.DataFrame, name: string) => df.getColumn(name).toArray() as unknown[];
const isoDates = (df: pl.DataFrame, name: string) =>
  (df.getColumn(name).toArray() as unknown as Date[]).map((d) => d.toISOString().slice(0, 10));

Deno.test("fetch: a successful fetch into a dataset folder", async () => {
  await withServer(async (server, dir) => {
    const { o, logs } = options(server, dir);
    const report = await fetchDataset(o);
    assertEquals(report.items, 2 + 2 + 4 * 2 + 1);
    assertEquals(report.fetched, report.items);
    assertEquals(report.cached, 0);
    assertEquals(report.tables, ["prices", "fundamentals", "insider", "sentiment", "market"]);

    const m: Manifest = JSON.parse(await Deno.readTextFile(join(o.out, "manifest.json")));
    const ds = await loadDatasetFolder(o.out); // every table has the documented columns and dtypes
    assertEquals(ds.manifest.tables, report.tables);
    assertEquals(m.synthetic, false);
    assertEquals(m.tickers, ["AAA", "BBB"]);
    assertEquals(m.from, "2024-01-02");
    assertEquals(m.to, "2024-01-05");
    assertEquals(m.index, "SPY");
    assertEquals(m.riskFree, "2year");
    assertEquals(m.series.map((s) => s.name), ["2year", "SPY", "^VIX"]);
    assertMatch(m.provenance, /Yahoo Finance .*Alpha Vantage/);
    assert(m.warnings.some((w) => /survivorship/.test(w)));

    // prices: dates in the exchange's time zone, close split-adjusted, adj_close dividend-adjusted,
    // a day without a close skipped
    const prices = pl.readParquet(join(o.out, "prices.parquet"));
    assertEquals(prices.columns, [
      "ticker",
      "date",
      "close",
      "open",
      "high",
      "low",
      "adj_close",
      "volume",
    ]);
    const aaa = prices.filter(pl.col("ticker").eq(pl.lit("AAA")));
    assertEquals(isoDates(aaa, "date"), [
      "2024-01-02",
      "2024-01-03",
      "2024-01-04",
      "2024-01-05",
    ]);
    assertEquals(column(aaa, "close"), [100, 101, 102, 103]);
    assertEquals(column(aaa, "adj_close"), [99, 100, 101, 102]);
    assertEquals(column(aaa, "volume"), [1000, 1100, null, 1300]);
    const bbb = prices.filter(pl.col("ticker").eq(pl.lit("BBB")));
    assertEquals(isoDates(bbb, "date"), ["2024-01-02", "2024-01-04", "2024-01-05"]);

    // fundamentals dated by the report date, margins from the income statement of that quarter
    const f = pl.readParquet(join(o.out, "fundamentals.parquet")).filter(
      pl.col("ticker").eq(pl.lit("AAA")),
    );
    assertEquals(
      isoDates(f, "report_date"),
      ["2023-08-03", "2023-11-02", "2024-02-01"].filter((d) => d <= "2024-01-10"),
    );
    assertEquals(isoDates(f, "fiscal_date_ending"), ["2023-06-30", "2023-09-30"]);
    const gross = column(f, "margin_gross") as (number | null)[];
    assertEquals(gross[0], null); // no income statement for 2023-06-30
    assert(Math.abs(gross[1]! - 40427 / 89498) < 1e-12);
    assertEquals(column(f, "estimated_eps"), [null, 1.39]);
    assertEquals(column(f, "surprise_percentage"), [null, 5.036]);
    assert(
      report.warnings.some((w) =>
        /AAA: 1 income statement quarters have no earnings report date/.test(w)
      ),
    );

    // insider: shares per day, acquisitions and disposals apart, within the range
    const ins = pl.readParquet(join(o.out, "insider.parquet")).filter(
      pl.col("ticker").eq(pl.lit("AAA")),
    );
    assertEquals(isoDates(ins, "date"), ["2023-10-02", "2023-11-15"]);
    assertEquals(column(ins, "disposal"), [1500, 0]);
    assertEquals(column(ins, "acquisition"), [0, 2500]);

    // sentiment: relevance-weighted ticker score; outlook the articles' overall score
    const sen = pl.readParquet(join(o.out, "sentiment.parquet")).filter(
      pl.col("ticker").eq(pl.lit("AAA")),
    );
    assertEquals(isoDates(sen, "date"), ["2024-01-03", "2024-01-05"]);
    const s = column(sen, "sentiment") as number[];
    assert(Math.abs(s[0] - (0.75 * 0.4 + 0.25 * -0.2)) < 1e-12);
    assert(Math.abs((column(sen, "outlook") as number[])[0] - 0.1) < 1e-12);

    // market: Yahoo series (adjusted close) and the 2-year yield without its "." day
    const mk = pl.readParquet(join(o.out, "market.parquet"));
    assertEquals(mk.columns, ["date", "series", "value"]);
    const y2 = mk.filter(pl.col("series").eq(pl.lit("2year")));
    assertEquals(isoDates(y2, "date"), ["2024-01-02", "2024-01-04", "2024-01-05"]);
    assertEquals(column(y2, "value"), [4.33, 4.38, 4.4]);
    assertEquals(column(mk.filter(pl.col("series").eq(pl.lit("SPY"))), "value").slice(0, 1), [
      464.1,
    ]);

    // progress lines, and the key went to the server but nowhere else
    assertMatch(logs.join("\n"), /\[1\/13\] Yahoo chart AAA: 4 rows \(fetched/);
    assertMatch(logs.join("\n"), /\[13\/13\] Alpha Vantage TREASURY_YIELD 2year: 3 rows/);
    assert(server.urls.some((u) => u.includes(`apikey=${KEY}`)));
    // the Yahoo package's browser User-Agent is forwarded (Yahoo throttles bare clients)
    assert(
      server.agents.length === 4 && server.agents.every((a) => a.startsWith("Mozilla/")),
      server.agents.join(),
    );
    const stored = await allText(dir);
    assert(stored.includes("quarterlyEarnings"), "raw responses are cached");
    assertEquals(stored.includes(KEY), false, "the key must not be in the cache or the dataset");
    assertEquals(logs.join("\n").includes(KEY), false);
  });
});

Deno.test("fetch: HTTP 429 and Alpha Vantage's rate-limit Note are retried with backoff", async () => {
  await withServer(async (server, dir) => {
    const { o, sleeps, logs } = options(server, dir, {
      tickers: ["AAA"],
      market: [],
      maturities: [],
    });
    server.queue("chart:AAA", { status: 429, body: "Too Many Requests" }, {
      status: 503,
      body: "busy",
    });
    server.queue("EARNINGS:AAA", { fixture: "av_note.json" });
    server.queue("INSIDER_TRANSACTIONS:AAA", {
      status: 429,
      body: "slow down",
      headers: { "retry-after": "0.5" },
    });
    const report = await fetchDataset(o);
    assertEquals(report.items, 5);
    assertEquals(server.count("chart:AAA"), 3);
    assertEquals(server.count("EARNINGS:AAA"), 2);
    assertEquals(server.count("INSIDER_TRANSACTIONS:AAA"), 2);
    // backoff 100 ms, then 200 ms; Retry-After 0.5 s beats the 100 ms backoff
    const waits = sleeps.filter((ms) => ms === 100 || ms === 200 || ms === 500);
    assertEquals(waits, [100, 200, 100, 500]);
    const text = logs.join("\n");
    assertMatch(
      text,
      /Yahoo Finance chart for "AAA": HTTP 429: Too Many Requests; retry 1\/3 in 0\.1 s/,
    );
    assertMatch(
      text,
      /Alpha Vantage EARNINGS for "AAA": rate limited: Thank you for using Alpha Vantage!/,
    );
    // the rate-limit note was not cached: the cached EARNINGS is the real answer
    const again = await fetchDataset(o);
    assertEquals(again.fetched, 0);
    assertEquals(server.count("EARNINGS:AAA"), 2);
  });
});

Deno.test("fetch: a rate limit that persists fails after the bounded retries, naming the endpoint", async () => {
  await withServer(async (server, dir) => {
    const { o } = options(server, dir, { tickers: ["AAA"], market: [], maturities: [] });
    for (let i = 0; i < 4; i++) {
      server.queue("EARNINGS:AAA", { fixture: "av_information_limit.json" });
    }
    const e = await assertRejects(() => fetchDataset(o), FetchError);
    assertEquals(e.endpoint, "EARNINGS");
    assertEquals(e.symbol, "AAA");
    assertMatch(
      e.message,
      /Alpha Vantage EARNINGS for "AAA" failed after 4 attempts \(rate limited: .*25 requests per day.*\); completed downloads are cached/,
    );
    assertEquals(server.count("EARNINGS:AAA"), 4);
    assertEquals(await exists(o.out), false, "nothing written on failure");
  });
});

Deno.test("fetch: malformed payloads give clear errors naming the symbol and endpoint", async () => {
  await withServer(async (server, dir) => {
    const yahooOnly = options(server, dir, { tickers: ["AAA"], market: [], alphaVantage: false }).o;
    server.queue("chart:AAA", { fixture: "chart_malformed.json" });
    const malformed = await assertRejects(() => fetchDataset(yahooOnly), FetchError);
    assertMatch(malformed.message, /^Malformed Yahoo Finance chart response for "AAA": /);
    server.queue("chart:AAA", { body: "<html>gateway</html>" });
    await assertRejects(
      () => fetchDataset(yahooOnly),
      Error,
      'Malformed Yahoo Finance chart response for "AAA"',
    );
    assertEquals(await exists(yahooOnly.out), false);

    const { o } = options(server, dir, { tickers: ["AAA"], market: [], maturities: [] });
    server.queue("EARNINGS:AAA", { fixture: "av_EARNINGS_malformed.json" });
    await assertRejects(
      () => fetchDataset(o),
      Error,
      'Malformed Alpha Vantage EARNINGS response for "AAA": quarterlyEarnings[0]: "reportedDate" is "soon", not a date YYYY-MM-DD',
    );
    server.queue("INSIDER_TRANSACTIONS:AAA", { body: { data: "nope" } });
    await assertRejects(
      () => fetchDataset(o),
      Error,
      'Malformed Alpha Vantage INSIDER_TRANSACTIONS response for "AAA": expected "data" to be an array; got keys "data"',
    );
    server.queue("NEWS_SENTIMENT:AAA", { body: "{not json" });
    await assertRejects(
      () => fetchDataset(o),
      Error,
      'Malformed Alpha Vantage NEWS_SENTIMENT response for "AAA": not JSON',
    );
    // an Alpha Vantage error answer, and an HTTP 400 echoing the URL: the key is masked in both
    const ddd = options(server, dir, { tickers: ["DDD"], market: [], maturities: [] }).o;
    server.queue("chart:DDD", { fixture: "chart_AAA.json" });
    server.queue("EARNINGS:DDD", {
      body: { "Error Message": `Invalid API call for apikey=${KEY}` },
    });
    const avError = await assertRejects(() => fetchDataset(ddd));
    assertMatch(
      avError.message,
      /Alpha Vantage EARNINGS for "DDD" answered with an error: Invalid API call for apikey=\*\*\*/,
    );
    assertEquals(avError.message.includes(KEY), false);
    server.queue("EARNINGS:DDD", {
      status: 400,
      body: `bad request: ${server.base}/query?apikey=${KEY}`,
    });
    const httpError = await assertRejects(() => fetchDataset(ddd));
    assertMatch(
      httpError.message,
      /Alpha Vantage EARNINGS for "DDD" failed with HTTP 400: bad request: .*apikey=\*\*\*/,
    );
    assertEquals(httpError.message.includes(KEY), false);
    // a payload that echoes the key inside a malformed value: masked in the parse error too
    server.queue("EARNINGS:DDD", {
      body: { quarterlyEarnings: [{ fiscalDateEnding: "2023-12-31", reportedDate: `x${KEY}` }] },
    });
    const echoed = await assertRejects(() => fetchDataset(ddd));
    assertMatch(
      echoed.message,
      /EARNINGS response for "DDD": quarterlyEarnings\[0\]: "reportedDate" is "x\*\*\*"/,
    );
    // a malformed answer is fetched again next time (it was not cached): this run succeeds
    const before = server.count("EARNINGS:AAA");
    await fetchDataset(o);
    assertEquals(server.count("EARNINGS:AAA"), before, "the good EARNINGS answer was cached");
    assertEquals(
      server.count("NEWS_SENTIMENT:AAA"),
      2,
      "the malformed NEWS_SENTIMENT was fetched again",
    );
    // malformed answers were never cached: the cache holds only well-formed ones
    const cached = await allText(join(dir, "cache"));
    assertEquals(cached.includes("soon"), false);
    assertEquals(cached.includes("gateway"), false);
    assertEquals(cached.includes(KEY), false);
  });
});

Deno.test("fetch: a second run re-fetches nothing cached, and an interrupted run resumes", async () => {
  await withServer(async (server, dir) => {
    const { o } = options(server, dir);
    // interrupted at the 6th item (Alpha Vantage EARNINGS of AAA) by a server error that persists
    for (let i = 0; i < 4; i++) {
      server.queue("EARNINGS:AAA", { status: 500, body: "internal error" });
    }
    await assertRejects(
      () => fetchDataset(o),
      Error,
      'EARNINGS for "AAA" failed after 4 attempts (HTTP 500',
    );
    assertEquals(await exists(o.out), false);
    assertEquals(server.count("chart:AAA"), 1);
    assertEquals(server.count("chart:^VIX"), 1);
    assertEquals(Object.keys(await new FetchCache(o.cacheDir).index()).length, 4);

    const resumed = await fetchDataset(o);
    assertEquals(resumed.cached, 4);
    assertEquals(resumed.fetched, 9);
    for (const route of ["chart:AAA", "chart:BBB", "chart:SPY", "chart:^VIX"]) {
      assertEquals(server.count(route), 1, route);
    }
    assertEquals(server.count("EARNINGS:AAA"), 5);
    assertEquals(server.count("TREASURY_YIELD:2year"), 1);

    const before = server.total();
    const third = await fetchDataset(o);
    assertEquals(server.total(), before, "a complete cache sends no request");
    assertEquals(third.cached, third.items);
    const prices = pl.readParquet(join(o.out, "prices.parquet"));
    assertEquals(prices.height, 7);
  });
});

Deno.test("fetchCommand: env base URLs and key, progress on stdout, the key masked everywhere", async () => {
  await withServer(async (server, dir) => {
    const logs: string[] = [];
    const errors: string[] = [];
    const origLog = console.log;
    const origError = console.error;
    console.log = (...a: unknown[]) => logs.push(a.join(" "));
    console.error = (...a: unknown[]) => errors.push(a.join(" "));
    const saved = ["ALFRED_YAHOO_BASE_URL", "ALFRED_ALPHAVANTAGE_BASE_URL", "ALPHAVANTAGE_API_KEY"]
      .map((
        k,
      ) => [k, Deno.env.get(k)] as const);
    try {
      Deno.env.set("ALFRED_YAHOO_BASE_URL", server.base);
      Deno.env.set("ALFRED_ALPHAVANTAGE_BASE_URL", server.base);
      Deno.env.set("ALPHAVANTAGE_API_KEY", KEY);
      const out = join(dir, "cli-set");
      const args = [
        "--tickers",
        "AAA",
        "--market",
        "SPY",
        "--since",
        "2023-06-01",
        "--to",
        "2024-01-10",
        "--out",
        out,
        "--cache-dir",
        join(dir, "cache"),
        "--alpha-vantage",
        "--maturities",
        "2year",
        "--av-per-minute",
        "60000",
      ];
      assertEquals(await fetchCommand(args), 0, errors.join("\n"));
      assertMatch(logs.join("\n"), /\[7\/7\] Alpha Vantage TREASURY_YIELD 2year/);
      assertMatch(
        logs.join("\n"),
        /Wrote .*cli-set: prices, fundamentals, insider, sentiment, market/,
      );
      assert(await exists(join(out, "manifest.json")));

      server.queue("chart:ZZZ", { status: 404, body: `no such symbol; key=${KEY}` });
      assertEquals(await fetchCommand([...args.slice(0, 1), "ZZZ", ...args.slice(2)]), 1);
      assertMatch(errors.join("\n"), /Yahoo Finance chart for "ZZZ" failed with HTTP 404/);

      assertEquals(await fetchCommand([...args, "--maturities", "3year"]), 2);
      assertMatch(errors.join("\n"), /Unknown Treasury maturity "3year".*no 3-year series/);
      Deno.env.delete("ALPHAVANTAGE_API_KEY");
      assertEquals(await fetchCommand(args), 2);
      assertMatch(errors.join("\n"), /Alpha Vantage needs an API key: set ALPHAVANTAGE_API_KEY/);
      assertEquals(await fetchCommand(["--tickers", "AAA", "--out", out]), 2);
      assertMatch(errors.join("\n"), /Missing --since/);
      assertEquals([...logs, ...errors].join("\n").includes(KEY), false);
    } finally {
      console.log = origLog;
      console.error = origError;
      for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
  });
});

Deno.test("TokenBucket allows a burst, then waits for the refill", async () => {
  let now = 0;
  const sleeps: number[] = [];
  const bucket = new TokenBucket(2, 2, () => now, (ms) => {
    sleeps.push(ms);
    now += ms;
    return Promise.resolve();
  });
  await bucket.take();
  await bucket.take();
  assertEquals(sleeps, []);
  await bucket.take();
  assertEquals(sleeps, [500]);
  now += 1000; // two tokens back
  await bucket.take();
  await bucket.take();
  assertEquals(sleeps, [500]);
  assertThrows(() => new TokenBucket(0, 1), RangeError);
});

Deno.test("joinFundamentals dates rows by reportedDate, never the fiscal period end", async () => {
  const earnings = parseEarnings(
    JSON.parse(await Deno.readTextFile(join(FIX, "av_EARNINGS_AAA.json"))),
    "AAA",
  );
  const income = parseIncomeStatement(
    JSON.parse(await Deno.readTextFile(join(FIX, "av_INCOME_STATEMENT_AAA.json"))),
    "AAA",
  );
  const { rows, undated } = joinFundamentals("AAA", earnings, income);
  assertEquals(rows.map((r) => [r.report_date, r.fiscal_date_ending]), [
    ["2023-08-03", "2023-06-30"],
    ["2023-11-02", "2023-09-30"],
    ["2024-02-01", "2023-12-31"],
  ]);
  assert(Math.abs(rows[2].margin_net_profit! - 33916 / 119575) < 1e-12);
  assertEquals(undated, 1); // 2023-03-31 has no earnings report date
});

// --- news (NEWS_SENTIMENT into the `news` table) ------------------------------------------------
// Every test below replays recorded Alpha Vantage answers (tests/fixtures/data/fetch/) or a corpus
// served by the local ReplayServer in the shape NEWS_SENTIMENT answers in: no network.

/** One row of the `news` table, `published_at` as ISO UTC. */
interface NewsTableRow {
  ticker: string;
  published_at: string;
  article_id: string;
  headline: string;
  summary: string | null;
  source: string | null;
  url: string | null;
  provider_sentiment: number | null;
  provider_relevance: number | null;
}

/** The news table's rows of one ticker. */
function newsOf(dir: string, ticker: string): NewsTableRow[] {
  const df = pl.readParquet(join(dir, "news.parquet")).filter(pl.col("ticker").eq(pl.lit(ticker)));
  return (df.toRecords() as Record<string, unknown>[]).map((r) =>
    ({
      ...r,
      published_at: (r.published_at as Date).toISOString(),
    }) as NewsTableRow
  );
}

Deno.test("fetch --news (replayed, no network): NEWS_SENTIMENT articles become the news table, New York times in UTC, the provider's scores kept apart", async () => {
  await withServer(async (server, dir) => {
    const { o, logs } = options(server, dir, {
      tickers: ["AAA", "BBB"],
      market: [],
      alphaVantage: false,
      news: true,
    });
    server.queue("NEWS_SENTIMENT:AAA", { fixture: "av_NEWS_SENTIMENT_news.json" });
    const report = await fetchDataset(o);
    assertEquals(report.tables, ["prices", "news"]);
    assertEquals(report.items, 2 + 2);
    const ds = await loadDatasetFolder(o.out); // the news table passes the dataset's checks
    assertEquals(ds.manifest.tables, ["prices", "news"]);
    assertMatch(ds.manifest.provenance, /Alpha Vantage \(NEWS_SENTIMENT\)/);
    assertMatch(ds.manifest.provenance, /time_published read as America\/New_York wall-clock/);
    const df = pl.readParquet(join(o.out, "news.parquet"));
    assertEquals(df.columns, [
      "ticker",
      "published_at",
      "article_id",
      "headline",
      "summary",
      "source",
      "url",
      "provider_sentiment",
      "provider_relevance",
    ]);
    assertMatch(String(df.getColumn("published_at").dtype), /Datetime\(ms, ?UTC\)/);

    // One request per ticker over the whole window: the request a plain --alpha-vantage makes.
    assertEquals(server.newsRequests.filter((p) => p.tickers === "AAA"), [{
      function: "NEWS_SENTIMENT",
      tickers: "AAA",
      time_from: "20230101T0000",
      time_to: "20240110T2359",
      sort: "LATEST",
      limit: "1000",
    }]);

    const aaa = newsOf(o.out, "AAA");
    assertEquals(aaa.map((r) => [r.published_at, r.headline]), [
      // 15:59 and 16:00 New York daylight time (UTC-4) on the quarter's last trading day
      ["2023-06-30T19:59:00.000Z", "AAA shares slide before the close"],
      ["2023-06-30T20:00:00.000Z", "AAA second-quarter sales top forecasts"],
      // an article fetched for AAA that does not list it: a row, without provider scores
      ["2023-07-05T14:15:00.000Z", "Retail roundup: what moved the sector this week"],
      // standard time (UTC-5) after 2023-11-05
      ["2023-11-06T13:30:00.000Z", "AAA and BBB sign a supply deal"],
    ]);
    assertEquals(aaa.map((r) => r.provider_sentiment), [-0.38, 0.51, null, 0.25]);
    assertEquals(aaa.map((r) => r.provider_relevance), [0.8, 0.92, null, 0.61]);
    assertEquals(aaa[3].article_id, "https://news.example.com/2023/11/06/aaa-bbb-supply-deal");
    assertEquals(aaa[3].url, aaa[3].article_id);
    assertEquals(aaa[3].source, "Example Wire");
    assertEquals(aaa[3].summary, "The two companies agreed on a five-year supply contract.");
    assertEquals(aaa[2].summary, null, "an empty summary is missing");
    assert(report.warnings.some((w) => /1 news articles without a title were left out/.test(w)));

    // The close rule on the fetched times: 15:59 counts for 2023Q2, 16:00 for 2023Q3.
    const close = { time_zone: "America/New_York", time: "16:00" };
    const q2 = [isoToDay("2023-03-31"), isoToDay("2023-06-30")] as const;
    assert(countsForQuarter(Date.parse(aaa[0].published_at), ...q2, close));
    assertEquals(countsForQuarter(Date.parse(aaa[1].published_at), ...q2, close), false);

    // BBB: its own articles, and the AAA article that names it with BBB's own scores. Tickers the
    // dataset does not hold (ZZZ, CRYPTO:BTC) get no rows.
    const bbb = newsOf(o.out, "BBB");
    const deal = bbb.find((r) => r.headline === "AAA and BBB sign a supply deal")!;
    assertEquals([deal.provider_sentiment, deal.provider_relevance], [0.12, 0.44]);
    assertEquals(bbb.length, 3 + 1);
    assertEquals(
      (df.getColumn("ticker").toArray() as string[]).filter((t) => t !== "AAA" && t !== "BBB"),
      [],
    );
    assertMatch(
      logs.join("\n"),
      /Alpha Vantage NEWS_SENTIMENT AAA \(news\): 5 rows \(1 page, fetched/,
    );

    // A second run reads every page from the cache and writes the same table.
    const before = server.total();
    const again = await fetchDataset(o);
    assertEquals(server.total(), before, "a complete cache sends no request");
    assertEquals(again.cached, again.items);
    assertEquals(newsOf(o.out, "AAA"), aaa);

    // The key went to the server and nowhere else: not in the cache, the dataset or the log.
    assert(server.urls.some((u) => u.includes(`apikey=${KEY}`)));
    const stored = await allText(dir);
    assert(stored.includes("aaa-bbb-supply-deal"), "raw news answers are cached");
    assertEquals(stored.includes(KEY), false);
    assertEquals(logs.join("\n").includes(KEY), false);
  });
});

Deno.test("fetch --alpha-vantage --news: one NEWS_SENTIMENT item per ticker gives both the news and the sentiment table", async () => {
  await withServer(async (server, dir) => {
    const { o } = options(server, dir, { tickers: ["AAA"], market: [], news: true });
    const report = await fetchDataset(o);
    assertEquals(report.items, 1 + 3 + 1 + 1, "no second NEWS_SENTIMENT item for the sentiment");
    assertEquals(report.tables, [
      "prices",
      "fundamentals",
      "insider",
      "sentiment",
      "market",
      "news",
    ]);
    assertEquals(server.count("NEWS_SENTIMENT:AAA"), 1);
    const sen = pl.readParquet(join(o.out, "sentiment.parquet"));
    assertEquals(isoDates(sen, "date"), ["2024-01-03", "2024-01-05"]);
    assert(
      Math.abs((column(sen, "sentiment") as number[])[0] - (0.75 * 0.4 + 0.25 * -0.2)) < 1e-12,
    );
    assertEquals(newsOf(o.out, "AAA").length, 3);
  });
});

/** `n` articles about `ticker`, three to a minute from 2023-03-01 09:00 on (so pages of 1000 end mid-minute). */
function newsCorpus(ticker: string, n: number): Record<string, unknown>[] {
  const start = Date.UTC(2023, 2, 1, 9, 0);
  return Array.from({ length: n }, (_, i) => {
    const t = new Date(start + Math.floor(i / 3) * 60_000).toISOString();
    const stamp = `${t.slice(0, 4)}${t.slice(5, 7)}${t.slice(8, 10)}T${t.slice(11, 13)}${
      t.slice(14, 16)
    }${String(i % 3).padStart(2, "0")}`;
    return {
      title: `${ticker} story ${i}`,
      url: `https://news.example.com/${ticker}/${i}`,
      time_published: stamp,
      summary: "",
      source: "Example Wire",
      overall_sentiment_score: 0,
      ticker_sentiment: [{ ticker, relevance_score: "0.5", ticker_sentiment_score: "0.1" }],
    };
  });
}

Deno.test("fetch --news pages over time: each page ends at the minute of the last one's oldest article, every article once", async () => {
  await withServer(async (server, dir) => {
    const n = 2345;
    server.newsCorpus.set("AAA", newsCorpus("AAA", n));
    const { o, logs } = options(server, dir, {
      tickers: ["AAA"],
      market: [],
      alphaVantage: false,
      news: true,
    });
    const minuteOf = (i: number) => {
      const t = new Date(Date.UTC(2023, 2, 1, 9, Math.floor(i / 3))).toISOString();
      return `${t.slice(0, 4)}${t.slice(5, 7)}${t.slice(8, 10)}T${t.slice(11, 13)}${
        t.slice(14, 16)
      }`;
    };

    // Capped at one page: the newest 1000 (stories 2344..1345), and a warning naming the gap.
    const capped = await fetchDataset({ ...o, newsPages: 1 });
    assertEquals(newsOf(o.out, "AAA").length, 1000);
    assert(
      capped.warnings.some((w) =>
        /AAA: news stops at the page cap \(1 pages of 1000 articles\); articles published before 2023-03-01 16:28 \(America\/New_York\) were not fetched/
          .test(w)
      ),
      capped.warnings.join("\n"),
    );

    // The second page is rate limited until the retries run out: the run fails, page one stays
    // cached.
    for (let i = 0; i < 4; i++) {
      server.queue("NEWS_SENTIMENT:AAA", { fixture: "av_information_limit.json" });
    }
    const limited = await assertRejects(() => fetchDataset(o), FetchError);
    assertMatch(
      limited.message,
      /Alpha Vantage NEWS_SENTIMENT for "AAA" failed after 4 attempts \(rate limited: .*25 requests per day/,
    );

    // Resumed: page one from the cache, then pages two and three.
    server.newsRequests = [];
    const report = await fetchDataset(o);
    assertEquals(server.newsRequests.map((p) => p.time_to), [
      minuteOf(1345), // 1345 shares its minute with 1344 and 1346: they come again on page two
      minuteOf(347), // page two: stories 1346..347 (998 new)
    ]);
    const rows = newsOf(o.out, "AAA");
    assertEquals(rows.length, n, "every article, none twice");
    assertEquals(new Set(rows.map((r) => r.article_id)).size, n);
    assertEquals(rows[0].headline, "AAA story 0");
    assertMatch(logs.join("\n"), /NEWS_SENTIMENT AAA \(news\): 2345 rows \(3 pages, fetched/);
    assertEquals(report.warnings.filter((w) => /page/.test(w)), []);

    const before = server.total();
    await fetchDataset(o);
    assertEquals(server.total(), before, "a complete cache sends no request");
  });
});

Deno.test("fetch --news errors name the endpoint and ticker: a bad key, an Information answer, a malformed time, a bad time zone", async () => {
  await withServer(async (server, dir) => {
    const base = { tickers: ["AAA"], market: [], alphaVantage: false, news: true };
    // The replay server answers a wrong key the way Alpha Vantage does, with an "Error Message".
    const wrong = "WRONGKEY987";
    const bad = await assertRejects(
      () => fetchDataset(options(server, dir, { ...base, apiKey: wrong }).o),
      FetchError,
    );
    assertEquals([bad.endpoint, bad.symbol], ["NEWS_SENTIMENT", "AAA"]);
    assertMatch(
      bad.message,
      /^Alpha Vantage NEWS_SENTIMENT for "AAA" answered with an error: the parameter apikey is invalid or missing/,
    );
    const { o } = options(server, dir, base);
    server.queue("NEWS_SENTIMENT:AAA", {
      body: {
        Information: `The demo API key is for demo purposes only (you sent apikey=${KEY}).`,
      },
    });
    const info = await assertRejects(() => fetchDataset(o), FetchError);
    assertMatch(
      info.message,
      /^Alpha Vantage NEWS_SENTIMENT for "AAA" answered: The demo API key is for demo purposes only \(you sent apikey=\*\*\*\)/,
    );
    server.queue("NEWS_SENTIMENT:AAA", {
      body: { feed: [{ title: "x", url: "u", time_published: "2024-01-03 13:30" }] },
    });
    await assertRejects(
      () => fetchDataset(o),
      FetchError,
      'Malformed Alpha Vantage NEWS_SENTIMENT response for "AAA": feed[0]: "time_published" is "2024-01-03 13:30", expected YYYYMMDDTHHMMSS',
    );
    await assertRejects(
      () => fetchDataset({ ...o, newsTimeZone: "Mars/Olympus" }),
      TypeError,
      'Invalid --news-time-zone: Unknown time zone "Mars/Olympus"',
    );
    assertEquals(await exists(o.out), false, "nothing written on failure");
    // None of the failures was cached: the next run fetches the real answer.
    await fetchDataset(o);
    assertEquals(newsOf(o.out, "AAA").length, 3);
    assertEquals((await allText(dir)).includes(KEY), false);
  });
});

Deno.test("parseNewsFeed reads time_published in the zone it is told (New York by default)", async () => {
  const json = JSON.parse(await Deno.readTextFile(join(FIX, "av_NEWS_SENTIMENT_news.json")));
  const ny = parseNewsFeed(json, "AAA");
  const utc = parseNewsFeed(json, "AAA", "UTC");
  assertEquals(new Date(ny[0].publishedMs).toISOString(), "2023-11-06T13:30:00.000Z");
  assertEquals(new Date(utc[0].publishedMs).toISOString(), "2023-11-06T08:30:00.000Z");
  assertEquals(ny[2].publishedMs - utc[2].publishedMs, 4 * 3_600_000, "daylight time: UTC-4");
  assertEquals(ny[0].date, "2023-11-06");
  assertEquals(ny[0].tickers.map((t) => t.ticker), ["AAA", "BBB", "CRYPTO:BTC"]);
});

Deno.test("fetchCommand --news: the news table from the command line, the key masked, bad options are usage errors", async () => {
  await withServer(async (server, dir) => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    const saved = Deno.env.get("ALPHAVANTAGE_API_KEY");
    try {
      Deno.env.set("ALPHAVANTAGE_API_KEY", KEY);
      const target = join(dir, "cli-news");
      const args = [
        "--tickers",
        "AAA",
        "--market",
        "none",
        "--since",
        "2023-01-01",
        "--to",
        "2024-01-10",
        "--out",
        target,
        "--cache-dir",
        join(dir, "cache"),
        "--yahoo-base-url",
        server.base,
        "--alpha-vantage-base-url",
        server.base,
        "--av-per-minute",
        "60000",
        "--news",
      ];
      assertEquals(await fetchCommand([...args, "--news-pages", "2"], io), 0, err.join("\n"));
      assertMatch(
        out.join("\n"),
        /\[2\/2\] Alpha Vantage NEWS_SENTIMENT AAA \(news\): 3 rows \(1 page/,
      );
      assertMatch(out.join("\n"), /Wrote .*cli-news: prices, news/);
      assertEquals(newsOf(target, "AAA").length, 3);

      assertEquals(await fetchCommand([...args, "--news-time-zone", "Mars/Olympus"], io), 2);
      assertMatch(err.join("\n"), /Invalid --news-time-zone: Unknown time zone "Mars\/Olympus"/);
      assertEquals(await fetchCommand([...args, "--news-pages", "0"], io), 2);
      assertMatch(err.join("\n"), /Invalid --news-pages "0": expected an integer ≥ 1/);
      Deno.env.delete("ALPHAVANTAGE_API_KEY");
      assertEquals(await fetchCommand(args, io), 2);
      assertMatch(err.join("\n"), /Alpha Vantage needs an API key: set ALPHAVANTAGE_API_KEY/);
      assertEquals([...out, ...err].join("\n").includes(KEY), false);
    } finally {
      saved === undefined
        ? Deno.env.delete("ALPHAVANTAGE_API_KEY")
        : Deno.env.set("ALPHAVANTAGE_API_KEY", saved);
    }
  });
});

Deno.test("fetch --news steps past a minute with more than a page of articles, and stops when windows bring nothing new", async () => {
  await withServer(async (server, dir) => {
    // 1200 articles in the minute 2024-01-05 12:00, and five from the day before.
    const crowded = Array.from({ length: 1205 }, (_, i) => ({
      title: `story ${i}`,
      url: `https://news.example.com/crowded/${i}`,
      time_published: i < 1200
        ? `20240105T1200${String(i % 60).padStart(2, "0")}`
        : `20240104T09${String(i - 1200).padStart(2, "0")}00`,
      ticker_sentiment: [{ ticker: "AAA", relevance_score: "1", ticker_sentiment_score: "0" }],
    }));
    server.newsCorpus.set("AAA", crowded);
    const { o } = options(server, dir, {
      tickers: ["AAA"],
      market: [],
      alphaVantage: false,
      news: true,
    });
    const report = await fetchDataset(o);
    assertEquals(server.newsRequests.map((p) => p.time_to), [
      "20240110T2359",
      "20240105T1200", // the same 1000 again: the minute holds more than a page
      "20240105T1159",
    ]);
    assertEquals(newsOf(o.out, "AAA").length, 1005);
    assert(
      report.warnings.some((w) =>
        w.startsWith(
          "AAA: more than 1000 news articles published in the minute 2024-01-05 12:00 (America/New_York)",
        )
      ),
      report.warnings.join("\n"),
    );

    // A service that ignored time_to would send the newest page for every window: two pages in a
    // row with nothing new stop the paging instead of walking back a minute a request.
    const page = newsCorpus("BBB", 1000).reverse();
    server.newsRequests = [];
    for (let i = 0; i < 3; i++) server.queue("NEWS_SENTIMENT:BBB", { body: { feed: page } });
    const stuck = await fetchDataset({ ...o, tickers: ["BBB"], out: join(dir, "stuck") });
    assertEquals(server.newsRequests.length, 3);
    assertEquals(newsOf(join(dir, "stuck"), "BBB").length, 1000);
    assert(
      stuck.warnings.some((w) =>
        /^BBB: Alpha Vantage answered two news windows, .* only with articles it had sent before; paging stopped there/
          .test(w)
      ),
      stuck.warnings.join("\n"),
    );
  });
});
