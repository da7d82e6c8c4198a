/**
 * The elementwise kernels of the fused CPU engine ({@link ./fused_cpu.ts}),
 * plain loops over `Float32Array`s: activations and their derivatives, the
 * losses with the gradients tfjs's autodiff produces, bias gradients, batch
 * normalization and the optimizer updates. They mirror the WGSL of
 * {@link ./wgsl.ts} term by term; the optimizer kernels also run in the
 * engine's worker threads ({@link ./cpu_pool.ts}) over disjoint ranges.
 *
 * @module
 */
import { BCE_EPSILON, type LossSpec } from "./spec.ts";
import { BATCH_NORM, type FusedActivation } from "./wgsl.ts";

/**
 * `H = act(H + bias)` in place over `rows × n` (the bias read from `p` at `bOff`).
 *
 * @param h the layer's matmul output, overwritten by its activation
 * @param rows rows
 * @param n columns
 * @param p the flat parameters
 * @param bOff offset of the bias in `p`
 * @param activation the activation
 */
export function biasActivation(
  h: Float32Array,
  rows: number,
  n: number,
  p: Float32Array,
  bOff: number,
  activation: FusedActivation,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    for (let c = 0; c < n; c++) h[o + c] += p[bOff + c];
  }
  activate(h, rows * n, activation);
}

/**
 * Applies an activation in place to the first `len` values.
 *
 * @param h values, overwritten
 * @param len how many
 * @param a the activation
 */
export function activate(h: Float32Array, len: number, a: FusedActivation): void {
  switch (a) {
    case "relu":
      for (let i = 0; i < len; i++) if (!(h[i] > 0)) h[i] = 0;
      return;
    case "tanh":
      for (let i = 0; i < len; i++) h[i] = Math.tanh(h[i]);
      return;
    case "sigmoid":
      for (let i = 0; i < len; i++) h[i] = 1 / (1 + Math.exp(-h[i]));
      return;
    case "linear":
      return;
    case "elu":
      for (let i = 0; i < len; i++) if (!(h[i] > 0)) h[i] = Math.exp(h[i]) - 1;
      return;
  }
}

/**
 * `D ⊙= act'(H)` over the first `len` values, the derivative taken through
 * the activation's output `H`.
 *
 * @param d gradients, multiplied in place
 * @param h the activation's outputs
 * @param len how many
 * @param a the activation
 */
export function derivativeMul(
  d: Float32Array,
  h: Float32Array,
  len: number,
  a: FusedActivation,
): void {
  switch (a) {
    case "relu":
      for (let i = 0; i < len; i++) if (!(h[i] > 0)) d[i] = 0;
      return;
    case "tanh":
      for (let i = 0; i < len; i++) d[i] *= 1 - h[i] * h[i];
      return;
    case "sigmoid":
      for (let i = 0; i < len; i++) d[i] *= h[i] * (1 - h[i]);
      return;
    case "linear":
      return;
    case "elu":
      for (let i = 0; i < len; i++) if (!(h[i] >= 0)) d[i] *= h[i] + 1;
      return;
  }
}

/**
 * `G[off + c] = Σ_r D[r·n + c]`: the bias gradient.
 *
 * @param d the pre-activation gradient (rows × n)
 * @param rows rows
 * @param n columns
 * @param g the flat gradients
 * @param off where the bias gradient goes
 */
export function columnSums(
  d: Float32Array,
  rows: number,
  n: number,
  g: Float32Array,
  off: number,
): void {
  g.fill(0, off, off + n);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    for (let c = 0; c < n; c++) g[off + c] += d[o + c];
  }
}

/**
 * A loss's value and gradient per row, mirroring `src/models/losses.ts` and
 * the gradient tfjs's autodiff produces (the WGSL `lossShader`).
 *
 * @param loss the loss config
 * @returns `(p, y) → [loss, dloss/dp]`
 */
export function lossTerms(loss: LossSpec): (p: number, y: number) => [number, number] {
  const eps = BCE_EPSILON;
  const hi = 1 - BCE_EPSILON;
  const delta = loss.delta;
  const huber = (e: number): [number, number] => {
    const a = Math.abs(e);
    const q = Math.min(a, delta);
    return [0.5 * q * q + delta * (a - q), (a <= delta ? a : delta) * (e > 0 ? 1 : -1)];
  };
  const sign = (w: number, p: number, y: number, t: [number, number]): [number, number] => {
    const s = -y * p;
    return [t[0] + w * Math.max(s, 0), t[1] + (s > 0 ? w * -y : 0)];
  };
  switch (loss.name) {
    case "bce":
      return (p, y) => {
        const pc = Math.min(Math.max(p, eps), hi);
        const l = -(y * Math.log(pc) + (1 - y) * Math.log(1 - pc));
        const g = p >= eps && p <= hi ? -(y / pc - (1 - y) / (1 - pc)) : 0;
        return [l, g];
      };
    case "mse":
      return (p, y) => [(p - y) * (p - y), 2 * (p - y)];
    case "huber":
      return (p, y) => huber(p - y);
    case "mse-sign":
      return (p, y) => sign(loss.sign_weight, p, y, [(p - y) * (p - y), 2 * (p - y)]);
    case "huber-sign":
      return (p, y) => sign(loss.sign_weight, p, y, huber(p - y));
    case "sign-ratio":
      return (p, y) =>
        sign(loss.sign_ratio, p, y, [
          loss.value_ratio * (p - y) * (p - y),
          loss.value_ratio * 2 * (p - y),
        ]);
  }
}

/**
 * Batch normalization forward over `rows × n` in place, then the activation
 * (the WGSL `batchNormForwardShader`). Parameters in `p` from `off`: gamma,
 * beta, moving mean, moving variance. Training: batch mean and biased
 * variance, `xhat` kept in `xh` and `rsqrt(var + eps)` in `rs`, moving
 * statistics updated with momentum 0.99; inference: the moving statistics
 * normalize.
 *
 * @param h the layer's linear output, overwritten by its activation
 * @param xh normalized values (training only)
 * @param rs per-column reciprocal standard deviations (training only)
 * @param rows rows
 * @param n columns
 * @param p the flat parameters (moving statistics updated in training)
 * @param off offset of gamma in `p`
 * @param inference use the moving statistics
 * @param activation the activation after normalization
 */
export function batchNormForward(
  h: Float32Array,
  xh: Float32Array,
  rs: Float32Array,
  rows: number,
  n: number,
  p: Float32Array,
  off: number,
  inference: boolean,
  activation: FusedActivation,
): void {
  const eps = BATCH_NORM.epsilon;
  const decay = 1 - BATCH_NORM.momentum;
  for (let c = 0; c < n; c++) {
    let mean: number;
    let rstd: number;
    if (inference) {
      mean = p[off + 2 * n + c];
      rstd = 1 / Math.sqrt(p[off + 3 * n + c] + eps);
    } else {
      let s = 0;
      for (let r = 0; r < rows; r++) s += h[r * n + c];
      mean = s / rows;
      let q = 0;
      for (let r = 0; r < rows; r++) {
        const d = h[r * n + c] - mean;
        q += d * d;
      }
      const variance = q / rows;
      rstd = 1 / Math.sqrt(variance + eps);
      rs[c] = rstd;
      const mm = p[off + 2 * n + c];
      const mv = p[off + 3 * n + c];
      p[off + 2 * n + c] = mm - (mm - mean) * decay;
      p[off + 3 * n + c] = mv - (mv - variance) * decay;
    }
    const gamma = p[off + c];
    const beta = p[off + n + c];
    for (let r = 0; r < rows; r++) {
      const x = (h[r * n + c] - mean) * rstd;
      if (!inference) xh[r * n + c] = x;
      h[r * n + c] = x * gamma + beta;
    }
  }
  activate(h, rows * n, activation);
}

/**
 * Batch normalization backward in place on `d` (gradient at the normalized
 * output in, at the layer's linear output out), writing dγ and dβ to `g` at
 * `gOff` and `gOff + n` (the WGSL `batchNormBackwardShader`).
 *
 * @param d gradients, overwritten
 * @param xh the training pass's normalized values
 * @param rs the training pass's reciprocal standard deviations
 * @param rows rows
 * @param n columns
 * @param p the flat parameters
 * @param off offset of gamma in `p`
 * @param g the flat gradients
 * @param gOff where dγ goes (dβ follows)
 */
export function batchNormBackward(
  d: Float32Array,
  xh: Float32Array,
  rs: Float32Array,
  rows: number,
  n: number,
  p: Float32Array,
  off: number,
  g: Float32Array,
  gOff: number,
): void {
  for (let c = 0; c < n; c++) {
    let sdy = 0;
    let sdyx = 0;
    for (let r = 0; r < rows; r++) {
      const dy = d[r * n + c];
      sdy += dy;
      sdyx += dy * xh[r * n + c];
    }
    g[gOff + c] = sdyx;
    g[gOff + n + c] = sdy;
    const k = p[off + c] * rs[c] / rows;
    for (let r = 0; r < rows; r++) {
      d[r * n + c] = k * (rows * d[r * n + c] - sdy - xh[r * n + c] * sdyx);
    }
  }
}
