/**
 * The trainer: a custom TensorFlow.js training loop (not `model.fit`).
 *
 * - The training and validation data are uploaded to the backend once.
 * - Each epoch shuffles the rows with the trainer's own seeded PRNG (so the
 *   order is identical on every run and survives a checkpoint), uploads the
 *   permutation once, and gathers each mini-batch on the backend.
 * - `optimizer.minimize` returns each batch's cost as a tensor; the epoch's
 *   loss is accumulated on the backend and read to the host once per epoch,
 *   together with the validation loss (no per-batch host round trip).
 * - Every intermediate tensor is disposed: `tf.memory().numTensors` is the
 *   same after every epoch, and after `trainModel` returns it is what it was
 *   before the call.
 * - Adam or SGD; early stopping on the validation loss with `patience`;
 *   reduce-LR-on-plateau with `lr_patience`, `lr_factor` and `min_lr` (the
 *   optimizer's learning rate is changed in place); the best weights by
 *   validation loss are kept as a copy on the backend and restored at the end.
 * - An `AbortSignal` is checked between batches and epochs: the run stops
 *   cleanly, restores the best weights and reports `stoppedBy: "interrupted"`.
 *   With a checkpointer it first saves the state of the last completed epoch:
 *   an interrupt mid-epoch abandons the epoch when the checkpoint already
 *   holds the state it started from, and otherwise finishes it, so an
 *   interrupted run always leaves a checkpoint to resume from.
 * - An optional {@link Checkpointer} receives the complete state after every
 *   epoch (weights, optimizer moments, counters, PRNG state); a run started
 *   with a checkpoint to load continues exactly where the saved one stopped and
 *   reaches the same result as an uninterrupted run.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkMatrix, type Matrix, ShuffleRng } from "./core.ts";
import type { TrainOptions } from "./spec.ts";
import { predict } from "./predict.ts";

/** One finished epoch. */
export interface EpochLog {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch's mini-batches, weighted by batch size. */
  loss: number;
  /** Loss on the whole validation set after the epoch. */
  valLoss: number;
  /** Learning rate used during the epoch. */
  lr: number;
  /** Wall-clock seconds the epoch took (the only non-deterministic field). */
  seconds: number;
}

/** Why training stopped. */
export type StopReason = "patience" | "epochs" | "interrupted";

/** What {@link trainModel} returns; the model holds the best weights. */
export interface TrainResult {
  history: EpochLog[];
  /** 1-based epoch whose weights were restored (0 when no epoch finished). */
  bestEpoch: number;
  /** Validation loss of the restored weights (`Infinity` when no epoch finished). */
  bestValLoss: number;
  stoppedBy: StopReason;
  /** What ran the training, where an engine says more than the backend (the fused engines). */
  engine?: string;
  /**
   * Predictions on the training rows by the last epoch's weights, taken
   * before the best (validation) weights were restored, when asked for
   * (`lastEpochFit`); absent when the best epoch is the last one (the model's
   * own predictions are then the same) or training was interrupted.
   * They show how far training fitted the training rows even where early
   * stopping keeps an earlier epoch.
   */
  lastEpochTrain?: Float32Array;
}

/** A loss function: mean loss of a batch as a scalar tensor. */
export type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;

/** A tensor's values copied to the host. */
export interface HostTensor {
  name: string;
  shape: number[];
  dtype: "float32" | "int32";
  data: Float32Array | Int32Array;
}

/** Everything needed to continue a run exactly where it stopped. */
export interface TrainState {
  version: 1;
  /** What the run was started with; a resume with different values is refused. */
  run: {
    rows: number;
    cols: number;
    valRows: number;
    seed: number;
    optimizer: "adam" | "sgd";
    batchSize: number;
    /** The engine that wrote it (absent: `tfjs`); engines keep their optimizer state differently. */
    engine?: "tfjs" | "fused";
  };
  /** Completed epochs. */
  epoch: number;
  /** The reason the run finished, or `null` while it may continue. */
  finished: StopReason | null;
  /** Current model weights in `model.getWeights()` order. */
  weights: HostTensor[];
  /** Optimizer state from `optimizer.getWeights()` (Adam: iterations and moments). */
  optimizer: HostTensor[];
  /** Adam's running powers of beta1 and beta2 (restored bit-exactly). */
  adamPowers: [number, number] | null;
  lr: number;
  best: { epoch: number; valLoss: number; weights: HostTensor[] | null };
  /** Epochs since the last improvement (early stopping). */
  wait: number;
  /** Epochs since the last improvement or LR reduction (plateau). */
  lrWait: number;
  /** The shuffle PRNG's 32-bit state. */
  rng: number;
  history: EpochLog[];
}

/** Where checkpoints go; `load` returns `null` when there is none. */
export interface Checkpointer {
  save(state: TrainState): Promise<void>;
  load(): Promise<TrainState | null>;
  /** Save every this many epochs (default 1); the final state is always saved. */
  every?: number;
  /**
   * And at least this many seconds apart (default 0): a large model's state is
   * gigabytes, and writing it after every short epoch would cost more than
   * training. The final state is always saved.
   */
  minSeconds?: number;
}

/** When to save, and the save itself (timed, see {@linkcode checkpointSchedule}). */
export interface CheckpointSchedule {
  /** True when the state after `epoch` should be saved now. */
  due(epoch: number, finished: boolean): boolean;
  /** Saves through the checkpointer and times it. */
  save(state: TrainState): Promise<void>;
  /**
   * True when the checkpoint holds the state after `epoch` (saved by this
   * schedule or loaded from it), so an interrupt needs no save; false without a
   * checkpointer.
   */
  holds(epoch: number): boolean;
  /** Records that the checkpoint was loaded and holds the state after `epoch`. */
  loaded(epoch: number): void;
}

/**
 * When a checkpointer saves: after every `every`-th epoch that comes at least
 * `minSeconds` after the previous save (or the start), and always at the end.
 * With `minSeconds > 0` the gap also grows to nine times the last save's
 * duration, so saving never takes more than about a tenth of the run (a
 * 10 × 4096 model's state is 2.4 GB).
 *
 * @param c the checkpointer (none: never)
 * @param clock milliseconds now (tests pass a fake one)
 * @returns the schedule
 * @throws {RangeError} for an invalid `every` or `minSeconds`
 */
export function checkpointSchedule(
  c: Checkpointer | undefined,
  clock: () => number = () => performance.now(),
): CheckpointSchedule {
  const every = c?.every ?? 1;
  const minSeconds = c?.minSeconds ?? 0;
  if (!Number.isInteger(every) || every < 1) {
    throw new RangeError(`Invalid checkpoint.every "${every}": expected an integer >= 1`);
  }
  if (!(minSeconds >= 0)) {
    throw new RangeError(`Invalid checkpoint.minSeconds "${minSeconds}": expected a number >= 0`);
  }
  let last = clock();
  let gap = minSeconds;
  let held = -1;
  return {
    due(epoch, finished) {
      if (!c) return false;
      return finished || (epoch % every === 0 && clock() - last >= gap * 1000);
    },
    async save(state) {
      if (!c) return;
      const started = clock();
      await c.save(state);
      held = state.epoch;
      last = clock();
      if (minSeconds > 0) gap = Math.max(minSeconds, (9 * (last - started)) / 1000);
    },
    holds(epoch) {
      return c !== undefined && held === epoch;
    },
    loaded(epoch) {
      held = epoch;
    },
  };
}

/** Arguments of {@link trainModel}. */
export interface TrainArgs {
  /** A compiled or uncompiled model with one output of width 1. */
  model: tf.LayersModel;
  loss: LossFn;
  train: TrainOptions;
  /** Seeds the shuffle order. */
  seed: number;
  x: Matrix;
  /** One label per row of `x`. */
  y: Float32Array;
  xVal: Matrix;
  yVal: Float32Array;
  onEpoch?: (e: EpochLog) => void;
  /**
   * Called once when a checkpoint was loaded, with the epochs it had already
   * trained (`onEpoch` is then called for the later epochs only).
   */
  onResume?: (history: EpochLog[]) => void;
  /**
   * Stops training cleanly (see the module's note): with a checkpointer the
   * state of the last completed epoch is saved first.
   */
  signal?: AbortSignal;
  checkpoint?: Checkpointer;
  /**
   * Also predict the training rows with the last epoch's weights before the
   * best ones are restored ({@linkcode TrainResult.lastEpochTrain}): one more
   * forward pass over them, skipped when training was interrupted.
   */
  lastEpochFit?: boolean;
}

/**
 * Checks the `train:` options a training loop reads.
 *
 * @param t the options
 * @throws {RangeError} naming the first invalid key and what is allowed
 */
export function checkOptions(t: TrainOptions): void {
  const positiveInt: (keyof TrainOptions)[] = ["epochs", "batch_size", "patience", "lr_patience"];
  for (const k of positiveInt) {
    const v = t[k] as number;
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Invalid train.${k} "${v}": expected an integer >= 1`);
    }
  }
  if (!(t.learning_rate > 0) || !Number.isFinite(t.learning_rate)) {
    throw new RangeError(`Invalid train.learning_rate "${t.learning_rate}": expected a number > 0`);
  }
  if (!(t.lr_factor > 0 && t.lr_factor < 1)) {
    throw new RangeError(`Invalid train.lr_factor "${t.lr_factor}": expected 0 < lr_factor < 1`);
  }
  if (!(t.min_lr >= 0)) {
    throw new RangeError(`Invalid train.min_lr "${t.min_lr}": expected a number >= 0`);
  }
  if (t.optimizer !== "adam" && t.optimizer !== "sgd") {
    throw new RangeError(`Invalid train.optimizer "${t.optimizer}": expected "adam" or "sgd"`);
  }
}

/** Early-stopping and reduce-LR-on-plateau counters, carried from epoch to epoch. */
export interface PlateauState {
  lr: number;
  bestEpoch: number;
  bestValLoss: number;
  /** Epochs since the last improvement (early stopping). */
  wait: number;
  /** Epochs since the last improvement or LR reduction (plateau). */
  lrWait: number;
}

/**
 * The end-of-epoch decision every training engine shares: record an improvement of the
 * validation loss, otherwise count towards early stopping and, after `lr_patience` epochs
 * without one, multiply the learning rate by `lr_factor` (never below `min_lr`).
 *
 * @param s the counters, updated in place
 * @param epoch the 1-based epoch that just finished
 * @param valLoss its validation loss
 * @param train the `train:` options
 * @returns whether this epoch is the new best, and why training stops (null to go on)
 */
export function plateauStep(
  s: PlateauState,
  epoch: number,
  valLoss: number,
  train: TrainOptions,
): { improved: boolean; finished: StopReason | null } {
  const improved = valLoss < s.bestValLoss;
  if (improved) {
    s.bestValLoss = valLoss;
    s.bestEpoch = epoch;
    s.wait = 0;
    s.lrWait = 0;
  } else {
    s.wait += 1;
    s.lrWait += 1;
    if (s.lrWait >= train.lr_patience) {
      s.lr = Math.max(s.lr * train.lr_factor, train.min_lr);
      s.lrWait = 0;
    }
  }
  const finished = s.wait >= train.patience ? "patience" : epoch >= train.epochs ? "epochs" : null;
  return { improved, finished };
}

function makeOptimizer(kind: "adam" | "sgd", lr: number): tf.Optimizer {
  return kind === "adam" ? tf.train.adam(lr) : tf.train.sgd(lr);
}

/**
 * Change an optimizer's learning rate in place (Adam reads `learningRate`
 * on every step; SGD keeps a negated copy that `setLearningRate` refreshes).
 *
 * @param optimizer a tf.train.adam or tf.train.sgd optimizer
 * @param lr the new learning rate
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as unknown as {
    learningRate: number;
    setLearningRate?: (lr: number) => void;
  };
  if (typeof o.setLearningRate === "function") o.setLearningRate(lr);
  else o.learningRate = lr;
}

interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

function isAdam(o: tf.Optimizer): o is tf.Optimizer & AdamInternals {
  const a = o as unknown as Partial<AdamInternals>;
  return a.accBeta1 instanceof tf.Variable && a.accBeta2 instanceof tf.Variable;
}

async function toHost(name: string, t: tf.Tensor): Promise<HostTensor> {
  if (t.dtype !== "float32" && t.dtype !== "int32") {
    throw new TypeError(`Cannot checkpoint tensor "${name}": dtype "${t.dtype}" is not supported`);
  }
  const data = await t.data();
  return {
    name,
    shape: t.shape.slice(),
    dtype: t.dtype,
    data: t.dtype === "int32" ? Int32Array.from(data) : Float32Array.from(data),
  };
}

function fromHost(h: HostTensor): tf.Tensor {
  return tf.tensor(h.data, h.shape, h.dtype);
}

function weightsToHost(ts: tf.Tensor[], model: tf.LayersModel): Promise<HostTensor[]> {
  const names = model.weights.map((w) => w.originalName);
  return Promise.all(ts.map((t, i) => toHost(names[i] ?? `w${i}`, t)));
}

function setModelWeights(model: tf.LayersModel, hs: HostTensor[]): void {
  const expected = model.weights;
  if (hs.length !== expected.length) {
    throw new RangeError(
      `Checkpoint does not match the model: it has ${hs.length} weight tensors, the model ${expected.length}`,
    );
  }
  hs.forEach((h, i) => {
    const shape = expected[i].shape;
    if (shape.length !== h.shape.length || shape.some((d, j) => d !== h.shape[j])) {
      throw new RangeError(
        `Checkpoint does not match the model: weight "${
          expected[i].originalName
        }" has shape [${shape}], checkpoint [${h.shape}]`,
      );
    }
  });
  const ts = hs.map(fromHost);
  model.setWeights(ts);
  tf.dispose(ts);
}

/**
 * Refuses a checkpoint written by another version, run or engine.
 *
 * @param s the loaded state
 * @param run what this run was started with
 * @throws {RangeError} naming every difference
 */
export function checkResumable(s: TrainState, run: TrainState["run"]): void {
  if (s.version !== 1) {
    throw new RangeError(`Unsupported checkpoint version "${s.version}": expected 1`);
  }
  const keys = new Set([...Object.keys(run), ...Object.keys(s.run)]) as Set<
    keyof TrainState["run"]
  >;
  const value = (r: TrainState["run"], k: keyof TrainState["run"]) =>
    k === "engine" ? (r.engine ?? "tfjs") : r[k];
  const diffs = [...keys]
    .filter((k) => value(s.run, k) !== value(run, k))
    .map((k) => `${k} is "${value(run, k)}" but the checkpoint has "${value(s.run, k)}"`);
  if (diffs.length > 0) {
    throw new RangeError(`Checkpoint does not match this run: ${diffs.join("; ")}`);
  }
}

/** Yield to the event loop so timers and signal handlers (Ctrl-C) can run. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Train `model` in place and return the per-epoch history. The model ends
 * holding the weights of the epoch with the lowest validation loss.
 *
 * @param args model, loss, `train:` options, seed, data, optional epoch
 *   callback, abort signal and checkpointer
 * @returns history, best epoch and loss, and why training stopped
 * @throws {RangeError} on inconsistent shapes, an empty training or
 *   validation set, invalid options, or a checkpoint from a different run
 * @example
 * ```ts
 * const result = await trainModel({ model, loss: tf.losses.meanSquaredError, train, seed: 42,
 *   x, y, xVal, yVal, onEpoch: progressReporter({ epochs: train.epochs, tty: false, write }) });
 * ```
 */
export async function trainModel(args: TrainArgs): Promise<TrainResult> {
  const { model, loss, train, seed, x, y, xVal, yVal, onEpoch, onResume, signal, checkpoint } =
    args;
  checkOptions(train);
  checkMatrix("x", x, y, "y");
  checkMatrix("xVal", xVal, yVal, "yVal");
  if (x.rows === 0) throw new RangeError("Cannot train: the training set is empty");
  if (xVal.rows === 0) {
    throw new RangeError(
      "Cannot train: the validation set is empty (early stopping and best-weight restore need validation rows)",
    );
  }
  if (xVal.cols !== x.cols) {
    throw new RangeError(
      `Column count mismatch: "x" has ${x.cols} columns but "xVal" has ${xVal.cols}`,
    );
  }
  const schedule = checkpointSchedule(checkpoint);

  const run: TrainState["run"] = {
    rows: x.rows,
    cols: x.cols,
    valRows: xVal.rows,
    seed,
    optimizer: train.optimizer,
    batchSize: train.batch_size,
  };
  const n = x.rows;
  const batchSize = Math.min(train.batch_size, n);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);

  const xT = tf.tensor2d(x.data, [x.rows, x.cols]);
  const yT = tf.tensor2d(y, [y.length, 1]);
  const xValT = tf.tensor2d(xVal.data, [xVal.rows, xVal.cols]);
  const yValT = tf.tensor2d(yVal, [yVal.length, 1]);

  let lr = train.learning_rate;
  const optimizer = makeOptimizer(train.optimizer, lr);
  const rng = new ShuffleRng(seed);
  let history: EpochLog[] = [];
  let bestEpoch = 0;
  let bestValLoss = Infinity;
  let bestWeights: tf.Tensor[] | null = null;
  let lastEpochTrain: Float32Array | undefined;
  let wait = 0;
  let lrWait = 0;
  let epoch = 0;
  let finished: StopReason | null = null;

  const valChunk = Math.max(batchSize, 1024);
  const validationLoss = (): tf.Scalar =>
    tf.tidy(() => {
      const parts: tf.Tensor[] = [];
      for (let s = 0; s < xVal.rows; s += valChunk) {
        const xs = xValT.slice([s, 0], [Math.min(valChunk, xVal.rows - s), xVal.cols]);
        parts.push(model.apply(xs, { training: false }) as tf.Tensor);
      }
      const pred = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
      return loss(yValT, pred.reshape([xVal.rows, 1]));
    });

  const captureState = async (): Promise<TrainState> => {
    const optWeights = await optimizer.getWeights();
    const optHost = await Promise.all(optWeights.map((w) => toHost(w.name, w.tensor)));
    // getWeights() creates the iteration counter scalar; the moments are the optimizer's own.
    optWeights.filter((w) => w.name === "iter").forEach((w) => w.tensor.dispose());
    let adamPowers: [number, number] | null = null;
    if (isAdam(optimizer)) {
      adamPowers = [
        (await optimizer.accBeta1.data())[0],
        (await optimizer.accBeta2.data())[0],
      ];
    }
    const current = model.getWeights();
    return {
      version: 1,
      run,
      epoch,
      finished,
      weights: await weightsToHost(current, model),
      optimizer: optHost,
      adamPowers,
      lr,
      best: {
        epoch: bestEpoch,
        valLoss: bestValLoss,
        weights: bestWeights ? await weightsToHost(bestWeights, model) : null,
      },
      wait,
      lrWait,
      rng: rng.state,
      history: history.map((h) => ({ ...h })),
    };
  };

  const restoreState = async (s: TrainState): Promise<void> => {
    checkResumable(s, run);
    setModelWeights(model, s.weights);
    if (s.optimizer.length > 0) {
      const named = s.optimizer.map((h) => ({ name: h.name, tensor: fromHost(h) }));
      await optimizer.setWeights(named);
      tf.dispose(named.map((w) => w.tensor));
    }
    if (s.adamPowers && isAdam(optimizer)) {
      const [p1, p2] = s.adamPowers;
      tf.tidy(() => {
        (optimizer as AdamInternals).accBeta1.assign(tf.scalar(p1));
        (optimizer as AdamInternals).accBeta2.assign(tf.scalar(p2));
      });
    }
    lr = s.lr;
    setLearningRate(optimizer, lr);
    epoch = s.epoch;
    finished = s.finished;
    bestEpoch = s.best.epoch;
    bestValLoss = s.best.valLoss ?? Infinity;
    if (s.best.weights) {
      if (s.best.weights.length !== model.weights.length) {
        throw new RangeError(
          `Checkpoint does not match the model: best weights have ${s.best.weights.length} tensors, the model ${model.weights.length}`,
        );
      }
      bestWeights = s.best.weights.map(fromHost);
    }
    wait = s.wait;
    lrWait = s.lrWait;
    rng.state = s.rng >>> 0;
    history = s.history.map((h) => ({ ...h }));
  };

  let stoppedBy: StopReason = "epochs";
  try {
    const saved = checkpoint ? await checkpoint.load() : null;
    if (saved) {
      await restoreState(saved);
      schedule.loaded(epoch);
      onResume?.(history.map((h) => ({ ...h })));
    }
    let lastYield = performance.now();

    if (finished) {
      stoppedBy = finished;
    } else {
      while (true) {
        if (epoch >= train.epochs) {
          stoppedBy = "epochs";
          break;
        }
        if (signal?.aborted) {
          stoppedBy = "interrupted";
          break;
        }
        const started = performance.now();
        const perm = tf.tensor1d(rng.permutation(n), "int32");
        let sum: tf.Tensor = tf.scalar(0);
        let aborted = false;
        for (let b = 0; b < n; b += batchSize) {
          // Abandon the epoch only where the checkpoint (if any) holds the state
          // it started from; else finish it, so that state can be saved.
          if (signal?.aborted && (!checkpoint || schedule.holds(epoch))) {
            aborted = true;
            break;
          }
          const size = Math.min(batchSize, n - b);
          const cost = tf.tidy(() => {
            const idx = perm.slice(b, size);
            const xb = tf.gather(xT, idx);
            const yb = tf.gather(yT, idx);
            return optimizer.minimize(
              () => loss(yb, model.apply(xb, { training: true }) as tf.Tensor),
              true,
              vars,
            ) as tf.Scalar;
          });
          const next = tf.tidy(() => tf.add(sum, tf.mul(cost, size)));
          sum.dispose();
          cost.dispose();
          sum = next;
          if (performance.now() - lastYield > 100) {
            await yieldToEventLoop();
            lastYield = performance.now();
          }
        }
        perm.dispose();
        if (aborted) {
          // The partial epoch is discarded: the best weights are restored below and the
          // last checkpoint holds the state at the end of the previous epoch.
          sum.dispose();
          stoppedBy = "interrupted";
          break;
        }
        const both = tf.tidy(() => tf.stack([tf.div(sum, n), validationLoss()]));
        sum.dispose();
        const [trainLoss, valLoss] = await both.data();
        both.dispose();
        epoch += 1;
        const log: EpochLog = {
          epoch,
          loss: trainLoss,
          valLoss,
          lr,
          seconds: (performance.now() - started) / 1000,
        };
        history.push(log);

        const plateau: PlateauState = { lr, bestEpoch, bestValLoss, wait, lrWait };
        const step = plateauStep(plateau, epoch, valLoss, train);
        ({ bestEpoch, bestValLoss, wait, lrWait } = plateau);
        if (step.improved) {
          if (bestWeights) tf.dispose(bestWeights);
          bestWeights = model.getWeights().map((w) => tf.clone(w));
        }
        if (plateau.lr < lr) {
          lr = plateau.lr;
          setLearningRate(optimizer, lr);
        }
        finished = step.finished;

        onEpoch?.(log);
        if (schedule.due(epoch, finished !== null)) {
          await schedule.save(await captureState());
        }
        if (finished) {
          stoppedBy = finished;
          break;
        }
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
    if (stoppedBy === "interrupted" && checkpoint && !schedule.holds(epoch)) {
      // The model holds the last completed epoch's weights (a partial epoch is
      // only abandoned when the checkpoint already holds its start).
      await schedule.save(await captureState());
    }
    if (
      args.lastEpochFit && stoppedBy !== "interrupted" && bestWeights &&
      bestEpoch !== history.length
    ) {
      lastEpochTrain = await predict(model, x);
    }
    if (bestWeights) model.setWeights(bestWeights);
  } finally {
    if (bestWeights) tf.dispose(bestWeights);
    tf.dispose([xT, yT, xValT, yValT]);
    optimizer.dispose();
  }
  return {
    history,
    bestEpoch,
    bestValLoss,
    stoppedBy,
    ...(lastEpochTrain ? { lastEpochTrain } : {}),
  };
}
