/**
 * Training checkpoints on disk: {@linkcode fileCheckpointer} keeps the
 * engines' {@link TrainState} (weights, optimizer state, counters, the
 * shuffle state, history; `@alfred/engines` defines it and its run
 * signature) in one binary file, written atomically beside its path. Every
 * engine's checkpoint goes through it; the state says which engine wrote it.
 *
 * @module
 */
import type { Checkpointer, EpochLog, HostTensor, TrainState } from "@alfred/engines";
import { createLocked, tempName } from "../store/temp.ts";
import { checkpointFile } from "../paths.ts";

interface StoredTensorRef {
  name: string;
  shape: number[];
  dtype: "float32" | "int32";
  offset: number;
  length: number;
}

const CHECKPOINT_MAGIC = "ALFRED-CKPT-1\n";

/** Bytes per write call: bounds any transient copy the runtime makes of a large view. */
const WRITE_SLICE = 16 << 20;

/** Writes all of `bytes` to `file`, in slices of at most {@linkcode WRITE_SLICE}. */
async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const end = Math.min(bytes.byteLength, done + WRITE_SLICE);
    done += await file.write(bytes.subarray(done, end));
  }
}

/** A checkpointer whose state lives in one file. */
export interface FileCheckpointer extends Checkpointer {
  /** The checkpoint file. */
  path: string;
  /** Whether the file exists. */
  exists(): Promise<boolean>;
  /** Removes the file (nothing when it does not exist). */
  clear(): Promise<void>;
}

/**
 * A {@link Checkpointer} that keeps the state in one binary file: a magic
 * line, a 4-byte little-endian header length, a JSON header and the tensors'
 * bytes. Each save writes a temporary file beside `path`
 * (`<name>.tmp-<random>.<pid>@<host>`, locked while written, see
 * `removeStaleTemps` in `store/temp.ts`) and renames it into place, so a crash
 * never leaves a torn checkpoint.
 *
 * @param path checkpoint file, e.g. `.alfred/checkpoints/<hash>.ckpt`
 * @param every save every this many epochs (default 1)
 * @param minSeconds and at least this many seconds apart (default 0)
 * @returns the checkpointer
 * @example
 * ```ts
 * const checkpoint = fileCheckpointer(".alfred/checkpoints/abc.ckpt");
 * await trainModel({ ...args, checkpoint });  // continues from the file when it exists
 * ```
 */
export function fileCheckpointer(
  path: string,
  every = 1,
  minSeconds = 0,
): FileCheckpointer {
  return {
    path,
    every,
    minSeconds,
    async save(state: TrainState): Promise<void> {
      const chunks: Uint8Array[] = [];
      let offset = 0;
      const ref = (list: HostTensor[]): StoredTensorRef[] =>
        list.map((h) => {
          const bytes = new Uint8Array(h.data.buffer, h.data.byteOffset, h.data.byteLength);
          chunks.push(bytes);
          const r = { name: h.name, shape: h.shape, dtype: h.dtype, offset, length: h.data.length };
          offset += bytes.byteLength;
          return r;
        });
      const header = {
        ...state,
        weights: ref(state.weights),
        optimizer: ref(state.optimizer),
        best: { ...state.best, weights: state.best.weights ? ref(state.best.weights) : null },
        bestValLoss: Number.isFinite(state.best.valLoss) ? state.best.valLoss : null,
      };
      const magic = new TextEncoder().encode(CHECKPOINT_MAGIC);
      const json = JSON.stringify(header);
      // Spaces after the JSON (which it ignores) start the tensors on a 4-byte
      // boundary, so `load` can view them in place instead of copying.
      const pad = (4 - ((magic.length + 4 + new TextEncoder().encode(json).length) % 4)) % 4;
      const headerBytes = new TextEncoder().encode(json + " ".repeat(pad));
      const length = new Uint8Array(4);
      new DataView(length.buffer).setUint32(0, headerBytes.length, true);
      const slash = path.lastIndexOf("/");
      if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
      const tmp = `${path.slice(0, slash + 1)}${
        tempName(`${path.slice(slash + 1)}.tmp-`, crypto.randomUUID().slice(0, 8))
      }`;
      // Streamed tensor by tensor from the caller's buffers (views into an
      // engine's memory are fine): a 10 x 4096 model's 2.4 GB state is never
      // copied into one file image.
      // Locked while it exists, so a cleaner can tell it from a killed writer's.
      const file = await createLocked(tmp);
      try {
        for (const part of [magic, length, headerBytes, ...chunks]) await writeAll(file, part);
        await Deno.rename(tmp, path);
        file.close();
      } catch (e) {
        try {
          file.close();
        } catch { /* already closed */ }
        await Deno.remove(tmp).catch(() => {});
        throw e;
      }
    },
    async load(): Promise<TrainState | null> {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(path);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return null;
        throw e;
      }
      const magic = new TextEncoder().encode(CHECKPOINT_MAGIC);
      const head = new TextDecoder().decode(bytes.subarray(0, magic.length));
      if (head !== CHECKPOINT_MAGIC || bytes.length < magic.length + 4) {
        throw new SyntaxError(`Cannot read checkpoint "${path}": not an Alfred checkpoint file`);
      }
      const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(
        magic.length,
        true,
      );
      const dataStart = magic.length + 4 + headerLength;
      const header = JSON.parse(
        new TextDecoder().decode(bytes.subarray(magic.length + 4, dataStart)),
      );
      // Tensors are viewed in place where they start 4-byte aligned (files
      // written since the header was padded), else copied out.
      const aligned = (bytes.byteOffset + dataStart) % 4 === 0;
      const deref = (list: StoredTensorRef[]): HostTensor[] =>
        list.map((r) => {
          const size = r.length * 4;
          if (dataStart + r.offset + size > bytes.byteLength) {
            throw new RangeError(
              `Cannot read checkpoint "${path}": tensor "${r.name}" lies past the end of the file`,
            );
          }
          const start = bytes.byteOffset + dataStart + r.offset;
          const buf = aligned ? bytes.buffer : bytes.buffer.slice(start, start + size);
          const at = aligned ? start : 0;
          return {
            name: r.name,
            shape: r.shape,
            dtype: r.dtype,
            data: r.dtype === "int32"
              ? new Int32Array(buf, at, r.length)
              : new Float32Array(buf, at, r.length),
          };
        });
      const { bestValLoss, ...rest } = header;
      // JSON has no NaN or Infinity: a diverged epoch's losses come back as null.
      const history = (header.history as Record<keyof EpochLog, number | null>[]).map((h) => ({
        epoch: h.epoch ?? 0,
        loss: h.loss ?? NaN,
        valLoss: h.valLoss ?? NaN,
        lr: h.lr ?? NaN,
        seconds: h.seconds ?? 0,
      }));
      return {
        ...rest,
        history,
        weights: deref(header.weights),
        optimizer: deref(header.optimizer),
        best: {
          epoch: header.best.epoch,
          valLoss: bestValLoss ?? Infinity,
          weights: header.best.weights ? deref(header.best.weights) : null,
        },
      } as TrainState;
    },
    async exists(): Promise<boolean> {
      try {
        return (await Deno.stat(path)).isFile;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return false;
        throw e;
      }
    },
    async clear(): Promise<void> {
      await Deno.remove(path).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    },
  };
}

/**
 * Seconds between a run's checkpoints (the final state is always saved): a 2048-wide model's
 * state is 600 MB, and saving it after every 0.7 s epoch took 3.5 s.
 */
export const CHECKPOINT_SECONDS = 60;

/** Options of {@linkcode modelCheckpoint}. */
export interface ModelCheckpointOptions {
  /** Folder of the checkpoints (default {@linkcode CHECKPOINTS_DIR}). */
  dir?: string;
  /** The model's store key: the checkpoint is `<dir>/<key>.ckpt`. */
  key: string;
  /**
   * `true` or `"if-any"`: continue from the checkpoint where there is one; absent: remove any
   * old checkpoint and train from the first epoch.
   */
  resume?: boolean | "if-any";
  /** The model must continue a checkpoint (the first model a `resume: true` run trains). */
  mustResume: boolean;
  /** The model in words, for the error (e.g. `quick-direction (fold-2)`). */
  model: string;
  /** One line of information. */
  log: (line: string) => void;
}

/**
 * The checkpoint of one model a run trains, under the run's resume policy: saved at most every
 * {@linkcode CHECKPOINT_SECONDS} (and at the end or an interrupt); without `resume` any old
 * checkpoint is removed first; with it, a missing checkpoint is an error where the model must
 * resume and a logged note where it may.
 *
 * @param options where, the model's key and the resume policy
 * @returns the checkpointer to train with
 * @throws {Error} when the model must resume and has no checkpoint, naming the path looked for
 * @example
 * ```ts
 * const checkpoint = await modelCheckpoint({ key, resume: "if-any", mustResume: false, model: e.name, log });
 * await trainModel({ ...args, checkpoint });
 * ```
 */
export async function modelCheckpoint(options: ModelCheckpointOptions): Promise<FileCheckpointer> {
  const checkpoint = fileCheckpointer(
    checkpointFile(options.dir, options.key),
    1,
    CHECKPOINT_SECONDS,
  );
  if (!options.resume) await checkpoint.clear();
  else if (!(await checkpoint.exists())) {
    if (options.mustResume) {
      throw new Error(
        `Cannot resume ${options.model}: ` +
          `no checkpoint "${checkpoint.path}" (one is saved when training is interrupted ` +
          `and removed once the model is stored); run without --resume to train from the ` +
          `start, or with --resume-if-any to resume only where a checkpoint exists`,
      );
    }
    options.log(`no checkpoint "${checkpoint.path}": training from the first epoch`);
  }
  return checkpoint;
}
