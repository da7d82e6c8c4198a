/**
 * Multi-head self-attention as a TensorFlow.js layer, for the `transformer`
 * family (tfjs 4 has no attention layer of its own).
 *
 * For an input `X` of shape `[batch, steps, d]` and `h` heads of width
 * `dₖ = d / h`:
 *
 * ```text
 * Q = X·Wq + bq,  K = X·Wk + bk,  V = X·Wv + bv          (each [batch, steps, d])
 * head j:  Aⱼ = softmax(Qⱼ·Kⱼᵀ / √dₖ) · Vⱼ              (Qⱼ: columns j·dₖ … (j+1)·dₖ − 1)
 * output = concat(A₀ … A_{h−1}) · Wo + bo               ([batch, steps, d])
 * ```
 *
 * The softmax runs over the keys (the last axis). There is no mask: every
 * step sees every step of the window, which is the past only (the window ends
 * at the row's cut-off). Kernels are Glorot-uniform, each seeded from the
 * layer's seed (`deriveSeed(seed, k)`, k = 0 … 3 for query, key, value,
 * output); biases start at zero. The class is registered with
 * `tf.serialization.registerClass`, so a saved model loads back with it.
 *
 * For speed on the wasm backend (issue 19) the three input projections run as one product with
 * `[Wq | Wk | Wv]`, transposes stay rank 4, and the softmax and the projections carry hand-written
 * gradients whose row and column sums are matrix products; the function is the one above.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed } from "@alfred/core";

/**
 * `softmax` over the last axis with its gradient `dx = y ⊙ (dy − Σⱼ dyⱼ·yⱼ)`, the row sums taken
 * as one matrix product with a column of ones: tfjs's own gradient reduces with `Sum`, which on
 * the wasm backend took 17 ms for the `[64, 4, 60, 60]` scores of the bench (most of a block's
 * elementwise time); the product is the same sum in another float32 order.
 */
const softmaxLastAxis = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const y = tf.softmax(x);
  save([y]);
  return {
    value: y,
    gradFunc: (dy, saved) => {
      const [p] = saved as tf.Tensor[];
      const width = p.shape[p.shape.length - 1];
      const rowSums = tf.matMul(tf.reshape(tf.mul(dy, p), [-1, width]), tf.ones([width, 1]));
      return tf.mul(p, tf.sub(dy, tf.reshape(rowSums, [...p.shape.slice(0, -1), 1])));
    },
  };
});

/**
 * `x·W + b` for `x` of `[rows, in]`, with the bias gradient as one matrix product with a row of
 * ones (tfjs reduces it with `Sum` over the rows, which the wasm backend transposes for first).
 */
const affine = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x, w), b),
    gradFunc: (dy, saved) => {
      const [xs, ws] = saved as tf.Tensor2D[];
      const g = dy as tf.Tensor2D;
      return [
        tf.matMul(g, ws, false, true),
        tf.matMul(xs, g, true, false),
        tf.reshape(tf.matMul(tf.ones([1, xs.shape[0]]), g), [ws.shape[1]]),
      ];
    },
  };
});

/** Constructor arguments of {@linkcode MultiHeadSelfAttention}. */
export interface MultiHeadSelfAttentionArgs {
  /** Attention heads; must divide the input's last dimension. */
  heads: number;
  /** Base seed of the kernels' initializers. */
  seed: number;
  /** Layer name. */
  name?: string;
}

type LayerVariable = ReturnType<tf.layers.Layer["addWeight"]>;

/** Multi-head scaled dot-product self-attention over `[batch, steps, d]` (see the module doc). */
export class MultiHeadSelfAttention extends tf.layers.Layer {
  /** Name under which the layer is serialized. */
  static className = "MultiHeadSelfAttention";
  /** Attention heads. */
  readonly heads: number;
  /** Base seed of the kernels. */
  readonly seed: number;
  #weights: LayerVariable[] = [];

  /**
   * @param args heads, seed and name
   * @throws {RangeError} when heads is not an integer >= 1
   */
  constructor(args: MultiHeadSelfAttentionArgs) {
    super({ name: args.name });
    if (!Number.isInteger(args.heads) || args.heads < 1) {
      throw new RangeError(`Invalid attention heads "${args.heads}": expected an integer >= 1`);
    }
    this.heads = args.heads;
    this.seed = args.seed;
  }

  /**
   * Creates the query, key, value and output projections for the input's width.
   *
   * @throws {RangeError} when the input is not `[batch, steps, d]` or `heads` does not divide `d`
   */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const d = shape[shape.length - 1];
    if (shape.length !== 3 || d === null) {
      throw new RangeError(
        `Attention layer "${this.name}" needs an input of shape [batch, steps, d], got [${shape}]`,
      );
    }
    if (d % this.heads !== 0) {
      throw new RangeError(
        `Attention layer "${this.name}": ${this.heads} heads do not divide the width ${d}`,
      );
    }
    this.#weights = ["query", "key", "value", "output"].flatMap((part, k) => [
      this.addWeight(
        `${part}_kernel`,
        [d, d],
        "float32",
        tf.initializers.glorotUniform({ seed: deriveSeed(this.seed, k) }),
      ),
      this.addWeight(`${part}_bias`, [d], "float32", tf.initializers.zeros()),
    ]);
    this.built = true;
  }

  /** Same shape as the input. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  /** The attention output for `[batch, steps, d]` inputs (see the module doc). */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const [, steps, d] = x.shape;
      const h = this.heads;
      const dk = d / h;
      const [wq, bq, wk, bk, wv, bv, wo, bo] = this.#weights.map((w) => w.read());
      // Q, K and V in one product: [batch·steps, d] · [d, 3d], then
      // [batch, steps, 3·heads, dₖ] → [batch, 3·heads, steps, dₖ] (a rank-4 transpose: the wasm
      // backend's rank-5 one is a slow generic loop), split into three [batch, heads, steps, dₖ]
      // as [batch, 3·heads·steps·dₖ] (wasm slices rank 2 about 3× faster than rank 4).
      const qkv = tf.transpose(
        tf.reshape(
          affine(tf.reshape(x, [-1, d]), tf.concat([wq, wk, wv], 1), tf.concat([bq, bk, bv])),
          [-1, steps, 3 * h, dk],
        ),
        [0, 2, 1, 3],
      );
      const [q, k, v] = tf.split(tf.reshape(qkv, [-1, 3 * d * steps]), 3, 1)
        .map((t) => tf.reshape(t, [-1, h, steps, dk]));
      // 1/√dₖ scales Q (steps × dₖ per head) rather than the scores (steps × steps).
      const scores = tf.matMul(tf.mul(q, 1 / Math.sqrt(dk)), k, false, true);
      const heads = tf.matMul(softmaxLastAxis(scores), v);
      const merged = tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [-1, d]);
      return tf.reshape(affine(merged, wo, bo), [-1, steps, d]);
    });
  }

  /** Serializable config (heads and seed). */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), heads: this.heads, seed: this.seed };
  }
}
tf.serialization.registerClass(MultiHeadSelfAttention);
