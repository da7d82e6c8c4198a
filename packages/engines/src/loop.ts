/**
 * The epoch loop every engine drives ({@linkcode runEpochs}), and the policy
 * it applies, written once:
 *
 * - Each epoch trains on the rows in an order drawn from the seeded
 *   {@linkcode Prng}: the same stream for every engine, its state saved
 *   in a checkpoint.
 * - After each epoch ({@linkcode plateauStep}): early stopping on the
 *   validation loss after `patience` epochs without improvement;
 *   reduce-LR-on-plateau after `lr_patience` (times `lr_factor`, never below
 *   `min_lr`); the engine remembers the best weights, and the model ends
 *   holding them.
 * - Checkpoints ({@link Checkpointer}): the whole state ({@link TrainState})
 *   after every `every`-th epoch at least `minSeconds` apart
 *   ({@linkcode checkpointSchedule}) and at the end. The format is one for all
 *   engines; each fills in its weights and optimizer state, and the run
 *   signature names the engine, so a checkpoint of another run or engine is
 *   refused ({@linkcode checkResumable}). A run started with a checkpoint
 *   continues exactly where the saved one stopped.
 * - Interrupts (`signal`): checked before each epoch, and during one by an
 *   engine that can stop between its steps (the tfjs engine, between
 *   batches). An epoch is abandoned part-way only when the checkpoint (if
 *   any) already holds the state it started from; otherwise it completes.
 *   With a checkpointer the state of the last completed epoch is saved
 *   (unless the checkpoint holds it already), so an interrupted run always
 *   leaves one to resume from. Training then stops with the best weights and
 *   `stoppedBy: "interrupted"`.
 * - `onEpoch` after every epoch, `onResume` once with the epochs a checkpoint
 *   brought, and on request the last epoch's predictions on the training rows
 *   (`lastEpochFit`).
 *
 * An engine ({@linkcode TrainingEngine}) runs epochs and holds the weights,
 * nothing more: the tfjs one (`tfjs.ts`) and the fused ones (`fused.ts`).
 *
 * @module
 */
import { checkMatrix, type Matrix, Prng } from "@alfred/core";
import type { LayersModel, Scalar, Tensor, TrainOptions } from "./spec.ts";
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

/** What a training returns (every engine, through {@linkcode runEpochs}); the model holds the best weights. */
export interface TrainResult {
  /** Every epoch trained, a resumed checkpoint's included. */
  history: EpochLog[];
  /** 1-based epoch whose weights were restored (0 when no epoch finished). */
  bestEpoch: number;
  /** Validation loss of the restored weights (`Infinity` when no epoch finished). */
  bestValLoss: number;
  /** Why training stopped. */
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
export type LossFn = (yTrue: Tensor, yPred: Tensor) => Scalar;

/** A tensor's values copied to the host. */
export interface HostTensor {
  /** The weight's or optimizer variable's name. */
  name: string;
  /** Its shape. */
  shape: number[];
  /** Its element type. */
  dtype: "float32" | "int32";
  /** Its values, row-major. */
  data: Float32Array | Int32Array;
}

/** Everything needed to continue a run exactly where it stopped. */
export interface TrainState {
  /** The format's version. */
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
  /**
   * The optimizer's state, as its engine names it: the tfjs engine's is
   * `optimizer.getWeights()` (Adam: the iteration count and each variable's
   * moments), a fused engine's Adam moments are two flat tensors
   * (`fused/adam/m`, `fused/adam/v`); empty with SGD.
   */
  optimizer: HostTensor[];
  /** Adam's running powers of beta1 and beta2 (restored bit-exactly). */
  adamPowers: [number, number] | null;
  /** The learning rate of the next epoch. */
  lr: number;
  /** The best epoch so far (0: none), its validation loss and its weights (null without one). */
  best: { epoch: number; valLoss: number; weights: HostTensor[] | null };
  /** Epochs since the last improvement (early stopping). */
  wait: number;
  /** Epochs since the last improvement or LR reduction (plateau). */
  lrWait: number;
  /** The shuffle PRNG's 32-bit state. */
  rng: number;
  /** The epochs trained. */
  history: EpochLog[];
}

/** Where checkpoints go; `load` returns `null` when there is none. */
export interface Checkpointer {
  /** Keeps `state`, replacing what was kept (its tensors may be views: read them before returning). */
  save(state: TrainState): Promise<void>;
  /** The state kept, or null when there is none. */
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

/** A training's arguments, the same for every engine (the fused ones take more). */
export interface TrainArgs {
  /** A compiled or uncompiled model with one output of width 1. */
  model: LayersModel;
  /** The training loss (the fused engines compute theirs from `lossConfig` instead). */
  loss: LossFn;
  /** The `train:` options. */
  train: TrainOptions;
  /** Seeds the shuffle order. */
  seed: number;
  /** The training rows. */
  x: Matrix;
  /** One label per row of `x`. */
  y: Float32Array;
  /** The validation rows (early stopping, the plateau and the best weights go by their loss). */
  xVal: Matrix;
  /** One label per row of `xVal`. */
  yVal: Float32Array;
  /** Called after every epoch. */
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
  /** Where the state is saved and resumed from (none: no checkpoints). */
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
 * Checks a training's arguments: the `train:` options, the checkpoint
 * schedule, and the data (consistent matrices, one label per row, neither set
 * empty, the same columns, `inputDim` of them when given).
 *
 * @param args the training's arguments
 * @param inputDim the columns the model takes, when the engine knows them
 * @throws {RangeError} naming the first problem
 */
export function checkTrainArgs(args: TrainArgs, inputDim?: number): void {
  const { train, x, y, xVal, yVal, checkpoint } = args;
  checkpointSchedule(checkpoint);
  checkOptions(train);
  checkMatrix("x", x, y, "y");
  checkMatrix("xVal", xVal, yVal, "yVal");
  if (x.rows === 0) throw new RangeError("Cannot train: the training set is empty");
  if (xVal.rows === 0) {
    throw new RangeError(
      "Cannot train: the validation set is empty (early stopping and best-weight restore need validation rows)",
    );
  }
  if (inputDim !== undefined && (xVal.cols !== x.cols || x.cols !== inputDim)) {
    throw new RangeError(
      `Column count mismatch: "x" has ${x.cols} columns, "xVal" ${xVal.cols}, the model expects ${inputDim}`,
    );
  }
  if (xVal.cols !== x.cols) {
    throw new RangeError(
      `Column count mismatch: "x" has ${x.cols} columns but "xVal" has ${xVal.cols}`,
    );
  }
}

/** An engine's part of a checkpoint: weights in `model.getWeights()` order, and its optimizer's state. */
export interface EngineSnapshot {
  /** The current weights. */
  weights: HostTensor[];
  /** The optimizer's state, in the engine's own names (see {@linkcode TrainState.optimizer}). */
  optimizer: HostTensor[];
  /** Adam's running powers of β1 and β2 after the last step (null with SGD). */
  adamPowers: [number, number] | null;
  /** The remembered best weights (null when not asked for, or none). */
  best: HostTensor[] | null;
}

/** The mean losses of one epoch. */
export interface EpochLosses {
  /** Mean training loss over the epoch's mini-batches, weighted by batch size. */
  loss: number;
  /** Loss on the whole validation set after the epoch. */
  valLoss: number;
}

/**
 * What the loop needs from an engine: it runs epochs and holds the weights
 * (current and best) and the optimizer's state; the loop decides everything
 * else. Built over one model and one training's data.
 */
export interface TrainingEngine {
  /** Which engine; a checkpoint's run signature names it (`tfjs` by leaving it out). */
  readonly name: "tfjs" | "fused";
  /**
   * Trains one epoch over the training rows in `order` at learning rate `lr`,
   * then computes the validation loss. It may yield to the event loop between
   * its steps.
   *
   * @param order a permutation of the training rows
   * @param lr the learning rate of the whole epoch
   * @param signal given only when the epoch may be abandoned part-way (the
   *   checkpoint, if any, holds the state it starts from): an engine that
   *   checks it between its steps returns null once it is aborted, and the
   *   loop stops without saving the partial epoch's weights
   * @returns the epoch's mean losses, or null when it was abandoned
   */
  epoch(order: Int32Array, lr: number, signal?: AbortSignal): Promise<EpochLosses | null>;
  /** Remembers the current weights as the best so far. */
  keepBest(): void;
  /**
   * The state a checkpoint keeps. Its tensors may be views into the engine's
   * memory, valid until the engine trains again.
   *
   * @param best include the remembered best weights
   * @returns the weights, the optimizer's state and, when asked, the best weights
   */
  snapshot(best: boolean): Promise<EngineSnapshot>;
  /**
   * Restores a checkpoint's state (the best weights when it has them).
   *
   * @param s what {@linkcode TrainingEngine.snapshot} gave, read back
   * @throws {RangeError} when it does not match the model or the optimizer
   */
  restore(s: EngineSnapshot): Promise<void>;
  /**
   * Writes the current (`last`) or the remembered best weights into the
   * model. The loop asks for `last` (if at all) before `best`.
   *
   * @param which the weights to write
   */
  toModel(which: "last" | "best"): Promise<void>;
  /** What ran the training, for the run record, or null where the backend says it all. */
  describe(): string | null;
  /** Releases what the engine holds; called once, also after an error. */
  dispose(): void;
}

/**
 * Trains with `engine` under the loop's policy (see the module's note): the
 * model ends holding the best weights. With `args.checkpoint` the state is
 * saved on its schedule, at the end and on an interrupt, and a saved state is
 * resumed exactly. The engine is disposed before this returns or throws.
 *
 * @param args the training's arguments (checked again here)
 * @param engine a freshly built engine over `args.model` and the data
 * @returns history, best epoch and validation loss, why training stopped,
 *   what the engine says ran it, and the last epoch's fit when asked for
 * @throws {RangeError} on invalid arguments, or a checkpoint of another run,
 *   model or engine
 * @example
 * ```ts
 * // trainModel is exactly this, with the tfjs engine:
 * checkTrainArgs(args);
 * const result = await runEpochs(args, new TfjsEngine(args));
 * ```
 */
export async function runEpochs(args: TrainArgs, engine: TrainingEngine): Promise<TrainResult> {
  const { model, train, seed, x, xVal, onEpoch, onResume, signal, checkpoint } = args;
  try {
    checkTrainArgs(args);
    const schedule = checkpointSchedule(checkpoint);
    const run: TrainState["run"] = {
      rows: x.rows,
      cols: x.cols,
      valRows: xVal.rows,
      seed,
      optimizer: train.optimizer,
      batchSize: train.batch_size,
      // A tfjs checkpoint leaves the engine out, as it did before the engines had names.
      ...(engine.name === "tfjs" ? {} : { engine: engine.name }),
    };
    const rng = new Prng(seed);
    const plateau: PlateauState = {
      lr: train.learning_rate,
      bestEpoch: 0,
      bestValLoss: Infinity,
      wait: 0,
      lrWait: 0,
    };
    let history: EpochLog[] = [];
    let epoch = 0;
    let finished: StopReason | null = null;

    const capture = async (): Promise<TrainState> => {
      const s = await engine.snapshot(plateau.bestEpoch > 0);
      return {
        version: 1,
        run,
        epoch,
        finished,
        weights: s.weights,
        optimizer: s.optimizer,
        adamPowers: s.adamPowers,
        lr: plateau.lr,
        best: { epoch: plateau.bestEpoch, valLoss: plateau.bestValLoss, weights: s.best },
        wait: plateau.wait,
        lrWait: plateau.lrWait,
        rng: rng.state,
        history: history.map((h) => ({ ...h })),
      };
    };

    const saved = checkpoint ? await checkpoint.load() : null;
    if (saved) {
      checkResumable(saved, run);
      await engine.restore({
        weights: saved.weights,
        optimizer: saved.optimizer,
        adamPowers: saved.adamPowers,
        best: saved.best.weights,
      });
      epoch = saved.epoch;
      finished = saved.finished;
      plateau.lr = saved.lr;
      plateau.bestEpoch = saved.best.epoch;
      plateau.bestValLoss = saved.best.valLoss ?? Infinity;
      plateau.wait = saved.wait;
      plateau.lrWait = saved.lrWait;
      rng.state = saved.rng >>> 0;
      history = saved.history.map((h) => ({ ...h }));
      schedule.loaded(epoch);
      onResume?.(history.map((h) => ({ ...h })));
    }

    let stoppedBy: StopReason = finished ?? "epochs";
    while (!finished) {
      if (epoch >= train.epochs) {
        stoppedBy = "epochs";
        break;
      }
      if (signal?.aborted) {
        stoppedBy = "interrupted";
        break;
      }
      const started = performance.now();
      const lr = plateau.lr;
      const order = rng.permutation(x.rows);
      // Abandoned part-way only where the checkpoint (if any) holds the state
      // this epoch starts from; else it completes, so that state can be saved.
      const abandonable = !checkpoint || schedule.holds(epoch);
      const losses = await engine.epoch(order, lr, abandonable ? signal : undefined);
      if (!losses) {
        stoppedBy = "interrupted";
        break;
      }
      epoch += 1;
      const log: EpochLog = {
        epoch,
        loss: losses.loss,
        valLoss: losses.valLoss,
        lr,
        seconds: (performance.now() - started) / 1000,
      };
      history.push(log);
      const step = plateauStep(plateau, epoch, log.valLoss, train);
      if (step.improved) engine.keepBest();
      finished = step.finished;
      onEpoch?.(log);
      if (schedule.due(epoch, finished !== null)) await schedule.save(await capture());
      if (finished) {
        stoppedBy = finished;
        break;
      }
      await yieldToEventLoop();
    }
    // The engine holds the last completed epoch (a partial epoch is only
    // abandoned when the checkpoint already holds its start): saved unless it is.
    if (stoppedBy === "interrupted" && checkpoint && !schedule.holds(epoch)) {
      await schedule.save(await capture());
    }
    let lastEpochTrain: Float32Array | undefined;
    if (
      args.lastEpochFit && stoppedBy !== "interrupted" && plateau.bestEpoch > 0 &&
      plateau.bestEpoch !== history.length
    ) {
      await engine.toModel("last");
      lastEpochTrain = await predict(model, x);
    }
    await engine.toModel(plateau.bestEpoch > 0 ? "best" : "last");
    const ran = engine.describe();
    return {
      history,
      bestEpoch: plateau.bestEpoch,
      bestValLoss: plateau.bestValLoss,
      stoppedBy,
      ...(ran ? { engine: ran } : {}),
      ...(lastEpochTrain ? { lastEpochTrain } : {}),
    };
  } finally {
    engine.dispose();
  }
}
