/**
 * The model store: trained models kept under the hash of everything that
 * determines them (the notes' `model_from_config`), so running the same
 * experiment again restores the model instead of training it.
 *
 * {@link ModelStore} is the interface every store implements (the local
 * {@link FileModelStore} now; a shared store for several machines later) and
 * `tests/store_contract.ts` is the one suite they all pass. The contract:
 *
 * - Content addressing: a hash names exactly one model, so two writers of the
 *   same hash write the same model; whichever finishes first wins and the
 *   other's copy is discarded. `save` never overwrites a complete copy.
 * - Atomicity: `load` returns either `null` or a complete, verified model,
 *   never a partial one, whatever writers, deleters or crashes do meanwhile.
 * - Hashes are 64 lower-case hex digits (sha256, see {@link modelHash});
 *   anything else is refused before it can reach a path or a query.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { canonicalJson } from "../config/hash.ts";
import { MODELS_DIR } from "../paths.ts";
import type { EpochLog, StopReason } from "@alfred/engines";
import {
  claimFolder,
  OWNER_FILE,
  type RemovedTemp,
  removeIfExists,
  removeStaleTemps,
  tempName,
} from "./temp.ts";

/** A tfjs weight manifest entry: name, shape and dtype of one weight tensor. */
export type WeightSpec = tf.io.WeightsManifestEntry;

/** Training summary kept with a stored model. */
export interface TrainSummary {
  /** The epoch whose weights were kept (1-based). */
  bestEpoch: number;
  /** The validation loss of that epoch. */
  bestValLoss: number;
  /** Why training stopped. */
  stoppedBy: StopReason;
  /** Epochs trained. */
  epochs: number;
  /** Every epoch's losses and learning rate. */
  history?: EpochLog[];
}

/** What a stored model is and where it came from. */
export interface ModelMeta {
  /** The model hash ({@link modelHash}) the model is stored under. */
  hash: string;
  /** The dataset fingerprint the model was trained on. */
  dataFingerprint: string;
  /** Feature columns in model input order. */
  features: string[];
  /** Label column ("PQ" or "PM"). */
  label: string;
  /** Backend and device that trained it, e.g. "wasm" or "webgpu (NVIDIA H100)". */
  backend: string;
  /** ISO timestamp of when training finished. */
  created: string;
  /** How training went. */
  train: TrainSummary;
  /** The hashed parts, for people reading the store. */
  config?: Record<string, unknown>;
}

/** A trained model with everything needed to use it on new rows. */
export interface StoredModel {
  /** tfjs `modelTopology` JSON (`model.toJSON(null, false)`). */
  topology: Record<string, unknown>;
  /** Weight manifest in the order of `weights`. */
  weightSpecs: WeightSpec[];
  /** All weights concatenated (tfjs io format). */
  weights: ArrayBuffer;
  /** The fitted scaler's JSON (`Scaler.toJSON()`). */
  scaler: unknown;
  /** What the model is and where it came from. */
  meta: ModelMeta;
}

/** A place models are kept under their hash. Every implementation passes `tests/store_contract.ts`. */
export interface ModelStore {
  /** Whether a complete model is stored under `hash`. */
  has(hash: string): Promise<boolean>;
  /**
   * Store `artifact` under `hash` atomically.
   * @returns `true` when this call stored it, `false` when a complete copy was already there
   *   (then the existing copy is kept: same hash, same model)
   */
  save(hash: string, artifact: StoredModel): Promise<boolean>;
  /** The complete model stored under `hash`, or `null` (absent, or present but torn or corrupt). */
  load(hash: string): Promise<StoredModel | null>;
  /** Hashes of the stored models, sorted. */
  list(): Promise<string[]>;
  /** Remove the model stored under `hash`; `true` when there was one. */
  delete(hash: string): Promise<boolean>;
}

const HASH_RE = /^[0-9a-f]{64}$/;

/**
 * Whether `hash` is a valid model hash (64 lower-case hex digits).
 *
 * @param hash candidate
 * @returns true when valid
 */
export function isModelHash(hash: unknown): hash is string {
  return typeof hash === "string" && HASH_RE.test(hash);
}

/**
 * Throw unless `hash` is a valid model hash; stores call it before using a hash in a path or query.
 *
 * @param hash candidate
 * @throws {TypeError} naming the value and what is allowed
 */
export function assertModelHash(hash: unknown): asserts hash is string {
  if (!isModelHash(hash)) {
    const shown = typeof hash === "string" ? hash.slice(0, 80) : String(hash);
    throw new TypeError(`Invalid model hash "${shown}": expected 64 lower-case hex digits`);
  }
}

async function sha256Hex(data: BufferSource): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Everything that determines a trained model. */
export interface ModelHashParts {
  /** Resolved `model:` section. */
  model: unknown;
  /** Resolved `loss:` section. */
  loss: unknown;
  /**
   * Resolved `train:` section, every key included. `backend` is hashed as written: a pinned
   * backend changes the numbers and gets its own model; `auto` means "any backend" and is shared
   * across machines (the backend that actually ran is in `meta.backend`).
   */
  train: unknown;
  /** Resolved `features:` section (or the resolved feature column list). */
  features: unknown;
  /** Resolved `label:` section. */
  label: unknown;
  /** Resolved `split:` section, plus the fold name when there are several. */
  split: unknown;
  /** Resolved `scaling:` section. */
  scaling: unknown;
  /** Fingerprint of the dataset (`Dataset.fingerprint()`). */
  dataFingerprint: string;
  seed: number;
  /** Anything else that determines the model, e.g. the resolved training tickers. */
  [extra: string]: unknown;
}

/**
 * The model hash: sha256 over the canonical JSON of everything that
 * determines a trained model, tagged with a format version.
 *
 * @param parts model, loss, train, features, label, split, scaling, data fingerprint, seed and
 *   any extra determining values (e.g. `tickers`)
 * @returns 64 lower-case hex digits
 * @throws {TypeError} when a required part is missing or a value is not JSON
 * @example
 * ```ts
 * const hash = await modelHash({ model: cfg.model, loss: cfg.loss, train: cfg.train,
 *   features: cfg.features, label: cfg.label, split: cfg.split, scaling: cfg.scaling,
 *   dataFingerprint: await dataset.fingerprint(), seed: cfg.seed, tickers: tickers.train });
 * ```
 */
export async function modelHash(parts: ModelHashParts): Promise<string> {
  const required = [
    "model",
    "loss",
    "train",
    "features",
    "label",
    "split",
    "scaling",
    "dataFingerprint",
    "seed",
  ];
  const missing = required.filter((k) => parts[k] === undefined);
  if (missing.length > 0) {
    throw new TypeError(`Cannot compute the model hash: missing ${missing.join(", ")}`);
  }
  const text = canonicalJson({ format: "alfred-model-hash/1", ...parts });
  return await sha256Hex(new TextEncoder().encode(text));
}

function joinWeightData(d: ArrayBuffer | ArrayBuffer[] | undefined): ArrayBuffer {
  if (d === undefined) return new ArrayBuffer(0);
  if (!Array.isArray(d)) return d;
  const total = d.reduce((s, b) => s + b.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of d) {
    out.set(new Uint8Array(b), o);
    o += b.byteLength;
  }
  return out.buffer;
}

/**
 * Convert a tfjs model and its scaler and metadata to a {@link StoredModel}
 * (via `tf.io.withSaveHandler`, the tfjs io format).
 *
 * @param model the trained model
 * @param extra the scaler JSON and metadata
 * @returns the storable artifact
 * @example
 * ```ts
 * await store.save(hash, await toStoredModel(model, { scaler: scaler.toJSON(), meta }));
 * ```
 */
export async function toStoredModel(
  model: tf.LayersModel,
  extra: { scaler: unknown; meta: ModelMeta },
): Promise<StoredModel> {
  let captured: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler((artifacts) => {
    captured = artifacts;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const a = captured as tf.io.ModelArtifacts | null;
  if (!a || !a.modelTopology || !a.weightSpecs) {
    throw new TypeError("Cannot store the model: tfjs produced no topology or weights");
  }
  return {
    topology: a.modelTopology as Record<string, unknown>,
    weightSpecs: a.weightSpecs,
    weights: joinWeightData(a.weightData as ArrayBuffer | ArrayBuffer[] | undefined),
    scaler: extra.scaler,
    meta: extra.meta,
  };
}

/**
 * Rebuild a tfjs model from a {@link StoredModel} (via `tf.io.fromMemory`).
 *
 * @param stored the artifact
 * @returns the model with its stored weights
 */
export async function fromStoredModel(stored: StoredModel): Promise<tf.LayersModel> {
  return await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: stored.topology,
    weightSpecs: stored.weightSpecs,
    weightData: stored.weights,
  }));
}

const DTYPE_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  float16: 2,
};

/**
 * Bytes the weights of `specs` take (unquantized), or `null` when a dtype is unknown.
 *
 * @param specs weight manifest
 * @returns the byte count
 */
export function weightBytes(specs: WeightSpec[]): number | null {
  let total = 0;
  for (const s of specs) {
    const per = s.quantization ? DTYPE_BYTES[s.quantization.dtype] : DTYPE_BYTES[s.dtype];
    if (per === undefined) return null;
    total += s.shape.reduce((p, d) => p * d, 1) * per;
  }
  return total;
}

const MODEL_FILE = "model.json";
const WEIGHTS_FILE = "weights.bin";
const FORMAT = "alfred-stored-model/1";

interface ModelFile {
  format: typeof FORMAT;
  hash: string;
  topology: Record<string, unknown>;
  weightSpecs: WeightSpec[];
  weights: { file: string; bytes: number; sha256: string };
  scaler: unknown;
  meta: ModelMeta;
}

async function writeFileSynced(path: string, data: Uint8Array): Promise<void> {
  const f = await Deno.open(path, { write: true, createNew: true });
  try {
    let o = 0;
    while (o < data.length) o += await f.write(data.subarray(o));
    await f.sync();
  } finally {
    f.close();
  }
}

function randomSuffix(): string {
  return crypto.randomUUID().slice(0, 8);
}

/**
 * The local file store: each model is a folder `<root>/<hash>/` holding
 * `model.json` (topology, weight manifest, scaler, metadata and the weights'
 * size and sha256) and `weights.bin`.
 *
 * A save writes a complete folder under `<root>/.tmp-<hash>-<random>.<pid>@<host>/`
 * (files synced; the writer holds a lock on a marker in it while it writes,
 * see `temp.ts`) and renames it to `<root>/<hash>/`; a rename onto an
 * existing complete folder fails and the new copy is discarded (another
 * writer won, with the same content). `load` checks the weights' size and
 * sha256, so a folder damaged outside the store reads as absent, and the
 * next `save` replaces it. Deletion renames the folder away before removing
 * it. Safe for several processes, and on network shares whose rename is
 * atomic (NFS, SMB).
 */
export class FileModelStore implements ModelStore {
  /** The folder holding one sub-folder per model. */
  readonly root: string;

  /**
   * A store in the folder `root`.
   *
   * @param root folder of the store (created on first save), default {@linkcode MODELS_DIR}
   */
  constructor(root: string = MODELS_DIR) {
    this.root = root.replace(/\/+$/, "") || "/";
  }

  /** The folder of the model `hash` (checked to be a model hash first). */
  private dir(hash: string): string {
    assertModelHash(hash);
    return `${this.root}/${hash}`;
  }

  /** The model file in `dir` when it is complete and names `hash`, else null. */
  private async readModelFile(dir: string, hash: string): Promise<ModelFile | null> {
    let text: string;
    try {
      text = await Deno.readTextFile(`${dir}/${MODEL_FILE}`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
      throw e;
    }
    let file: ModelFile;
    try {
      file = JSON.parse(text);
    } catch {
      return null;
    }
    if (
      file?.format !== FORMAT || file.hash !== hash || !Array.isArray(file.weightSpecs) ||
      typeof file.weights?.bytes !== "number" || typeof file.weights?.sha256 !== "string"
    ) return null;
    return file;
  }

  /** Whether a complete model is stored under `hash` (its weights' size and sha256 checked, as `load` does). */
  async has(hash: string): Promise<boolean> {
    return (await this.load(hash)) !== null;
  }

  /** The complete model stored under `hash`, or `null` (absent, or present but torn or corrupt). */
  async load(hash: string): Promise<StoredModel | null> {
    const dir = this.dir(hash);
    const file = await this.readModelFile(dir, hash);
    if (!file) return null;
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = await Deno.readFile(`${dir}/${WEIGHTS_FILE}`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
    if (bytes.byteLength !== file.weights.bytes) return null;
    const expected = weightBytes(file.weightSpecs);
    if (expected !== null && expected !== bytes.byteLength) return null;
    if ((await sha256Hex(bytes)) !== file.weights.sha256) return null;
    const weights = bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength
      ? bytes.buffer as ArrayBuffer
      : bytes.slice().buffer as ArrayBuffer;
    return {
      topology: file.topology,
      weightSpecs: file.weightSpecs,
      weights,
      scaler: file.scaler,
      meta: file.meta,
    };
  }

  /**
   * Store `artifact` under `hash` (atomically: a complete folder renamed into place).
   * @returns `true` when this call stored it, `false` when the store already had it (kept as is)
   */
  async save(hash: string, artifact: StoredModel): Promise<boolean> {
    const target = this.dir(hash);
    const size = weightBytes(artifact.weightSpecs);
    if (size !== null && size !== artifact.weights.byteLength) {
      throw new RangeError(
        `Cannot store model "${hash}": the weight specs describe ${size} bytes but the weights have ${artifact.weights.byteLength}`,
      );
    }
    if (await this.has(hash)) return false;
    await Deno.mkdir(this.root, { recursive: true });
    const tmp = `${this.root}/${tempName(".tmp-", `${hash}-${randomSuffix()}`)}`;
    let lock: { release(): void } | null = null;
    try {
      await Deno.mkdir(tmp);
      lock = await claimFolder(tmp);
      const weights = new Uint8Array(artifact.weights);
      const file: ModelFile = {
        format: FORMAT,
        hash,
        topology: artifact.topology,
        weightSpecs: artifact.weightSpecs,
        weights: {
          file: WEIGHTS_FILE,
          bytes: weights.byteLength,
          sha256: await sha256Hex(weights),
        },
        scaler: artifact.scaler,
        meta: artifact.meta,
      };
      await writeFileSynced(`${tmp}/${WEIGHTS_FILE}`, weights);
      await writeFileSynced(`${tmp}/${MODEL_FILE}`, new TextEncoder().encode(JSON.stringify(file)));
      // Still locked: a cleaner sees a fresh folder without a marker and keeps it.
      await Deno.remove(`${tmp}/${OWNER_FILE}`);
      let lastError: unknown = null;
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await Deno.rename(tmp, target);
          return true;
        } catch (e) {
          if (e instanceof Deno.errors.NotFound) throw e;
          lastError = e;
          const exists = await Deno.stat(target).then(() => true, () => false);
          // Nothing there: the rename failed for another reason, or a deleter just removed it.
          if (!exists) continue;
          // A complete copy means another writer won (same hash, same model): keep theirs.
          if (await this.has(hash)) return false;
          // A damaged copy: move it away and retry.
          const trash = `${this.root}/${tempName(".trash-", `${hash}-${randomSuffix()}`)}`;
          try {
            await Deno.rename(target, trash);
            await removeIfExists(trash);
          } catch (moveError) {
            if (!(moveError instanceof Deno.errors.NotFound)) throw moveError;
          }
        }
      }
      throw new Error(`Cannot store model "${hash}" in "${this.root}": rename kept failing`, {
        cause: lastError,
      });
    } finally {
      await removeIfExists(tmp);
      lock?.release();
    }
  }

  /** Hashes of the stored models, sorted. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(this.root)) {
        if (e.isDirectory && isModelHash(e.name)) out.push(e.name);
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    return out.sort();
  }

  /** Remove the model stored under `hash`; `true` when there was one. */
  async delete(hash: string): Promise<boolean> {
    const target = this.dir(hash);
    const trash = `${this.root}/${tempName(".trash-", `${hash}-${randomSuffix()}`)}`;
    try {
      await Deno.rename(target, trash);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
    await removeIfExists(trash);
    return true;
  }

  /**
   * Remove the temporary and trash folders that writers killed mid-save left: a temporary folder
   * whose writer's lock is free at once, folders with no lock to test (trash, older versions)
   * once older than `unownedAfterMs`. A live writer's folder is never touched.
   *
   * @param unownedAfterMs age after which a folder without a recorded owner is removed (default
   *   one hour)
   * @param log told about each removal
   * @returns the folders removed
   */
  sweep(unownedAfterMs = 3_600_000, log?: (line: string) => void): Promise<RemovedTemp[]> {
    return removeStaleTemps(this.root, { match: /^\.(tmp|trash)-/, unownedAfterMs, log });
  }
}
