/**
 * A dropout layer that is deterministic AND draws a fresh mask every step.
 *
 * tfjs's own `Dropout` with a `seed` re-seeds its generator on every call, so
 * every training step drops the same units (a fixed sub-network, not
 * dropout); without a seed it uses `Math.random` and runs are not
 * reproducible. `SeededDropout` seeds step `k`'s mask with a mix of its seed
 * and `k`, counting only training calls, so the same seed and the same
 * sequence of steps give the same masks.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed } from "@alfred/core";

/** Constructor arguments of {@linkcode SeededDropout}. */
export interface SeededDropoutArgs {
  /** Fraction of units dropped during training, in [0, 1). */
  rate: number;
  /** Base seed of the mask stream. */
  seed: number;
  /** Layer name. */
  name?: string;
}

/** Inverted dropout (kept units scaled by 1 / (1 − rate)) with a per-step seeded mask. */
export class SeededDropout extends tf.layers.Layer {
  /** Name under which the layer is serialized. */
  static className = "SeededDropout";
  /** Fraction of units dropped. */
  readonly rate: number;
  /** Base seed. */
  readonly seed: number;
  /** Training calls so far (the mask stream's position). */
  step = 0;

  /**
   * @param args rate, seed and name
   * @throws {RangeError} when rate is outside [0, 1)
   */
  constructor(args: SeededDropoutArgs) {
    super({ name: args.name });
    if (!(args.rate >= 0 && args.rate < 1)) {
      throw new RangeError(`Invalid dropout rate "${args.rate}": expected 0 <= rate < 1`);
    }
    this.rate = args.rate;
    this.seed = args.seed;
    this.supportsMasking = true;
  }

  /** Identity of shape. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  /** Drops units when `kwargs.training` is true; the identity otherwise. */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs["training"] !== true || this.rate === 0) return tf.clone(x);
    const stepSeed = deriveSeed(this.seed, this.step++, -1);
    return tf.tidy(() => {
      const keep = tf.cast(
        tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, "float32", stepSeed), this.rate),
        "float32",
      );
      return tf.mul(x, tf.mul(keep, 1 / (1 - this.rate)));
    });
  }

  /** Serializable config (rate and seed). */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
tf.serialization.registerClass(SeededDropout);
