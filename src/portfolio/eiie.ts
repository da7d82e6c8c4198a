/**
 * The differentiable policy in the manner of EIIE (Jiang, Xu and Liang 2017): one small network
 * scores every asset from its own state (the analysts' signals, trailing return and volatility,
 * the weight held), shared across assets; long-only weights are a softmax over the scores and a
 * learned cash score, long-short weights are the scores' tanh normalized to the gross leverage.
 * It is trained by gradient ascent (Adam, full batch, tfjs autodiff) on the mean log return net
 * of the rebalancing cost `c·Σ|w − w̃|`, with the previous weights `w̃` read from a portfolio
 * vector memory: the weights of the last epoch, drifted by the periods' moves (held constant in
 * the gradient, as EIIE does).
 *
 * Initial parameters come from the seeded `Prng`, so a seed gives the same policy on a backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Prng } from "@alfred/core";
import {
  costRate,
  type Decision,
  drift,
  type EnvironmentConfig,
  STATE_EXTRAS,
  stateFeatures,
} from "./environment.ts";

/** How the policy network is shaped and trained. */
export interface PolicyTrainConfig {
  /** Hidden units of the per-asset scorer. */
  hidden: number;
  /** Full-batch gradient steps per training. */
  epochs: number;
  learning_rate: number;
  /** L2 penalty on the network's weights. */
  l2: number;
}

/** A trained policy: weights for a decision, given what is held at its close. */
export interface TrainedPolicy {
  decide(d: Decision, held: ArrayLike<number>): Float64Array;
  /** Mean net log return per period over the training decisions, after each epoch. */
  history: number[];
  /** Seconds per epoch. */
  secondsPerEpoch: number;
  /** Frees the network's tensors. */
  dispose(): void;
}

/** Draws from N(0, scale²) with the seeded generator (Box–Muller). */
export function normals(prng: Prng, count: number, scale: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = Math.max(prng.next(), 1e-12), v = prng.next();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/** The per-asset scorer's variables. */
export interface Scorer {
  w1: tf.Variable;
  b1: tf.Variable;
  w2: tf.Variable;
  v: tf.Variable;
  b2: tf.Variable;
  /** Long-only: the cash score. */
  cash: tf.Variable;
}

/**
 * A fresh scorer with seeded initial weights.
 *
 * @param features state features per asset
 * @param hidden hidden units
 * @param prng the generator
 * @param prefix variable name prefix (distinct per network)
 * @returns its variables
 */
export function newScorer(features: number, hidden: number, prng: Prng, prefix: string): Scorer {
  const v = (x: tf.Tensor, name: string) => tf.variable(x, true, `${prefix}.${name}.${nextId++}`);
  return {
    w1: v(
      tf.tensor2d(normals(prng, features * hidden, 1 / Math.sqrt(features)), [features, hidden]),
      "w1",
    ),
    b1: v(tf.zeros([hidden]), "b1"),
    w2: v(tf.tensor2d(normals(prng, hidden, 0.1 / Math.sqrt(hidden)), [hidden, 1]), "w2"),
    v: v(tf.tensor2d(normals(prng, features, 0.01), [features, 1]), "v"),
    b2: v(tf.zeros([1]), "b2"),
    cash: v(tf.zeros([1]), "cash"),
  };
}
let nextId = 0;

/** Every variable of a scorer. */
export function scorerVariables(s: Scorer): tf.Variable[] {
  return [s.w1, s.b1, s.w2, s.v, s.b2, s.cash];
}

/**
 * Per-asset scores of a batch of states: `tanh(X·W1 + b1)·w2 + X·v + b2`.
 *
 * @param s the scorer
 * @param x states, [periods, assets, features]
 * @returns scores, [periods, assets]
 */
export function scores(s: Scorer, x: tf.Tensor3D): tf.Tensor2D {
  const [t, n, f] = x.shape;
  const flat = x.reshape([t * n, f]) as tf.Tensor2D;
  const h = tf.tanh(tf.add(tf.matMul(flat, s.w1), s.b1)) as tf.Tensor2D;
  return tf.add(tf.add(tf.matMul(h, s.w2), tf.matMul(flat, s.v)), s.b2).reshape([t, n]);
}

/**
 * Weights from scores: long-only, a softmax over the eligible assets' scores and the cash score
 * (cash is what is left); long-short, `gross · tanh(s) / Σ|tanh(s)|` over the eligible assets.
 *
 * @param s the scorer (its cash score)
 * @param score scores, [periods, assets]
 * @param mask 1 where eligible, [periods, assets]
 * @param env long_only and gross_leverage
 * @returns weights, [periods, assets]
 */
export function weightsOf(
  s: Scorer,
  score: tf.Tensor2D,
  mask: tf.Tensor2D,
  env: Pick<EnvironmentConfig, "long_only" | "gross_leverage">,
): tf.Tensor2D {
  const [t] = score.shape;
  if (env.long_only) {
    const masked = tf.where(tf.greater(mask, 0.5), score, tf.fill(score.shape, -1e9));
    const cash = tf.mul(tf.ones([t, 1]), s.cash);
    const p = tf.softmax(tf.concat([masked, cash], 1));
    return p.slice([0, 0], [t, score.shape[1]]) as tf.Tensor2D;
  }
  const u = tf.mul(tf.tanh(score), mask);
  const gross = tf.add(tf.sum(tf.abs(u), 1, true), 1e-6);
  return tf.mul(tf.div(u, gross), env.gross_leverage) as tf.Tensor2D;
}

/** The training batch of a set of decisions, as constant tensors. */
export interface Batch {
  t: number;
  n: number;
  f: number;
  mask: tf.Tensor2D;
  returns: tf.Tensor2D;
}

/**
 * The portfolio vector memory's previous weights: per decision, the weights before it drifted
 * to its signal close (for the state) and to its fill (for the cost).
 *
 * @param decisions the training decisions, in time order
 * @param weights each decision's weights (the memory)
 * @returns the held weights at each signal close and at each fill
 */
export function heldWeights(
  decisions: readonly Decision[],
  weights: readonly Float64Array[],
): { atSignal: Float64Array[]; atFill: Float64Array[] } {
  const n = decisions[0]?.eligible.length ?? 0;
  const atSignal: Float64Array[] = [];
  const atFill: Float64Array[] = [];
  decisions.forEach((d, k) => {
    if (k === 0) {
      atSignal.push(new Float64Array(n));
      atFill.push(new Float64Array(n));
      return;
    }
    atSignal.push(drift(weights[k - 1], d.sinceLastFill));
    atFill.push(drift(weights[k - 1], decisions[k - 1].returns));
  });
  return { atSignal, atFill };
}

/** Stacks per-decision arrays into one [periods × width] Float32Array. */
export function stack(rows: readonly ArrayLike<number>[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, k) => {
    for (let i = 0; i < width; i++) out[k * width + i] = r[i];
  });
  return out;
}

/**
 * Net log return per period of weights, differentiable: `log(1 + w·r − c·Σ|w − w̃|)`, growth
 * floored at 1e-6.
 *
 * @param w weights [periods, assets]
 * @param returns moves [periods, assets]
 * @param previous drifted previous weights [periods, assets]
 * @param rate cost per unit traded
 * @returns [periods]
 */
export function netLogReturns(
  w: tf.Tensor2D,
  returns: tf.Tensor2D,
  previous: tf.Tensor2D,
  rate: number,
): tf.Tensor1D {
  const gain = tf.sum(tf.mul(w, returns), 1);
  const cost = tf.mul(tf.sum(tf.abs(tf.sub(w, previous)), 1), rate);
  return tf.log(tf.maximum(tf.add(tf.sub(gain, cost), 1), 1e-6)) as tf.Tensor1D;
}

/**
 * Trains the EIIE-style policy on decisions whose outcomes are known.
 *
 * @param known the training decisions, in time order (at least one)
 * @param options analysts, environment, training settings and seed
 * @returns the trained policy
 */
export function trainEiie(
  known: readonly Decision[],
  options: {
    analysts: number;
    env: EnvironmentConfig;
    config: PolicyTrainConfig;
    seed: number;
  },
): TrainedPolicy {
  const { analysts, env, config } = options;
  const f = analysts + STATE_EXTRAS.length;
  const prng = new Prng(options.seed);
  const scorer = newScorer(f, config.hidden, prng, "eiie");
  const rate = costRate(env);
  const history: number[] = [];
  const t0 = performance.now();
  if (known.length > 0) {
    const n = known[0].eligible.length;
    const t = known.length;
    const mask = tf.tensor2d(stack(known.map((d) => d.eligible), n), [t, n]);
    const returns = tf.tensor2d(stack(known.map((d) => d.returns), n), [t, n]);
    const optimizer = tf.train.adam(config.learning_rate);
    let memory: Float64Array[] = known.map(() => new Float64Array(n));
    const vars = scorerVariables(scorer);
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      const held = heldWeights(known, memory);
      const x = tf.tensor3d(
        stack(known.map((d, k) => stateFeatures(d, held.atSignal[k], analysts)), n * f),
        [t, n, f],
      );
      const previous = tf.tensor2d(stack(held.atFill, n), [t, n]);
      const { value, grads } = tf.variableGrads(() => {
        const w = weightsOf(scorer, scores(scorer, x), mask, env);
        const objective = tf.mean(netLogReturns(w, returns, previous, rate));
        const penalty = tf.mul(
          tf.add(tf.sum(tf.square(scorer.w1)), tf.sum(tf.square(scorer.w2))),
          config.l2,
        );
        return tf.sub(penalty, objective) as tf.Scalar;
      }, vars);
      optimizer.applyGradients(named(grads));
      const w = tf.tidy(() => weightsOf(scorer, scores(scorer, x), mask, env));
      const flat = w.dataSync();
      memory = known.map((_, k) => Float64Array.from(flat.subarray(k * n, (k + 1) * n)));
      history.push(-value.dataSync()[0]);
      tf.dispose([x, previous, value, w, ...Object.values(grads)]);
    }
    optimizer.dispose();
    tf.dispose([mask, returns]);
  }
  const secondsPerEpoch = config.epochs > 0 ? (performance.now() - t0) / 1000 / config.epochs : 0;
  return {
    decide: (d, held) => decideWith(scorer, d, held, analysts, env),
    history,
    secondsPerEpoch,
    dispose: () => tf.dispose(scorerVariables(scorer)),
  };
}

/** The gradients of `variableGrads` as the optimizer takes them. */
export function named(grads: tf.NamedTensorMap): { name: string; tensor: tf.Tensor }[] {
  return Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
}

/**
 * A scorer's weights for one decision (the policy's deterministic action).
 *
 * @param scorer the scorer
 * @param d the decision
 * @param held the weights held at its close
 * @param analysts how many analysts
 * @param env long_only and gross_leverage
 * @returns one weight per asset
 */
export function decideWith(
  scorer: Scorer,
  d: Decision,
  held: ArrayLike<number>,
  analysts: number,
  env: Pick<EnvironmentConfig, "long_only" | "gross_leverage">,
): Float64Array {
  const n = d.eligible.length;
  const f = analysts + STATE_EXTRAS.length;
  const w = tf.tidy(() => {
    const x = tf.tensor3d(stateFeatures(d, held, analysts), [1, n, f]);
    const mask = tf.tensor2d(Float32Array.from(d.eligible), [1, n]);
    return weightsOf(scorer, scores(scorer, x), mask, env);
  });
  const out = Float64Array.from(w.dataSync());
  w.dispose();
  return out;
}
