/**
 * HTTP for the online fetchers: a token bucket per service, bounded retries with exponential
 * backoff on HTTP 429, 5xx, network errors and services' rate-limit payloads, and errors that name
 * the service, endpoint and symbol with every secret masked.
 *
 * @module
 */
import { redact } from "../../redact.ts";

/** Sleeps `ms` milliseconds; injectable so tests do not wait. */
export type Sleep = (ms: number) => Promise<void>;

/** The real sleep. */
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A token bucket: at most `burst` requests at once, refilled at `perSecond` tokens a second.
 *
 * @example
 * ```ts
 * const bucket = new TokenBucket(5 / 60, 5); // Alpha Vantage free tier: 5 a minute
 * await bucket.take();
 * ```
 */
export class TokenBucket {
  #tokens: number;
  #last: number;

  /**
   * @param perSecond Refill rate in tokens a second (> 0).
   * @param burst Bucket size (≥ 1).
   * @param now Clock in milliseconds (injectable for tests).
   * @param sleep Sleep function (injectable for tests).
   * @throws {RangeError} When the rate or burst is not positive.
   */
  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: Sleep = realSleep,
  ) {
    if (!(perSecond > 0)) throw new RangeError(`Token bucket rate must be > 0: got ${perSecond}`);
    if (!(burst >= 1)) throw new RangeError(`Token bucket burst must be ≥ 1: got ${burst}`);
    this.#tokens = burst;
    this.#last = now();
  }

  /** Waits until a token is available and takes it. */
  async take(): Promise<void> {
    const t = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#last) / 1000) * this.perSecond);
    this.#last = t;
    if (this.#tokens < 1) {
      const waitMs = Math.ceil(((1 - this.#tokens) / this.perSecond) * 1000);
      await this.sleep(waitMs);
      // Credit the time slept (also right for an injected sleep that returns at once).
      this.#tokens = Math.min(this.burst, this.#tokens + (waitMs / 1000) * this.perSecond);
      this.#last = this.now();
    }
    this.#tokens = Math.max(0, this.#tokens - 1);
  }
}

/** Bounded exponential backoff. */
export interface RetryPolicy {
  /** Retries after the first attempt (0 = no retry). */
  maxRetries: number;
  /** The first wait; doubled after every retry. */
  baseDelayMs: number;
  /** The longest wait, also the cap on a server's Retry-After. */
  maxDelayMs: number;
}

/** Retry defaults: 5 retries waiting 2 s, 4 s, 8 s, 16 s, 32 s (at most 60 s each). */
export const defaultRetry: RetryPolicy = { maxRetries: 5, baseDelayMs: 2000, maxDelayMs: 60_000 };

/** A fetch failed: carries the service, endpoint and symbol, and never a secret. */
export class FetchError extends Error {
  /**
   * @param message The message (already masked).
   * @param service The service, e.g. "Yahoo Finance" or "Alpha Vantage".
   * @param endpoint The endpoint, e.g. "chart" or "EARNINGS".
   * @param symbol The ticker or series.
   * @param status The HTTP status, when there was a response.
   */
  constructor(
    message: string,
    readonly service: string,
    readonly endpoint: string,
    readonly symbol: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "FetchError";
  }
}

/** One GET request. */
export interface HttpRequest {
  url: string;
  service: string;
  endpoint: string;
  symbol: string;
  /** Values to mask in anything logged or thrown (API keys). */
  secrets: readonly string[];
  /** Extra request headers (e.g. the User-Agent the Yahoo package sets). */
  headers?: Record<string, string>;
  /** Returns a reason when a 200 body is the service's rate-limit answer, else null. */
  rateLimited?: (body: string) => string | null;
}

/** Options of {@linkcode HttpClient}. */
export interface HttpClientOptions {
  /** The service's token bucket. */
  bucket: TokenBucket;
  /** Backoff policy. */
  retry?: RetryPolicy;
  /** Sleep (injectable for tests). */
  sleep?: Sleep;
  /** Progress lines (retries and waits). */
  log?: (line: string) => void;
  /** The fetch function (default `globalThis.fetch`). */
  fetch?: typeof fetch;
}

/** A rate-limited HTTP client with bounded retries. */
export class HttpClient {
  readonly retry: RetryPolicy;
  readonly #sleep: Sleep;
  readonly #log: (line: string) => void;
  readonly #fetch: typeof fetch;
  /** Requests sent, retries included. */
  requests = 0;

  /** @param options See {@linkcode HttpClientOptions}. */
  constructor(readonly options: HttpClientOptions) {
    this.retry = options.retry ?? defaultRetry;
    this.#sleep = options.sleep ?? realSleep;
    this.#log = options.log ?? (() => {});
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /**
   * GETs `req.url` and returns the body of a 2xx answer, retrying 429, 5xx, network errors and
   * rate-limit payloads with exponential backoff (honouring Retry-After up to the cap).
   *
   * @param req The request.
   * @returns The response body.
   * @throws {FetchError} On a 4xx other than 429, or when the retries are used up.
   */
  async getText(req: HttpRequest): Promise<string> {
    const mask = (s: string) => redact(s, req.secrets);
    const what = `${req.service} ${req.endpoint} for "${req.symbol}"`;
    let lastReason = "";
    for (let attempt = 0;; attempt++) {
      await this.options.bucket.take();
      this.requests++;
      let status: number | undefined;
      let retryAfterMs: number | null = null;
      try {
        const res = await this.#fetch(req.url, {
          headers: { accept: "application/json", ...req.headers },
        });
        status = res.status;
        const body = await res.text();
        if (res.ok) {
          const limited = req.rateLimited?.(body) ?? null;
          if (limited === null) return body;
          lastReason = `rate limited: ${mask(limited)}`;
        } else if (res.status === 429 || res.status >= 500) {
          lastReason = `HTTP ${res.status}${body ? `: ${mask(body.slice(0, 200))}` : ""}`;
          const ra = Number(res.headers.get("retry-after"));
          if (Number.isFinite(ra) && ra >= 0 && res.headers.has("retry-after")) {
            retryAfterMs = ra * 1000;
          }
        } else {
          throw new FetchError(
            `${what} failed with HTTP ${res.status}${body ? `: ${mask(body.slice(0, 300))}` : ""}`,
            req.service,
            req.endpoint,
            req.symbol,
            res.status,
          );
        }
      } catch (e) {
        if (e instanceof FetchError) throw e;
        lastReason = `network error: ${mask(String((e as Error).message ?? e))}`;
      }
      if (attempt >= this.retry.maxRetries) {
        throw new FetchError(
          `${what} failed after ${attempt + 1} attempts (${lastReason}); completed downloads are ` +
            `cached, run the same command again later to resume`,
          req.service,
          req.endpoint,
          req.symbol,
          status,
        );
      }
      const backoff = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt);
      const wait = retryAfterMs === null
        ? backoff
        : Math.min(this.retry.maxDelayMs, Math.max(backoff, retryAfterMs));
      this.#log(
        `  ${what}: ${lastReason}; retry ${attempt + 1}/${this.retry.maxRetries} in ${
          (wait / 1000).toFixed(1)
        } s`,
      );
      await this.#sleep(wait);
    }
  }
}
