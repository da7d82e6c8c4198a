/**
 * What a digester reads (an {@linkcode Article}: one row of the dataset's `news` table) and what it
 * gives back (a {@linkcode NewsDigest}, validated by one zod schema whichever digester made it).
 *
 * @module
 */
import pl from "nodejs-polars";
import { z } from "zod";
import { NEWS_EVENT_TYPES } from "../config/schema.ts";
import { type Dataset, MissingTableError } from "../data/dataset.ts";

/** An event type a digester may tag an article with. */
export type NewsEventType = typeof NEWS_EVENT_TYPES[number];

/** One article as it concerns one ticker (a row of the `news` table). */
export interface Article {
  /** The provider's (or generator's) id of the article; with `ticker` it names the row. */
  id: string;
  ticker: string;
  /** Publication instant, UTC milliseconds. */
  publishedMs: number;
  headline: string;
  summary: string | null;
  source: string | null;
  url: string | null;
  /** How many tickers the article is about (rows sharing its id). */
  tickerCount: number;
}

/**
 * A digested article: the shape every digester returns and the language model must answer in.
 * `event_type` is null when the digester does not classify events (the lexicon).
 */
export const NewsDigest = z.strictObject({
  sentiment: z.number().min(-1).max(1).describe(
    "tone for the ticker: -1 very negative .. 1 very positive",
  ),
  relevance: z.number().min(0).max(1).describe("how much the article is about the ticker: 0 .. 1"),
  event_type: z.enum(NEWS_EVENT_TYPES).nullable().describe("the main event the article reports"),
  summary: z.string().max(400).regex(/^[^\n\r]*$/, { message: "expected one line" }).describe(
    "one-line summary",
  ),
});
/** A digested article. */
export type NewsDigest = z.infer<typeof NewsDigest>;

/** The article's text as digesters see it: the headline, then the summary when there is one. */
export function articleText(a: Article): string {
  return a.summary ? `${a.headline}\n${a.summary}` : a.headline;
}

/** How an error names an article: id, ticker and headline (shortened). */
export function describeArticle(a: Article): string {
  const h = a.headline.length > 80 ? `${a.headline.slice(0, 77)}...` : a.headline;
  return `article "${a.id}" (ticker "${a.ticker}", ${
    new Date(a.publishedMs).toISOString()
  }, "${h}")`;
}

/**
 * The articles of the dataset's `news` table for some tickers, published before an instant,
 * ordered by ticker, time and id.
 *
 * @param dataset the dataset (must have a `news` table)
 * @param tickers the tickers whose articles are wanted
 * @param beforeMs only articles published before this instant (UTC milliseconds)
 * @returns the articles
 * @throws {MissingTableError} when the dataset has no news table
 */
export function readArticles(dataset: Dataset, tickers: string[], beforeMs: number): Article[] {
  if (!dataset.has("news")) {
    throw new MissingTableError(dataset.name, "news", 'the "news" feature family');
  }
  const df = dataset.table("news");
  const counts = new Map<string, number>();
  for (const id of df.getColumn("article_id").toArray() as string[]) {
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const rows = df.filter(pl.col("ticker").isIn(tickers)).toRecords() as Record<string, unknown>[];
  const text = (v: unknown) => (v === null || v === undefined || v === "" ? null : String(v));
  const out: Article[] = [];
  for (const r of rows) {
    const publishedMs = (r.published_at as Date).getTime();
    if (publishedMs >= beforeMs) continue;
    out.push({
      id: String(r.article_id),
      ticker: String(r.ticker),
      publishedMs,
      headline: String(r.headline),
      summary: text(r.summary),
      source: text(r.source),
      url: text(r.url),
      tickerCount: counts.get(String(r.article_id)) ?? 1,
    });
  }
  return out.sort((a, b) =>
    a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : a.publishedMs - b.publishedMs ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}
