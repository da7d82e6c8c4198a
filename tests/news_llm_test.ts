/**
 * The language-model digester's client against a local HTTP server that this test starts and that
 * speaks the OpenAI chat-completions protocol. THIS CHECKS THE PROTOCOL, NOT A MODEL: the server's
 * "answers" are computed from the headline's length, so the tests say nothing about how well any
 * model reads news. They exercise structured output, malformed answers, timeouts, 429 with
 * Retry-After, unreachable endpoints and the answer cache, and that a rerun of an LLM-digested
 * experiment sends no request and that the API key appears in no output, cache file, record or
 * report. `tests/news_llm_contract_test.ts` runs against a real endpoint when `ALFRED_LLM_URL` is
 * set.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "./assert.ts";
import { walk } from "./data_helpers.ts";
import { LlmConfig } from "../src/config/schema.ts";
import { parseExperimentText } from "../src/config/load.ts";
import { writeSynthetic } from "../src/data/synth.ts";
import { analyzeRun, runExperiment } from "../src/pipeline.ts";
import {
  AnswerCache,
  type Article,
  digestWithLlm,
  LlmError,
  retryAfterMs,
} from "../src/news/mod.ts";
import { quietRun } from "./pipeline_helpers.ts";

const KEY = "sk-alfred-test-7d1c5e9a0b";

/** What the server does with the next requests, in order; then `ok` for every later one. */
type Reply =
  | "ok"
  | "not-json"
  | "out-of-range"
  | "slow"
  | "429"
  | "400"
  | "fenced";

/** A local chat-completions server; the "model" answers from the headline's length. */
class FakeEndpoint {
  readonly requests: Record<string, unknown>[] = [];
  readonly auth: (string | null)[] = [];
  script: Reply[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/v1`;
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== "/v1/chat/completions") {
      return new Response("not found", { status: 404 });
    }
    const body = await req.json() as {
      model: string;
      messages: { role: string; content: string }[];
    };
    this.requests.push(body);
    this.auth.push(req.headers.get("authorization"));
    const reply = this.script.shift() ?? "ok";
    if (reply === "429") {
      return new Response("slow down", { status: 429, headers: { "retry-after": "2" } });
    }
    if (reply === "400") return new Response("bad request: unknown model", { status: 400 });
    if (reply === "slow") await new Promise((r) => setTimeout(r, 400));
    const headline = /Headline: (.*)/.exec(body.messages[1].content)?.[1] ?? "";
    const answer = {
      sentiment: ((headline.length % 21) - 10) / 10,
      relevance: 1,
      event_type: headline.includes("earnings") ? "earnings" : "other",
      summary: headline,
    };
    const content = reply === "not-json"
      ? "Sure! The sentiment is positive {"
      : reply === "out-of-range"
      ? JSON.stringify({ ...answer, sentiment: 3 })
      : reply === "fenced"
      ? "```json\n" + JSON.stringify(answer) + "\n```"
      : JSON.stringify(answer);
    return Response.json({
      id: "chatcmpl-test",
      object: "chat.completion",
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
      usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
    });
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}

function article(id: string, headline: string): Article {
  return {
    id,
    ticker: "AAA",
    publishedMs: Date.parse("2020-01-02T15:00:00Z"),
    headline,
    summary: "Details follow.",
    source: "test",
    url: null,
    tickerCount: 1,
  };
}

const ARTICLES = [
  article("a1", "AAA beats earnings estimates"),
  article("a2", "AAA names new chief financial officer"),
  article("a3", "AAA shares slump"),
];

function config(url: string, extra: Record<string, unknown> = {}): LlmConfig {
  return LlmConfig.parse({ url, model: "test-model", backoff_s: 0.01, ...extra });
}

async function withEndpoint(fn: (ep: FakeEndpoint, dir: string) => Promise<void>) {
  const ep = new FakeEndpoint();
  const dir = await Deno.makeTempDir({ prefix: "alfred-llm-" });
  try {
    await fn(ep, dir);
  } finally {
    await ep.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("protocol: structured output is asked for, validated, and cached so a rerun sends nothing", () =>
  withEndpoint(async (ep, dir) => {
    const o = { config: config(ep.url), apiKey: KEY };
    const cache = new AnswerCache(`${dir}/cache`);
    const first = await digestWithLlm(o, cache, ARTICLES);
    assertEquals(ep.requests.length, 3);
    const req = ep.requests[0] as {
      model: string;
      temperature: number;
      response_format: {
        type: string;
        json_schema: { name: string; schema: { required: string[] } };
      };
    };
    assertEquals(req.model, "test-model");
    assertEquals(req.temperature, 0);
    assertEquals(req.response_format.type, "json_schema");
    assertEquals(req.response_format.json_schema.name, "news_digest");
    assertEquals(req.response_format.json_schema.schema.required, [
      "sentiment",
      "relevance",
      "event_type",
      "summary",
    ]);
    assertEquals(ep.auth, [`Bearer ${KEY}`, `Bearer ${KEY}`, `Bearer ${KEY}`]);
    assertEquals(first.digests[0].event_type, "earnings");
    assertEquals(first.digests[0].summary, "AAA beats earnings estimates");
    assertEquals(first.usage, {
      requests: 3,
      cacheHits: 0,
      cacheMisses: 3,
      promptTokens: 300,
      completionTokens: 60,
    });

    const again = await digestWithLlm(o, cache, ARTICLES);
    assertEquals(ep.requests.length, 3, "the rerun sends no request");
    assertEquals(again.digests, first.digests);
    assertEquals(again.usage, {
      requests: 0,
      cacheHits: 3,
      cacheMisses: 0,
      promptTokens: 0,
      completionTokens: 0,
    });
    // Another model or prompt version is another key.
    await digestWithLlm({ ...o, config: config(ep.url, { model: "other" }) }, cache, ARTICLES);
    assertEquals(ep.requests.length, 6);
    for (const f of await walk(`${dir}/cache`)) {
      assert(!(await Deno.readTextFile(f)).includes(KEY), `the key is in ${f}`);
    }
  }));

Deno.test("protocol: a malformed or out-of-range answer is an error naming the article, never a zero", () =>
  withEndpoint(async (ep, dir) => {
    const o = { config: config(ep.url, { concurrency: 1 }), apiKey: null };
    ep.script = ["ok", "not-json"];
    const e1 = await assertRejects(
      () => digestWithLlm(o, new AnswerCache(`${dir}/c1`), ARTICLES),
      LlmError,
    );
    assertMatch(
      e1.message,
      /article "a2" \(ticker "AAA", .*"AAA names new chief financial officer"\)/,
    );
    assertMatch(
      e1.message,
      /model "test-model" at "http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions"/,
    );
    assertMatch(e1.message, /the answer is not valid JSON/);
    assertEquals(e1.article, "a2");
    assertEquals(ep.auth[0], null, "no key, no Authorization header");

    ep.script = ["out-of-range"];
    const e2 = await assertRejects(
      () => digestWithLlm(o, new AnswerCache(`${dir}/c2`), ARTICLES),
      LlmError,
    );
    assertMatch(e2.message, /article "a1".*does not fit the digest schema: sentiment: /);

    // A fenced JSON answer is accepted.
    ep.script = ["fenced"];
    const r = await digestWithLlm(o, new AnswerCache(`${dir}/c3`), ARTICLES.slice(0, 1));
    assertEquals(r.digests[0].event_type, "earnings");

    ep.script = ["400"];
    const before = ep.requests.length;
    const e3 = await assertRejects(
      () => digestWithLlm(o, new AnswerCache(`${dir}/c4`), ARTICLES.slice(0, 1)),
      LlmError,
    );
    assertMatch(e3.message, /HTTP 400: bad request: unknown model/);
    assertEquals(ep.requests.length - before, 1, "a 400 is not retried");
  }));

Deno.test("protocol: timeouts are retried with backoff, then fail naming the article", () =>
  withEndpoint(async (ep, dir) => {
    const waits: number[] = [];
    const o = {
      config: config(ep.url, { timeout_s: 0.1, retries: 2, backoff_s: 0.5, concurrency: 1 }),
      apiKey: KEY,
      sleep: (ms: number) => (waits.push(ms), Promise.resolve()),
    };
    ep.script = ["slow", "slow", "slow"];
    const e = await assertRejects(
      () => digestWithLlm(o, new AnswerCache(`${dir}/c`), ARTICLES.slice(0, 1)),
      LlmError,
    );
    assertMatch(
      e.message,
      /article "a1".*no answer within 0\.1 s \(timeout_s\) \(after 3 attempts\)/,
    );
    assertEquals(waits, [500, 1000], "exponential backoff between the attempts");
    assertEquals(ep.requests.length, 3);
    assert(!e.message.includes(KEY));
    // One slow answer, then a good one: the retry succeeds.
    ep.script = ["slow"];
    const r = await digestWithLlm(o, new AnswerCache(`${dir}/d`), ARTICLES.slice(0, 1));
    assertEquals(r.usage.requests, 2);
    // Let the abandoned slow handlers finish before the server closes.
    await new Promise((res) => setTimeout(res, 450));
  }));

Deno.test("protocol: a 429 waits at least its Retry-After, then retries", () =>
  withEndpoint(async (ep, dir) => {
    const waits: number[] = [];
    const o = {
      config: config(ep.url, { backoff_s: 0.1, concurrency: 1 }),
      apiKey: null,
      sleep: (ms: number) => (waits.push(ms), Promise.resolve()),
    };
    ep.script = ["429", "429"];
    const r = await digestWithLlm(o, new AnswerCache(`${dir}/c`), ARTICLES.slice(0, 1));
    assertEquals(waits, [2000, 2000], "Retry-After: 2 beats the 100 and 200 ms backoff");
    assertEquals(r.usage.requests, 3);
    assertEquals(retryAfterMs("5"), 5000);
    assertEquals(
      retryAfterMs("Wed, 21 Oct 2015 07:28:10 GMT", Date.parse("2015-10-21T07:28:00Z")),
      10_000,
    );
    assertEquals(retryAfterMs("soon"), null);
  }));

Deno.test("protocol: an unreachable endpoint is a clear error naming the article", async () => {
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const dir = await Deno.makeTempDir({ prefix: "alfred-llm-" });
  try {
    const o = {
      config: config(`http://127.0.0.1:${port}/v1`, { retries: 1 }),
      apiKey: KEY,
      sleep: () => Promise.resolve(),
    };
    const e = await assertRejects(
      () => digestWithLlm(o, new AnswerCache(`${dir}/c`), ARTICLES.slice(0, 1)),
      LlmError,
    );
    assertMatch(
      e.message,
      /Cannot digest article "a1".*the endpoint is unreachable: .*\(after 2 attempts\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const EXPERIMENT = (dataset: string, url: string) => `
name: news-llm-protocol
seed: 1
data:
  dataset: ${dataset}
  train_tickers: [SYN01, SYN02, SYN03, SYN04]
  eval_tickers: [SYN05, SYN06]
features:
  families:
    news:
      digester: llm
      events: true
      missing: zero
      llm: { url: "${url}", model: test-model, api_key_env: ALFRED_TEST_LLM_KEY, concurrency: 8 }
label: { mode: magnitude }
split: { method: ticker_and_time, eval_from: "2010-07-01" }
scaling: { default: none } # the fake model tags only earnings and other: the rest are constant
model: { family: vanilla.small, size: 4, layers: 1 }
loss: { name: mse }
train: { epochs: 2, backend: wasm }
backtest: { strategy: long_short_top_k, mode: portfolio, k: 1 }
`;

Deno.test("protocol: a rerun of an LLM-digested experiment sends no request, and the key is nowhere", () =>
  withEndpoint(async (ep, root) => {
    Deno.env.set("ALFRED_TEST_LLM_KEY", KEY);
    Deno.env.set("ALFRED_DATA_PATH", root);
    try {
      await writeSynthetic(`${root}/synth-llm`, {
        seed: 4,
        tickers: 6,
        from: "2008-01-01",
        to: "2011-12-31",
        signal: 1,
        newsSignal: 1,
        name: "synth-llm",
      });
      const [e] = await parseExperimentText(EXPERIMENT(`${root}/synth-llm`, ep.url), "x.yaml");
      const lines: string[] = [];
      const options = quietRun(root, {
        newsCacheDir: `${root}/news-cache`,
        log: (l) => lines.push(l),
      });
      const first = (await runExperiment(e, options)).record.news!;
      const sent = ep.requests.length;
      assert(sent > 100, `requests: ${sent}`);
      assertEquals(first.digester, "llm");
      assertEquals(first.model, "test-model");
      assertEquals(first.prompt, "news-digest-v1");
      assertEquals(first.requests, sent);
      assertEquals(first.cacheHits, 0);
      assertEquals(first.cacheMisses, first.articles);
      assertEquals(first.tokens, { prompt: 100 * sent, completion: 20 * sent });

      const second = (await runExperiment(e, { ...options, retrain: true })).record;
      assertEquals(ep.requests.length, sent, "the second run sends no request");
      assertEquals(second.news!.requests, 0);
      assertEquals(second.news!.cacheHitRate, 1);
      assertEquals(second.news!.tokens, { prompt: 0, completion: 0 });
      assert(second.features.includes("news_event_earnings"));
      // Analysing the run re-digests its news through the same cache folder: no request either.
      const analyzed = await analyzeRun(`${root}/results/news-llm-protocol/${second.runId}`, {
        store: options.store,
        set: [
          "analysis.shap.enabled=true",
          "analysis.shap.explain=3",
          "analysis.shap.background=3",
        ],
        log: () => {},
        newsCacheDir: options.newsCacheDir,
      });
      assert(analyzed.analysis?.shap, "Shapley values added");
      assertEquals(ep.requests.length, sent, "analyze sends no request");

      const report = await Deno.readTextFile(
        `${root}/results/news-llm-protocol/${second.runId}/report.md`,
      );
      assertMatch(report, /## News/);
      assertMatch(report, /\| cache \| \d+ hits, 0 misses \(hit rate 100\.0%\) \|/);
      assertMatch(report, /\| model \| `test-model` \|/);

      const files = await walk(root);
      assert(files.some((f) => f.includes("news-cache")), "answers are cached");
      for (const f of files) {
        const bytes = await Deno.readFile(f);
        const text = new TextDecoder("latin1").decode(bytes);
        assert(!text.includes(KEY), `the API key is in ${f}`);
      }
      assert(!lines.join("\n").includes(KEY), "the API key is in the log");
      assert(lines.some((l) => l.includes("cache hits")), lines.join("\n"));
    } finally {
      Deno.env.delete("ALFRED_TEST_LLM_KEY");
      Deno.env.delete("ALFRED_DATA_PATH");
    }
  }));
