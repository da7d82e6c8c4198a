/**
 * Daily prices from Yahoo Finance's chart endpoint
 * (`/v8/finance/chart/{symbol}?period1=…&period2=…&interval=1d&events=div|split`) through the npm
 * package `yahoo-finance2`, which parses and validates the payload. The package lets us pass our
 * own `fetch`: ours sends the request to a configurable base URL (tests use a local replay server),
 * through the rate-limited, retrying {@linkcode HttpClient}, and serves responses from the on-disk
 * {@linkcode FetchCache} when they were fetched before. A response is cached only after the package
 * parsed it, so a malformed payload is never cached.
 *
 * @module
 */
import YahooFinance from "yahoo-finance2";
import { dateToIso, dayToIso, isoToDay } from "@alfred/core";
import { redact } from "../../redact.ts";
import type { FetchCache } from "./cache.ts";
import { FetchError, type HttpClient } from "./http.ts";

/** The package's request headers worth sending (its browser User-Agent); not cookies. */
function forwardedHeaders(headers: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(headers ?? {}).forEach((value, name) => {
    if (name !== "cookie" && value !== "") out[name] = value;
  });
  return out;
}

/** Drops the package's log lines (validation details go into our error instead). */
const quiet = () => {};

/**
 * Checks the shape of a chart payload before the package parses it, so the common breakages get a
 * precise message: not JSON, Yahoo's `error` object, no result, indicators that are not objects.
 */
function checkChartPayload(body: string, symbol: string): void {
  const fail = (why: string) =>
    new FetchError(
      `Malformed Yahoo Finance chart response for "${symbol}": ${why}`,
      "Yahoo Finance",
      "chart",
      symbol,
    );
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw fail(`not JSON: ${JSON.stringify(body.slice(0, 80))}`);
  }
  const chart =
    (json as { chart?: { result?: unknown; error?: { description?: string } | null } } | null)
      ?.chart;
  if (!chart || typeof chart !== "object") throw fail(`no "chart" object`);
  if (chart.error) {
    throw fail(
      `Yahoo answered with an error: ${chart.error.description ?? JSON.stringify(chart.error)}`,
    );
  }
  const result = chart.result;
  if (!Array.isArray(result) || result.length === 0) {
    throw fail(`"chart.result" is not a non-empty array`);
  }
  const first = result[0] as { meta?: unknown; indicators?: { quote?: unknown } };
  if (!first || typeof first.meta !== "object" || first.meta === null) {
    throw fail(`"chart.result[0].meta" is missing`);
  }
  if (
    !first.indicators || typeof first.indicators !== "object" ||
    !Array.isArray(first.indicators.quote)
  ) {
    throw fail(`"chart.result[0].indicators.quote" is not an array`);
  }
}

/** Yahoo's public host; the base URL replaces it. */
export const YAHOO_BASE_URL = "https://query2.finance.yahoo.com";

/** One trading day. `close` is split-adjusted; `adjClose` is adjusted for splits and dividends. */
export interface DailyBar {
  date: string;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number;
  adjClose: number | null;
  volume: number | null;
}

/** Where and how to fetch. */
export interface YahooContext {
  /** Base URL replacing `https://query2.finance.yahoo.com` (no trailing slash needed). */
  baseUrl: string;
  http: HttpClient;
  cache: FetchCache;
}

/** The bars of one symbol, and whether they came from the cache. */
export interface YahooResult {
  bars: DailyBar[];
  cached: boolean;
}

/**
 * Fetches daily bars of one symbol between two dates (inclusive).
 *
 * @param symbol A Yahoo symbol: a ticker (`AAPL`), an index (`^VIX`), a future (`CL=F`).
 * @param from First date, `YYYY-MM-DD`.
 * @param to Last date, `YYYY-MM-DD`.
 * @param ctx Base URL, HTTP client and cache.
 * @returns The bars in date order (days without a close are skipped) and whether they were cached.
 * @throws {FetchError} On HTTP errors or a malformed payload, naming the symbol and endpoint.
 */
export async function fetchYahooDaily(
  symbol: string,
  from: string,
  to: string,
  ctx: YahooContext,
): Promise<YahooResult> {
  const base = ctx.baseUrl.replace(/\/+$/, "");
  let pending: { key: ReturnType<FetchCache["keyOf"]>; body: string } | null = null;
  let cached = false;
  const ourFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const params: Record<string, string> = {};
    url.searchParams.forEach((v, k) => params[k] = v);
    const key = ctx.cache.keyOf("yahoo", "chart", symbol, params);
    let body = await ctx.cache.get(key);
    if (body !== null) {
      cached = true;
    } else {
      body = await ctx.http.getText({
        url: base + url.pathname + url.search,
        service: "Yahoo Finance",
        endpoint: "chart",
        symbol,
        secrets: [],
        headers: forwardedHeaders(init?.headers),
      });
      checkChartPayload(body, symbol);
      pending = { key, body };
    }
    return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
  };
  const yf = new YahooFinance(
    {
      fetch: ourFetch as typeof fetch,
      suppressNotices: ["yahooSurvey", "ripHistorical"],
      validation: { logErrors: false, logOptionsErrors: false },
      logger: { info: quiet, warn: quiet, error: quiet, debug: quiet, dir: quiet },
      queue: { concurrency: 1 },
    } as ConstructorParameters<typeof YahooFinance>[0],
  );
  const period1 = new Date(`${from}T00:00:00Z`);
  const period2 = new Date(`${dayToIso(isoToDay(to) + 1)}T00:00:00Z`);
  let result;
  try {
    result = await yf.chart(symbol, { period1, period2, interval: "1d", events: "div|split" });
  } catch (e) {
    if (e instanceof FetchError) throw e;
    const errors = (e as { errors?: { instancePath?: string; message?: string }[] }).errors;
    const detail = Array.isArray(errors) && errors.length > 0
      ? `: ${
        errors.slice(0, 3).map((x) => `${x.instancePath || "/"} ${x.message ?? ""}`.trim()).join(
          "; ",
        )
      }`
      : "";
    const msg = redact(String((e as Error).message ?? e).split("\n")[0].slice(0, 300) + detail);
    throw new FetchError(
      `Malformed Yahoo Finance chart response for "${symbol}"${
        cached ? " (from the cache)" : ""
      }: ${msg}`,
      "Yahoo Finance",
      "chart",
      symbol,
    );
  }
  const gmtoffset = Number(result.meta?.gmtoffset ?? 0);
  const bars: DailyBar[] = [];
  const num = (v: unknown): number | null => typeof v === "number" && Number.isFinite(v) ? v : null;
  for (const q of result.quotes) {
    const close = num(q.close);
    if (close === null || !(q.date instanceof Date)) continue;
    const date = dateToIso(new Date(q.date.getTime() + gmtoffset * 1000));
    if (date < from || date > to) continue;
    bars.push({
      date,
      open: num(q.open),
      high: num(q.high),
      low: num(q.low),
      close,
      adjClose: num(q.adjclose),
      volume: num(q.volume),
    });
  }
  // Yahoo sometimes repeats the latest day (a live bar): keep the last; a decrease is malformed.
  const unique: DailyBar[] = [];
  for (const b of bars) {
    const prev = unique[unique.length - 1];
    if (prev && b.date < prev.date) {
      throw new FetchError(
        `Malformed Yahoo Finance chart response for "${symbol}": dates go back from ${prev.date} to ${b.date}`,
        "Yahoo Finance",
        "chart",
        symbol,
      );
    }
    if (prev && b.date === prev.date) unique[unique.length - 1] = b;
    else unique.push(b);
  }
  if (pending !== null) {
    const p = pending as { key: ReturnType<FetchCache["keyOf"]>; body: string };
    await ctx.cache.put(p.key, p.body);
  }
  return { bars: unique, cached };
}
