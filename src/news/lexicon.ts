/**
 * The lexicon digester: VADER (Hutto & Gilbert 2014) through `vader-sentiment`, the vaderSentiment
 * project's own JavaScript port (Apache-2.0), embedded and deterministic. No network, no cache.
 *
 * @module
 */
import vader from "vader-sentiment";
import { type Article, articleText, type NewsDigest } from "./article.ts";

/** The package and version behind the lexicon digester, as records and reports name it. */
export const LEXICON_MODEL = "vader-sentiment@1.1.3 (VADER lexicon)";

/**
 * VADER's compound score of a text: the normalized sum of its words' valences after VADER's rules
 * (negation, intensifiers, "but", capitals, punctuation), in [-1, 1].
 *
 * @param text any English text
 * @returns the compound score
 * @example
 * ```ts
 * vaderCompound("VADER is smart, handsome, and funny."); // 0.8316
 * ```
 */
export function vaderCompound(text: string): number {
  return vader.SentimentIntensityAnalyzer.polarity_scores(text).compound;
}

/**
 * Digest one article with the lexicon: sentiment is VADER's compound score of the headline and
 * summary; relevance is one over the number of tickers the article is about (the lexicon cannot
 * tell which of them it is mostly about); no event type; the headline is the summary.
 *
 * @param a the article
 * @returns its digest
 */
export function lexiconDigest(a: Article): NewsDigest {
  return {
    sentiment: vaderCompound(articleText(a)),
    relevance: 1 / Math.max(1, a.tickerCount),
    event_type: null,
    summary: a.headline.replace(/[\r\n]+/g, " ").slice(0, 400),
  };
}
