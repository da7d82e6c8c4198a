/**
 * Alpha Vantage (`/query?function=…`): EARNINGS, INCOME_STATEMENT, INSIDER_TRANSACTIONS,
 * NEWS_SENTIMENT and TREASURY_YIELD, parsed into the rows of the dataset tables.
 *
 * The API key comes from the caller (the CLI reads `ALPHAVANTAGE_API_KEY`); it is sent as the
 * `apikey` parameter and masked in every message, never part of a cache key or cache file.
 * Alpha Vantage answers a rate limit with HTTP 200 and a JSON `Note` or `Information` about the
 * call frequency: that is retried with backoff like an HTTP 429.
 *
 * @module
 */
import { isIsoDate } from "@alfred/core";
import type { FetchCache } from "./cache.ts";
import { zonedTimeMs } from "../../news/point_in_time.ts";
import { redact } from "../../redact.ts";
import { FetchError, type HttpClient } from "./http.ts";

/** Alpha Vantage's public base URL. */
export const ALPHAVANTAGE_BASE_URL = "https://www.alphavantage.co";

/** Maturities TREASURY_YIELD accepts (there is no 3-year series). */
export const TREASURY_MATURITIES = [
  "3month",
  "2year",
  "5year",
  "7year",
  "10year",
  "30year",
] as const;

/** Where and how to fetch. */
export interface AlphaVantageContext {
  /** Base URL replacing `https://www.alphavantage.co`. */
  baseUrl: string;
  apiKey: string;
  http: HttpClient;
  cache: FetchCache;
}

/** A parsed payload and whether it came from the cache. */
export interface AlphaVantageResult<T> {
  value: T;
  cached: boolean;
}

const SERVICE = "Alpha Vantage";

/**
 * Whether a 200 body is Alpha Vantage's rate-limit answer; returns its text, else null.
 *
 * @param body The response body.
 * @returns The note, or null.
 */
export function alphaVantageRateLimit(body: string): string | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return null;
  }
  if (!json || typeof json !== "object") return null;
  const o = json as Record<string, unknown>;
  if (typeof o.Note === "string") return o.Note;
  if (
    typeof o.Information === "string" &&
    /rate limit|call frequency|requests per (minute|day|second)|calls per/i.test(o.Information)
  ) return o.Information;
  return null;
}

/**
 * GETs one Alpha Vantage function for one symbol, from the cache when it was fetched before, and
 * parses it. Only an answer that `parse` accepted is cached, so a malformed payload is fetched
 * again next time.
 *
 * @param fn The function, e.g. "EARNINGS".
 * @param symbol The ticker or series (used for the message and the cache key).
 * @param params Parameters besides `function` and `apikey`.
 * @param ctx Base URL, key, HTTP client and cache.
 * @param parse Turns the JSON object into rows; throws {@linkcode FetchError} when malformed.
 * @returns The parsed value and whether it came from the cache.
 * @throws {FetchError} On HTTP errors, an `Error Message`, or a malformed payload.
 */
export async function alphaVantageGet<T>(
  fn: string,
  symbol: string,
  params: Record<string, string>,
  ctx: AlphaVantageContext,
  parse: (json: Record<string, unknown>) => T,
): Promise<AlphaVantageResult<T>> {
  const key = ctx.cache.keyOf("alphavantage", fn, symbol, params);
  const fromCache = await ctx.cache.get(key);
  const body = fromCache ?? await ctx.http.getText({
    url: `${ctx.baseUrl.replace(/\/+$/, "")}/query?${new URLSearchParams({
      function: fn,
      ...params,
      apikey: ctx.apiKey,
    })}`,
    service: SERVICE,
    endpoint: fn,
    symbol,
    secrets: [ctx.apiKey],
    rateLimited: alphaVantageRateLimit,
  });
  const mask = (text: string) => redact(text, [ctx.apiKey]);
  const fail = (why: string) =>
    new FetchError(
      mask(
        `Malformed Alpha Vantage ${fn} response for "${symbol}"${
          fromCache !== null ? " (from the cache)" : ""
        }: ${why}`,
      ),
      SERVICE,
      fn,
      symbol,
    );
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    throw fail(`not JSON (${(e as Error).message}): ${JSON.stringify(body.slice(0, 80))}`);
  }
  if (!json || typeof json !== "object" || Array.isArray(json)) {
    throw fail("expected a JSON object");
  }
  const o = json as Record<string, unknown>;
  if (typeof o["Error Message"] === "string") {
    throw new FetchError(
      mask(`Alpha Vantage ${fn} for "${symbol}" answered with an error: ${o["Error Message"]}`),
      SERVICE,
      fn,
      symbol,
    );
  }
  if (typeof o.Information === "string") {
    throw new FetchError(
      mask(`Alpha Vantage ${fn} for "${symbol}" answered: ${o.Information}`),
      SERVICE,
      fn,
      symbol,
    );
  }
  let value: T;
  try {
    value = parse(o);
  } catch (e) {
    if (!(e instanceof FetchError)) throw e;
    const where = fromCache !== null ? " (from the cache)" : "";
    throw new FetchError(
      mask(e.message.replace(/^(Malformed .*? for "[^"]*")/, `$1${where}`)),
      SERVICE,
      fn,
      symbol,
    );
  }
  if (fromCache === null) await ctx.cache.put(key, body);
  return { value, cached: fromCache !== null };
}

/** A parse error naming the function and symbol. */
function malformed(fn: string, symbol: string, why: string): FetchError {
  return new FetchError(
    `Malformed Alpha Vantage ${fn} response for "${symbol}": ${why}`,
    SERVICE,
    fn,
    symbol,
  );
}

/** The array at `json[field]`, or a malformed-payload error. */
function arrayField(
  json: Record<string, unknown>,
  field: string,
  fn: string,
  symbol: string,
): Record<string, unknown>[] {
  const v = json[field];
  if (!Array.isArray(v)) {
    throw malformed(
      fn,
      symbol,
      `expected "${field}" to be an array; got keys ${
        Object.keys(json).map((k) => `"${k}"`).join(", ") || "(none)"
      }`,
    );
  }
  v.forEach((item, i) => {
    if (!item || typeof item !== "object") {
      throw malformed(fn, symbol, `"${field}"[${i}] is not an object`);
    }
  });
  return v as Record<string, unknown>[];
}

/** An Alpha Vantage number: "None", "-", "." and "" are missing; anything else must parse. */
function avNumber(
  v: unknown,
  field: string,
  fn: string,
  symbol: string,
  at: string,
): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  const s = String(v).trim();
  if (s === "" || s === "None" || s === "-" || s === ".") return null;
  const n = Number(s);
  if (!Number.isFinite(n)) {
    throw malformed(fn, symbol, `${at}: "${field}" is ${JSON.stringify(v)}, not a number`);
  }
  return n;
}

/** An Alpha Vantage date `YYYY-MM-DD`, or a malformed-payload error. */
function avDate(v: unknown, field: string, fn: string, symbol: string, at: string): string {
  const s = typeof v === "string" ? v.trim() : "";
  if (isIsoDate(s)) return s;
  throw malformed(fn, symbol, `${at}: "${field}" is ${JSON.stringify(v)}, not a date YYYY-MM-DD`);
}

/** One item of a payload's array, with readers of its fields that name the item in errors. */
interface Item {
  /** The item's fields as Alpha Vantage sent them. */
  fields: Record<string, unknown>;
  /** Where it is, for messages: `data[3]`. */
  at: string;
  /** A number field: missing values are null; anything else must parse. */
  number(field: string): number | null;
  /** A date field `YYYY-MM-DD`. */
  date(field: string): string;
}

/** The items of the array at `json[field]`, or a malformed-payload error. */
function items(json: Record<string, unknown>, field: string, fn: string, symbol: string): Item[] {
  return arrayField(json, field, fn, symbol).map((fields, i) => {
    const at = `${field}[${i}]`;
    return {
      fields,
      at,
      number: (f) => avNumber(fields[f], f, fn, symbol, at),
      date: (f) => avDate(fields[f], f, fn, symbol, at),
    };
  });
}

/** One quarter of EARNINGS. */
export interface EarningsRow {
  fiscalDateEnding: string;
  reportedDate: string;
  reportedEPS: number | null;
  estimatedEPS: number | null;
  surprise: number | null;
  surprisePercentage: number | null;
}

/**
 * Parses EARNINGS' `quarterlyEarnings`.
 *
 * @param json The payload.
 * @param symbol The ticker (for messages).
 * @returns One row per quarter.
 * @throws {FetchError} When the payload is malformed.
 */
export function parseEarnings(json: Record<string, unknown>, symbol: string): EarningsRow[] {
  return items(json, "quarterlyEarnings", "EARNINGS", symbol).map((q) => ({
    fiscalDateEnding: q.date("fiscalDateEnding"),
    reportedDate: q.date("reportedDate"),
    reportedEPS: q.number("reportedEPS"),
    estimatedEPS: q.number("estimatedEPS"),
    surprise: q.number("surprise"),
    surprisePercentage: q.number("surprisePercentage"),
  }));
}

/** One quarter of INCOME_STATEMENT as margins. */
export interface IncomeRow {
  fiscalDateEnding: string;
  marginGross: number | null;
  marginOperating: number | null;
  marginNetProfit: number | null;
}

/**
 * Parses INCOME_STATEMENT's `quarterlyReports` into margins over total revenue
 * (grossProfit, operatingIncome and netIncome divided by totalRevenue; null when revenue is not > 0).
 *
 * @param json The payload.
 * @param symbol The ticker (for messages).
 * @returns One row per quarter.
 * @throws {FetchError} When the payload is malformed.
 */
export function parseIncomeStatement(json: Record<string, unknown>, symbol: string): IncomeRow[] {
  return items(json, "quarterlyReports", "INCOME_STATEMENT", symbol).map((q) => {
    const revenue = q.number("totalRevenue");
    const ratio = (field: string) => {
      const v = q.number(field);
      return v === null || revenue === null || !(revenue > 0) ? null : v / revenue;
    };
    return {
      fiscalDateEnding: q.date("fiscalDateEnding"),
      marginGross: ratio("grossProfit"),
      marginOperating: ratio("operatingIncome"),
      marginNetProfit: ratio("netIncome"),
    };
  });
}

/** One row of the `fundamentals` table. */
export interface FundamentalsRow {
  ticker: string;
  report_date: string;
  fiscal_date_ending: string;
  margin_gross: number | null;
  margin_operating: number | null;
  margin_net_profit: number | null;
  reported_eps: number | null;
  estimated_eps: number | null;
  surprise: number | null;
  surprise_percentage: number | null;
}

/**
 * Joins earnings and income statements into fundamentals rows dated by the report date
 * (`reportedDate`, when the market learned the numbers), never the fiscal period end. An income
 * statement whose quarter has no earnings report has no known report date and is left out.
 *
 * @param ticker The ticker.
 * @param earnings Parsed EARNINGS.
 * @param income Parsed INCOME_STATEMENT.
 * @returns Rows sorted by report date, and how many income quarters were left out.
 */
export function joinFundamentals(
  ticker: string,
  earnings: EarningsRow[],
  income: IncomeRow[],
): { rows: FundamentalsRow[]; undated: number } {
  const byFiscal = new Map(income.map((r) => [r.fiscalDateEnding, r]));
  const seen = new Set<string>();
  const rows: FundamentalsRow[] = [];
  for (const e of earnings) {
    if (seen.has(e.reportedDate)) continue; // one report per day: keep the first listed (latest)
    seen.add(e.reportedDate);
    const inc = byFiscal.get(e.fiscalDateEnding);
    rows.push({
      ticker,
      report_date: e.reportedDate,
      fiscal_date_ending: e.fiscalDateEnding,
      margin_gross: inc?.marginGross ?? null,
      margin_operating: inc?.marginOperating ?? null,
      margin_net_profit: inc?.marginNetProfit ?? null,
      reported_eps: e.reportedEPS,
      estimated_eps: e.estimatedEPS,
      surprise: e.surprise,
      surprise_percentage: e.surprisePercentage,
    });
  }
  const dated = new Set(earnings.map((e) => e.fiscalDateEnding));
  rows.sort((a, b) => a.report_date < b.report_date ? -1 : a.report_date > b.report_date ? 1 : 0);
  return { rows, undated: income.filter((r) => !dated.has(r.fiscalDateEnding)).length };
}

/** One row of the `insider` table. */
export interface InsiderRow {
  ticker: string;
  date: string;
  acquisition: number;
  disposal: number;
}

/**
 * Parses INSIDER_TRANSACTIONS' `data` into shares acquired (`A`) and disposed (`D`) per day.
 *
 * @param json The payload.
 * @param ticker The ticker.
 * @returns Rows sorted by date.
 * @throws {FetchError} When the payload is malformed.
 */
export function parseInsiderTransactions(
  json: Record<string, unknown>,
  ticker: string,
): InsiderRow[] {
  const fn = "INSIDER_TRANSACTIONS";
  const byDate = new Map<string, InsiderRow>();
  items(json, "data", fn, ticker).forEach((t) => {
    const date = t.date("transaction_date");
    const side = String(t.fields.acquisition_or_disposal ?? "").trim().toUpperCase();
    if (side !== "A" && side !== "D") {
      throw malformed(
        fn,
        ticker,
        `${t.at}: "acquisition_or_disposal" is ${
          JSON.stringify(t.fields.acquisition_or_disposal)
        }, expected "A" or "D"`,
      );
    }
    const shares = t.number("shares") ?? 0;
    const row = byDate.get(date) ?? { ticker, date, acquisition: 0, disposal: 0 };
    if (side === "A") row.acquisition += Math.abs(shares);
    else row.disposal += Math.abs(shares);
    byDate.set(date, row);
  });
  return [...byDate.values()].sort((a, b) => a.date < b.date ? -1 : 1);
}

/** One row of the `sentiment` table. */
export interface SentimentRow {
  ticker: string;
  date: string;
  sentiment: number;
  outlook: number;
}

/**
 * The time zone Alpha Vantage's NEWS_SENTIMENT `time_published` (and its `time_from`/`time_to`
 * parameters) are read in. The documentation gives the format (`YYYYMMDDTHHMMSS`) but no zone;
 * Alpha Vantage states US/Eastern for its intraday series, and the news times are taken as the
 * same New York wall-clock time (daylight saving time included). A fetch can read them in another
 * zone (`newsTimeZone`, `--news-time-zone UTC`).
 */
export const ALPHAVANTAGE_NEWS_TIME_ZONE = "America/New_York";

/** The most articles one NEWS_SENTIMENT request returns (its `limit`). */
export const NEWS_PAGE_LIMIT = 1000;

/** An article's score for one ticker, as NEWS_SENTIMENT's `ticker_sentiment` gives it. */
export interface TickerSentiment {
  ticker: string;
  /** `relevance_score`, 0..1. */
  relevance: number | null;
  /** `ticker_sentiment_score`, -1..1. */
  score: number | null;
  /** `ticker_sentiment_label`, e.g. "Somewhat-Bullish". */
  label: string | null;
}

/** One article of NEWS_SENTIMENT's `feed`. */
export interface NewsArticle {
  /** The article's id: its url (or, without one, its time and title). */
  id: string;
  /** `title`, trimmed (may be empty: such an article is not a row of the `news` table). */
  title: string;
  url: string | null;
  summary: string | null;
  source: string | null;
  /** `time_published` as sent, `YYYYMMDDTHHMMSS` wall-clock time in the fetch's news time zone. */
  timePublished: string;
  /** Its day, `YYYY-MM-DD`, in that zone. */
  date: string;
  /** Its instant, UTC milliseconds. */
  publishedMs: number;
  /** `overall_sentiment_score`. */
  overallScore: number | null;
  /** `ticker_sentiment`, tickers upper-cased. */
  tickers: TickerSentiment[];
}

const TIME_PUBLISHED = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})?$/;

/** A string field, trimmed; null when absent or empty. */
function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v).trim();
  return s === "" ? null : s;
}

/**
 * Parses NEWS_SENTIMENT's `feed` into articles, reading `time_published` as wall-clock time in
 * `timeZone`.
 *
 * @param json The payload.
 * @param ticker The ticker asked for (for messages).
 * @param timeZone The zone of `time_published` (default {@linkcode ALPHAVANTAGE_NEWS_TIME_ZONE}).
 * @returns The articles in the order of the feed.
 * @throws {FetchError} When the payload is malformed.
 * @throws {RangeError} When the time zone is unknown.
 */
export function parseNewsFeed(
  json: Record<string, unknown>,
  ticker: string,
  timeZone: string = ALPHAVANTAGE_NEWS_TIME_ZONE,
): NewsArticle[] {
  const fn = "NEWS_SENTIMENT";
  return arrayField(json, "feed", fn, ticker).map((item, i) => {
    const at = `feed[${i}]`;
    const raw = item.time_published;
    const m = typeof raw === "string" ? TIME_PUBLISHED.exec(raw.trim()) : null;
    if (!m) {
      throw malformed(
        fn,
        ticker,
        `${at}: "time_published" is ${JSON.stringify(raw)}, expected YYYYMMDDTHHMMSS`,
      );
    }
    const date = avDate(`${m[1]}-${m[2]}-${m[3]}`, "time_published", fn, ticker, at);
    if (+m[4] > 23 || +m[5] > 59 || +(m[6] ?? 0) > 59) {
      throw malformed(fn, ticker, `${at}: "time_published" is ${JSON.stringify(raw)}, not a time`);
    }
    const scores = item.ticker_sentiment ?? [];
    if (!Array.isArray(scores)) {
      throw malformed(fn, ticker, `${at}: "ticker_sentiment" is not an array`);
    }
    const tickers = scores.map((s, j): TickerSentiment => {
      const where = `${at}.ticker_sentiment[${j}]`;
      if (
        !s || typeof s !== "object" || typeof (s as Record<string, unknown>).ticker !== "string"
      ) {
        throw malformed(fn, ticker, `${where}: expected an object with a "ticker"`);
      }
      const o = s as Record<string, unknown>;
      return {
        ticker: String(o.ticker).trim().toUpperCase(),
        relevance: avNumber(o.relevance_score, "relevance_score", fn, ticker, where),
        score: avNumber(o.ticker_sentiment_score, "ticker_sentiment_score", fn, ticker, where),
        label: text(o.ticker_sentiment_label),
      };
    });
    const timePublished = `${m[1]}${m[2]}${m[3]}T${m[4]}${m[5]}${m[6] ?? "00"}`;
    const title = text(item.title) ?? "";
    const url = text(item.url);
    return {
      id: url ?? `${timePublished} ${title}`,
      title,
      url,
      summary: text(item.summary),
      source: text(item.source),
      timePublished,
      date,
      publishedMs: zonedTimeMs(date, `${m[4]}:${m[5]}:${m[6] ?? "00"}`, timeZone),
      overallScore: avNumber(
        item.overall_sentiment_score,
        "overall_sentiment_score",
        fn,
        ticker,
        at,
      ),
      tickers,
    };
  });
}

/**
 * Daily scores for one ticker from news articles: `sentiment` is the relevance-weighted mean of
 * the articles' `ticker_sentiment_score` for the ticker, `outlook` the mean
 * `overall_sentiment_score` of those articles (the tone of the news the ticker appears in).
 * Articles are dated by the day of `time_published`; one without a score for the ticker is left
 * out.
 *
 * @param articles The articles (from {@linkcode parseNewsFeed}), each counted once.
 * @param ticker The ticker.
 * @returns Rows sorted by date.
 */
export function dailyNewsSentiment(articles: NewsArticle[], ticker: string): SentimentRow[] {
  const acc = new Map<string, { ws: number; w: number; overall: number; n: number }>();
  const want = ticker.toUpperCase();
  for (const a of articles) {
    const mine = a.tickers.find((s) => s.ticker === want);
    if (!mine || mine.score === null) continue;
    const w = mine.relevance !== null && mine.relevance > 0 ? mine.relevance : 1e-6;
    const d = acc.get(a.date) ?? { ws: 0, w: 0, overall: 0, n: 0 };
    d.ws += w * mine.score;
    d.w += w;
    d.overall += a.overallScore ?? mine.score;
    d.n += 1;
    acc.set(a.date, d);
  }
  return [...acc.entries()]
    .sort(([a], [b]) => a < b ? -1 : 1)
    .map(([date, a]) => ({ ticker, date, sentiment: a.ws / a.w, outlook: a.overall / a.n }));
}

/**
 * Parses NEWS_SENTIMENT's `feed` into daily scores for one ticker ({@linkcode dailyNewsSentiment}
 * of {@linkcode parseNewsFeed}).
 *
 * @param json The payload.
 * @param ticker The ticker.
 * @returns Rows sorted by date.
 * @throws {FetchError} When the payload is malformed.
 */
export function parseNewsSentiment(json: Record<string, unknown>, ticker: string): SentimentRow[] {
  return dailyNewsSentiment(parseNewsFeed(json, ticker), ticker);
}

/** `YYYY-MM-DD` and `HH:MM` → Alpha Vantage's `YYYYMMDDTHHMM`. */
function avTime(isoDate: string, hhmm: string): string {
  return `${isoDate.replaceAll("-", "")}T${hhmm.replace(":", "")}`;
}

/** `YYYYMMDDTHHMM` as `YYYY-MM-DD HH:MM`, for messages. */
function readable(t: string): string {
  return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)} ${t.slice(9, 11)}:${t.slice(11, 13)}`;
}

/** `YYYYMMDDTHHMM` one minute earlier (calendar arithmetic on the wall-clock time). */
function minuteBefore(t: string): string {
  const ms = Date.UTC(
    +t.slice(0, 4),
    +t.slice(4, 6) - 1,
    +t.slice(6, 8),
    +t.slice(9, 11),
    +t.slice(11, 13),
  ) -
    60_000;
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${
    iso.slice(14, 16)
  }`;
}

/** Options of {@linkcode fetchNewsPages}. */
export interface NewsPagesOptions {
  /** First day, `YYYY-MM-DD` (from 00:00 in the news time zone). */
  since: string;
  /** Last day, `YYYY-MM-DD` (to 23:59 in the news time zone). */
  to: string;
  /** The zone of `time_published` (default {@linkcode ALPHAVANTAGE_NEWS_TIME_ZONE}). */
  timeZone?: string;
  /** The most requests for the ticker (default: as many as the window needs). */
  maxPages?: number;
}

/** What {@linkcode fetchNewsPages} got. */
export interface NewsPages {
  /** Every article once (by id), newest first. */
  articles: NewsArticle[];
  /** Requests made or read from the cache. */
  pages: number;
  /** Whether every page came from the cache. */
  cached: boolean;
  /** Gaps in the coverage (a page cap reached, a minute with more articles than a page). */
  warnings: string[];
}

/**
 * Fetches a ticker's NEWS_SENTIMENT articles over `since`..`to`, paging over time: Alpha Vantage
 * returns at most {@linkcode NEWS_PAGE_LIMIT} articles per request, newest first, so while a page
 * is full the next request ends (`time_to`) at the minute of the page's oldest article. `time_to`
 * is taken as inclusive to the minute (the documentation does not say), so articles of that minute
 * come again and are counted once. A minute with more than a page of articles is stepped past
 * with a warning; two pages in a row with nothing new (a service ignoring `time_to`) stop the
 * paging with a warning rather than walk back a minute a request. Each page is cached like any other request (its
 * parameters are its key), so an interrupted paging resumes where it stopped. The first page's
 * request is the one a plain `--alpha-vantage` fetch makes for the `sentiment` table.
 *
 * @param ticker The ticker.
 * @param options The window, the time zone and the page cap.
 * @param ctx Base URL, key, HTTP client and cache.
 * @returns The articles, the pages and what was not covered.
 * @throws {FetchError} When a request fails or a page is malformed.
 */
export async function fetchNewsPages(
  ticker: string,
  options: NewsPagesOptions,
  ctx: AlphaVantageContext,
): Promise<NewsPages> {
  const timeZone = options.timeZone ?? ALPHAVANTAGE_NEWS_TIME_ZONE;
  const maxPages = options.maxPages ?? Infinity;
  const from = avTime(options.since, "00:00");
  let to = avTime(options.to, "23:59");
  const byId = new Map<string, NewsArticle>();
  const warnings: string[] = [];
  let pages = 0;
  let cached = true;
  let idle = 0;
  for (;;) {
    const r = await alphaVantageGet(
      "NEWS_SENTIMENT",
      ticker,
      {
        tickers: ticker,
        time_from: from,
        time_to: to,
        sort: "LATEST",
        limit: String(NEWS_PAGE_LIMIT),
      },
      ctx,
      (j) => parseNewsFeed(j, ticker, timeZone),
    );
    pages++;
    cached &&= r.cached;
    let added = 0;
    for (const a of r.value) {
      if (!byId.has(a.id)) {
        byId.set(a.id, a);
        added++;
      }
    }
    if (r.value.length < NEWS_PAGE_LIMIT) break; // the window is exhausted
    const oldest = r.value.reduce(
      (m, a) => a.timePublished < m ? a.timePublished : m,
      r.value[0].timePublished,
    );
    // A page of nothing new happens once when a minute holds more than a page; twice in a row only
    // when the service ignores time_to, which would otherwise walk back one minute a request.
    idle = added === 0 ? idle + 1 : 0;
    if (idle >= 2) {
      warnings.push(
        `${ticker}: Alpha Vantage answered two news windows, the last ending ${
          readable(to)
        } (${timeZone}), only with articles it had sent before; paging stopped there, so older news may be missing`,
      );
      break;
    }
    if (pages >= maxPages) {
      warnings.push(
        `${ticker}: news stops at the page cap (${maxPages} pages of ${NEWS_PAGE_LIMIT} articles); articles published before ${
          readable(oldest)
        } (${timeZone}) were not fetched`,
      );
      break;
    }
    let next = oldest.slice(0, 13);
    if (next >= to) {
      // The whole page lies in the minute the window ends at: step past it.
      next = minuteBefore(to);
      warnings.push(
        `${ticker}: more than ${NEWS_PAGE_LIMIT} news articles published in the minute ${
          readable(to)
        } (${timeZone}); those beyond one page were not fetched`,
      );
    }
    if (next < from) break;
    to = next;
  }
  const articles = [...byId.values()].sort((a, b) =>
    a.timePublished > b.timePublished ? -1 : a.timePublished < b.timePublished ? 1 : 0
  );
  return { articles, pages, cached, warnings };
}

/** One row of the `market` table. */
export interface MarketRow {
  date: string;
  series: string;
  value: number;
}

/**
 * Parses TREASURY_YIELD's `data` (percent, daily) into market rows of series `maturity`;
 * days without a value (".") are skipped.
 *
 * @param json The payload.
 * @param maturity The maturity, also the series name (e.g. "2year").
 * @returns Rows sorted by date.
 * @throws {FetchError} When the payload is malformed.
 */
export function parseTreasuryYield(json: Record<string, unknown>, maturity: string): MarketRow[] {
  const rows: MarketRow[] = [];
  items(json, "data", "TREASURY_YIELD", maturity).forEach((d) => {
    const date = d.date("date");
    const value = d.number("value");
    if (value !== null) rows.push({ date, series: maturity, value });
  });
  return rows.sort((a, b) => a.date < b.date ? -1 : a.date > b.date ? 1 : 0);
}
