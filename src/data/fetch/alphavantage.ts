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

/** `20240105T133000` → `2024-01-05`. */
function newsDate(v: unknown, ticker: string, at: string): string {
  const m = typeof v === "string" ? /^(\d{4})(\d{2})(\d{2})T\d{4,6}$/.exec(v) : null;
  if (!m) {
    throw malformed(
      "NEWS_SENTIMENT",
      ticker,
      `${at}: "time_published" is ${JSON.stringify(v)}, expected YYYYMMDDTHHMMSS`,
    );
  }
  return avDate(`${m[1]}-${m[2]}-${m[3]}`, "time_published", "NEWS_SENTIMENT", ticker, at);
}

/**
 * Parses NEWS_SENTIMENT's `feed` into daily scores for one ticker: `sentiment` is the
 * relevance-weighted mean of the articles' `ticker_sentiment_score` for the ticker, `outlook` the
 * mean `overall_sentiment_score` of those articles (the tone of the news the ticker appears in).
 * Articles dated by the day of `time_published`.
 *
 * @param json The payload.
 * @param ticker The ticker.
 * @returns Rows sorted by date.
 * @throws {FetchError} When the payload is malformed.
 */
export function parseNewsSentiment(json: Record<string, unknown>, ticker: string): SentimentRow[] {
  const fn = "NEWS_SENTIMENT";
  const acc = new Map<string, { ws: number; w: number; overall: number; n: number }>();
  arrayField(json, "feed", fn, ticker).forEach((item, i) => {
    const at = `feed[${i}]`;
    const date = newsDate(item.time_published, ticker, at);
    const overall = avNumber(
      item.overall_sentiment_score,
      "overall_sentiment_score",
      fn,
      ticker,
      at,
    );
    const scores = item.ticker_sentiment;
    if (!Array.isArray(scores)) {
      throw malformed(fn, ticker, `${at}: "ticker_sentiment" is not an array`);
    }
    const mine = scores.find((s) =>
      s && typeof s === "object" &&
      String((s as Record<string, unknown>).ticker).toUpperCase() === ticker.toUpperCase()
    ) as
      | Record<string, unknown>
      | undefined;
    if (!mine) return;
    const score = avNumber(mine.ticker_sentiment_score, "ticker_sentiment_score", fn, ticker, at);
    if (score === null) return;
    const relevance = avNumber(mine.relevance_score, "relevance_score", fn, ticker, at);
    const w = relevance !== null && relevance > 0 ? relevance : 1e-6;
    const a = acc.get(date) ?? { ws: 0, w: 0, overall: 0, n: 0 };
    a.ws += w * score;
    a.w += w;
    a.overall += overall ?? score;
    a.n += 1;
    acc.set(date, a);
  });
  return [...acc.entries()]
    .sort(([a], [b]) => a < b ? -1 : 1)
    .map(([date, a]) => ({ ticker, date, sentiment: a.ws / a.w, outlook: a.overall / a.n }));
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
