/**
 * The one contract suite every {@link ModelStore} implementation runs
 * (the local file store now, shared stores later):
 *
 * ```ts
 * modelStoreContract("FileModelStore", async () => {
 *   const root = await Deno.makeTempDir();
 *   return { store: new FileModelStore(root), cleanup: () => Deno.remove(root, { recursive: true }) };
 * });
 * ```
 *
 * @module
 */
import { assert, assertEquals } from "./assert.ts";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import {
  fromStoredModel,
  type ModelMeta,
  type ModelStore,
  type StoredModel,
  toStoredModel,
} from "../src/store/model_store.ts";
import { type Requirement, withNeeds } from "./requirements.ts";
import { Prng } from "@alfred/core";

/** How a harness can damage a stored copy, as a crash or outside tampering could. */
export type Damage = "truncate-weights" | "remove-metadata" | "flip-weight-byte";

/** What an implementation gives the contract suite. */
export interface StoreHarness {
  store: ModelStore;
  /** Damage the stored copy of `hash` (implementations that can, should). */
  damage?: (hash: string, how: Damage) => Promise<void>;
  /** A second store instance on the same storage (another process or machine would use). */
  reopen?: () => ModelStore | Promise<ModelStore>;
  cleanup(): Promise<void>;
}

/**
 * A deterministic hash-like key: 64 hex digits derived from `n`.
 *
 * @param n any integer
 * @returns a valid model hash
 */
export function testHash(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0").repeat(8);
}

/**
 * A deterministic artifact with `floats` float32 weights.
 *
 * @param seed varies the weight values
 * @param floats weight count (split into a kernel and a bias)
 * @param created the metadata timestamp (writers of the same hash may differ here)
 * @returns the artifact
 */
export function makeArtifact(
  seed: number,
  floats = 1024,
  created = "2026-01-01T00:00:00Z",
): StoredModel {
  const rng = new Prng(seed);
  const w = Float32Array.from({ length: floats }, () => (rng.next() - 0.5) * 3);
  w[0] = -0; // sign of zero must survive
  w[1] = 1e-45; // a denormal must survive
  const bias = Math.max(1, floats % 16 || 8);
  const meta: ModelMeta = {
    hash: testHash(seed),
    dataFingerprint: "f".repeat(64),
    features: ["close", "close_diff_ma_7"],
    label: "PQ",
    backend: "wasm",
    created,
    train: { bestEpoch: 3, bestValLoss: 0.25, stoppedBy: "patience", epochs: 8 },
  };
  return {
    topology: { class_name: "Sequential", config: { name: `m${seed}`, layers: [] } },
    weightSpecs: [
      { name: "dense/kernel", shape: [floats - bias, 1], dtype: "float32" },
      { name: "dense/bias", shape: [bias], dtype: "float32" },
    ],
    weights: w.buffer,
    scaler: { kind: "standard", mean: [1.5, -2], std: [0.5, 3] },
    meta,
  };
}

function sameBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function assertSameModel(actual: StoredModel | null, expected: StoredModel, msg = ""): void {
  assert(actual !== null, `${msg}: expected a stored model, got null`);
  assert(sameBytes(actual.weights, expected.weights), `${msg}: weights are not bit-identical`);
  assertEquals(actual.weightSpecs, expected.weightSpecs, `${msg}: weight specs`);
  assertEquals(actual.topology, expected.topology, `${msg}: topology`);
  assertEquals(actual.scaler, expected.scaler, `${msg}: scaler`);
  assertEquals(actual.meta, expected.meta, `${msg}: meta`);
}

/** Hashes a store must refuse before they reach a path, key or query. */
export const BAD_HASHES = [
  "",
  "../" + "a".repeat(61),
  "a".repeat(63),
  "a".repeat(65),
  "A".repeat(64),
  "a".repeat(32) + "/" + "a".repeat(31),
  "a".repeat(63) + "\0",
  "..",
  "g".repeat(64),
];

/**
 * Register the contract tests for one store implementation.
 *
 * @param name implementation name, prefixed to every test name
 * @param makeStore a fresh, empty store (and how to damage, reopen and clean it up)
 * @param requires system pieces the store needs (a server): its tests are ignored, naming the
 *   piece, where one is missing (see `tests/requirements.ts`)
 */
export function modelStoreContract(
  name: string,
  makeStore: () => Promise<StoreHarness>,
  requires: Requirement[] = [],
): void {
  const test = (title: string, fn: (h: StoreHarness) => Promise<void>) =>
    Deno.test(withNeeds(requires, {
      name: `${name} contract: ${title}`,
      fn: async () => {
        const h = await makeStore();
        try {
          await fn(h);
        } finally {
          await h.cleanup();
        }
      },
    }));

  test("a missing model is absent: has false, load null, list empty, delete false", async ({ store }) => {
    assertEquals(await store.has(testHash(1)), false);
    assertEquals(await store.load(testHash(1)), null);
    assertEquals(await store.list(), []);
    assertEquals(await store.delete(testHash(1)), false);
  });

  test("round trip: weights bit-identical, topology, scaler and meta equal", async (h) => {
    const a = makeArtifact(7, 4099);
    assertEquals(await h.store.save(testHash(7), a), true);
    assertEquals(await h.store.has(testHash(7)), true);
    assertSameModel(await h.store.load(testHash(7)), a, "same instance");
    if (h.reopen) assertSameModel(await (await h.reopen()).load(testHash(7)), a, "reopened");
    const loaded = await h.store.load(testHash(7));
    const f = new Float32Array(loaded!.weights);
    assert(
      Object.is(f[0], -0) && f[1] === Float32Array.of(1e-45)[0] && f[1] > 0,
      "signed zero or denormal not preserved",
    );
  });

  test("has, list (sorted) and delete", async ({ store }) => {
    for (const n of [3, 1, 2]) await store.save(testHash(n), makeArtifact(n));
    assertEquals(await store.list(), [testHash(1), testHash(2), testHash(3)]);
    assertEquals(await store.delete(testHash(2)), true);
    assertEquals(await store.delete(testHash(2)), false);
    assertEquals(await store.has(testHash(2)), false);
    assertEquals(await store.load(testHash(2)), null);
    assertEquals(await store.list(), [testHash(1), testHash(3)]);
    assertSameModel(await store.load(testHash(3)), makeArtifact(3), "untouched neighbour");
  });

  test("save never overwrites a complete copy: the first stored copy stays", async ({ store }) => {
    const first = makeArtifact(5, 64, "2026-01-01T00:00:00Z");
    const second = makeArtifact(5, 64, "2026-02-02T00:00:00Z");
    assertEquals(await store.save(testHash(5), first), true);
    assertEquals(await store.save(testHash(5), second), false);
    assertSameModel(await store.load(testHash(5)), first, "after second save");
    // After a delete the hash can be stored again.
    await store.delete(testHash(5));
    assertEquals(await store.save(testHash(5), second), true);
    assertSameModel(await store.load(testHash(5)), second, "after delete and save");
  });

  test("concurrent saves of one hash settle to one complete copy; readers never see a partial one", async ({ store }) => {
    const hash = testHash(9);
    const writers = Array.from(
      { length: 6 },
      (_, i) => makeArtifact(9, 200_003, `2026-01-0${i + 1}T00:00:00Z`),
    );
    let done = false;
    const seen = { nulls: 0, complete: 0 };
    const reader = (async () => {
      while (!done) {
        const got = await store.load(hash);
        if (got === null) seen.nulls++;
        else {
          const match = writers.find((w) => w.meta.created === got.meta.created);
          assert(match, "loaded a copy no writer wrote");
          assertSameModel(got, match, "concurrent read");
          seen.complete++;
        }
      }
    })();
    const results = await Promise.all(writers.map((w) => store.save(hash, w)));
    done = true;
    await reader;
    assertEquals(results.filter((r) => r).length, 1, `exactly one writer stores: ${results}`);
    const winner = writers[results.indexOf(true)];
    assertSameModel(await store.load(hash), winner, "after the race");
    assertEquals(await store.list(), [hash]);
    assert(seen.nulls + seen.complete > 0, "the reader never ran");
  });

  test("concurrent saves of different hashes all land", async ({ store }) => {
    const ns = [11, 12, 13, 14, 15];
    const results = await Promise.all(
      ns.map((n) => store.save(testHash(n), makeArtifact(n, 5000))),
    );
    assertEquals(results, ns.map(() => true));
    assertEquals(await store.list(), ns.map(testHash));
    for (const n of ns) {
      assertSameModel(await store.load(testHash(n)), makeArtifact(n, 5000), `${n}`);
    }
  });

  test("a damaged copy is never returned, and the next save replaces it", async (h) => {
    if (!h.damage) return;
    for (const how of ["truncate-weights", "remove-metadata", "flip-weight-byte"] as Damage[]) {
      const hash = testHash(21);
      const a = makeArtifact(21, 999);
      await h.store.save(hash, a);
      await h.damage(hash, how);
      assertEquals(await h.store.load(hash), null, `load after ${how}`);
      assertEquals(await h.store.has(hash), false, `has after ${how}`);
      assertEquals(await h.store.save(hash, a), true, `save after ${how}`);
      assertSameModel(await h.store.load(hash), a, `repaired after ${how}`);
      await h.store.delete(hash);
    }
  });

  test("invalid hashes are refused (path traversal, case, length)", async ({ store }) => {
    for (const bad of BAD_HASHES) {
      const calls: [string, () => Promise<unknown>][] = [
        ["has", () => store.has(bad)],
        ["load", () => store.load(bad)],
        ["save", () => store.save(bad, makeArtifact(1, 16))],
        ["delete", () => store.delete(bad)],
      ];
      for (const [method, call] of calls) {
        let error: unknown = null;
        try {
          await call();
        } catch (e) {
          error = e;
        }
        assert(
          error instanceof TypeError && /Invalid model hash/.test(error.message),
          `${method}(${JSON.stringify(bad)}) was not refused: ${error}`,
        );
      }
    }
    assertEquals(await store.list(), []);
  });

  test("save refuses weights that disagree with their specs", async ({ store }) => {
    const a = makeArtifact(31, 100);
    const broken = { ...a, weights: a.weights.slice(0, 396) };
    let error: unknown = null;
    try {
      await store.save(testHash(31), broken);
    } catch (e) {
      error = e;
    }
    assert(error instanceof RangeError, `expected a RangeError, got ${error}`);
    assertEquals(await store.has(testHash(31)), false);
  });

  test("a real tfjs model survives the store with identical predictions", async ({ store }) => {
    await tf.setBackend("wasm");
    const model = tf.sequential({
      layers: [
        tf.layers.dense({
          units: 8,
          inputShape: [3],
          activation: "tanh",
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
          biasInitializer: tf.initializers.randomNormal({ seed: 4 }),
        }),
        tf.layers.dense({ units: 1, activation: "sigmoid" }),
      ],
    });
    const meta = makeArtifact(41).meta;
    const stored = await toStoredModel(model, { scaler: { kind: "none" }, meta });
    await store.save(testHash(41), stored);
    const restored = await fromStoredModel((await store.load(testHash(41)))!);
    const x = tf.tensor2d([0.1, -2, 3, 0.5, 0.5, -0.25], [2, 3]);
    const a = Array.from(tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync()));
    const b = Array.from(tf.tidy(() => (restored.predict(x) as tf.Tensor).dataSync()));
    assertEquals(a, b);
    tf.dispose(x);
    model.dispose();
    restored.dispose();
  });
}
