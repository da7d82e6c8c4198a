/**
 * MongoModelStore and MongoRunStore against a real MongoDB. CI machines cannot install a MongoDB
 * server (it is in neither Debian nor, as a binary, npm), so these tests need `MONGODB_URI`
 * (`withNeeds(["mongodb"])`: ignored without it, even under `ALFRED_REQUIRE_ALL=1`), e.g. with a
 * local server:
 *
 * ```sh
 * MONGODB_URI=mongodb://127.0.0.1:27017 deno test --allow-all tests/store_mongo_test.ts
 * ```
 *
 * Each test uses its own database `alfred_test_<random>` and drops it afterwards.
 */
import { assert, assertEquals } from "./assert.ts";
import { Binary, MongoClient, type ObjectId } from "mongodb";
import { MongoModelStore, MongoRunStore } from "../src/store/mongo_store.ts";
import { readRunRecord } from "../src/store/run_record.ts";
import { loadExperiments } from "../src/config/load.ts";
import { runExperiment } from "../src/pipeline.ts";
import { type Damage, makeArtifact, modelStoreContract, testHash } from "./store_contract.ts";
import { SWEEP } from "./distributed_helpers.ts";
import { withNeeds } from "./requirements.ts";
import { quietRun } from "./pipeline_helpers.ts";

const URI = Deno.env.get("MONGODB_URI") ?? "";

async function testDb(): Promise<{ client: MongoClient; name: string }> {
  const client = new MongoClient(URI, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  return { client, name: `alfred_test_${crypto.randomUUID().slice(0, 8)}` };
}

modelStoreContract(
  "MongoModelStore",
  async () => {
    const { client, name } = await testDb();
    const db = client.db(name);
    const store = new MongoModelStore(db);
    const chunks = db.collection<{ _id: ObjectId; files_id: ObjectId; n: number; data: Binary }>(
      "modelfiles.chunks",
    );
    const damage = async (hash: string, how: Damage) => {
      const doc = await store.models.findOne({ hash });
      assert(doc, `no document for ${hash}`);
      if (how === "remove-metadata") {
        await store.bucket.delete(doc.json);
        return;
      }
      const first = await chunks.findOne({ files_id: doc.weights, n: 0 });
      assert(first, "no weight chunk");
      const bytes = new Uint8Array(first.data.buffer);
      let changed: Uint8Array;
      if (how === "truncate-weights") {
        changed = bytes.slice(0, 10);
        await chunks.deleteMany({ files_id: doc.weights, n: { $gt: 0 } });
      } else {
        changed = bytes.slice();
        changed[changed.length >> 1] ^= 0x40;
      }
      await chunks.updateOne({ _id: first._id }, { $set: { data: new Binary(changed) } });
    };
    return {
      store,
      reopen: () => new MongoModelStore(client.db(name)),
      damage,
      cleanup: async () => {
        await db.dropDatabase();
        await client.close();
      },
    };
  },
  ["mongodb"],
);

Deno.test(withNeeds(["mongodb"], {
  name: "MongoModelStore: the unique index on hash keeps one document per model",
  fn: async () => {
    const { client, name } = await testDb();
    try {
      const store = new MongoModelStore(client.db(name));
      await store.save(testHash(1), makeArtifact(1, 64));
      const indexes = await store.models.indexes();
      assert(indexes.some((i) => i.unique && i.key.hash === 1), JSON.stringify(indexes));
      let error: unknown = null;
      try {
        await store.models.insertOne({ ...(await store.models.findOne({}))!, _id: undefined });
      } catch (e) {
        error = e;
      }
      assertEquals((error as { code?: number })?.code, 11000, "duplicate hash accepted");
    } finally {
      await client.db(name).dropDatabase();
      await client.close();
    }
  },
}));

Deno.test(withNeeds(["mongodb"], {
  name: "MongoRunStore: put, list, get, findComplete and pull a real run folder",
  sanitizeResources: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "alfred-mongo-run-" });
    const { client, name } = await testDb();
    try {
      const [e] = await loadExperiments(SWEEP, { set: ["seed=1"] });
      const { dir } = await runExperiment(e, quietRun(root));
      const record = await readRunRecord(dir);
      const runs = new MongoRunStore(client.db(name));
      assertEquals(await runs.put(dir), true);
      assertEquals(await runs.put(dir), false);
      assertEquals((await runs.list()).map((r) => r.runId), [record.runId]);
      assertEquals((await runs.get(record.runId.slice(0, 10)))?.configHash, record.configHash);
      assertEquals((await runs.findComplete(record.configHash))?.runId, record.runId);
      const pulled = await runs.pull(record.runId, `${root}/pulled`);
      assertEquals(
        await Deno.readTextFile(`${pulled}/record.json`),
        await Deno.readTextFile(`${dir}/record.json`),
      );
      const indexes = await runs.runs.indexes();
      assert(indexes.some((i) => i.unique && i.key.runId === 1), JSON.stringify(indexes));
    } finally {
      await client.db(name).dropDatabase();
      await client.close();
      await Deno.remove(root, { recursive: true });
    }
  },
}));

Deno.test({
  name: "openMongoStores: an unreachable server fails fast with a message naming it (no password)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { openMongoStores } = await import("../src/store/mongo_store.ts");
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    let error: unknown = null;
    try {
      await openMongoStores(`mongodb://alfred:secret@127.0.0.1:${port}/x`, {
        serverSelectionTimeoutMS: 300,
      });
    } catch (e) {
      error = e;
    }
    const message = (error as Error)?.message ?? "";
    assert(
      // the user stays (it tells which account), the password goes: redact() in src/redact.ts
      message.startsWith(`Cannot reach MongoDB at "mongodb://alfred:***@127.0.0.1:${port}/x"`),
      message,
    );
    assert(!message.includes("secret"), message);
  },
});
