/**
 * The config hash (stable under key order, comments and formatting; sensitive
 * to every value) and the resolved-YAML writer (schema order, round trip).
 */
import { assert, assertEquals, assertNotEquals } from "./assert.ts";
import { canonicalJson, configHash } from "../src/config/hash.ts";
import { parseExperimentText } from "../src/config/load.ts";
import { experimentToYaml } from "../src/config/yaml.ts";
import { Experiment } from "../src/config/schema.ts";
import { BASE_CONFIG } from "./config_helpers.ts";

const BASE = BASE_CONFIG.replace("name: base-test", "name: hash-test") +
  "model:\n  size: 1024\n  dropout: 0.5\n";

async function hashOf(text: string, set?: string[]): Promise<string> {
  const [e] = await parseExperimentText(text, "h.yaml", { set });
  return configHash(e);
}

Deno.test("hash: canonical JSON sorts keys recursively and normalizes numbers", () => {
  assertEquals(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
  assertEquals(canonicalJson({ x: -0, y: 1.0, z: 1e-7, u: undefined }), '{"x":0,"y":1,"z":1e-7}');
  assertEquals(canonicalJson(["é", null, true]), '["é",null,true]');
});

Deno.test("hash: is the sha256 of the canonical JSON", async () => {
  const [e] = await parseExperimentText(BASE, "h.yaml");
  const bytes = new TextEncoder().encode(canonicalJson(e));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  assertEquals(configHash(e), hex);
  assert(/^[0-9a-f]{64}$/.test(hex));
});

Deno.test("hash: stable under key order, comments, formatting and defaults written out", async () => {
  const h = await hashOf(BASE);
  const reordered = `# comments do not matter
loss: {name: bce}   # flow style
model:
  dropout: 0.50
  size: 1024
label:
  mode: "direction"
data:
  eval_tickers:
    - KO
    - DD
  train_tickers: ['AA', "AXP"]
  dataset: dow30-1991-2000
name: hash-test
`;
  assertEquals(await hashOf(reordered), h);
  // Writing a default explicitly resolves to the same config.
  assertEquals(await hashOf(BASE + "seed: 42\ntrain: {epochs: 200}\n"), h);
  // A --set to the same value changes nothing.
  assertEquals(await hashOf(BASE, ["model.size=1024"]), h);
});

Deno.test("hash: changes with any value", async () => {
  const h = await hashOf(BASE);
  const variants = [
    BASE.replace("size: 1024", "size: 1025"),
    BASE.replace("dropout: 0.5", "dropout: 0.25"),
    BASE.replace("[AA, AXP]", "[AXP, AA]"), // list order matters
    BASE.replace("[KO, DD]", "[KO]"),
    BASE.replace("name: hash-test", "name: hash-test2"),
    BASE + "seed: 43\n",
    BASE + "description: x\n",
    BASE + "split: {purge: 1}\n", // an optional key set
  ];
  const hashes = await Promise.all(variants.map((v) => hashOf(v)));
  for (const [i, x] of hashes.entries()) assertNotEquals(x, h, `variant ${i} kept the hash`);
  assertEquals(new Set(hashes).size, variants.length);
});

Deno.test("yaml: resolved YAML lists keys in schema order and round-trips to the same hash", async () => {
  const [e] = await parseExperimentText(
    BASE + "scaling:\n  columns: {volume: robust, close: none}\n" +
      "features:\n  families:\n    market: {series: [^VIX, CL=F]}\n    price: {}\n",
    "y.yaml",
  );
  const text = experimentToYaml(e);
  const topKeys = text.split("\n").filter((l) => /^[a-z$]/.test(l)).map((l) => l.split(":")[0]);
  assertEquals(topKeys, Object.keys(Experiment.shape).filter((k) => k in e));
  assert(text.includes("  train_tickers: [AA, AXP]\n"), text);
  // Schema order for families (price before market), sorted record keys.
  assert(text.indexOf("    price:") < text.indexOf("    market:"), text);
  assert(text.indexOf("close: none") < text.indexOf("volume: robust"), text);
  const [back] = await parseExperimentText(text, "back.yaml");
  assertEquals(back, e);
  assertEquals(configHash(back), configHash(e));
});
