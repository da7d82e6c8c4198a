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
  TokenBucket,
} from "../src/data/fetch/mod.ts";
import { fetchCommand } from "../src/cli/data_fetch.ts";
import { loadDatasetFolder, type Manifest } from "../src/data/dataset.ts";
import { exists } from "./data_helpers.ts";

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
    const scripted = this.script.get(route)?.shift();
    if (scripted) {
      const text = scripted.fixture !== undefined
        ? await Deno.readTextFile(join(FIX, scripted.fixture))
        : typeof scripted.body === "string"
        ? scripted.body
        : JSON.stringify(scripted.body);
      return new Response(text, { status: scripted.status ?? 200, headers: scripted.headers });
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
