/**
 * The news analyst: articles, digesters (the VADER lexicon and a chat-completions language model),
 * the answer cache and the point-in-time rule that assigns an article to a quarter.
 *
 * @module
 */
export {
  type Article,
  articleText,
  describeArticle,
  NewsDigest,
  type NewsEventType,
  readArticles,
} from "./article.ts";
export { AnswerCache, answerKey, type CachedAnswer } from "./cache.ts";
export {
  type DigestedNews,
  digestNews,
  type DigestOptions,
  type DigestStats,
  type NewsFamilyConfig,
  newsLine,
} from "./digest.ts";
export { LEXICON_MODEL, lexiconDigest, vaderCompound } from "./lexicon.ts";
export {
  askDigest,
  digestWithLlm,
  LLM_ANSWER_JSON_SCHEMA,
  LlmAnswer,
  type LlmClientOptions,
  LlmError,
  type LlmUsage,
  loadPrompt,
  type Prompt,
  promptMessages,
  retryAfterMs,
} from "./llm.ts";
export {
  countsForQuarter,
  marketCloseMs,
  quarterNewsWindow,
  zonedTimeMs,
} from "./point_in_time.ts";
