/**
 * FileModelStore: the shared contract suite, plus several processes saving the same hashes at
 * once. Run as a script (`deno run tests/store_file_test.ts ROOT START_AT HASH_SEEDS...`), this
 * file is one of those writer processes.
 */
import { assert, assertEquals } from "./assert.ts";
import { FileModelStore, isModelHash, modelHash } from "../src/store/model_store.ts";
import { type Damage, makeArtifact, modelStoreContract, testHash } from "./store_contract.ts";

const WORKER_FLOATS = 1_000_003;

if (import.meta.main) {
  // Writer process: wait for the common start time, then save each hash and report the outcomes.
  const [root, startAt, ...seeds] = Deno.args;
  const store = new FileModelStore(root);
  while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
  const results: boolean[] = [];
  for (const s of seeds) {
    results.push(
      await store.save(
        testHash(Number(s)),
        makeArtifact(Number(s), WORKER_FLOATS, `pid-${Deno.pid}`),
      ),
    );
  }
  console.log(JSON.stringify(results));
} else {
  modelStoreContract("FileModelStore", async () => {
    const root = await Deno.makeTempDir({ prefix: "alfred-store-" });
    const damage = async (hash: string, how: Damage) => {
      const dir = `${root}/models/${hash}`;
      if (how === "remove-metadata") await Deno.remove(`${dir}/model.json`);
      else if (how === "truncate-weights") await Deno.truncate(`${dir}/weights.bin`, 10);
      else {
        const bytes = await Deno.readFile(`${dir}/weights.bin`);
        bytes[bytes.length >> 1] ^= 0x40;
        await Deno.writeFile(`${dir}/weights.bin`, bytes);
      }
    };
    return {
      store: new FileModelStore(`${root}/models`),
      reopen: () => new FileModelStore(`${root}/models/`),
      damage,
      cleanup: () => Deno.remove(root, { recursive: true }),
    };
  });
}

Deno.test("FileModelStore: three processes saving the same hashes settle to one complete copy each", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-store-mp-" });
  try {
    const seeds = ["101", "102", "103", "104"];
    const startAt = Date.now() + 800;
    const procs = Array.from({ length: 3 }, () =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          new URL(import.meta.url).pathname,
          `${root}/models`,
          String(startAt),
          ...seeds,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output());
    const outputs = await Promise.all(procs);
    const results = outputs.map((o, i) => {
      const err = new TextDecoder().decode(o.stderr);
      assert(o.success, `writer ${i} failed: ${err}`);
      return JSON.parse(new TextDecoder().decode(o.stdout).trim()) as boolean[];
    });
    seeds.forEach((_, j) => {
      const stored = results.filter((r) => r[j]).length;
      assertEquals(stored, 1, `hash ${j}: ${stored} processes reported storing it`);
    });
    const store = new FileModelStore(`${root}/models`);
    assertEquals(await store.list(), seeds.map((s) => testHash(Number(s))));
    for (const s of seeds) {
      const got = await store.load(testHash(Number(s)));
      assert(got !== null, `hash ${s} not loadable`);
      const expected = new Uint8Array(makeArtifact(Number(s), WORKER_FLOATS).weights);
      const actual = new Uint8Array(got.weights);
      assert(actual.length === expected.length && actual.every((b, i) => b === expected[i]));
      assert(got.meta.created.startsWith("pid-"));
    }
    const leftovers = [...Deno.readDirSync(`${root}/models`)].map((e) => e.name)
      .filter((n) => n.startsWith("."));
    assertEquals(leftovers, [], "temporary folders left behind");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FileModelStore: layout on disk, sweep of stale temporary folders, default root", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-store-" });
  try {
    const store = new FileModelStore(root);
    await store.save(testHash(1), makeArtifact(1, 64));
    const files = [...Deno.readDirSync(`${root}/${testHash(1)}`)].map((e) => e.name).sort();
    assertEquals(files, ["model.json", "weights.bin"]);
    const meta = JSON.parse(await Deno.readTextFile(`${root}/${testHash(1)}/model.json`));
    assertEquals(meta.format, "alfred-stored-model/1");
    assertEquals(meta.weights.bytes, 256);
    // A folder without a marker (an older version's, or trash) is not listed, and sweep removes
    // it once old enough.
    await Deno.mkdir(`${root}/.tmp-${testHash(2)}-deadbeef`);
    assertEquals(await store.list(), [testHash(1)]);
    assertEquals(await store.sweep(60_000), []);
    assertEquals((await store.sweep(0)).map((r) => r.why), ["age"]);
    assertEquals(await store.list(), [testHash(1)]);
    assertEquals(new FileModelStore().root, ".alfred/models");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FileModelStore: a save killed mid-write is swept at once, a live save never", async () => {
  const root = await Deno.makeTempDir({ prefix: "alfred-store-" });
  try {
    // A writer killed while its weights are half written (8 MB of them).
    const store = new URL("../src/store/model_store.ts", import.meta.url).href;
    const contract = new URL("./store_contract.ts", import.meta.url).href;
    const script = `
      import { FileModelStore } from "${store}";
      import { makeArtifact, testHash } from "${contract}";
      const real = Deno.open;
      let files = 0;
      // Files opened in the temporary folder: its marker, weights.bin, then model.json: die there.
      Deno.open = ((path: string, o: Deno.OpenOptions) => {
        if (String(path).includes("/.tmp-") && ++files === 3) Deno.kill(Deno.pid, "SIGKILL");
        return real(path, o);
      }) as typeof Deno.open;
      await new FileModelStore(${
      JSON.stringify(root)
    }).save(testHash(3), makeArtifact(3, 2_097_152));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.signal, "SIGKILL", new TextDecoder().decode(out.stderr));
    const left = [...Deno.readDirSync(root)].map((e) => e.name);
    assertEquals(left.length, 1, left.join());
    assert(left[0].startsWith(`.tmp-${testHash(3)}-`), left[0]);
    // A save in progress here: its folder is claimed by this live process.
    const { claimFolder, tempName } = await import("../src/store/temp.ts");
    const live = `${root}/${tempName(".tmp-", `${testHash(4)}-cafef00d`)}`;
    await Deno.mkdir(live);
    const lock = await claimFolder(live);
    const lines: string[] = [];
    const removed = await new FileModelStore(root).sweep(undefined, (l) => lines.push(l));
    assertEquals(removed.map((r) => [r.path, r.why]), [[`${root}/${left[0]}`, "lock"]]);
    assert(removed[0].bytes >= 8 << 20, `${removed[0].bytes} bytes`);
    assert(/\(8\.\d MB\): left by process \d+ on \S+, which has ended$/.test(lines[0]), lines[0]);
    assertEquals([...Deno.readDirSync(root)].map((e) => e.name), [live.slice(root.length + 1)]);
    lock.release();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("modelHash: canonical (key order free), sensitive to every part, validated", async () => {
  const parts = {
    model: { family: "vanilla.small", size: 256, layers: 10 },
    loss: { name: "bce", delta: 1 },
    train: { epochs: 200, batch_size: 64, backend: "auto" },
    features: { families: { price: { ma_windows: [7, 30] } } },
    label: { mode: "direction", horizon: 1 },
    split: { method: "ticker_and_time" },
    scaling: { default: "standard", columns: {} },
    dataFingerprint: "abc",
    seed: 42,
  };
  const h = await modelHash(parts);
  assert(isModelHash(h), h);
  const reordered = await modelHash({
    seed: 42,
    dataFingerprint: "abc",
    scaling: { columns: {}, default: "standard" },
    split: { method: "ticker_and_time" },
    label: { horizon: 1, mode: "direction" },
    features: { families: { price: { ma_windows: [7, 30] } } },
    train: { backend: "auto", batch_size: 64, epochs: 200 },
    loss: { delta: 1, name: "bce" },
    model: { layers: 10, size: 256, family: "vanilla.small" },
  });
  assertEquals(reordered, h);
  const variants = [
    { ...parts, seed: 43 },
    { ...parts, dataFingerprint: "abd" },
    { ...parts, train: { ...parts.train, backend: "wasm" } },
    { ...parts, features: { families: { price: { ma_windows: [30, 7] } } } },
    { ...parts, model: { ...parts.model, size: 257 } },
    { ...parts, tickers: ["AAPL"] },
  ];
  const hashes = await Promise.all(variants.map((v) => modelHash(v)));
  assertEquals(
    new Set([h, ...hashes]).size,
    variants.length + 1,
    "a change did not change the hash",
  );
  // An undefined member is the same as an absent one.
  assertEquals(await modelHash({ ...parts, extra: undefined }), h);
  let error: unknown = null;
  try {
    await modelHash({ ...parts, seed: NaN });
  } catch (e) {
    error = e;
  }
  assert(
    error instanceof TypeError &&
      /Cannot hash seed: "NaN" is not a finite number/.test(error.message),
    String(error),
  );
  error = null;
  try {
    // deno-lint-ignore no-explicit-any
    await modelHash({ ...parts, label: undefined } as any);
  } catch (e) {
    error = e;
  }
  assert(error instanceof TypeError && /missing label/.test(error.message), String(error));
});
