/**
 * The tfjs engine ({@linkcode trainModel}): trains a tfjs model with tfjs ops
 * (not `model.fit`) on whatever backend is active, one more engine behind the
 * epoch loop (`loop.ts`), which owns the policy: shuffles, early stopping, the
 * learning-rate plateau, checkpoints, interrupts.
 *
 * - The training and validation data are uploaded to the backend once; each
 *   epoch uploads its row order once and gathers each mini-batch on the
 *   backend.
 * - `optimizer.minimize` returns each batch's cost as a tensor; the epoch's
 *   loss is accumulated on the backend and read to the host once per epoch,
 *   together with the validation loss (no per-batch host round trip).
 * - Every intermediate tensor is disposed: `tf.memory().numTensors` is the
 *   same after every epoch, and after `trainModel` returns it is what it was
 *   before the call.
 * - Adam or SGD; when the loop lowers the learning rate the optimizer's is
 *   changed in place. The best weights are kept as a copy on the backend.
 * - Between batches it yields to the event loop every 100 ms, so timers and
 *   a Ctrl-C handler run, and stops part-way when the loop lets it (the
 *   checkpoint, if any, holds the epoch's start).
 * - Its checkpoints hold the optimizer's own `getWeights()` (Adam: the
 *   iteration count and the moments of each variable) and Adam's β powers.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  checkTrainArgs,
  type EngineSnapshot,
  type EpochLosses,
  type HostTensor,
  runEpochs,
  type TrainArgs,
  type TrainingEngine,
  type TrainResult,
} from "./loop.ts";

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
  if ("setLearningRate" in optimizer && typeof optimizer.setLearningRate === "function") {
    optimizer.setLearningRate(lr);
  } else {
    Object.assign(optimizer, { learningRate: lr });
  }
}

interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

function isAdam(o: tf.Optimizer): o is tf.Optimizer & AdamInternals {
  return "accBeta1" in o && o.accBeta1 instanceof tf.Variable && "accBeta2" in o &&
    o.accBeta2 instanceof tf.Variable;
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

/** Yield to the event loop so timers and signal handlers (Ctrl-C) can run. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Milliseconds of training between yields to the event loop. */
const YIELD_MS = 100;

/** The tfjs engine over one model and one training's data (uploaded when built). */
class TfjsEngine implements TrainingEngine {
  readonly name = "tfjs" as const;
  readonly #args: TrainArgs;
  readonly #batchSize: number;
  readonly #vars: tf.Variable[];
  readonly #xT: tf.Tensor2D;
  readonly #yT: tf.Tensor2D;
  readonly #xValT: tf.Tensor2D;
  readonly #yValT: tf.Tensor2D;
  readonly #optimizer: tf.Optimizer;
  /** The optimizer's learning rate now. */
  #lr: number;
  #best: tf.Tensor[] | null = null;
  #lastYield = performance.now();

  constructor(args: TrainArgs) {
    const { model, train, x, y, xVal, yVal } = args;
    this.#args = args;
    this.#batchSize = Math.min(train.batch_size, x.rows);
    this.#vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.#xT = tf.tensor2d(x.data, [x.rows, x.cols]);
    this.#yT = tf.tensor2d(y, [y.length, 1]);
    this.#xValT = tf.tensor2d(xVal.data, [xVal.rows, xVal.cols]);
    this.#yValT = tf.tensor2d(yVal, [yVal.length, 1]);
    this.#lr = train.learning_rate;
    this.#optimizer = makeOptimizer(train.optimizer, this.#lr);
  }

  /** The validation loss, in chunks of at least 1024 rows. */
  #validationLoss(): tf.Scalar {
    const { model, loss, xVal } = this.#args;
    const chunk = Math.max(this.#batchSize, 1024);
    return tf.tidy(() => {
      const parts: tf.Tensor[] = [];
      for (let s = 0; s < xVal.rows; s += chunk) {
        const xs = this.#xValT.slice([s, 0], [Math.min(chunk, xVal.rows - s), xVal.cols]);
        parts.push(model.apply(xs, { training: false }) as tf.Tensor);
      }
      const pred = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
      return loss(this.#yValT, pred.reshape([xVal.rows, 1]));
    });
  }

  async epoch(order: Int32Array, lr: number, signal?: AbortSignal): Promise<EpochLosses | null> {
    const { model, loss } = this.#args;
    if (lr !== this.#lr) {
      this.#lr = lr;
      setLearningRate(this.#optimizer, lr);
    }
    const n = order.length;
    const batchSize = this.#batchSize;
    this.#lastYield = performance.now();
    const perm = tf.tensor1d(order, "int32");
    let sum: tf.Tensor = tf.scalar(0);
    try {
      for (let b = 0; b < n; b += batchSize) {
        // The loop passes the signal only where the epoch may be abandoned.
        if (signal?.aborted) return null;
        const size = Math.min(batchSize, n - b);
        const cost = tf.tidy(() => {
          const idx = perm.slice(b, size);
          const xb = tf.gather(this.#xT, idx);
          const yb = tf.gather(this.#yT, idx);
          return this.#optimizer.minimize(
            () => loss(yb, model.apply(xb, { training: true }) as tf.Tensor),
            true,
            this.#vars,
          ) as tf.Scalar;
        });
        const next = tf.tidy(() => tf.add(sum, tf.mul(cost, size)));
        sum.dispose();
        cost.dispose();
        sum = next;
        if (performance.now() - this.#lastYield > YIELD_MS) {
          await yieldToEventLoop();
          this.#lastYield = performance.now();
        }
      }
      const both = tf.tidy(() => tf.stack([tf.div(sum, n), this.#validationLoss()]));
      const [trainLoss, valLoss] = await both.data();
      both.dispose();
      return { loss: trainLoss, valLoss };
    } finally {
      perm.dispose();
      sum.dispose();
    }
  }

  keepBest(): void {
    if (this.#best) tf.dispose(this.#best);
    this.#best = this.#args.model.getWeights().map((w) => tf.clone(w));
  }

  async snapshot(best: boolean): Promise<EngineSnapshot> {
    const { model } = this.#args;
    const optimizer = this.#optimizer;
    const optWeights = await optimizer.getWeights();
    const optHost = await Promise.all(optWeights.map((w) => toHost(w.name, w.tensor)));
    // getWeights() creates the iteration counter scalar; the moments are the optimizer's own.
    optWeights.filter((w) => w.name === "iter").forEach((w) => w.tensor.dispose());
    let adamPowers: [number, number] | null = null;
    if (isAdam(optimizer)) {
      adamPowers = [(await optimizer.accBeta1.data())[0], (await optimizer.accBeta2.data())[0]];
    }
    return {
      weights: await weightsToHost(model.getWeights(), model),
      optimizer: optHost,
      adamPowers,
      best: best && this.#best ? await weightsToHost(this.#best, model) : null,
    };
  }

  async restore(s: EngineSnapshot): Promise<void> {
    const { model } = this.#args;
    const optimizer = this.#optimizer;
    setModelWeights(model, s.weights);
    if (s.optimizer.length > 0) {
      const named = s.optimizer.map((h) => ({ name: h.name, tensor: fromHost(h) }));
      await optimizer.setWeights(named);
      tf.dispose(named.map((w) => w.tensor));
    }
    if (s.adamPowers && isAdam(optimizer)) {
      const [p1, p2] = s.adamPowers;
      tf.tidy(() => {
        optimizer.accBeta1.assign(tf.scalar(p1));
        optimizer.accBeta2.assign(tf.scalar(p2));
      });
    }
    if (s.best) {
      if (s.best.length !== model.weights.length) {
        throw new RangeError(
          `Checkpoint does not match the model: best weights have ${s.best.length} tensors, the model ${model.weights.length}`,
        );
      }
      this.#best = s.best.map(fromHost);
    }
  }

  toModel(which: "last" | "best"): Promise<void> {
    // The model trains in place: it holds the last epoch's weights already.
    if (which === "best" && this.#best) this.#args.model.setWeights(this.#best);
    return Promise.resolve();
  }

  describe(): string | null {
    return null;
  }

  dispose(): void {
    if (this.#best) tf.dispose(this.#best);
    this.#best = null;
    tf.dispose([this.#xT, this.#yT, this.#xValT, this.#yValT]);
    this.#optimizer.dispose();
  }
}

/**
 * Trains `model` in place with tfjs ops on the active backend and returns the
 * per-epoch history; the model ends holding the weights of the epoch with the
 * lowest validation loss. The policy is the epoch loop's ({@linkcode runEpochs}).
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
  checkTrainArgs(args);
  return await runEpochs(args, new TfjsEngine(args));
}
