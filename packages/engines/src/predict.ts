/**
 * Batched inference: run a model over a design matrix and return one
 * prediction per row.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Matrix } from "@alfred/core";
import type { LayersModel } from "./spec.ts";

/**
 * Predict every row of `x` in batches (inference mode: dropout off,
 * normalization layers use their moving statistics). Values are read with
 * `await tensor.data()`, which every backend supports (`dataSync()` fails on
 * Deno's WebGPU).
 *
 * @param model a model with one output of width 1
 * @param x row-major design matrix
 * @param batchSize rows per forward pass (default 1024)
 * @returns one prediction per row of `x`
 * @throws {RangeError} when `x` is inconsistent or the model's output is not one value per row
 * @example
 * ```ts
 * const prob = await predict(model, { data: xEval, rows: 100, cols: 12 });
 * ```
 */
export async function predict(
  model: LayersModel,
  x: Matrix,
  batchSize = 1024,
): Promise<Float32Array> {
  if (x.data.length !== x.rows * x.cols) {
    throw new RangeError(
      `Invalid matrix: data has ${x.data.length} values, expected ${x.rows} x ${x.cols} = ${
        x.rows * x.cols
      }`,
    );
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Invalid batch size "${batchSize}": expected an integer >= 1`);
  }
  const out = new Float32Array(x.rows);
  for (let start = 0; start < x.rows; start += batchSize) {
    const size = Math.min(batchSize, x.rows - start);
    const y = tf.tidy(() => {
      const xs = tf.tensor2d(
        x.data.subarray(start * x.cols, (start + size) * x.cols),
        [size, x.cols],
      );
      const y = model.apply(xs, { training: false }) as tf.Tensor;
      if (y.size !== size) {
        throw new RangeError(
          `Model output has shape [${y.shape}]: expected one value per row (${size} rows)`,
        );
      }
      return y;
    });
    try {
      out.set(await y.data(), start);
    } finally {
      y.dispose();
    }
  }
  return out;
}
