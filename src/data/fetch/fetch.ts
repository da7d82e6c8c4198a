/**
 * Online fetchers: `deno task data fetch --tickers AAPL,MSFT --since 2004-01-01 --out data/my-set`.
 *
 * Daily prices of the tickers and of market series (`^VIX`, `SPY`, `CL=F`, `BZ=F`, `BTC=F` by
 * default) come from Yahoo Finance; with `--alpha-vantage` (key in `ALPHAVANTAGE_API_KEY`) also
 * earnings, income-statement margins, insider transactions, news sentiment and Treasury yields;
 * with `--news` (same key) the articles of Alpha Vantage's NEWS_SENTIMENT, paged over time, as the
 * `news` table (see {@linkcode fetchNewsPages} for the paging and the time zone).
 * Each request goes through a per-service token bucket and bounded retries, its raw answer is
 * cached under `.alfred/cache/fetch/`, and a second run fetches only what is not cached yet, so an
 * interrupted download resumes. The dataset folder is written atomically at the end.
 *
 * Base URLs are configurable (options, or env `ALFRED_YAHOO_BASE_URL` and
 * `ALFRED_ALPHAVANTAGE_BASE_URL`) so tests can point the fetchers at a local replay server.
 *
 * @module
 */
import pl from "nodejs-polars";
import { compareStrings, dateToIso, isIsoDate } from "@alfred/core";
import { basename, resolve } from "node:path";
import type { Manifest, SeriesInfo, TableName } from "../dataset.ts";
import { TABLE_NAMES, tableFrame, writeDataset } from "../dataset.ts";
import { assertReplaceable } from "../import.ts";
import { redact, registerSecret } from "../../redact.ts";
import { FetchCache } from "./cache.ts";
import { FETCH_CACHE_DIR } from "../../paths.ts";
import { newsFrame, type NewsRow } from "../news.ts";
import { zonedTimeMs } from "../../news/point_in_time.ts";
import {
  defaultRetry,
  FetchError,
  HttpClient,
  type RetryPolicy,
  type Sleep,
  TokenBucket,
} from "./http.ts";
import { type DailyBar, fetchYahooDaily, YAHOO_BASE_URL } from "./yahoo.ts";
import type { SentimentRow } from "./alphavantage.ts";
import {
  ALPHAVANTAGE_BASE_URL,
  ALPHAVANTAGE_NEWS_TIME_ZONE,
  alphaVantageGet,
  dailyNewsSentiment,
  fetchNewsPages,
  type FundamentalsRow,
  type InsiderRow,
  joinFundamentals,
  type MarketRow,
  type NewsArticle,
  parseEarnings,
  parseIncomeStatement,
  parseInsiderTransactions,
  parseNewsSentiment,
  parseTreasuryYield,
  TREASURY_MATURITIES,
} from "./alphavantage.ts";

/** Market series fetched from Yahoo by default. */
export const DEFAULT_MARKET = ["^VIX", "SPY", "CL=F", "BZ=F", "BTC=F"];

/** Treasury maturities fetched from Alpha Vantage by default. */
export const DEFAULT_MATURITIES = ["3month", "2year", "5year", "10year"];

const SERIES_DESCRIPTIONS: Record<string, string> = {
  "^VIX": "CBOE Volatility Index (Yahoo ^VIX), daily close",
  SPY: "SPDR S&P 500 ETF (Yahoo SPY), daily close adjusted for splits and dividends",
  "CL=F": "WTI crude oil front-month future (Yahoo CL=F), daily close",
  "BZ=F": "Brent crude oil front-month future (Yahoo BZ=F), daily close",
  "BTC=F": "CME bitcoin front-month future (Yahoo BTC=F), daily close",
};

/** Options of {@linkcode fetchDataset}. */
export interface FetchOptions {
  /** Stock tickers: their prices go to the `prices` table. */
  tickers: string[];
  /** Yahoo symbols whose closes go to the `market` table (default {@linkcode DEFAULT_MARKET}). */
  market?: string[];
  /** First date, `YYYY-MM-DD`. */
  since: string;
  /** Last date, `YYYY-MM-DD` (default: today, UTC). */
  to?: string;
  /** The dataset folder to write. */
  out: string;
  /** Dataset name (default: the folder's name). */
  name?: string;
  /** Licence note for the manifest. */
  licence?: string;
  /** Also fetch from Alpha Vantage (needs `apiKey`). */
  alphaVantage?: boolean;
  /**
   * Also fetch news articles (Alpha Vantage NEWS_SENTIMENT, paged over time) into the `news` table
   * (needs `apiKey`). With `alphaVantage` too, the `sentiment` table is built from the same pages.
   */
  news?: boolean;
  /** The most NEWS_SENTIMENT requests per ticker (default: as many as the window needs). */
  newsPages?: number;
  /**
   * The time zone Alpha Vantage's `time_published` is read in (default
   * {@linkcode ALPHAVANTAGE_NEWS_TIME_ZONE}: the documentation names none).
   */
  newsTimeZone?: string;
  /** Alpha Vantage API key. */
  apiKey?: string;
  /** Treasury maturities (default {@linkcode DEFAULT_MATURITIES}). */
  maturities?: string[];
  /** Benchmark series (default "SPY" when fetched). */
  index?: string | null;
  /** Yahoo base URL (default env `ALFRED_YAHOO_BASE_URL`, else Yahoo's). */
  yahooBaseUrl?: string;
  /** Alpha Vantage base URL (default env `ALFRED_ALPHAVANTAGE_BASE_URL`, else Alpha Vantage's). */
  alphaVantageBaseUrl?: string;
  /** Cache folder (default `.alfred/cache/fetch`). */
  cacheDir?: string;
  /** Yahoo requests a second (default 2). */
  yahooPerSecond?: number;
  /** Alpha Vantage requests a minute (default 5, the free tier). */
  alphaVantagePerMinute?: number;
  /** Backoff policy (default 5 retries from 2 s, at most 60 s). */
  retry?: RetryPolicy;
  /** Sleep (injectable so tests do not wait). */
  sleep?: Sleep;
  /** Progress lines (default: stdout). */
  log?: (line: string) => void;
}

/** What a fetch did. */
export interface FetchReport {
  out: string;
  /** Items planned (one per request; a ticker's news pages are one item). */
  items: number;
  /** Items downloaded in this run. */
  fetched: number;
  /** Items served from the cache. */
  cached: number;
  tables: TableName[];
  warnings: string[];
  manifest: Manifest;
}

/** The value of env `name`, or undefined without permission or when unset. */
function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fetches prices (Yahoo) and optionally fundamentals, insider, sentiment, yields and news (Alpha
 * Vantage) and writes a dataset folder. Stops at the first item that fails (everything fetched so
 * far stays cached, so running it again resumes); the folder is written only when all succeeded.
 *
 * @param options See {@linkcode FetchOptions}.
 * @returns What was fetched and the manifest written.
 * @throws {TypeError} On invalid options (dates, maturities, a missing API key, an unknown news
 *   time zone or page cap).
 * @throws {FetchError} When a request fails after its retries or a payload is malformed.
 * @example
 * ```ts
 * await fetchDataset({ tickers: ["AAPL", "MSFT"], since: "2004-01-01", out: "data/my-set" });
 * ```
 */
export async function fetchDataset(options: FetchOptions): Promise<FetchReport> {
  const to = options.to ?? dateToIso(new Date());
  for (const [name, d] of [["since", options.since], ["to", to]]) {
    if (!isIsoDate(d)) {
      throw new TypeError(`Invalid --${name} "${d}": expected YYYY-MM-DD`);
    }
  }
  if (options.since > to) throw new TypeError(`--since ${options.since} is after --to ${to}`);
  const tickers = [...new Set(options.tickers.map((t) => t.trim().toUpperCase()).filter((t) => t))];
  const market = [
    ...new Set((options.market ?? DEFAULT_MARKET).map((t) => t.trim()).filter((t) => t)),
  ];
  if (tickers.length === 0 && market.length === 0) {
    throw new TypeError("Nothing to fetch: give --tickers or --market");
  }
  const av = options.alphaVantage ?? false;
  const news = options.news ?? false;
  const apiKey = options.apiKey ?? "";
  if ((av || news) && !apiKey) {
    throw new TypeError(
      "Alpha Vantage needs an API key: set ALPHAVANTAGE_API_KEY (free at alphavantage.co)",
    );
  }
  if (news && tickers.length === 0) throw new TypeError("--news needs --tickers");
  const newsTimeZone = options.newsTimeZone ?? ALPHAVANTAGE_NEWS_TIME_ZONE;
  try {
    zonedTimeMs("2000-01-01", "00:00", newsTimeZone);
  } catch (e) {
    throw new TypeError(`Invalid --news-time-zone: ${(e as Error).message}`);
  }
  const newsPages = options.newsPages;
  if (newsPages !== undefined && !(Number.isInteger(newsPages) && newsPages >= 1)) {
    throw new TypeError(`Invalid --news-pages "${newsPages}": expected an integer ≥ 1`);
  }
  const maturities = options.maturities ?? DEFAULT_MATURITIES;
  for (const m of maturities) {
    if (!(TREASURY_MATURITIES as readonly string[]).includes(m)) {
      throw new TypeError(
        `Unknown Treasury maturity "${m}": Alpha Vantage offers ${TREASURY_MATURITIES.join(", ")}` +
          (m === "3year" ? " (no 3-year series; asking for it silently returns the 10-year)" : ""),
      );
    }
  }
  try {
    await assertReplaceable(options.out);
  } catch (e) {
    throw new TypeError((e as Error).message);
  }
  const log = options.log ?? ((line: string) => console.log(line));
  registerSecret(apiKey);
  const say = (line: string) => log(redact(line, [apiKey]));
  const sleep = options.sleep;
  const retry = options.retry ?? defaultRetry;
  const cache = new FetchCache(options.cacheDir ?? FETCH_CACHE_DIR);
  const yahoo = {
    baseUrl: options.yahooBaseUrl ?? env("ALFRED_YAHOO_BASE_URL") ?? YAHOO_BASE_URL,
    http: new HttpClient({
      bucket: new TokenBucket(options.yahooPerSecond ?? 2, 2, Date.now, sleep),
      retry,
      sleep,
      log: say,
    }),
    cache,
  };
  const perMinute = options.alphaVantagePerMinute ?? 5;
  const alpha = {
    baseUrl: options.alphaVantageBaseUrl ?? env("ALFRED_ALPHAVANTAGE_BASE_URL") ??
      ALPHAVANTAGE_BASE_URL,
    apiKey,
    http: new HttpClient({
      bucket: new TokenBucket(perMinute / 60, Math.max(1, Math.min(5, perMinute)), Date.now, sleep),
      retry,
      sleep,
      log: say,
    }),
    cache,
  };

  const prices: { ticker: string; bar: DailyBar }[] = [];
  const marketRows: MarketRow[] = [];
  const fundamentals: FundamentalsRow[] = [];
  const insider: InsiderRow[] = [];
  const sentiment: SentimentRow[] = [];
  const articles = new Map<string, NewsArticle[]>();
  const warnings: string[] = [];
  const inRange = (d: string) => d >= options.since && d <= to;

  // The plan: one item per request, in a stable order.
  type Item = {
    label: string;
    run: () => Promise<{ cached: boolean; rows: number; detail?: string }>;
  };
  const items: Item[] = [];
  for (const t of tickers) {
    items.push({
      label: `Yahoo chart ${t}`,
      run: async () => {
        const r = await fetchYahooDaily(t, options.since, to, yahoo);
        for (const bar of r.bars) prices.push({ ticker: t, bar });
        if (r.bars.length === 0) {
          warnings.push(`Yahoo returned no prices for "${t}" between ${options.since} and ${to}`);
        }
        return { cached: r.cached, rows: r.bars.length };
      },
    });
  }
  for (const s of market) {
    items.push({
      label: `Yahoo chart ${s}`,
      run: async () => {
        const r = await fetchYahooDaily(s, options.since, to, yahoo);
        for (const b of r.bars) {
          marketRows.push({ date: b.date, series: s, value: b.adjClose ?? b.close });
        }
        if (r.bars.length === 0) {
          warnings.push(`Yahoo returned no values for "${s}" between ${options.since} and ${to}`);
        }
        return { cached: r.cached, rows: r.bars.length };
      },
    });
  }
  // One Alpha Vantage request as an item: `use` keeps what it needs of the parsed answer and
  // says how many rows it had.
  const avItem = <T>(
    fn: string,
    key: string,
    params: Record<string, string>,
    parse: (json: Record<string, unknown>) => T,
    use: (value: T) => number,
  ) =>
    items.push({
      label: `Alpha Vantage ${fn} ${key}`,
      run: async () => {
        const r = await alphaVantageGet(fn, key, params, alpha, parse);
        return { cached: r.cached, rows: use(r.value) };
      },
    });
  // Keeps the rows dated in the span.
  const keep = <R extends { date: string }>(into: R[]) => (rows: R[]) => {
    into.push(...rows.filter((row) => inRange(row.date)));
    return rows.length;
  };
  if (av) {
    for (const t of tickers) {
      let earnings: ReturnType<typeof parseEarnings> = [];
      avItem("EARNINGS", t, { symbol: t }, (j) => parseEarnings(j, t), (rows) => {
        earnings = rows;
        return rows.length;
      });
      avItem("INCOME_STATEMENT", t, { symbol: t }, (j) => parseIncomeStatement(j, t), (income) => {
        const joined = joinFundamentals(t, earnings, income);
        if (joined.undated > 0) {
          warnings.push(
            `${t}: ${joined.undated} income statement quarters have no earnings report date and were left out`,
          );
        }
        fundamentals.push(...joined.rows.filter((row) => inRange(row.report_date)));
        return joined.rows.length;
      });
      avItem(
        "INSIDER_TRANSACTIONS",
        t,
        { symbol: t },
        (j) => parseInsiderTransactions(j, t),
        keep(insider),
      );
      if (news) continue; // the news pages below give the sentiment too
      avItem(
        "NEWS_SENTIMENT",
        t,
        {
          tickers: t,
          time_from: `${options.since.replaceAll("-", "")}T0000`,
          time_to: `${to.replaceAll("-", "")}T2359`,
          sort: "LATEST",
          limit: "1000",
        },
        (j) => parseNewsSentiment(j, t),
        keep(sentiment),
      );
    }
  }
  if (news) {
    for (const t of tickers) {
      items.push({
        label: `Alpha Vantage NEWS_SENTIMENT ${t} (news)`,
        run: async () => {
          const r = await fetchNewsPages(
            t,
            { since: options.since, to, timeZone: newsTimeZone, maxPages: newsPages },
            alpha,
          );
          const inWindow = r.articles.filter((a) => inRange(a.date));
          articles.set(t, inWindow);
          warnings.push(...r.warnings);
          if (av) sentiment.push(...dailyNewsSentiment(inWindow, t));
          return {
            cached: r.cached,
            rows: inWindow.length,
            detail: `${r.pages} page${r.pages === 1 ? "" : "s"}`,
          };
        },
      });
    }
  }
  if (av) {
    for (const m of maturities) {
      avItem(
        "TREASURY_YIELD",
        m,
        { interval: "daily", maturity: m },
        (j) => parseTreasuryYield(j, m),
        keep(marketRows),
      );
    }
  }

  const done = Object.keys(await cache.index()).length;
  say(
    `Fetching ${items.length} items into ${options.out} (cache ${cache.root}, ${done} responses cached)`,
  );
  let fetched = 0;
  let cachedCount = 0;
  for (const [i, item] of items.entries()) {
    const started = Date.now();
    let r;
    try {
      r = await item.run();
    } catch (e) {
      if (e instanceof FetchError) {
        say(`[${i + 1}/${items.length}] ${item.label}: failed`);
        throw new FetchError(
          redact(e.message, [apiKey]),
          e.service,
          e.endpoint,
          e.symbol,
          e.status,
        );
      }
      throw e;
    }
    if (r.cached) cachedCount++;
    else fetched++;
    const how = r.cached ? "cached" : `fetched in ${((Date.now() - started) / 1000).toFixed(1)} s`;
    say(
      `[${i + 1}/${items.length}] ${item.label}: ${r.rows} rows (${
        r.detail ? `${r.detail}, ` : ""
      }${how})`,
    );
  }

  // Tables.
  const tables: Partial<Record<TableName, pl.DataFrame>> = {};
  const dates = (name: string, values: string[]) =>
    pl.Series(name, values, pl.Utf8).str.strptime(pl.Date, "%Y-%m-%d").alias(name);
  const f64 = (name: string, values: (number | null)[]) => pl.Series(name, values, pl.Float64);
  if (prices.length > 0) {
    prices.sort((a, b) =>
      a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : a.bar.date < b.bar.date ? -1 : 1
    );
    tables.prices = pl.DataFrame([
      pl.Series("ticker", prices.map((p) => p.ticker), pl.Utf8),
      dates("date", prices.map((p) => p.bar.date)),
      f64("close", prices.map((p) => p.bar.close)),
      f64("open", prices.map((p) => p.bar.open)),
      f64("high", prices.map((p) => p.bar.high)),
      f64("low", prices.map((p) => p.bar.low)),
      f64("adj_close", prices.map((p) => p.bar.adjClose)),
      f64("volume", prices.map((p) => p.bar.volume)),
    ]);
  }
  const byTickerDate = <T extends { ticker: string }>(rows: T[], date: (r: T) => string) =>
    rows.sort((a, b) => compareStrings(a.ticker, b.ticker) || compareStrings(date(a), date(b)));
  if (fundamentals.length > 0) {
    byTickerDate(fundamentals, (r) => r.report_date);
    tables.fundamentals = tableFrame("fundamentals", fundamentals);
  }
  if (insider.length > 0) {
    byTickerDate(insider, (r) => r.date);
    tables.insider = tableFrame("insider", insider);
  }
  if (sentiment.length > 0) {
    byTickerDate(sentiment, (r) => r.date);
    tables.sentiment = tableFrame("sentiment", sentiment);
  }
  if (news) {
    const { rows, untitled } = newsRows(articles, tickers);
    if (rows.length > 0) tables.news = newsFrame(rows);
    if (untitled > 0) {
      warnings.push(`${untitled} news articles without a title were left out of the "news" table`);
    }
    for (const t of tickers) {
      if ((articles.get(t) ?? []).length === 0) {
        warnings.push(`Alpha Vantage returned no news for "${t}" in ${options.since}..${to}`);
      }
    }
  }
  const seriesNames = [...new Set(marketRows.map((r) => r.series))];
  if (marketRows.length > 0) {
    marketRows.sort((a, b) => compareStrings(a.series, b.series) || compareStrings(a.date, b.date));
    tables.market = tableFrame("market", marketRows);
  }
  if (av || news) {
    const expected = [
      ...(av ? ["fundamentals", "insider", "sentiment"] as const : []),
      ...(news ? ["news"] as const : []),
    ];
    for (const t of expected) {
      if (!tables[t]) {
        warnings.push(
          `Alpha Vantage returned no ${t} rows in ${options.since}..${to}: no "${t}" table`,
        );
      }
    }
  }
  const tableNames = TABLE_NAMES.filter((t) => tables[t] !== undefined);
  if (tableNames.length === 0) {
    throw new FetchError(
      "Nothing was fetched: every series was empty",
      "Yahoo Finance",
      "chart",
      tickers.join(","),
    );
  }
  const allDates = [
    ...prices.map((p) => p.bar.date),
    ...(prices.length > 0 ? [] : marketRows.map((r) => r.date)),
  ].sort();
  const series: SeriesInfo[] = seriesNames.sort().map((name) => ({
    name,
    frequency: "daily",
    description: SERIES_DESCRIPTIONS[name] ??
      ((TREASURY_MATURITIES as readonly string[]).includes(name)
        ? `US Treasury constant-maturity ${name} yield, annualized percent (Alpha Vantage TREASURY_YIELD)`
        : `${name} daily close (Yahoo Finance)`),
  }));
  const sources = av
    ? "Yahoo Finance (chart API via yahoo-finance2) and Alpha Vantage (EARNINGS, INCOME_STATEMENT, " +
      "INSIDER_TRANSACTIONS, NEWS_SENTIMENT, TREASURY_YIELD)"
    : news
    ? "Yahoo Finance (chart API via yahoo-finance2) and Alpha Vantage (NEWS_SENTIMENT)"
    : "Yahoo Finance (chart API via yahoo-finance2)";
  const manifest: Manifest = {
    name: options.name ?? basename(resolve(options.out)),
    description:
      `Fetched from ${av || news ? "Yahoo Finance and Alpha Vantage" : "Yahoo Finance"}: ` +
      `${tickers.length} ticker${
        tickers.length === 1 ? "" : "s"
      } and ${seriesNames.length} market ` +
      `series, ${options.since} to ${to}`,
    synthetic: false,
    provenance: `fetched from ${sources} on ${dateToIso(new Date())}; prices: close is ` +
      `split-adjusted, adj_close is adjusted for splits and dividends; fundamentals are dated by the ` +
      `earnings report date` +
      (tables.news
        ? `; news: Alpha Vantage NEWS_SENTIMENT articles, one row per article and fetched ticker ` +
          `it names, published_at from time_published read as ${newsTimeZone} wall-clock time, ` +
          `provider_sentiment and provider_relevance are the row ticker's ticker_sentiment_score ` +
          `and relevance_score`
        : ""),
    licence: options.licence ??
      "Yahoo Finance and Alpha Vantage terms of use: personal research only, not for redistribution",
    warnings: [
      "Tickers chosen at fetch time: companies delisted before then are missing (survivorship bias)",
      ...warnings,
    ],
    tables: tableNames,
    tickers: tickers.filter((t) => prices.some((p) => p.ticker === t)),
    from: allDates[0] ?? options.since,
    to: allDates[allDates.length - 1] ?? to,
    index: options.index !== undefined ? options.index : seriesNames.includes("SPY") ? "SPY" : null,
    riskFree: seriesNames.includes("3month")
      ? "3month"
      : seriesNames.find((s) => /year$/.test(s)) ?? null,
    series,
  };
  await writeDataset(options.out, manifest, tables);
  say(
    `Wrote ${options.out}: ${
      tableNames.join(", ")
    } (${fetched} fetched, ${cachedCount} from the cache)`,
  );
  return {
    out: options.out,
    items: items.length,
    fetched,
    cached: cachedCount,
    tables: tableNames,
    warnings,
    manifest,
  };
}

/**
 * The `news` table's rows from each ticker's articles: one row per (article, fetched ticker it
 * names), with Alpha Vantage's score and relevance for that ticker. The ticker an article was
 * fetched for always gets a row (with no provider scores when the article does not list it); the
 * tickers of the dataset it also names get one, whichever ticker's pages brought it. Articles
 * without a title are left out (a headline is never missing in the table).
 */
function newsRows(
  byTicker: Map<string, NewsArticle[]>,
  tickers: string[],
): { rows: NewsRow[]; untitled: number } {
  const fetched = new Set(tickers);
  const seen = new Set<string>();
  const untitledIds = new Set<string>();
  const rows: NewsRow[] = [];
  for (const [asked, list] of byTicker) {
    for (const a of list) {
      if (a.title === "") {
        untitledIds.add(a.id);
        continue;
      }
      const named = new Set([
        asked,
        ...a.tickers.map((s) => s.ticker).filter((t) => fetched.has(t)),
      ]);
      for (const t of named) {
        const key = `${t}\u0000${a.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const mine = a.tickers.find((s) => s.ticker === t);
        rows.push({
          tickers: [t],
          publishedMs: a.publishedMs,
          id: a.id,
          headline: a.title,
          summary: a.summary,
          source: a.source,
          url: a.url,
          providerSentiment: mine?.score ?? null,
          providerRelevance: mine?.relevance ?? null,
        });
      }
    }
  }
  return { rows, untitled: untitledIds.size };
}
