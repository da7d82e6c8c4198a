/**
 * The language-model answer cache: one JSON file per answer under a folder, keyed by the sha256 of
 * (model, prompt version, article). A rerun finds every answer and sends no request; the files
 * hold the model's answer and its token counts, never the endpoint's key.
 *
 * @module
 */
import { join } from "node:path";
import { type Article, NewsDigest } from "./article.ts";

/** One cached answer. */
export interface CachedAnswer {
  key: string;
  model: string;
  prompt: string;
  article: { id: string; ticker: string };
  digest: NewsDigest;
  tokens: { prompt: number; completion: number };
}

/**
 * The cache key of an answer: sha256 (hex) of the model, the prompt version and everything of the
 * article the prompt shows.
 *
 * @param model the model name
 * @param prompt the prompt version
 * @param a the article
 * @returns 64 hex digits
 */
export async function answerKey(model: string, prompt: string, a: Article): Promise<string> {
  const text = JSON.stringify([
    model,
    prompt,
    a.ticker,
    a.id,
    a.publishedMs,
    a.headline,
    a.summary,
    a.source,
  ]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A folder of cached answers. */
export class AnswerCache {
  /**
   * @param dir the folder (created on the first write)
   */
  constructor(readonly dir: string) {}

  #path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /**
   * The cached answer of a key, or null. A file that is not a valid answer is an error naming it.
   *
   * @param key the answer key
   * @returns the answer or null
   * @throws {SyntaxError} when the file holds no valid answer
   */
  async get(key: string): Promise<CachedAnswer | null> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path(key));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
    try {
      const a = JSON.parse(text) as CachedAnswer;
      if (a.key !== key) throw new Error(`it holds key "${a.key}"`);
      NewsDigest.parse(a.digest);
      return a;
    } catch (e) {
      throw new SyntaxError(
        `Cached answer "${this.#path(key)}" is not valid: ${(e as Error).message.split("\n")[0]}`,
      );
    }
  }

  /**
   * Write an answer atomically (temporary file, then rename).
   *
   * @param answer the answer
   */
  async put(answer: CachedAnswer): Promise<void> {
    const path = this.#path(answer.key);
    await Deno.mkdir(join(this.dir, answer.key.slice(0, 2)), { recursive: true });
    const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.writeTextFile(tmp, JSON.stringify(answer, null, 2) + "\n");
    await Deno.rename(tmp, path);
  }
}
