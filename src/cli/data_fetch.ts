/**
 * `deno task data fetch --tickers AAPL,MSFT --since 2004-01-01 --out data/my-set [--news]`:
 * download a dataset online ({@linkcode fetchDataset} does the work; this file reads the command line, the
 * API key from the environment, and prints).
 *
 * @module
 */
import { DatasetError } from "../data/dataset.ts";
import {
  ALPHAVANTAGE_NEWS_TIME_ZONE,
  DEFAULT_MARKET,
  DEFAULT_MATURITIES,
  defaultRetry,
  fetchDataset,
  FetchError,
  NEWS_PAGE_LIMIT,
} from "../data/fetch/mod.ts";
import { FETCH_CACHE_DIR } from "../paths.ts";
import { redact } from "../redact.ts";
import { type CommandIo, consoleIo, parseCommandArgs, usageError } from "./args.ts";
import { DATASET_OUT_OPTION, FLAG, stringOption } from "./options.ts";

/** The environment variable holding the Alpha Vantage API key. */
const API_KEY_ENV = "ALPHAVANTAGE_API_KEY";

const USAGE =
  `Usage: deno task data fetch --tickers AAPL,MSFT --since 2004-01-01 --out data/my-set [options]
  --to YYYY-MM-DD           last date (default today)
  --market LIST             Yahoo market series (default ${
    DEFAULT_MARKET.join(",")
  }; "none" for none)
  --alpha-vantage           also fetch earnings, margins, insider, sentiment and yields
                            (API key in env ${API_KEY_ENV})
  --news                    also fetch news articles (Alpha Vantage NEWS_SENTIMENT, paged over
                            time, ${NEWS_PAGE_LIMIT} a request) into the news table (same key)
  --news-pages N            at most N news requests per ticker (default: the whole window)
  --news-time-zone ZONE     zone of Alpha Vantage's time_published (default ${ALPHAVANTAGE_NEWS_TIME_ZONE})
  --maturities LIST         Treasury maturities (default ${DEFAULT_MATURITIES.join(",")})
  --av-per-minute N         Alpha Vantage requests a minute (default 5)
  --retries N               retries per request (default 5)
  --cache-dir DIR           raw response cache (default ${FETCH_CACHE_DIR})
  --name NAME, --licence TEXT, --index SERIES
  --yahoo-base-url URL, --alpha-vantage-base-url URL   (or env ALFRED_YAHOO_BASE_URL,
                            ALFRED_ALPHAVANTAGE_BASE_URL)`;

/**
 * The `deno task data fetch` command. Progress goes to stdout; the API key is masked in
 * everything printed.
 *
 * @param args command-line arguments after `fetch`
 * @param io where progress and problems go (default: the console)
 * @returns the exit code: 0 on success, 1 when a fetch failed, 2 on a usage error
 * @example
 * ```ts
 * Deno.exit(await fetchCommand(["--tickers", "AAPL", "--since", "2020-01-01", "--out", "data/a"]));
 * ```
 */
export async function fetchCommand(args: string[], io: CommandIo = consoleIo): Promise<number> {
  const parsed = parseCommandArgs(args, {
    usage: USAGE,
    options: {
      tickers: stringOption("LIST", { default: "" }),
      since: stringOption("YYYY-MM-DD"),
      to: stringOption("YYYY-MM-DD"),
      out: DATASET_OUT_OPTION,
      market: stringOption("LIST"),
      "alpha-vantage": FLAG,
      news: FLAG,
      "news-pages": stringOption("N"),
      "news-time-zone": stringOption("ZONE"),
      maturities: stringOption("LIST"),
      "av-per-minute": stringOption("N"),
      retries: stringOption("N"),
      "cache-dir": stringOption("DIR", { writes: "folder" }),
      name: stringOption("NAME"),
      licence: stringOption("TEXT"),
      index: stringOption("SERIES"),
      "yahoo-base-url": stringOption("URL"),
      "alpha-vantage-base-url": stringOption("URL"),
    },
  }, io);
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  if (v.since === undefined) return usageError(io, USAGE, "Missing --since YYYY-MM-DD");
  if (v.out === undefined) return usageError(io, USAGE, "Missing --out DIR");
  const apiKey = v["alpha-vantage"] || v.news ? apiKeyFromEnv() : undefined;
  const masked = (text: string) => redact(text, [apiKey ?? ""]);
  try {
    const retries = positive("retries", v.retries, true);
    const newsPages = positive("news-pages", v["news-pages"], true);
    await fetchDataset({
      tickers: list(v.tickers),
      market: v.market === undefined ? undefined : v.market === "none" ? [] : list(v.market),
      since: v.since,
      to: v.to,
      out: v.out,
      name: v.name,
      licence: v.licence,
      index: v.index,
      alphaVantage: v["alpha-vantage"],
      news: v.news,
      newsPages,
      newsTimeZone: v["news-time-zone"],
      apiKey,
      maturities: v.maturities === undefined ? undefined : list(v.maturities),
      alphaVantagePerMinute: positive("av-per-minute", v["av-per-minute"], false),
      retry: retries === undefined ? undefined : { ...defaultRetry, maxRetries: retries },
      cacheDir: v["cache-dir"],
      yahooBaseUrl: v["yahoo-base-url"],
      alphaVantageBaseUrl: v["alpha-vantage-base-url"],
      log: (line) => io.out(line),
    });
    return 0;
  } catch (e) {
    if (e instanceof TypeError) return usageError(io, USAGE, masked(e.message));
    if (e instanceof FetchError || e instanceof DatasetError) {
      io.err(masked(e.message));
      return 1;
    }
    throw e;
  }
}

/** A comma-separated list's items, trimmed, empty ones dropped. */
function list(value: string | undefined): string[] {
  return (value ?? "").split(",").map((x) => x.trim()).filter((x) => x);
}

/**
 * A numeric option's value: an integer ≥ 0, or a number > 0.
 *
 * @throws {TypeError} when it is neither
 */
function positive(name: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < (integer ? 0 : 1e-9) || (integer && !Number.isInteger(n))) {
    throw new TypeError(
      `Invalid --${name} "${value}": expected ${integer ? "an integer ≥ 0" : "a number > 0"}`,
    );
  }
  return n;
}

/** The Alpha Vantage API key from the environment, or undefined (unset, or no permission). */
function apiKeyFromEnv(): string | undefined {
  try {
    return Deno.env.get(API_KEY_ENV) || undefined;
  } catch {
    return undefined;
  }
}
