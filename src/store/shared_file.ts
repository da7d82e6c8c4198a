/**
 * Shared stores for several machines: where models and run records live so that any machine can
 * restore a model or read a run.
 *
 * A store is named by one string (`--store`):
 *
 * - `DIR` (no scheme): a model folder only ({@link FileModelStore}), as for a single machine;
 * - `file:ROOT`: a folder, usually on a network share, with `ROOT/models/` (a
 *   {@link FileModelStore}), `ROOT/results/` (a {@link FileRunStore}, laid out like a local
 *   `results/` folder) and `ROOT/data/` (a {@link FileDataStore}: datasets by fingerprint);
 * - `mongodb://...` or `mongodb+srv://...`: MongoDB (see `mongo_store.ts`).
 *
 * Both file stores write a complete temporary folder and rename it into place, so on a share whose
 * rename is atomic (NFS, SMB) several writers never tear a model or a run folder, and concurrent
 * writes of the same model or run settle to one copy.
 *
 * @module
 */
import { redact } from "../redact.ts";
import { experimentDir, recordFile, runDir, runTempDir, sharedStoreDirs } from "../paths.ts";
import { FileModelStore } from "./model_store.ts";
import { findRun, listRuns, readRunRecord, RUN_ID_PATTERN, type RunRecord } from "./run_record.ts";
import {
  checkDatasetKey,
  DATASET_NAME,
  datasetFiles,
  type DataStore,
  FINGERPRINT,
  type RunStore,
  type RunSummary,
  settleDataset,
  type Stores,
  summarize,
  type UnreadableRecord,
} from "./stores.ts";
import { removeIfExists } from "./temp.ts";

async function copyFolder(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyFolder(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/**
 * Copy a run folder to `<resultsDir>/<experiment>/<run-id>` through a temporary sibling folder and
 * one rename; an existing complete copy is kept.
 *
 * @param dir the source run folder (holding `record.json`)
 * @param resultsDir the destination results folder
 * @returns the destination folder and whether this call created it
 * @throws {TypeError} when `dir` does not hold a valid run record
 */
export async function copyRunFolder(
  dir: string,
  resultsDir: string,
): Promise<{ dir: string; created: boolean }> {
  const record = await readRunRecord(dir);
  const target = runDir(resultsDir, record.experiment, record.runId);
  const exists = async () => await Deno.stat(recordFile(target)).then(() => true, () => false);
  if (await exists()) return { dir: target, created: false };
  await Deno.mkdir(experimentDir(resultsDir, record.experiment), { recursive: true });
  const tmp = `${runTempDir(resultsDir, record.experiment, record.runId)}-${
    crypto.randomUUID().slice(0, 8)
  }`;
  try {
    await copyFolder(dir, tmp);
    try {
      await Deno.rename(tmp, target);
      return { dir: target, created: true };
    } catch (e) {
      // Another writer put the same run there first: same run id, same record.
      if (await exists()) return { dir: target, created: false };
      throw e;
    }
  } finally {
    await removeIfExists(tmp);
  }
}

/**
 * A run store in a folder laid out like `results/` (`<root>/<experiment>/<run-id>/`), e.g. on a
 * network share. Safe with several writers: each run folder is copied under a temporary name and
 * renamed into place.
 */
export class FileRunStore implements RunStore {
  /** The shared results folder. */
  readonly root: string;

  /** @param root the shared results folder (created on first put) */
  constructor(root: string) {
    this.root = root.replace(/\/+$/, "") || "/";
  }

  /** @inheritdoc */
  async put(dir: string): Promise<boolean> {
    return (await copyRunFolder(dir, this.root)).created;
  }

  /** @inheritdoc */
  async list(): Promise<RunSummary[]> {
    const out: RunSummary[] = [];
    for (const entry of await listRuns(this.root)) {
      out.push(summarize(await readRunRecord(entry.dir), entry.dir));
    }
    return out;
  }

  /** @inheritdoc */
  async get(runId: string): Promise<RunRecord | null> {
    try {
      return await readRunRecord((await findRun(this.root, runId)).dir);
    } catch (e) {
      if (e instanceof RangeError && /^No run/.test(e.message)) return null;
      throw e;
    }
  }

  /** @inheritdoc */
  async records(onUnreadable?: UnreadableRecord): Promise<RunRecord[]> {
    const out: RunRecord[] = [];
    for (const entry of await listRuns(this.root)) {
      try {
        out.push(await readRunRecord(entry.dir));
      } catch (e) {
        if (!onUnreadable) throw e;
        onUnreadable(recordFile(entry.dir), e instanceof Error ? e : new Error(String(e)));
      }
    }
    return out;
  }

  /** @inheritdoc */
  async pull(runId: string, resultsDir: string): Promise<string> {
    const entry = await findRun(this.root, runId);
    return (await copyRunFolder(entry.dir, resultsDir)).dir;
  }

  /** @inheritdoc */
  async findComplete(configHash: string): Promise<RunSummary | null> {
    for (const entry of await listRuns(this.root)) {
      if (!RUN_ID_PATTERN.test(entry.runId) || !entry.runId.endsWith(configHash.slice(0, 8))) {
        continue;
      }
      const record = await readRunRecord(entry.dir);
      if (record.configHash === configHash && record.status === "complete") {
        return summarize(record, entry.dir);
      }
    }
    return null;
  }

  /** @inheritdoc */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Datasets in a folder, usually on a network share: `<root>/<name>/<fingerprint>/`. */
export class FileDataStore implements DataStore {
  /** The folder holding one sub-folder per dataset name. */
  readonly root: string;

  /** @param root the shared data folder (created on first put) */
  constructor(root: string) {
    this.root = root.replace(/\/+$/, "") || "/";
  }

  /** @inheritdoc */
  async put(dir: string): Promise<{ name: string; fingerprint: string; created: boolean }> {
    const { name, fingerprint, files } = await datasetFiles(dir);
    checkDatasetKey(name, fingerprint);
    if (await this.has(name, fingerprint)) return { name, fingerprint, created: false };
    await Deno.mkdir(`${this.root}/${name}`, { recursive: true });
    const tmp = `${this.root}/${name}/.tmp-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.mkdir(tmp);
    try {
      for (const f of files) await Deno.copyFile(`${dir}/${f}`, `${tmp}/${f}`);
      await settleDataset(tmp, `${this.root}/${name}/${fingerprint}`, fingerprint);
      return { name, fingerprint, created: true };
    } catch (e) {
      if (await this.has(name, fingerprint)) return { name, fingerprint, created: false };
      throw e;
    } finally {
      await removeIfExists(tmp);
    }
  }

  /** @inheritdoc */
  async has(name: string, fingerprint: string): Promise<boolean> {
    checkDatasetKey(name, fingerprint);
    return await Deno.stat(`${this.root}/${name}/${fingerprint}/manifest.json`).then(
      () => true,
      () => false,
    );
  }

  /** @inheritdoc */
  async pull(name: string, fingerprint: string, target: string): Promise<boolean> {
    if (!(await this.has(name, fingerprint))) return false;
    if (await Deno.stat(target).then(() => true, () => false)) {
      throw new Error(`Cannot pull dataset "${name}" to "${target}": the folder exists`);
    }
    const source = `${this.root}/${name}/${fingerprint}`;
    const parent = target.replace(/\/[^/]*\/?$/, "") || ".";
    await Deno.mkdir(parent, { recursive: true });
    const tmp = `${parent}/.tmp-${name}-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.mkdir(tmp);
    try {
      for await (const e of Deno.readDir(source)) {
        if (e.isFile) await Deno.copyFile(`${source}/${e.name}`, `${tmp}/${e.name}`);
      }
      await settleDataset(tmp, target, fingerprint);
      return true;
    } finally {
      await removeIfExists(tmp);
    }
  }

  /** @inheritdoc */
  async list(): Promise<{ name: string; fingerprint: string }[]> {
    const out: { name: string; fingerprint: string }[] = [];
    try {
      for await (const n of Deno.readDir(this.root)) {
        if (!n.isDirectory || !DATASET_NAME.test(n.name)) continue;
        for await (const f of Deno.readDir(`${this.root}/${n.name}`)) {
          if (f.isDirectory && FINGERPRINT.test(f.name)) {
            out.push({ name: n.name, fingerprint: f.name });
          }
        }
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    return out.sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : a.fingerprint < b.fingerprint ? -1 : 1
    );
  }
}

/**
 * Every run record in a shared store, e.g. for `deno task journal --store SPEC`.
 *
 * @param spec `file:ROOT` or `mongodb://...`
 * @param onUnreadable told about each record that cannot be read, which is then left out
 *   (without it, such a record throws)
 * @returns the records, ordered by experiment, then run id
 * @throws {TypeError} when `spec` names a model folder only
 */
export async function loadStoreRecords(
  spec: string,
  onUnreadable?: UnreadableRecord,
): Promise<RunRecord[]> {
  const stores = await openStores(spec);
  try {
    if (!stores.runs) {
      throw new TypeError(
        `Store "${
          redact(spec)
        }" is a model folder, not a shared store: use file:ROOT or mongodb://HOST/DB`,
      );
    }
    return await stores.runs.records(onUnreadable);
  } finally {
    await stores.close();
  }
}

/**
 * Open the stores a `--store` value names.
 *
 * @param spec `DIR` (a model folder), `file:ROOT` (models and runs under ROOT) or `mongodb://...`
 * @returns the model store and, for shared stores, the run store
 * @throws {TypeError} for an unknown scheme (the message lists the allowed forms)
 * @example
 * ```ts
 * const { models, runs, close } = await openStores("file:/mnt/share/alfred");
 * ```
 */
export async function openStores(spec: string): Promise<Stores> {
  if (/^mongodb(\+srv)?:\/\//.test(spec)) {
    const { openMongoStores } = await import("./mongo_store.ts");
    return await openMongoStores(spec);
  }
  if (spec.startsWith("file:")) {
    const root = spec.startsWith("file://") ? decodeURIComponent(new URL(spec).pathname) : spec
      .slice("file:".length);
    if (!root) {
      throw new TypeError(`Invalid store "${redact(spec)}": expected file:/path/to/share`);
    }
    const dirs = sharedStoreDirs(root);
    return {
      models: new FileModelStore(dirs.models),
      runs: new FileRunStore(dirs.results),
      data: new FileDataStore(dirs.data),
      close: () => Promise.resolve(),
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    throw new TypeError(
      `Invalid store "${
        redact(spec)
      }": expected a folder, file:/path/to/share or mongodb://HOST/DB`,
    );
  }
  return {
    models: new FileModelStore(spec),
    runs: null,
    data: null,
    close: () => Promise.resolve(),
  };
}
