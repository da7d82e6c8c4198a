/**
 * The news analyst's first half: read a dataset's articles and digest each with the digester the
 * experiment chose (`features.families.news.digester`), giving the per-article digests the `news`
 * feature family rolls up by quarter, and the statistics the run record keeps.
 *
 * @module
 */
import type { FeatureFamilies, MarketCloseConfig } from "../config/schema.ts";
import type { Dataset } from "../data/dataset.ts";
import { type Article, type NewsDigest, readArticles } from "./article.ts";
import { AnswerCache } from "./cache.ts";
import { LEXICON_MODEL, lexiconDigest } from "./lexicon.ts";
import { digestWithLlm } from "./llm.ts";
import { NEWS_CACHE_DIR } from "../paths.ts";

/** The `news` family's config, defaults filled in. */
export type NewsFamilyConfig = NonNullable<FeatureFamilies["news"]>;

/** What a digestion did: the run record's `news` section. */
export interface DigestStats {
  digester: "lexicon" | "llm";
  /** The model: the lexicon's package, or the endpoint's model name. */
  model: string;
  /** The prompt version (`llm`), or null. */
  prompt: string | null;
  articles: number;
  /** Requests sent to the endpoint, retries included (0 for the lexicon and a fully cached run). */
  requests: number;
  cacheHits: number;
  cacheMisses: number;
  /** cacheHits / articles; null for the lexicon, which has no cache. */
  cacheHitRate: number | null;
  /** Tokens the endpoint reported for the requests this run sent. */
  tokens: { prompt: number; completion: number };
  marketClose: MarketCloseConfig;
}

/** Digested articles, in the order of `articles`. */
export interface DigestedNews {
  articles: Article[];
  digests: NewsDigest[];
  stats: DigestStats;
}

/** Where the digestion keeps its answers and how it reaches the endpoint. */
export interface DigestOptions {
  /** Folder of cached language-model answers (default `.alfred/news-cache`). */
  cacheDir?: string;
  /** Reads an environment variable (default `Deno.env.get`): the API key's source. */
  env?: (name: string) => string | undefined;
  /** Waits between retries (tests pass a fast one). */
  sleep?: (ms: number) => Promise<void>;
  /** One line of progress. */
  log?: (line: string) => void;
}

/**
 * Digest the articles of the run's tickers published before `beforeMs`.
 *
 * @param dataset the dataset (must have a `news` table)
 * @param cfg the `news` family config
 * @param tickers the run's tickers
 * @param beforeMs only articles published before this instant are read
 * @param options cache folder, environment, progress
 * @returns the digests and the statistics
 * @throws {MissingTableError} when the dataset has no news table
 * @throws {LlmError} naming the article when the endpoint fails or answers badly
 * @example
 * ```ts
 * const news = await digestNews(dataset, { digester: "lexicon", ... }, ["SYN01"], Infinity);
 * ```
 */
export async function digestNews(
  dataset: Dataset,
  cfg: NewsFamilyConfig,
  tickers: string[],
  beforeMs: number,
  options: DigestOptions = {},
): Promise<DigestedNews> {
  const articles = readArticles(dataset, tickers, beforeMs);
  if (cfg.digester === "lexicon") {
    return {
      articles,
      digests: articles.map(lexiconDigest),
      stats: {
        digester: "lexicon",
        model: LEXICON_MODEL,
        prompt: null,
        articles: articles.length,
        requests: 0,
        cacheHits: 0,
        cacheMisses: 0,
        cacheHitRate: null,
        tokens: { prompt: 0, completion: 0 },
        marketClose: cfg.market_close,
      },
    };
  }
  const llm = cfg.llm;
  if (!llm) throw new TypeError('digester "llm" needs features.families.news.llm');
  const env = options.env ?? ((n: string) => Deno.env.get(n));
  const apiKey = env(llm.api_key_env) || null;
  const cache = new AnswerCache(options.cacheDir ?? NEWS_CACHE_DIR);
  let shown = 0;
  const { digests, usage } = await digestWithLlm(
    { config: llm, apiKey, sleep: options.sleep },
    cache,
    articles,
    (done, total) => {
      if (options.log && (done === total || done - shown >= 500)) {
        shown = done;
        options.log(`news: ${done}/${total} articles digested by "${llm.model}"`);
      }
    },
  );
  return {
    articles,
    digests,
    stats: {
      digester: "llm",
      model: llm.model,
      prompt: llm.prompt,
      articles: articles.length,
      requests: usage.requests,
      cacheHits: usage.cacheHits,
      cacheMisses: usage.cacheMisses,
      cacheHitRate: articles.length ? usage.cacheHits / articles.length : null,
      tokens: { prompt: usage.promptTokens, completion: usage.completionTokens },
      marketClose: cfg.market_close,
    },
  };
}

/**
 * One line saying what a digestion did, for the run's log and the report.
 *
 * @param s the statistics
 * @returns e.g. `news: 120 articles digested by llm "qwen2.5:1.5b" (prompt news-digest-v1): cache
 *   hits 120/120 (100.0%), 0 requests, 0 + 0 tokens`
 */
export function newsLine(s: DigestStats): string {
  if (s.digester === "lexicon") {
    return `news: ${s.articles} articles digested by the lexicon (${s.model}), no requests`;
  }
  const rate = s.cacheHitRate === null ? "n/a" : `${(100 * s.cacheHitRate).toFixed(1)}%`;
  return `news: ${s.articles} articles digested by llm "${s.model}" (prompt ${s.prompt}): ` +
    `cache hits ${s.cacheHits}/${s.articles} (${rate}), ${s.requests} requests, ` +
    `${s.tokens.prompt} prompt + ${s.tokens.completion} completion tokens`;
}
