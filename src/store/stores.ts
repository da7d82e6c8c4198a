/**
 * What a shared store is, whatever keeps it (a folder on a share, `shared_file.ts`; MongoDB,
 * `mongo_store.ts`): the run and data store interfaces, the bundle `--store` opens, and the checks
 * and summaries every implementation shares.
 *
 * @module
 */
import { basename } from "node:path";
import { fingerprintFolder, loadDatasetFolder, tablePath } from "../data/dataset.ts";
import type { ModelStore } from "./model_store.ts";
import type { RunRecord, RunStatus } from "./run_record.ts";
import { removeIfExists } from "./temp.ts";

/** What a run store tells about one run without reading all of it. */
export interface RunSummary {
  /** The run id (`YYYYMMDDTHHMMSSZ-<hash8>`). */
  runId: string;
  /** The experiment's name. */
  experiment: string;
  /** The config hash. */
  configHash: string;
  /** How the run ended. */
  status: RunStatus;
  /** The hash of its model in the model store (empty when it has none). */
  modelHash: string;
  /** Whether the model was restored from the store rather than trained. */
  restoredFromStore: boolean;
  /** The best validation loss of its training, or null. */
  bestValLoss: number | null;
  /** Where the run lives in the store (a folder, or a URL-like name). */
  location: string;
}

/** A place finished run folders are kept, shared by several machines. */
export interface RunStore {
  /**
   * Copy a finished local run folder (`.../<experiment>/<run-id>/`) into the store.
   * @returns `true` when stored, `false` when the store already had that run id (kept as is)
   */
  put(dir: string): Promise<boolean>;
  /** Every stored run, ordered by experiment, then run id. */
  list(): Promise<RunSummary[]>;
  /** The record of a run id (or a unique prefix of one); `null` when absent. */
  get(runId: string): Promise<RunRecord | null>;
  /**
   * Every stored record, in {@link RunStore.list} order (for the journal). A record that cannot
   * be read (truncated, not JSON, not a run record) is passed to `onUnreadable` with where it is
   * and left out when `onUnreadable` is given; without it, it throws.
   */
  records(onUnreadable?: UnreadableRecord): Promise<RunRecord[]>;
  /**
   * Copy a run's folder to `<resultsDir>/<experiment>/<run-id>/` (atomically).
   * @returns the local folder
   * @throws {RangeError} when no run, or more than one, matches `runId`
   */
  pull(runId: string, resultsDir: string): Promise<string>;
  /** A complete run of config hash `configHash`, if the store has one. */
  findComplete(configHash: string): Promise<RunSummary | null>;
  /** Release connections (file stores hold none). */
  close(): Promise<void>;
}

/** Told about a stored run record that cannot be read: where it is and why. */
export type UnreadableRecord = (location: string, error: Error) => void;

/**
 * Datasets kept under their name and fingerprint, so a worker lacking a job's dataset can fetch
 * exactly the data the job was enqueued with.
 */
export interface DataStore {
  /**
   * Copy a local dataset folder (manifest and tables) into the store, under the folder's name.
   * @returns its name and fingerprint, and whether this call stored it
   * @throws {DatasetError} when the folder is not a valid dataset
   */
  put(dir: string): Promise<{ name: string; fingerprint: string; created: boolean }>;
  /** Whether the store holds dataset `name` with `fingerprint`. */
  has(name: string, fingerprint: string): Promise<boolean>;
  /**
   * Copy dataset `name` with `fingerprint` to the folder `target` (created atomically, checked
   * against the fingerprint before it is renamed into place; an existing folder is left alone).
   * @returns `false` when the store does not hold it
   * @throws {Error} when `target` exists, or the copy does not match its fingerprint
   */
  pull(name: string, fingerprint: string, target: string): Promise<boolean>;
  /** Stored datasets, sorted by name then fingerprint. */
  list(): Promise<{ name: string; fingerprint: string }[]>;
}

/** A model store and, for shared stores, run and data stores. */
export interface Stores {
  /** Where trained models are kept. */
  models: ModelStore;
  /** Where finished runs are kept; null for a model folder. */
  runs: RunStore | null;
  /** Where datasets are kept by fingerprint; null for a model folder. */
  data: DataStore | null;
  /** Release connections. */
  close(): Promise<void>;
}

/**
 * The summary of a run record.
 *
 * @param record the record
 * @param location where it is stored
 * @returns its summary
 */
export function summarize(record: RunRecord, location: string): RunSummary {
  return {
    runId: record.runId,
    experiment: record.experiment,
    configHash: record.configHash,
    status: record.status,
    modelHash: record.model?.modelHash ?? "",
    restoredFromStore: record.model?.restoredFromStore ?? false,
    bestValLoss: record.training?.bestValLoss ?? null,
    location,
  };
}

/** A dataset name a store accepts: a plain folder name. */
export const DATASET_NAME: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** A dataset fingerprint: sha256 in lowercase hex. */
export const FINGERPRINT: RegExp = /^[0-9a-f]{64}$/;

/**
 * Check a dataset name and fingerprint before they reach a path or a query.
 *
 * @param name dataset folder name
 * @param fingerprint sha256 hex
 * @throws {TypeError} naming the value and what is allowed
 */
export function checkDatasetKey(name: string, fingerprint: string): void {
  if (!DATASET_NAME.test(name)) {
    throw new TypeError(
      `Invalid dataset name "${name}": expected letters, digits, '.', '_' or '-' (a folder name)`,
    );
  }
  if (!FINGERPRINT.test(fingerprint)) {
    throw new TypeError(`Invalid dataset fingerprint "${fingerprint}": expected 64 hex digits`);
  }
}

/**
 * The files of a dataset folder that its fingerprint covers (manifest and listed tables).
 *
 * @param dir the dataset folder
 * @returns its name (the folder's), fingerprint and file names
 * @throws {DatasetError} when the folder is not a valid dataset
 */
export async function datasetFiles(
  dir: string,
): Promise<{ name: string; fingerprint: string; files: string[] }> {
  const dataset = await loadDatasetFolder(dir);
  const name = basename(dataset.dir);
  const fingerprint = await dataset.fingerprint();
  const files = [
    "manifest.json",
    ...dataset.manifest.tables.map((t) => basename(tablePath(dataset.dir, t))),
  ];
  return { name, fingerprint, files };
}

/**
 * Move a folder of dataset files into place at `target` after checking its fingerprint.
 *
 * @param tmp the filled temporary folder (removed in every case)
 * @param target the dataset folder to create
 * @param fingerprint what the files must hash to
 * @throws {Error} when the fingerprint differs or the target exists
 */
export async function settleDataset(tmp: string, target: string, fingerprint: string) {
  try {
    const manifest = JSON.parse(await Deno.readTextFile(`${tmp}/manifest.json`));
    const got = await fingerprintFolder(tmp, manifest.tables ?? []);
    if (got !== fingerprint) {
      throw new Error(
        `Dataset copy for "${target}" has fingerprint ${got.slice(0, 12)}: expected ${
          fingerprint.slice(0, 12)
        }; nothing was written`,
      );
    }
    await Deno.rename(tmp, target);
  } finally {
    await removeIfExists(tmp);
  }
}
