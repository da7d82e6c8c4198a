/**
 * The language-model digester's client: an OpenAI-compatible chat-completions endpoint (Ollama, a
 * llama.cpp server, vLLM or a hosted API) asked for structured output, validated by zod.
 *
 * Requests run at most `concurrency` at a time; a timeout, a connection error, a 429 or a 5xx is
 * retried with exponential backoff (a 429's `Retry-After` wins when it is longer). When retries run
 * out, or an answer is malformed, the digestion fails with an {@linkcode LlmError} naming the
 * article: an article is never silently scored zero. The key comes from the environment, is sent
 * as a Bearer token and is registered with `src/redact.ts`, so no message shows it.
 *
 * @module
 */
import { z } from "zod";
import { type LlmConfig, NEWS_EVENT_TYPES } from "../config/schema.ts";
import { redact, registerSecret, registerUrlSecrets } from "../redact.ts";
import { type Article, describeArticle, NewsDigest } from "./article.ts";
import { type AnswerCache, answerKey } from "./cache.ts";

/** A digestion through the endpoint failed: carries the article and the HTTP status, if any. */
export class LlmError extends Error {
  constructor(message: string, readonly article?: string, readonly status?: number) {
    super(redact(message));
    this.name = "LlmError";
  }
}

/** The answer a language model must give: a digest with an event type. */
export const LlmAnswer = NewsDigest.extend({ event_type: z.enum(NEWS_EVENT_TYPES) });

/** The JSON Schema sent as `response_format` (structured output). */
export const LLM_ANSWER_JSON_SCHEMA = {
  type: "object",
  properties: {
    sentiment: { type: "number", minimum: -1, maximum: 1 },
    relevance: { type: "number", minimum: 0, maximum: 1 },
    event_type: { type: "string", enum: [...NEWS_EVENT_TYPES] },
    summary: { type: "string", maxLength: 400 },
  },
  required: ["sentiment", "relevance", "event_type", "summary"],
  additionalProperties: false,
} as const;

/** A versioned prompt: `src/news/prompts/<version>.md`, a `# system` and a `# user` section. */
export interface Prompt {
  version: string;
  system: string;
  user: string;
}

/**
 * Load a prompt version from `src/news/prompts/`.
 *
 * @param version the prompt version (the file's name without `.md`)
 * @returns the prompt
 * @throws {RangeError} when no such prompt exists or it lacks a section
 */
export async function loadPrompt(version: string): Promise<Prompt> {
  const dir = new URL("./prompts/", import.meta.url);
  let text: string;
  try {
    text = await Deno.readTextFile(new URL(`${version}.md`, dir));
  } catch {
    const have: string[] = [];
    for await (const e of Deno.readDir(dir)) {
      if (e.name.endsWith(".md")) have.push(`"${e.name.slice(0, -3)}"`);
    }
    throw new RangeError(
      `Unknown prompt "${version}": src/news/prompts/ has ${have.sort().join(", ") || "none"}`,
    );
  }
  const m = /^# system\s*\n([\s\S]*?)^# user\s*\n([\s\S]*)$/m.exec(text);
  if (!m) {
    throw new RangeError(
      `Prompt "${version}" needs a "# system" section followed by a "# user" section`,
    );
  }
  return { version, system: m[1].trim(), user: m[2].trim() };
}

/** The prompt's placeholders filled in for one article. */
export function promptMessages(p: Prompt, a: Article): { role: string; content: string }[] {
  const values: Record<string, string> = {
    ticker: a.ticker,
    published_at: new Date(a.publishedMs).toISOString(),
    source: a.source ?? "unknown",
    headline: a.headline,
    summary: a.summary ?? "(none)",
    event_types: NEWS_EVENT_TYPES.join(", "),
  };
  const fill = (t: string) => t.replace(/\{\{(\w+)\}\}/g, (_, k: string) => values[k] ?? "");
  return [{ role: "system", content: fill(p.system) }, { role: "user", content: fill(p.user) }];
}

/** How the client reaches the endpoint. */
export interface LlmClientOptions {
  config: LlmConfig;
  /** The API key, or null for none (local servers). */
  apiKey: string | null;
  /** Waits between retries (tests pass a fast one); default `setTimeout`. */
  sleep?: (ms: number) => Promise<void>;
}

/** What one digestion through the endpoint cost. */
export interface LlmUsage {
  requests: number;
  cacheHits: number;
  cacheMisses: number;
  promptTokens: number;
  completionTokens: number;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Seconds a `Retry-After` header asks for (delta seconds or an HTTP date), or null. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null) return null;
  const s = header.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

/** Strip a Markdown code fence some models wrap JSON in. */
function unfence(text: string): string {
  const m = /^\s*```(?:json)?\s*\n?([\s\S]*?)\n?```\s*$/.exec(text);
  return m ? m[1] : text;
}

/**
 * Ask the endpoint to digest one article (no cache): one chat completion, retried on timeouts,
 * connection errors, 429 and 5xx.
 *
 * @param o the client options
 * @param prompt the prompt
 * @param a the article
 * @returns the validated digest, token counts and how many requests it took
 * @throws {LlmError} naming the article when retries run out or the answer is malformed
 */
export async function askDigest(
  o: LlmClientOptions,
  prompt: Prompt,
  a: Article,
): Promise<
  { digest: NewsDigest; promptTokens: number; completionTokens: number; requests: number }
> {
  const c = o.config;
  const sleep = o.sleep ?? defaultSleep;
  const url = `${c.url.replace(/\/+$/, "")}/chat/completions`;
  registerUrlSecrets(url);
  if (o.apiKey) registerSecret(o.apiKey);
  const body = JSON.stringify({
    model: c.model,
    messages: promptMessages(prompt, a),
    temperature: 0,
    max_tokens: c.max_tokens,
    response_format: {
      type: "json_schema",
      json_schema: { name: "news_digest", strict: true, schema: LLM_ANSWER_JSON_SCHEMA },
    },
  });
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
  const what = `Cannot digest ${describeArticle(a)} with model "${c.model}" at "${url}"`;
  let lastProblem = "";
  let lastStatus: number | undefined;
  for (let attempt = 0; attempt <= c.retries; attempt++) {
    let wait = c.backoff_s * 1000 * 2 ** attempt;
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(c.timeout_s * 1000),
      });
    } catch (e) {
      const timedOut = (e as Error).name === "TimeoutError" || (e as Error).name === "AbortError";
      lastProblem = timedOut
        ? `no answer within ${c.timeout_s} s (timeout_s)`
        : `the endpoint is unreachable: ${(e as Error).message.split("\n")[0]}`;
      lastStatus = undefined;
      if (attempt < c.retries) await sleep(wait);
      continue;
    }
    if (!res.ok) {
      const text = (await res.text().catch(() => "")).slice(0, 200).replace(/\s+/g, " ");
      lastStatus = res.status;
      lastProblem = `HTTP ${res.status}${text ? `: ${text}` : ""}`;
      const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
      if (!retryable) throw new LlmError(`${what}: ${lastProblem}`, a.id, res.status);
      const after = retryAfterMs(res.headers.get("retry-after"));
      if (after !== null) wait = Math.max(wait, after);
      if (attempt < c.retries) await sleep(wait);
      continue;
    }
    let payload: unknown;
    try {
      payload = await res.json();
    } catch (e) {
      throw new LlmError(
        `${what}: the response is not JSON: ${(e as Error).message.split("\n")[0]}`,
        a.id,
        res.status,
      );
    }
    const p = payload as {
      choices?: { message?: { content?: unknown } }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number };
    };
    const content = p.choices?.[0]?.message?.content;
    if (typeof content !== "string") {
      throw new LlmError(
        `${what}: the response has no choices[0].message.content string`,
        a.id,
        res.status,
      );
    }
    let answer: unknown;
    try {
      answer = JSON.parse(unfence(content));
    } catch (e) {
      throw new LlmError(
        `${what}: the answer is not valid JSON (${(e as Error).message.split("\n")[0]}): ${
          JSON.stringify(content.slice(0, 120))
        }`,
        a.id,
        res.status,
      );
    }
    const parsed = LlmAnswer.safeParse(answer);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "answer"}: ${i.message}`)
        .join("; ");
      throw new LlmError(`${what}: the answer does not fit the digest schema: ${issues}`, a.id);
    }
    return {
      digest: parsed.data,
      promptTokens: p.usage?.prompt_tokens ?? 0,
      completionTokens: p.usage?.completion_tokens ?? 0,
      requests: attempt + 1,
    };
  }
  throw new LlmError(
    `${what}: ${lastProblem} (after ${c.retries + 1} attempt${c.retries ? "s" : ""})`,
    a.id,
    lastStatus,
  );
}

/**
 * Digest articles through the endpoint and the cache: a cached answer is used as is; the others
 * are asked for, `concurrency` at a time, and cached as they arrive. The first failure stops the
 * digestion (requests in flight finish and are cached) and is thrown.
 *
 * @param o the client options
 * @param cache the answer cache
 * @param articles the articles
 * @param onProgress called after each article with how many are done
 * @returns one digest per article, in order, and the usage
 * @throws {LlmError} naming the first article that failed
 */
export async function digestWithLlm(
  o: LlmClientOptions,
  cache: AnswerCache,
  articles: Article[],
  onProgress?: (done: number, total: number) => void,
): Promise<{ digests: NewsDigest[]; usage: LlmUsage }> {
  const prompt = await loadPrompt(o.config.prompt);
  const digests: NewsDigest[] = new Array(articles.length);
  const usage: LlmUsage = {
    requests: 0,
    cacheHits: 0,
    cacheMisses: 0,
    promptTokens: 0,
    completionTokens: 0,
  };
  let next = 0;
  let done = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < articles.length) {
      const i = next++;
      const a = articles[i];
      try {
        const key = await answerKey(o.config.model, prompt.version, a);
        const hit = await cache.get(key);
        if (hit) {
          usage.cacheHits++;
          digests[i] = hit.digest;
        } else {
          usage.cacheMisses++;
          const r = await askDigest(o, prompt, a);
          usage.requests += r.requests;
          usage.promptTokens += r.promptTokens;
          usage.completionTokens += r.completionTokens;
          digests[i] = r.digest;
          await cache.put({
            key,
            model: o.config.model,
            prompt: prompt.version,
            article: { id: a.id, ticker: a.ticker },
            digest: r.digest,
            tokens: { prompt: r.promptTokens, completion: r.completionTokens },
          });
        }
        onProgress?.(++done, articles.length);
      } catch (e) {
        if (failure === null) failure = e;
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(o.config.concurrency, articles.length) }, worker),
  );
  if (failure !== null) throw failure;
  return { digests, usage };
}
