/**
 * The report's news section: the digester, its model and prompt, and what the language model cost
 * (cache statistics, requests, tokens).
 *
 * @module
 */
import type { RunRecord } from "../record/mod.ts";
import { markdownTable } from "./format.ts";

/**
 * Render the `## News` section of a run with the `news` family; empty text otherwise.
 *
 * @param record the run record
 * @returns Markdown
 */
export function renderNews(record: RunRecord): string {
  const n = record.news;
  if (!n) return "";
  const rows: string[][] = [
    ["digester", n.digester === "lexicon" ? "lexicon (VADER)" : "llm (chat completions)"],
    ["model", `\`${n.model}\``],
    ...(n.prompt ? [["prompt", `\`${n.prompt}\` (src/news/prompts/${n.prompt}.md)`]] : []),
    ["articles", String(n.articles)],
    [
      "cache",
      n.cacheHitRate === null
        ? "none (the lexicon needs none)"
        : `${n.cacheHits} hits, ${n.cacheMisses} misses (hit rate ${
          (100 * n.cacheHitRate).toFixed(1)
        }%)`,
    ],
    ["requests", String(n.requests)],
    ["tokens", `${n.tokens.prompt} prompt, ${n.tokens.completion} completion`],
    [
      "quarter boundary",
      `an article counts for the quarter whose last close (${n.marketClose.time} ${n.marketClose.time_zone}) comes after it`,
    ],
  ];
  return "## News\n\n" + markdownTable(["", ""], rows, ["l", "l"]);
}
