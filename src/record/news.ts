/**
 * The run record's `news` section: which digester read the articles, with which model and prompt,
 * and what the language model cost (cache hits and misses, requests, tokens). Optional in the
 * record, so records of runs without the `news` family stay valid.
 *
 * @module
 */
import { z } from "zod";
import { MarketCloseConfig } from "../config/schema.ts";
import { Count } from "./fields.ts";

/** What the news digestion of a run did. */
export const RunNews = z.strictObject({
  digester: z.enum(["lexicon", "llm"]).describe("the digester"),
  model: z.string().describe("the lexicon's package, or the endpoint's model name"),
  prompt: z.string().nullable().describe("the prompt version (llm), or null"),
  articles: Count.describe("articles (ticker rows) digested"),
  requests: Count.describe("requests sent to the endpoint, retries included; 0 when all cached"),
  cacheHits: Count.describe("answers found in the cache"),
  cacheMisses: Count.describe("answers asked for"),
  cacheHitRate: z.number().min(0).max(1).nullable().describe(
    "cache hits over articles; null for the lexicon (no cache) or no articles",
  ),
  tokens: z.strictObject({
    prompt: Count.describe("prompt tokens the endpoint reported"),
    completion: Count.describe("completion tokens the endpoint reported"),
  }).describe("tokens this run's requests used (0 when every answer was cached)"),
  marketClose: MarketCloseConfig.describe("the close that splits articles between quarters"),
});
/** What the news digestion of a run did. */
export type RunNews = z.infer<typeof RunNews>;
