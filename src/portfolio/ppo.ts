/**
 * PPO (Schulman et al. 2017) over the same per-asset state as the EIIE policy. The actor is the
 * EIIE scorer: long-only actions are Dirichlet draws over the eligible assets and cash with
 * concentrations `exp(sᵢ + κ)` (their mean is the softmax the EIIE policy uses), long-short
 * actions are Gaussian draws `z ~ N(s, σ²)` mapped to `gross · tanh(z) / Σ|tanh(z)|`. A critic
 * (a second scorer, averaged over the eligible assets) estimates the state's value; advantages
 * are GAE over rollouts of the training decisions in time order, the reward of a step is its net
 * log return, the objective is clipped with an entropy bonus. Actions are sampled with the
 * seeded `Prng`; the evaluated policy acts at its mean.
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
  periodLogReturn,
  STATE_EXTRAS,
  stateFeatures,
} from "./environment.ts";
import {
  decideWith,
  named,
  newScorer,
  normals,
  type Scorer,
  scorerVariables,
  scores,
  stack,
  type TrainedPolicy,
} from "./eiie.ts";

/** PPO's settings. */
export interface PpoConfig {
  hidden: number;
  /** Rollout-and-update iterations (the bench's "epoch"). */
  iterations: number;
  /** Rollouts of the training decisions per iteration. */
  rollouts: number;
  /** Gradient steps on each iteration's batch. */
  update_epochs: number;
  learning_rate: number;
  clip: number;
  entropy: number;
  gamma: number;
  lambda: number;
}

/** ln Γ(x) for x > 0, differentiable: Stirling's series at x + 6, shifted back. */
export function lgamma(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const z = tf.add(x, 6);
    let shift = tf.log(x);
    for (let k = 1; k < 6; k++) shift = tf.add(shift, tf.log(tf.add(x, k)));
    const zi = tf.reciprocal(z);
    const zi2 = tf.square(zi);
    const series = tf.mul(zi, tf.sub(1 / 12, tf.mul(zi2, tf.sub(1 / 360, tf.mul(zi2, 1 / 1260)))));
    const stirling = tf.add(
      tf.sub(tf.mul(tf.sub(z, 0.5), tf.log(z)), z),
      tf.add(0.5 * Math.log(2 * Math.PI), series),
    );
    return tf.sub(stirling, shift);
  });
}

/** ψ(x) for x > 0, differentiable: the asymptotic series at x + 6, shifted back. */
export function digamma(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const z = tf.add(x, 6);
    let shift = tf.reciprocal(x);
    for (let k = 1; k < 6; k++) shift = tf.add(shift, tf.reciprocal(tf.add(x, k)));
    const zi = tf.reciprocal(z);
    const zi2 = tf.square(zi);
    const series = tf.mul(zi2, tf.sub(1 / 12, tf.mul(zi2, tf.sub(1 / 120, tf.mul(zi2, 1 / 252)))));
    return tf.sub(tf.sub(tf.sub(tf.log(z), tf.mul(zi, 0.5)), series), shift);
  });
}

/**
 * The Dirichlet's log-density of actions and its entropy, per row, over the components where
 * `mask` is 1 (the others take no part): `log p = ln Γ(α₀) − Σ ln Γ(αᵢ) + Σ (αᵢ − 1) ln xᵢ` and
 * `H = Σ ln Γ(αᵢ) − ln Γ(α₀) + (α₀ − K) ψ(α₀) − Σ (αᵢ − 1) ψ(αᵢ)`, with `α₀ = Σ αᵢ` and `K` the
 * components counted. Differentiable in `alpha`.
 *
 * @param alpha concentrations, [rows, components], positive
 * @param action points of the simplex, [rows, components] (floored at 1e-30 inside the log)
 * @param mask 1 where a component counts, [rows, components]
 * @returns `logp` and `entropy`, each [rows]
 * @example
 * ```ts
 * const ones = tf.ones([1, 3]) as tf.Tensor2D;
 * dirichlet(ones, tf.fill([1, 3], 1 / 3) as tf.Tensor2D, ones).logp; // [ln 2]: uniform on the simplex
 * ```
 */
export function dirichlet(
  alpha: tf.Tensor2D,
  action: tf.Tensor2D,
  mask: tf.Tensor2D,
): { logp: tf.Tensor1D; entropy: tf.Tensor1D } {
  const alpha0 = tf.sum(tf.mul(alpha, mask), 1);
  const lg = tf.sum(tf.mul(lgamma(alpha), mask), 1);
  const logp = tf.add(
    tf.sub(lgamma(alpha0), lg),
    tf.sum(tf.mul(tf.mul(tf.sub(alpha, 1), tf.log(tf.maximum(action, 1e-30))), mask), 1),
  ) as tf.Tensor1D;
  const k = tf.sum(mask, 1);
  const entropy = tf.sub(
    tf.add(tf.sub(lg, lgamma(alpha0)), tf.mul(tf.sub(alpha0, k), digamma(alpha0))),
    tf.sum(tf.mul(tf.mul(tf.sub(alpha, 1), digamma(alpha)), mask), 1),
  ) as tf.Tensor1D;
  return { logp, entropy };
}

/** A Gamma(α, 1) draw (Marsaglia and Tsang; α < 1 boosted by U^(1/α)). */
function gamma(prng: Prng, alpha: number): number {
  if (alpha < 1) return gamma(prng, alpha + 1) * Math.pow(Math.max(prng.next(), 1e-300), 1 / alpha);
  const d = alpha - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const u1 = Math.max(prng.next(), 1e-300), u2 = prng.next();
    const x = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = Math.max(prng.next(), 1e-300);
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** The actor's distribution parameters and the critic's value for a batch of states. */
interface Heads {
  /** Long-only: log concentrations [periods, assets + 1] (cash last); long-short: means [periods, assets]. */
  location: tf.Tensor2D;
  value: tf.Tensor1D;
}

/**
 * Trains PPO on decisions whose outcomes are known.
 *
 * @param known the training decisions, in time order
 * @param options analysts, environment, settings and seed
 * @returns the trained policy (acting at its mean)
 */
export function trainPpo(
  known: readonly Decision[],
  options: { analysts: number; env: EnvironmentConfig; config: PpoConfig; seed: number },
): TrainedPolicy {
  const { analysts, env, config } = options;
  const f = analysts + STATE_EXTRAS.length;
  const prng = new Prng(options.seed);
  const actor = newScorer(f, config.hidden, prng, "ppo.actor");
  const critic = newScorer(f, config.hidden, prng, "ppo.critic");
  // Long-only: concentration offset κ (α = exp(s + κ)); long-short: log σ of the Gaussian.
  const spread = tf.variable(tf.scalar(env.long_only ? Math.log(10) : Math.log(0.5)), true);
  const rate = costRate(env);
  const history: number[] = [];
  const t0 = performance.now();

  const heads = (x: tf.Tensor3D, mask: tf.Tensor2D): Heads => {
    const s = tf.clipByValue(scores(actor, x), -8, 8) as tf.Tensor2D;
    const [t] = s.shape;
    const v = scores(critic, x);
    const value = tf.div(tf.sum(tf.mul(v, mask), 1), tf.maximum(tf.sum(mask, 1), 1)) as tf.Tensor1D;
    if (!env.long_only) return { location: s, value };
    const cash = tf.mul(tf.ones([t, 1]), tf.clipByValue(actor.cash, -8, 8));
    return {
      location: tf.concat([s, cash], 1) as tf.Tensor2D,
      value: value.reshape([t]) as tf.Tensor1D,
    };
  };

  /** Log-probability of actions and the entropy, per period. */
  const logProb = (location: tf.Tensor2D, action: tf.Tensor2D, mask: tf.Tensor2D) => {
    if (env.long_only) {
      return dirichlet(tf.exp(tf.add(location, spread)) as tf.Tensor2D, action, mask);
    }
    const sigma = tf.exp(spread);
    const zscore = tf.div(tf.sub(action, location), sigma);
    const per = tf.add(
      tf.mul(tf.square(zscore), -0.5),
      tf.sub(-0.5 * Math.log(2 * Math.PI), spread),
    );
    const logp = tf.sum(tf.mul(per, mask), 1);
    const entropy = tf.mul(tf.sum(mask, 1), tf.add(spread, 0.5 * Math.log(2 * Math.PI * Math.E)));
    return { logp, entropy };
  };

  /** Weights of an action (Dirichlet draw incl. cash, or Gaussian z). */
  const actionWeights = (action: Float64Array, eligible: Uint8Array): Float64Array => {
    const n = eligible.length;
    if (env.long_only) return action.slice(0, n);
    const u = Float64Array.from(eligible, (e, i) => (e ? Math.tanh(action[i]) : 0));
    const g = u.reduce((s, x) => s + Math.abs(x), 0) + 1e-6;
    return u.map((x) => (x / g) * env.gross_leverage);
  };

  /**
   * The actor's and critic's heads for one state, in plain JavaScript from the variables' values
   * now (rollouts take a step at a time; the same arithmetic as `heads`).
   */
  const snapshot = () => {
    const a = readScorer(actor), c = readScorer(critic);
    return (x: Float32Array, eligible: Uint8Array) => {
      const n = eligible.length;
      const sa = scoreRows(a, x, n, f), sc = scoreRows(c, x, n, f);
      let value = 0, count = 0;
      for (let i = 0; i < n; i++) {
        sa[i] = Math.max(-8, Math.min(8, sa[i]));
        if (eligible[i]) (value += sc[i]), count++;
      }
      const loc = env.long_only
        ? Float64Array.from([...sa, Math.max(-8, Math.min(8, a.cash))])
        : sa;
      return { loc, value: count > 0 ? value / count : 0 };
    };
  };

  if (known.length > 1) {
    const n = known[0].eligible.length;
    const width = env.long_only ? n + 1 : n;
    const optimizer = tf.train.adam(config.learning_rate);
    const maskOf = (d: Decision) =>
      env.long_only ? Float32Array.from([...d.eligible, 1]) : Float32Array.from(d.eligible);
    for (let it = 0; it < config.iterations; it++) {
      const states: Float32Array[] = [], actions: Float32Array[] = [], masks: Float32Array[] = [];
      const rewards: number[] = [], values: number[] = [];
      const ends: boolean[] = [];
      const forward = snapshot();
      const spreadNow = spread.dataSync()[0];
      for (let r = 0; r < config.rollouts; r++) {
        let last: Float64Array | null = null;
        known.forEach((d, k) => {
          const held = last ? drift(last, d.sinceLastFill) : new Float64Array(n);
          const previous = last ? drift(last, known[k - 1].returns) : new Float64Array(n);
          const x = stateFeatures(d, held, analysts);
          const mask = maskOf(d);
          const { loc, value } = forward(x, d.eligible);
          const action = new Float64Array(width);
          if (env.long_only) {
            const kappa = spreadNow;
            let s = 0;
            for (let i = 0; i < width; i++) {
              if (!mask[i]) continue;
              action[i] = Math.max(gamma(prng, Math.exp(loc[i] + kappa)), 1e-30);
              s += action[i];
            }
            for (let i = 0; i < width; i++) action[i] /= s;
          } else {
            const sigma = Math.exp(spreadNow);
            const eps = normals(prng, width, 1);
            for (let i = 0; i < width; i++) action[i] = mask[i] ? loc[i] + sigma * eps[i] : 0;
          }
          const w = actionWeights(action, d.eligible);
          const reward = periodLogReturn(w, previous, d.returns, rate);
          states.push(x);
          actions.push(Float32Array.from(action));
          masks.push(mask);
          rewards.push(Number.isFinite(reward) ? reward : Math.log(1e-6));
          values.push(value);
          ends.push(k === known.length - 1);
          last = w;
        });
      }
      // GAE over each rollout (values after the last step are 0).
      const m = rewards.length;
      const adv = new Float64Array(m);
      let next = 0, gae = 0;
      for (let i = m - 1; i >= 0; i--) {
        if (ends[i]) {
          next = 0;
          gae = 0;
        }
        const delta = rewards[i] + config.gamma * next - values[i];
        gae = delta + config.gamma * config.lambda * gae;
        adv[i] = gae;
        next = values[i];
      }
      const target = Float32Array.from(adv, (a, i) => a + values[i]);
      const am = adv.reduce((s, a) => s + a, 0) / m;
      const as = Math.sqrt(adv.reduce((s, a) => s + (a - am) ** 2, 0) / m) + 1e-8;
      const x = tf.tensor3d(stack(states, n * f), [m, n, f]);
      const action = tf.tensor2d(stack(actions, width), [m, width]);
      const mask = tf.tensor2d(stack(masks, width), [m, width]);
      const assetMask = mask.slice([0, 0], [m, n]) as tf.Tensor2D;
      const advantage = tf.tensor1d(Float32Array.from(adv, (a) => (a - am) / as));
      const returns = tf.tensor1d(target);
      const old = tf.tidy(() => logProb(heads(x, assetMask).location, action, mask).logp);
      const vars = [...scorerVariables(actor), ...scorerVariables(critic), spread];
      for (let e = 0; e < config.update_epochs; e++) {
        const { grads, value } = tf.variableGrads(() => {
          const h = heads(x, assetMask);
          const { logp, entropy } = logProb(h.location, action, mask);
          const ratio = tf.exp(tf.sub(logp, old));
          const clipped = tf.clipByValue(ratio, 1 - config.clip, 1 + config.clip);
          const surrogate = tf.mean(
            tf.minimum(tf.mul(ratio, advantage), tf.mul(clipped, advantage)),
          );
          const valueLoss = tf.mean(tf.square(tf.sub(h.value, returns)));
          return tf.add(
            tf.sub(tf.mul(valueLoss, 0.5), surrogate),
            tf.mul(tf.mean(entropy), -config.entropy),
          ) as tf.Scalar;
        }, vars);
        optimizer.applyGradients(named(grads));
        tf.dispose([value, ...Object.values(grads)]);
      }
      tf.dispose([x, action, mask, assetMask, advantage, returns, old]);
      history.push(rewards.reduce((s, r) => s + r, 0) / m);
    }
    optimizer.dispose();
  }
  const secondsPerEpoch = config.iterations > 0
    ? (performance.now() - t0) / 1000 / config.iterations
    : 0;
  return {
    decide: (d, held) => decideWith(actor, d, held, analysts, env),
    history,
    secondsPerEpoch,
    dispose: () => tf.dispose([...scorerVariables(actor), ...scorerVariables(critic), spread]),
  };
}

/** A scorer's values, read once. */
interface ScorerValues {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  v: Float32Array;
  b2: number;
  cash: number;
  hidden: number;
}

function readScorer(s: Scorer): ScorerValues {
  return {
    w1: s.w1.dataSync() as Float32Array,
    b1: s.b1.dataSync() as Float32Array,
    w2: s.w2.dataSync() as Float32Array,
    v: s.v.dataSync() as Float32Array,
    b2: s.b2.dataSync()[0],
    cash: s.cash.dataSync()[0],
    hidden: s.b1.shape[0],
  };
}

/** `tanh(X·W1 + b1)·w2 + X·v + b2` per asset row of x (n × f). */
function scoreRows(p: ScorerValues, x: Float32Array, n: number, f: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = p.b2;
    for (let k = 0; k < f; k++) s += x[i * f + k] * p.v[k];
    for (let h = 0; h < p.hidden; h++) {
      let z = p.b1[h];
      for (let k = 0; k < f; k++) z += x[i * f + k] * p.w1[k * p.hidden + h];
      s += Math.tanh(z) * p.w2[h];
    }
    out[i] = s;
  }
  return out;
}
