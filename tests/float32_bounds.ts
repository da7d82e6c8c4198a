/**
 * Float64 references and float32 rounding-error bounds for tests that compare
 * numbers computed by different kernels (BLAS, XNNPACK, WGSL, plain
 * JavaScript). Such numbers differ by summation order, so a test may compare
 * them only where that difference is provably small: each against an exact
 * (float64) reference, within a bound that follows from the operations done,
 * never a figure seen on one machine.
 *
 * The one fact everything here rests on (Higham, *Accuracy and Stability of
 * Numerical Algorithms*, 2nd ed., §3.1 and Lemma 3.1): a float32 dot product of
 * length `k`, summed in **any** order, with or without fused multiply-add,
 * satisfies
 *
 *     |fl(Σ aᵢbᵢ) − Σ aᵢbᵢ| ≤ γₖ · Σ |aᵢ||bᵢ|,   γₖ = k·u / (1 − k·u),   u = 2⁻²⁴.
 *
 * So two kernels computing the same product differ by at most 2γₖΣ|a||b|,
 * whatever their blocking, threads or SIMD width. The bound is linear in the
 * magnitudes, so a bug (a wrong index, a dropped term, a bias added twice)
 * shows as an error many times larger.
 *
 * Elementwise steps cost a few rounding units each; every count used here
 * allows for the least accurate implementation we run on: WGSL's `exp` is
 * accurate to 3 + 2|x| ulp, its `log` to 2⁻²¹ absolute on [0.5, 2] and 3 ulp
 * elsewhere, its division to 2.5 ulp (WGSL spec, "Floating Point Accuracy");
 * XNNPACK's and JavaScript's are tighter.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The float32 unit roundoff. */
export const U = 2 ** -24;

/**
 * γₖ = k·u / (1 − k·u): the relative error bound of a length-`k` float32 sum of products.
 *
 * @param k the number of terms
 * @returns γₖ
 */
export function gamma(k: number): number {
  return k * U / (1 - k * U);
}

/** A matmul's exact value and its error scale, per output element. */
export interface MatmulReference {
  /** Output shape (broadcast batch dims, then m, n). */
  shape: number[];
  /** Σ aᵢbᵢ in float64 (its own error, ~1e-14 relative, is far below float32's). */
  exact: Float64Array;
  /** Σ |aᵢ||bᵢ|: the scale of the rounding error. */
  magnitude: Float64Array;
  /** The shared dimension k. */
  k: number;
}

/**
 * The exact (float64) value of `op(a)·op(b)` for (batched) float32 operands,
 * with Σ|a||b| per output. Batch dims are flattened; a batch of one broadcasts.
 *
 * @param a values of the left operand, row-major
 * @param aShape its shape (rank ≥ 2)
 * @param b values of the right operand
 * @param bShape its shape (rank ≥ 2)
 * @param ta use the transpose of `a`'s last two dims
 * @param tb use the transpose of `b`'s last two dims
 * @returns the exact product and its error scale
 */
export function matmulReference(
  a: ArrayLike<number>,
  aShape: number[],
  b: ArrayLike<number>,
  bShape: number[],
  ta = false,
  tb = false,
): MatmulReference {
  const ar = aShape.length, br = bShape.length;
  const m = ta ? aShape[ar - 1] : aShape[ar - 2];
  const k = ta ? aShape[ar - 2] : aShape[ar - 1];
  const kb = tb ? bShape[br - 1] : bShape[br - 2];
  const n = tb ? bShape[br - 2] : bShape[br - 1];
  if (k !== kb) throw new RangeError(`Inner dimensions differ: ${aShape} and ${bShape}`);
  const outerA = aShape.slice(0, -2), outerB = bShape.slice(0, -2);
  const batchA = outerA.reduce((p, q) => p * q, 1);
  const batchB = outerB.reduce((p, q) => p * q, 1);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) {
    throw new RangeError(`Batch dimensions differ: ${aShape} and ${bShape}`);
  }
  const batch = Math.max(batchA, batchB);
  const outer = batchA >= batchB ? outerA : outerB;
  const exact = new Float64Array(batch * m * n);
  const magnitude = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const ao = batchA === 1 ? 0 : p * m * k;
    const bo = batchB === 1 ? 0 : p * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, mag = 0;
        for (let q = 0; q < k; q++) {
          const av = ta ? a[ao + q * m + i] : a[ao + i * k + q];
          const bv = tb ? b[bo + j * k + q] : b[bo + q * n + j];
          s += av * bv;
          mag += Math.abs(av * bv);
        }
        exact[p * m * n + i * n + j] = s;
        magnitude[p * m * n + i * n + j] = mag;
      }
    }
  }
  return { shape: [...outer, m, n], exact, magnitude, k };
}

/** A fused activation: its float64 value, Lipschitz constant and float32 evaluation error. */
interface ActivationSpec {
  f(z: number): number;
  /** Bounds |f(x) − f(y)| / |x − y|. */
  lipschitz: number;
  /** Bounds |computed f(z) − f(z)| of a float32 evaluation at z, in units of u (absolute). */
  ulps(z: number): number;
}

/** WGSL's exp is accurate to 3 + 2|x| ulp (the loosest we run; a little slack for z's own error). */
const expUlps = (z: number) => 3 + 2 * (Math.abs(z) + 1e-3);

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** The activations `tf.fused.matMul` knows (prelu excepted). */
export const ACTIVATIONS: Record<string, ActivationSpec> = {
  linear: { f: (z) => z, lipschitz: 1, ulps: () => 0 },
  relu: { f: (z) => Math.max(z, 0), lipschitz: 1, ulps: () => 0 },
  relu6: { f: (z) => Math.min(Math.max(z, 0), 6), lipschitz: 1, ulps: () => 0 },
  // α·z (α = 0.2) rounds once.
  leakyrelu: { f: (z) => (z < 0 ? 0.2 * z : z), lipschitz: 1, ulps: (z) => (z < 0 ? 0.2 * -z : 0) },
  // exp(z) − 1: exp's relative error times e^z, then the subtraction's rounding (|e^z − 1| < 1).
  elu: {
    f: (z) => (z < 0 ? Math.expm1(z) : z),
    lipschitz: 1,
    ulps: (z) => (z < 0 ? expUlps(z) * Math.exp(z) + 1 : 0),
  },
  // 1 / (1 + e), e = exp(−z): e's relative error reaches σ scaled by σ(1 − σ); the add (1 ulp)
  // and the division (2.5 ulp) are relative to σ.
  sigmoid: {
    f: sigmoid,
    lipschitz: 0.25,
    ulps: (z) => expUlps(z) * sigmoid(z) * (1 - sigmoid(z)) + 3.5 * sigmoid(z),
  },
};

/**
 * The exact value of `act(op(a)·op(b) + bias)` and the float32 error bound of
 * any kernel computing it: the product and the bias add are one length-(k+1)
 * sum, |error| ≤ γₖ₊₁(Σ|a||b| + |bias|); the activation passes that on times
 * its Lipschitz constant and adds its own evaluation error.
 *
 * @param ref the product's reference
 * @param bias the bias (broadcast over the last dim), or null
 * @param activation an {@linkcode ACTIVATIONS} name
 * @returns exact values and their bounds
 */
export function fusedReference(
  ref: MatmulReference,
  bias: ArrayLike<number> | null,
  activation = "linear",
): { exact: Float64Array; bound: Float64Array } {
  const act = ACTIVATIONS[activation];
  if (!act) throw new RangeError(`No reference for activation "${activation}"`);
  const n = ref.shape[ref.shape.length - 1];
  const g = gamma(ref.k + (bias ? 1 : 0));
  const exact = new Float64Array(ref.exact.length);
  const bound = new Float64Array(ref.exact.length);
  for (let i = 0; i < exact.length; i++) {
    const bi = bias ? bias[bias.length === 1 ? 0 : i % n] : 0;
    const z = ref.exact[i] + bi;
    const pre = g * (ref.magnitude[i] + Math.abs(bi));
    exact[i] = act.f(z);
    // The activation is evaluated at the computed z, which lies within `pre` of the exact one.
    bound[i] = act.lipschitz * pre + act.ulps(z) * U;
  }
  return { exact, bound };
}

/**
 * Asserts `|actual[i] − exact[i]| ≤ bound[i]` everywhere, naming the worst element.
 *
 * @param actual computed values
 * @param exact reference values
 * @param bound per-element error bounds
 * @param what names the comparison in the failure message
 * @returns the largest |error| / bound seen (≤ 1)
 */
export function assertWithinBound(
  actual: ArrayLike<number>,
  exact: ArrayLike<number>,
  bound: ArrayLike<number>,
  what: string,
): number {
  if (actual.length !== exact.length) {
    throw new Error(`${what}: ${actual.length} values, expected ${exact.length}`);
  }
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - exact[i]);
    if (!(err <= bound[i])) {
      throw new Error(
        `${what}: element ${i} is ${actual[i]}, exact ${exact[i]}: off by ${err}, ` +
          `more than its float32 rounding bound ${bound[i]}`,
      );
    }
    if (bound[i] > 0) worst = Math.max(worst, err / bound[i]);
  }
  return worst;
}

/** A Dense layer of the reference MLP: `act(h·kernel + bias)`. */
interface DenseLayer {
  kernel: Float32Array; // [inputs, units]
  bias: Float32Array;
  inputs: number;
  units: number;
  activation: "relu" | "linear" | "sigmoid";
}

/** One training step of an MLP in float64, with the float32 error bound of every value. */
export interface StepReference {
  loss: number;
  lossBound: number;
  /** Gradients in the order of `model.trainableWeights` (kernel, bias per layer). */
  grads: Float64Array[];
  gradBounds: Float64Array[];
  /** Smallest |pre-activation| / its error bound over the hidden ReLUs (> 1: no mask can flip). */
  kinkMargin: number;
}

async function denseLayers(model: tf.LayersModel): Promise<DenseLayer[]> {
  return await Promise.all(model.layers.map(async (layer) => {
    const config = layer.getConfig();
    if (layer.getClassName() !== "Dense") {
      throw new RangeError(`The reference MLP has Dense layers only, not ${layer.getClassName()}`);
    }
    const activation = String(config.activation);
    if (!["relu", "linear", "sigmoid"].includes(activation)) {
      throw new RangeError(`The reference MLP has no activation "${activation}"`);
    }
    const [kernel, bias] = layer.getWeights();
    return {
      kernel: await kernel.data() as Float32Array,
      bias: await bias.data() as Float32Array,
      inputs: kernel.shape[0],
      units: kernel.shape[1] ?? 1,
      activation: activation as DenseLayer["activation"],
    };
  }));
}

/**
 * The loss and the gradients of one training step of a Dense MLP (ReLU or
 * linear hidden layers; a linear output with `mse`, or a sigmoid output with
 * `bce` as `src/models/losses.ts` computes them), computed in float64, with a
 * componentwise bound on how far a float32 computation of the same step (the
 * forward pass, the loss, tfjs's backward pass) can be from it.
 *
 * Error analysis, per row r and unit j (Ê marks a bound on |computed − exact|):
 *
 * - forward: ẑ = fl(ĥ·W + b), so Êz = Σᵢ Êhᵢ|Wᵢⱼ| + γₖ₊₁(Σᵢ(|hᵢ| + Êhᵢ)|Wᵢⱼ| + |bⱼ|);
 *   linear passes Êz on, and ReLU where z > 0 (where z < 0 it gives 0 exactly in both);
 *   the sigmoid gives Êz/4 plus its own ulps.
 * - loss: mse rows (p − y)² err by 2|p − y|Êp + Êp² + 3u(|p − y| + Êp)²; bce rows
 *   −log q (q = p or 1 − p) by Êp/(q − Êp) + 11u(|ℓ| + 1) (log: 2⁻²¹ = 8u absolute,
 *   1 − p: u, 3 ulp relative); the mean of n non-negative terms adds (γₙ + 3u)·mean.
 * - output gradient g = ∂L/∂z: mse 2(p − y)/n, error 2Êp/n + 8u|g| (four roundings
 *   at ≤ 2 ulp); bce∘sigmoid (p − y)/n as tfjs's chain (÷n, ÷p or ÷(1 − p),
 *   ·p(1 − p)) computes it, error Êp/n + 20u|g| (eight roundings at ≤ 2.5 ulp).
 * - backward: dW = ĥᵀg, db = Σᵣ g, dh = g·Wᵀ are length-n, n and units sums: the
 *   same rule as the forward with the operands' bounds; ReLU masks the same units
 *   in both computations as long as no |z| is within Êz of 0 (`kinkMargin` > 1).
 *
 * Magnitudes are taken as |exact| + Ê, so products of errors are included; the
 * float64 reference itself errs by ~1e-14 relative, far below these bounds.
 *
 * @param model a `tf.Sequential` of Dense layers
 * @param x inputs, rows × cols, row-major float32
 * @param y targets (0/1 for bce)
 * @param loss "mse" or "bce"
 * @returns loss, gradients and their bounds
 * @throws {RangeError} for layers or losses it does not model, or when a
 *   pre-activation lies within rounding of a ReLU's kink (the data must change)
 */
export async function mlpStepReference(
  model: tf.LayersModel,
  x: Float32Array,
  y: Float32Array,
  loss: "mse" | "bce",
): Promise<StepReference> {
  const layers = await denseLayers(model);
  const n = y.length;
  const last = layers[layers.length - 1];
  if (last.units !== 1) throw new RangeError("The reference MLP has one output");
  if ((loss === "mse") !== (last.activation === "linear")) {
    throw new RangeError(`The reference pairs mse with a linear output, bce with a sigmoid`);
  }
  if (loss === "bce" && last.activation !== "sigmoid") throw new RangeError("bce needs a sigmoid");
  // Forward: per layer the input h (and its bound), pre-activation z (and bound).
  const hs: Float64Array[] = [Float64Array.from(x)];
  const hBounds: Float64Array[] = [new Float64Array(x.length)];
  const zs: Float64Array[] = [];
  const zBounds: Float64Array[] = [];
  let kinkMargin = Infinity;
  for (const [l, layer] of layers.entries()) {
    const h = hs[l], eh = hBounds[l];
    const { inputs: k, units } = layer;
    const z = new Float64Array(n * units), ez = new Float64Array(n * units);
    const out = new Float64Array(n * units), eout = new Float64Array(n * units);
    const g = gamma(k + 1);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < units; j++) {
        let s = layer.bias[j], carried = 0, mag = Math.abs(layer.bias[j]);
        for (let i = 0; i < k; i++) {
          const w = layer.kernel[i * units + j];
          s += h[r * k + i] * w;
          carried += eh[r * k + i] * Math.abs(w);
          mag += (Math.abs(h[r * k + i]) + eh[r * k + i]) * Math.abs(w);
        }
        const e = carried + g * mag;
        z[r * units + j] = s;
        ez[r * units + j] = e;
        if (layer.activation === "sigmoid") {
          out[r * units + j] = sigmoid(s);
          eout[r * units + j] = e / 4 + ACTIVATIONS.sigmoid.ulps(s) * U;
        } else if (layer.activation === "relu") {
          // Kink margin above 1: a negative z is negative in float32 too, and ReLU gives 0 exactly.
          out[r * units + j] = Math.max(s, 0);
          eout[r * units + j] = s > 0 ? e : 0;
          kinkMargin = Math.min(kinkMargin, Math.abs(s) / e);
        } else {
          out[r * units + j] = s;
          eout[r * units + j] = e;
        }
      }
    }
    zs.push(z);
    zBounds.push(ez);
    hs.push(out);
    hBounds.push(eout);
  }
  if (kinkMargin <= 1) {
    throw new RangeError(
      `A hidden pre-activation lies within its rounding bound of the ReLU kink (margin ${kinkMargin}): ` +
        `float32 computations may mask different units; choose other data`,
    );
  }
  // Loss and its gradient with respect to the output's pre-activation.
  const p = hs[layers.length], ep = hBounds[layers.length];
  let sum = 0, sumErr = 0, sumMag = 0;
  const gOut = new Float64Array(n), egOut = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    if (loss === "mse") {
      const d = p[r] - y[r];
      const e = 2 * Math.abs(d) * ep[r] + ep[r] ** 2 + 3 * U * (Math.abs(d) + ep[r]) ** 2;
      sum += d * d;
      sumErr += e;
      sumMag += d * d + e;
      gOut[r] = 2 * d / n;
      egOut[r] = 2 * ep[r] / n + 8 * U * Math.abs(gOut[r]);
    } else {
      const q = y[r] === 1 ? p[r] : 1 - p[r];
      if (q - ep[r] <= 1e-7) {
        throw new RangeError("A probability reaches the bce clip; choose other data");
      }
      const l = -Math.log(q);
      const e = ep[r] / (q - ep[r]) + 11 * U * (l + 1);
      sum += l;
      sumErr += e;
      sumMag += l + e;
      gOut[r] = (p[r] - y[r]) / n;
      egOut[r] = ep[r] / n + 20 * U * Math.abs(gOut[r]);
    }
  }
  const lossValue = sum / n;
  const lossBound = sumErr / n + (gamma(n) + 3 * U) * sumMag / n;
  // Backward.
  const grads: Float64Array[] = [], gradBounds: Float64Array[] = [];
  let g = gOut, eg = egOut;
  for (let l = layers.length - 1; l >= 0; l--) {
    const layer = layers[l], h = hs[l], eh = hBounds[l];
    const { inputs: k, units } = layer;
    const dW = new Float64Array(k * units), edW = new Float64Array(k * units);
    const gn = gamma(n);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < units; j++) {
        let s = 0, carried = 0, mag = 0;
        for (let r = 0; r < n; r++) {
          const hv = h[r * k + i], gv = g[r * units + j];
          const ehv = eh[r * k + i], egv = eg[r * units + j];
          s += hv * gv;
          carried += ehv * Math.abs(gv) + (Math.abs(hv) + ehv) * egv;
          mag += (Math.abs(hv) + ehv) * (Math.abs(gv) + egv);
        }
        dW[i * units + j] = s;
        edW[i * units + j] = carried + gn * mag;
      }
    }
    const db = new Float64Array(units), edb = new Float64Array(units);
    for (let j = 0; j < units; j++) {
      let s = 0, carried = 0, mag = 0;
      for (let r = 0; r < n; r++) {
        s += g[r * units + j];
        carried += eg[r * units + j];
        mag += Math.abs(g[r * units + j]) + eg[r * units + j];
      }
      db[j] = s;
      edb[j] = carried + gn * mag;
    }
    grads.unshift(dW, db);
    gradBounds.unshift(edW, edb);
    if (l === 0) break;
    // dh = g·Wᵀ, then the previous layer's ReLU mask (identical in float32, see kinkMargin).
    const prev = layers[l - 1];
    const gu = gamma(units);
    const gPrev = new Float64Array(n * k), egPrev = new Float64Array(n * k);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < k; i++) {
        if (prev.activation === "relu" && zs[l - 1][r * k + i] <= 0) continue;
        let s = 0, carried = 0, mag = 0;
        for (let j = 0; j < units; j++) {
          const w = Math.abs(layer.kernel[i * units + j]);
          s += g[r * units + j] * layer.kernel[i * units + j];
          carried += eg[r * units + j] * w;
          mag += (Math.abs(g[r * units + j]) + eg[r * units + j]) * w;
        }
        gPrev[r * k + i] = s;
        egPrev[r * k + i] = carried + gu * mag;
      }
    }
    g = gPrev;
    eg = egPrev;
  }
  return { loss: lossValue, lossBound, grads, gradBounds, kinkMargin };
}

/**
 * Computes one training step's loss and gradients with tfjs on the active
 * backend, exactly as `optimizer.minimize` would (`tf.variableGrads`).
 *
 * @param model the model
 * @param lossFn the loss (yTrue, yPred)
 * @param x inputs
 * @param y targets
 * @returns the loss and the gradients in `model.trainableWeights` order
 */
export async function tfjsStep(
  model: tf.LayersModel,
  lossFn: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar,
  x: tf.Tensor2D,
  y: tf.Tensor,
): Promise<{ loss: number; grads: Float32Array[] }> {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(
    () => lossFn(y, model.apply(x, { training: true }) as tf.Tensor),
    vars,
  );
  // data(), not dataSync(): Deno's WebGPU cannot read synchronously.
  const out = {
    loss: (await value.data())[0],
    grads: await Promise.all(vars.map(async (v) => await grads[v.name].data() as Float32Array)),
  };
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

/**
 * Asserts that one training step on the active backend (loss and every
 * gradient) is within float32 rounding of the float64 reference.
 *
 * @param model a Dense MLP (see {@linkcode mlpStepReference})
 * @param lossFn the loss as training uses it
 * @param loss which loss it is, for the reference
 * @param x inputs, rows × cols
 * @param cols input columns
 * @param y targets
 * @param what names the comparison in failure messages
 * @returns the computed step, and the largest |error| / bound seen
 */
export async function assertStepWithinBound(
  model: tf.LayersModel,
  lossFn: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar,
  loss: "mse" | "bce",
  x: Float32Array,
  cols: number,
  y: Float32Array,
  what: string,
): Promise<{ loss: number; grads: Float32Array[]; worst: number }> {
  const ref = await mlpStepReference(model, x, y, loss);
  const xt = tf.tensor2d(x, [y.length, cols]);
  const yt = tf.tensor2d(y, [y.length, 1]);
  const step = await tfjsStep(model, lossFn, xt, yt);
  tf.dispose([xt, yt]);
  let worst = assertWithinBound([step.loss], [ref.loss], [ref.lossBound], `${what} loss`);
  step.grads.forEach((grad, i) => {
    const name = model.trainableWeights[i].originalName;
    worst = Math.max(
      worst,
      assertWithinBound(grad, ref.grads[i], ref.gradBounds[i], `${what} gradient of ${name}`),
    );
  });
  return { ...step, worst };
}
