/**
 * Whether a fused engine can hold a model, asked before any training: the
 * pipeline calls {@linkcode checkFusedFits} right after it picks the backend,
 * before the dataset is built (with the model described at one input, a lower
 * bound), so a model past the WebGPU adapter's limits or the wasm memory
 * fails in a second instead of after the data work; each engine checks again
 * with the data's sizes when it starts.
 *
 * @module
 */
import type { MlpDescription } from "./spec.ts";
import { checkFusedGpuLimits } from "./fused_webgpu.ts";
import { fusedCpuProblem } from "./fused_cpu.ts";

/** Which fused engine: WGSL on WebGPU, or the CPU one with a BLAS or the wasm sgemm. */
export type FusedTarget = "webgpu" | "blas" | "wasm";

/**
 * Checks that the fused engine of `target` can hold the model.
 *
 * @param target the engine
 * @param d the model description
 * @param sizes the batch size, the optimizer and, once known, the data's rows
 * @throws {RangeError} naming the model, what it needs, the limit and what to do
 * @throws {Error} for `webgpu` without an adapter
 * @example
 * ```ts
 * await checkFusedFits("webgpu", describeModel(e.model, 1, { label: e.label }), {
 *   batchSize: e.train.batch_size,
 *   optimizer: e.train.optimizer,
 * });
 * ```
 */
export async function checkFusedFits(
  target: FusedTarget,
  d: MlpDescription,
  sizes: { batchSize: number; optimizer: "adam" | "sgd"; rows?: number; valRows?: number },
): Promise<void> {
  if (target === "webgpu") return await checkFusedGpuLimits(d, sizes);
  const threads = Math.max(1, navigator.hardwareConcurrency ?? 1);
  const why = fusedCpuProblem(d, sizes, target, threads);
  if (why) throw new RangeError(`The fused CPU engine cannot train this model: ${why}`);
}
