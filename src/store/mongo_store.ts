/**
 * MongoDB stores (the official `mongodb` driver): models and run folders kept in one database so
 * any machine can restore a model or read a run.
 *
 * Layout in the database named by the URI (default `alfred`):
 *
 * - `models`: one small document per model (`hash`, unique index), pointing at two GridFS files
 *   in the `modelfiles` bucket: the weights, and the JSON of topology, weight manifest, scaler and
 *   metadata (whose training history may be long), with the weights' size and sha256.
 * - `datasets`: one document per dataset name and fingerprint (unique index), its manifest and
 *   tables in the `datafiles` bucket, for workers that lack a job's data.
 * - `runs`: one small document per run (`runId`, unique index; `configHash` indexed) with the
 *   summary the job table and the journal need, pointing at every file of the run folder in the
 *   `runfiles` bucket (record, report, plots, predictions).
 *
 * No document holds more than a few hundred bytes plus file ids, so the 16 MB document limit is
 * never near. A document is inserted only once its GridFS files are complete, and `load` checks
 * size and sha256, so readers see a complete model or none; when two writers race on one hash the
 * unique index keeps the first and the other discards its files.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  type Collection,
  type Db,
  type Document,
  GridFSBucket,
  MongoClient,
  type ObjectId,
} from "mongodb";
import {
  assertModelHash,
  type ModelStore,
  type StoredModel,
  weightBytes,
  type WeightSpec,
} from "./model_store.ts";
import { redact, redactError, registerUrlSecrets } from "../redact.ts";
import { readRunFiles, readRunRecord, RUN_ID_PATTERN, type RunRecord } from "./run_record.ts";
import type { DataStore, RunStore, RunSummary, Stores, UnreadableRecord } from "./stores.ts";
import { checkDatasetKey, datasetFiles, settleDataset, summarize } from "./stores.ts";

const FORMAT = "alfred-stored-model/1";

/** One file of a run or dataset document: its name, GridFS id and size. */
export interface GridFsFile {
  name: string;
  id: ObjectId;
  bytes: number;
}

/** A model document: where its files are and what they must hash to. */
export interface ModelDoc {
  _id?: ObjectId;
  hash: string;
  format: typeof FORMAT;
  /** GridFS id of the weights. */
  weights: ObjectId;
  /** GridFS id of the JSON of topology, weight specs, scaler and metadata. */
  json: ObjectId;
  bytes: number;
  sha256: string;
  created: Date;
}

/** A run document: the run's summary and its files. */
export interface RunDoc extends Omit<RunSummary, "location"> {
  _id?: ObjectId;
  files: GridFsFile[];
  stored: Date;
}

async function sha256Hex(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: number })?.code === 11000;
}

/**
 * Upload bytes to a GridFS bucket.
 *
 * @param bucket the bucket
 * @param filename file name
 * @param data the bytes
 * @param metadata stored with the file
 * @returns the file id
 */
export function uploadFile(
  bucket: GridFSBucket,
  filename: string,
  data: Uint8Array,
  metadata: Record<string, unknown>,
): Promise<ObjectId> {
  return new Promise((resolve, reject) => {
    const stream = bucket.openUploadStream(filename, { metadata });
    stream.once("error", reject);
    stream.once("finish", () => resolve(stream.id));
    stream.end(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
}

/**
 * Download a GridFS file.
 *
 * @param bucket the bucket
 * @param id the file id
 * @returns the bytes, or null when the file or one of its chunks is missing
 */
export async function downloadFile(
  bucket: GridFSBucket,
  id: ObjectId,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const chunks: Uint8Array[] = [];
  try {
    for await (const chunk of bucket.openDownloadStream(id)) chunks.push(chunk as Uint8Array);
  } catch {
    return null;
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Download a document's files into a folder, skipping names that are not plain file names.
 *
 * @param bucket the bucket
 * @param files the document's files: name, GridFS id and size
 * @param folder the folder to write them in
 * @param owner what the files belong to, for the error (e.g. `Run "<id>"`)
 * @throws {Error} when a file is missing or its size is not the recorded one
 */
async function downloadFolder(
  bucket: GridFSBucket,
  files: GridFsFile[],
  folder: string,
  owner: string,
): Promise<void> {
  for (const f of files) {
    if (!/^[A-Za-z0-9._-]+$/.test(f.name)) continue;
    const bytes = await downloadFile(bucket, f.id);
    if (!bytes || bytes.byteLength !== f.bytes) {
      throw new Error(`${owner} file "${f.name}" in MongoDB is missing or torn`);
    }
    await Deno.writeFile(`${folder}/${f.name}`, bytes);
  }
}

async function deleteFiles(bucket: GridFSBucket, ids: ObjectId[]): Promise<void> {
  for (const id of ids) {
    await bucket.delete(id).catch(() => {/* already gone */});
  }
}

/**
 * What the MongoDB stores share: a collection whose documents point at files in a GridFS bucket,
 * and the collection's indexes, created once before the first write.
 */
class GridFsCollection<Doc extends Document> {
  /** The collection. */
  protected readonly collection: Collection<Doc>;
  /** The GridFS bucket of its documents' files. */
  readonly bucket: GridFSBucket;
  #indexed: Promise<unknown> | null = null;

  /**
   * @param db the database
   * @param names the collection's and the bucket's names
   * @param createIndexes creates the collection's indexes
   */
  constructor(
    readonly db: Db,
    names: { collection: string; bucket: string },
    private readonly createIndexes: (collection: Collection<Doc>) => Promise<unknown>,
  ) {
    this.collection = db.collection<Doc>(names.collection);
    this.bucket = new GridFSBucket(db, { bucketName: names.bucket });
  }

  /** Creates the indexes on the first call; later calls wait for the same. */
  protected ensureIndexes(): Promise<unknown> {
    this.#indexed ??= this.createIndexes(this.collection);
    return this.#indexed;
  }
}

/**
 * The model store in MongoDB: passes the same contract suite as the file store
 * (`tests/store_mongo_test.ts`, run when `MONGODB_URI` is set).
 */
export class MongoModelStore extends GridFsCollection<ModelDoc> implements ModelStore {
  /** @param db the database (see {@link openMongoStores}) */
  constructor(db: Db) {
    super(
      db,
      { collection: "models", bucket: "modelfiles" },
      (models) => models.createIndex({ hash: 1 }, { unique: true, name: "hash_unique" }),
    );
  }

  /** The `models` collection. */
  get models(): Collection<ModelDoc> {
    return this.collection;
  }

  /** @inheritdoc (verifies size and sha256, exactly as `load` does) */
  async has(hash: string): Promise<boolean> {
    return (await this.load(hash)) !== null;
  }

  /** @inheritdoc */
  async load(hash: string): Promise<StoredModel | null> {
    assertModelHash(hash);
    const doc = await this.models.findOne({ hash });
    if (!doc || doc.format !== FORMAT) return null;
    const jsonBytes = await downloadFile(this.bucket, doc.json);
    if (!jsonBytes) return null;
    let file: {
      topology: Record<string, unknown>;
      weightSpecs: WeightSpec[];
      scaler: unknown;
      meta: StoredModel["meta"];
    };
    try {
      file = JSON.parse(new TextDecoder().decode(jsonBytes));
    } catch {
      return null;
    }
    if (!file || !Array.isArray(file.weightSpecs)) return null;
    const weights = await downloadFile(this.bucket, doc.weights);
    if (!weights || weights.byteLength !== doc.bytes) return null;
    const expected = weightBytes(file.weightSpecs);
    if (expected !== null && expected !== weights.byteLength) return null;
    if ((await sha256Hex(weights)) !== doc.sha256) return null;
    return {
      topology: file.topology,
      weightSpecs: file.weightSpecs,
      weights: weights.buffer,
      scaler: file.scaler,
      meta: file.meta,
    };
  }

  /** @inheritdoc */
  async save(hash: string, artifact: StoredModel): Promise<boolean> {
    assertModelHash(hash);
    const size = weightBytes(artifact.weightSpecs);
    if (size !== null && size !== artifact.weights.byteLength) {
      throw new RangeError(
        `Cannot store model "${hash}": the weight specs describe ${size} bytes but the weights have ${artifact.weights.byteLength}`,
      );
    }
    await this.ensureIndexes();
    if (await this.has(hash)) return false;
    const weights = new Uint8Array(artifact.weights.slice(0));
    const json = new TextEncoder().encode(JSON.stringify({
      topology: artifact.topology,
      weightSpecs: artifact.weightSpecs,
      scaler: artifact.scaler,
      meta: artifact.meta,
    }));
    const upload = crypto.randomUUID();
    const weightsId = await uploadFile(this.bucket, `${hash}.weights`, weights, { hash, upload });
    const jsonId = await uploadFile(this.bucket, `${hash}.json`, json, { hash, upload });
    const doc: ModelDoc = {
      hash,
      format: FORMAT,
      weights: weightsId,
      json: jsonId,
      bytes: weights.byteLength,
      sha256: await sha256Hex(weights),
      created: new Date(),
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.models.insertOne({ ...doc });
        return true;
      } catch (error) {
        if (!isDuplicateKey(error)) {
          await deleteFiles(this.bucket, [weightsId, jsonId]);
          throw error;
        }
        // Another writer stored this hash first: keep a complete copy, replace a damaged one.
        if (await this.has(hash)) {
          await deleteFiles(this.bucket, [weightsId, jsonId]);
          return false;
        }
        const damaged = await this.models.findOneAndDelete({ hash });
        if (damaged) await deleteFiles(this.bucket, [damaged.weights, damaged.json]);
      }
    }
    await deleteFiles(this.bucket, [weightsId, jsonId]);
    throw new Error(`Cannot store model "${hash}" in MongoDB: the insert kept colliding`);
  }

  /** @inheritdoc */
  async list(): Promise<string[]> {
    const docs = await this.models.find({}, { projection: { hash: 1 } }).sort({ hash: 1 })
      .toArray();
    return docs.map((d) => d.hash);
  }

  /** @inheritdoc */
  async delete(hash: string): Promise<boolean> {
    assertModelHash(hash);
    const doc = await this.models.findOneAndDelete({ hash });
    if (!doc) return false;
    await deleteFiles(this.bucket, [doc.weights, doc.json]);
    return true;
  }
}

function checkRunIdPrefix(runId: string): void {
  if (!/^[0-9TZa-f-]{1,25}$/.test(runId)) {
    throw new RangeError(
      `Invalid run id "${runId}": expected a run id like 20260101T120000Z-ab12cd34 or a prefix`,
    );
  }
}

/** Run folders in MongoDB: a `runs` document each, the files in the `runfiles` bucket. */
export class MongoRunStore extends GridFsCollection<RunDoc> implements RunStore {
  /**
   * @param db the database
   * @param client the client to close with {@link MongoRunStore.close}, when this store owns it
   */
  constructor(db: Db, private readonly client?: MongoClient) {
    super(db, { collection: "runs", bucket: "runfiles" }, (runs) =>
      Promise.all([
        runs.createIndex({ runId: 1 }, { unique: true, name: "runId_unique" }),
        runs.createIndex({ configHash: 1, status: 1 }, { name: "configHash_status" }),
        runs.createIndex({ experiment: 1, runId: 1 }, { name: "experiment_runId" }),
      ]));
  }

  /** The `runs` collection. */
  get runs(): Collection<RunDoc> {
    return this.collection;
  }

  private location(runId: string): string {
    return `mongodb:${this.db.databaseName}/runs/${runId}`;
  }

  private summary(doc: RunDoc): RunSummary {
    return {
      runId: doc.runId,
      experiment: doc.experiment,
      configHash: doc.configHash,
      status: doc.status,
      modelHash: doc.modelHash,
      restoredFromStore: doc.restoredFromStore,
      bestValLoss: doc.bestValLoss,
      location: this.location(doc.runId),
    };
  }

  /** @inheritdoc */
  async put(dir: string): Promise<boolean> {
    await this.ensureIndexes();
    const record = await readRunRecord(dir);
    if (await this.runs.findOne({ runId: record.runId })) return false;
    const files: RunDoc["files"] = [];
    try {
      for await (const e of Deno.readDir(dir)) {
        if (!e.isFile) continue;
        const bytes = await Deno.readFile(`${dir}/${e.name}`);
        const id = await uploadFile(this.bucket, `${record.runId}/${e.name}`, bytes, {
          runId: record.runId,
        });
        files.push({ name: e.name, id, bytes: bytes.byteLength });
      }
      files.sort((a, b) => (a.name < b.name ? -1 : 1));
      const { location: _, ...summary } = summarize(record, "");
      await this.runs.insertOne({ ...summary, files, stored: new Date() });
      return true;
    } catch (error) {
      await deleteFiles(this.bucket, files.map((f) => f.id));
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** @inheritdoc */
  async list(): Promise<RunSummary[]> {
    const docs = await this.runs.find({}).sort({ experiment: 1, runId: 1 }).toArray();
    return docs.map((d) => this.summary(d));
  }

  private async find(runId: string): Promise<RunDoc | null> {
    checkRunIdPrefix(runId);
    const exact = await this.runs.findOne({ runId });
    if (exact) return exact;
    const matches = await this.runs.find({ runId: { $regex: `^${runId}` } }).limit(10).toArray();
    if (matches.length > 1) {
      throw new RangeError(
        `Run id "${runId}" is ambiguous: ${
          matches.map((m) => `${m.experiment}/${m.runId}`).join(", ")
        }`,
      );
    }
    return matches[0] ?? null;
  }

  /** The run's record from its files in GridFS, checked (and migrated) like one on disk. */
  private async recordOf(doc: RunDoc): Promise<RunRecord> {
    if (!doc.files.some((f) => f.name === "record.json")) {
      throw new Error(`Run "${doc.runId}" in MongoDB has no readable record.json`);
    }
    return await readRunFiles(this.location(doc.runId), async (name) => {
      const file = doc.files.find((f) => f.name === name);
      return file ? await downloadFile(this.bucket, file.id) : null;
    });
  }

  /** @inheritdoc */
  async get(runId: string): Promise<RunRecord | null> {
    const doc = await this.find(runId);
    return doc ? await this.recordOf(doc) : null;
  }

  /** @inheritdoc */
  async records(onUnreadable?: UnreadableRecord): Promise<RunRecord[]> {
    const out: RunRecord[] = [];
    for (const doc of await this.runs.find({}).sort({ experiment: 1, runId: 1 }).toArray()) {
      try {
        out.push(await this.recordOf(doc));
      } catch (e) {
        if (!onUnreadable) throw e;
        onUnreadable(
          `run "${doc.experiment}/${doc.runId}" in MongoDB`,
          e instanceof Error ? e : new Error(String(e)),
        );
      }
    }
    return out;
  }

  /** @inheritdoc */
  async pull(runId: string, resultsDir: string): Promise<string> {
    const doc = await this.find(runId);
    if (!doc) throw new RangeError(`No run "${runId}" in MongoDB "${this.db.databaseName}"`);
    if (!RUN_ID_PATTERN.test(doc.runId) || !/^[a-z0-9][a-z0-9._-]*$/.test(doc.experiment)) {
      throw new RangeError(`Run "${doc.runId}" in MongoDB has an unsafe name`);
    }
    const experimentDir = `${resultsDir.replace(/\/+$/, "")}/${doc.experiment}`;
    const target = `${experimentDir}/${doc.runId}`;
    if (await Deno.stat(`${target}/record.json`).then(() => true, () => false)) return target;
    const tmp = `${experimentDir}/.tmp-${doc.runId}-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.mkdir(tmp, { recursive: true });
    try {
      await downloadFolder(this.bucket, doc.files, tmp, `Run "${doc.runId}"`);
      await Deno.rename(tmp, target);
      return target;
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }

  /** @inheritdoc */
  async findComplete(configHash: string): Promise<RunSummary | null> {
    const doc = await this.runs.findOne({ configHash, status: "complete" });
    return doc ? this.summary(doc) : null;
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    await this.client?.close();
  }
}

/** A dataset document: its name, fingerprint and files. */
export interface DatasetDoc {
  _id?: ObjectId;
  name: string;
  fingerprint: string;
  files: GridFsFile[];
  stored: Date;
}

/** Datasets in MongoDB: a `datasets` document each (unique on name and fingerprint), files in `datafiles`. */
export class MongoDataStore extends GridFsCollection<DatasetDoc> implements DataStore {
  /** @param db the database */
  constructor(db: Db) {
    super(
      db,
      { collection: "datasets", bucket: "datafiles" },
      (datasets) =>
        datasets.createIndex({ name: 1, fingerprint: 1 }, {
          unique: true,
          name: "name_fingerprint_unique",
        }),
    );
  }

  /** The `datasets` collection. */
  get datasets(): Collection<DatasetDoc> {
    return this.collection;
  }

  /** @inheritdoc */
  async put(dir: string): Promise<{ name: string; fingerprint: string; created: boolean }> {
    await this.ensureIndexes();
    const { name, fingerprint, files } = await datasetFiles(dir);
    checkDatasetKey(name, fingerprint);
    if (await this.has(name, fingerprint)) return { name, fingerprint, created: false };
    const stored: DatasetDoc["files"] = [];
    try {
      for (const f of files) {
        const bytes = await Deno.readFile(`${dir}/${f}`);
        const id = await uploadFile(this.bucket, `${name}/${fingerprint}/${f}`, bytes, {
          name,
          fingerprint,
        });
        stored.push({ name: f, id, bytes: bytes.byteLength });
      }
      await this.datasets.insertOne({ name, fingerprint, files: stored, stored: new Date() });
      return { name, fingerprint, created: true };
    } catch (error) {
      await deleteFiles(this.bucket, stored.map((f) => f.id));
      if (isDuplicateKey(error)) return { name, fingerprint, created: false };
      throw error;
    }
  }

  /** @inheritdoc */
  async has(name: string, fingerprint: string): Promise<boolean> {
    checkDatasetKey(name, fingerprint);
    return (await this.datasets.findOne({ name, fingerprint })) !== null;
  }

  /** @inheritdoc */
  async pull(name: string, fingerprint: string, target: string): Promise<boolean> {
    checkDatasetKey(name, fingerprint);
    const doc = await this.datasets.findOne({ name, fingerprint });
    if (!doc) return false;
    if (await Deno.stat(target).then(() => true, () => false)) {
      throw new Error(`Cannot pull dataset "${name}" to "${target}": the folder exists`);
    }
    const parent = target.replace(/\/[^/]*\/?$/, "") || ".";
    await Deno.mkdir(parent, { recursive: true });
    const tmp = `${parent}/.tmp-${name}-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.mkdir(tmp);
    try {
      await downloadFolder(this.bucket, doc.files, tmp, `Dataset "${name}"`);
      await settleDataset(tmp, target, fingerprint);
      return true;
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }

  /** @inheritdoc */
  async list(): Promise<{ name: string; fingerprint: string }[]> {
    const docs = await this.datasets.find({}, { projection: { name: 1, fingerprint: 1 } })
      .sort({ name: 1, fingerprint: 1 }).toArray();
    return docs.map((d) => ({ name: d.name, fingerprint: d.fingerprint }));
  }
}

/**
 * Connect to MongoDB and open the model, run and data stores on the URI's database (default `alfred`).
 *
 * @param uri `mongodb://HOST[:PORT]/DB` or `mongodb+srv://...`
 * @param options `serverSelectionTimeoutMS` (default 10 000)
 * @returns the model and run stores; `close()` disconnects
 * @throws {Error} naming the URI (without password) when the server cannot be reached
 */
export async function openMongoStores(
  uri: string,
  options: { serverSelectionTimeoutMS?: number } = {},
): Promise<
  Stores & {
    models: MongoModelStore;
    runs: MongoRunStore;
    data: MongoDataStore;
    client: MongoClient;
  }
> {
  registerUrlSecrets(uri);
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 10_000,
  });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`Cannot reach MongoDB at "${redact(uri)}": ${redactError(error)}`);
  }
  // The database is the path after the host list (which may hold commas), before any options.
  const path = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/.exec(uri)?.[1] ?? "";
  const db = client.db(path ? decodeURIComponent(path) : "alfred");
  const runs = new MongoRunStore(db, client);
  return {
    models: new MongoModelStore(db),
    runs,
    data: new MongoDataStore(db),
    client,
    close: () => runs.close(),
  };
}
