/**
 * The language-model digester against a real OpenAI-compatible endpoint: a contract suite that
 * runs only when `ALFRED_LLM_URL` is set (`withNeeds(["llm"])`: ignored without it, even under
 * `ALFRED_REQUIRE_ALL=1`), as the MongoDB suite does with `MONGODB_URI`. With a small local model:
 *
 * ```sh
 * ollama serve & ollama pull qwen2.5:1.5b
 * ALFRED_LLM_URL=http://127.0.0.1:11434/v1 ALFRED_LLM_MODEL=qwen2.5:1.5b \
 *   deno test --allow-all tests/news_llm_contract_test.ts
 * ```
 *
 * It checks what any model must do for the digester to work: answer in the schema, on plainly
 * positive and negative headlines give the sign a reader would, and be served from the cache the
 * second time.
 */
import { assert, assertEquals } from "./assert.ts";
import { LlmConfig } from "../src/config/schema.ts";
import { AnswerCache, type Article, digestWithLlm } from "../src/news/mod.ts";
import { withNeeds } from "./requirements.ts";

const URL_ = Deno.env.get("ALFRED_LLM_URL") ?? "";
const MODEL = Deno.env.get("ALFRED_LLM_MODEL") ?? "qwen2.5:1.5b";

function article(id: string, headline: string, summary: string): Article {
  return {
    id,
    ticker: "ACME",
    publishedMs: Date.parse("2024-05-02T13:00:00Z"),
    headline,
    summary,
    source: "contract test",
    url: null,
    tickerCount: 1,
  };
}

Deno.test(withNeeds(["llm"], {
  name: "a real endpoint answers in the digest schema, with the obvious sign, and is cached",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "alfred-llm-contract-" });
    try {
      const config = LlmConfig.parse({ url: URL_, model: MODEL, timeout_s: 120, concurrency: 2 });
      const apiKey = Deno.env.get(config.api_key_env) || null;
      const articles = [
        article(
          "pos",
          "ACME beats earnings estimates and raises full-year guidance",
          "Quarterly profit rose 40% on record demand; shares jumped 12% in early trading.",
        ),
        article(
          "neg",
          "ACME misses estimates, cuts outlook and announces layoffs",
          "Revenue fell 25% and the company warned of further losses; shares plunged 18%.",
        ),
      ];
      const cache = new AnswerCache(dir);
      const first = await digestWithLlm({ config, apiKey }, cache, articles);
      assert(first.digests[0].sentiment > 0.2, `positive: ${first.digests[0].sentiment}`);
      assert(first.digests[1].sentiment < -0.2, `negative: ${first.digests[1].sentiment}`);
      for (const d of first.digests) assert(d.summary.length > 0);
      assertEquals(first.usage.cacheMisses, 2);
      const second = await digestWithLlm({ config, apiKey }, cache, articles);
      assertEquals(second.usage.requests, 0);
      assertEquals(second.digests, first.digests);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
}));
