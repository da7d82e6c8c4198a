/**
 * The fused CPU engine's optimizer updates in plain JavaScript (Adam as tfjs
 * computes it, and SGD), over a range of the flat buffers. They run on the
 * main thread and in the optimizer workers ({@link ./cpu_pool.ts}); this
 * module imports nothing, so a worker starts without loading tfjs.
 *
 * @module
 */

/** Adam's constants, as tfjs's `AdamOptimizer` defaults them. */
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;

/**
 * One Adam step over `[lo, hi)` of the flat parameters, as tfjs computes it:
 * `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`,
 * `p ← p − lr·(m/c1)/(√(v/c2) + ε)` with the bias corrections `c1 = 1 − β1^t`
 * and `c2 = 1 − β2^t`.
 *
 * @param p parameters, updated
 * @param g gradients
 * @param m first moments, updated
 * @param v second moments, updated
 * @param lr learning rate
 * @param c1 first-moment bias correction
 * @param c2 second-moment bias correction
 * @param lo first index
 * @param hi end index (exclusive)
 */
export function adamRange(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  lr: number,
  c1: number,
  c2: number,
  lo: number,
  hi: number,
): void {
  const b1 = ADAM.beta1, b2 = ADAM.beta2, eps = ADAM.epsilon;
  const a1 = 1 - b1, a2 = 1 - b2;
  const r1 = 1 / c1, r2 = 1 / c2;
  for (let i = lo; i < hi; i++) {
    const gi = g[i];
    const m1 = m[i] * b1 + gi * a1;
    const v1 = v[i] * b2 + gi * gi * a2;
    m[i] = m1;
    v[i] = v1;
    p[i] -= lr * (m1 * r1) / (Math.sqrt(v1 * r2) + eps);
  }
}

/**
 * One SGD step over `[lo, hi)`: `p ← p − lr·g`.
 *
 * @param p parameters, updated
 * @param g gradients
 * @param lr learning rate
 * @param lo first index
 * @param hi end index (exclusive)
 */
export function sgdRange(p: Float32Array, g: Float32Array, lr: number, lo: number, hi: number) {
  for (let i = lo; i < hi; i++) p[i] -= lr * g[i];
}
