/**
 * Training engines for TensorFlow.js MLPs and recurrent models: one epoch loop (seeded shuffles,
 * early stopping, learning-rate plateau, best-weight restore, checkpoints and
 * resume, clean interrupts) that every engine drives, and the engines behind
 * it:
 *
 * - {@linkcode trainModel}: tfjs ops on whatever tfjs backend is active;
 * - {@linkcode trainFused}: the fused WebGPU engine (WGSL compute shaders);
 * - {@linkcode trainFusedCpu}: the fused CPU engine (a BLAS sgemm through FFI
 *   when one loads, else its own wasm SIMD sgemm; wasm SIMD kernels; threads).
 * - {@linkcode trainFusedRnn}: the fused CPU recurrent engine for the `lstm`
 *   and `gru` sequence models (the same sgemm; one product per gate block per
 *   step, backpropagation through time).
 *
 * Beside them, kernels for tfjs's own backends: BLAS matmuls
 * ({@linkcode installBlasKernels}) and the wasm transposed-matmul fix
 * ({@linkcode installWasmMatMulFix}). Installed kernels, the BLAS library and
 * the fused engine's WebGPU device are process-wide: each has its functions
 * to install, load or release it, and {@linkcode engineState} reports them.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { trainModel } from "@alfred/engines";
 *
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 * const x = { data: new Float32Array([0, 1, 1, 0, 1, 1, 0, 0]), rows: 4, cols: 2 };
 * const y = new Float32Array([1, 1, 2, 0]);
 * const result = await trainModel({
 *   model,
 *   loss: (a, b) => tf.losses.meanSquaredError(a, b) as tf.Scalar,
 *   train: { epochs: 5, batch_size: 2, learning_rate: 0.1, optimizer: "adam", patience: 5,
 *     lr_patience: 5, lr_factor: 0.5, min_lr: 0 },
 *   seed: 1,
 *   x,
 *   y,
 *   xVal: x,
 *   yVal: y,
 * });
 * console.log(result.bestEpoch, result.history.length);
 * ```
 *
 * @module
 */

// what every engine takes and gives
export { BCE_EPSILON } from "./src/spec.ts";
export type {
  LayersModel,
  LossSpec,
  MlpDescription,
  Scalar,
  Tensor,
  TrainOptions,
} from "./src/spec.ts";
export { trainModel } from "./src/tfjs.ts";
export { runEpochs } from "./src/loop.ts";
export type {
  Checkpointer,
  EngineSnapshot,
  EpochLog,
  EpochLosses,
  HostTensor,
  LossFn,
  StopReason,
  TrainArgs,
  TrainingEngine,
  TrainResult,
  TrainState,
} from "./src/loop.ts";
export { predict } from "./src/predict.ts";

// the fused engines
export { fusedLayout, fusedUnsupported } from "./src/fused.ts";
export type { FusedArgs, FusedLayer } from "./src/fused.ts";
export {
  checkFusedGpuLimits,
  fusedDevice,
  fusedGpuBuffers,
  fusedGpuLimitProblem,
  liveGpuBuffers,
  releaseFusedDevice,
  trainFused,
} from "./src/fused_webgpu.ts";
export type {
  FusedGpuBuffer,
  FusedGpuDevice,
  FusedGpuLimits,
  FusedGpuSizes,
  FusedTrainArgs,
} from "./src/fused_webgpu.ts";
export { FUSED_ACTIVATIONS, TILED_128, TILED_64, vec4Kernel } from "./src/wgsl.ts";
export type { FusedActivation, MatmulKernel } from "./src/wgsl.ts";
export {
  fusedCpuBytes,
  fusedCpuProblem,
  fusedCpuSgemm,
  PARALLEL_MIN_PARAMS,
  trainFusedCpu,
} from "./src/fused_cpu.ts";
export type { FusedCpuArgs, FusedCpuSizes, FusedSgemm } from "./src/fused_cpu.ts";
export {
  FUSED_RNN_FAMILIES,
  fusedRnnBytes,
  fusedRnnLayout,
  fusedRnnProblem,
  fusedRnnUnsupported,
  RNN_VALIDATION_CHUNK,
  trainFusedRnn,
} from "./src/fused_rnn.ts";
export type {
  FusedRnnArgs,
  FusedRnnFamily,
  FusedRnnLayout,
  FusedRnnSizes,
  RecurrentDescription,
  RecurrentShape,
  RnnLayer,
} from "./src/fused_rnn.ts";
export type { WeightSlot } from "./src/fused.ts";
export { SGEMM_PARALLEL_MIN } from "./src/wasm_sgemm.ts";
export { checkFusedFits } from "./src/plan.ts";
export type { FusedTarget } from "./src/plan.ts";

// kernels for tfjs's backends, and the process-wide state
export {
  BLAS_DEBIAN_PACKAGE,
  BLAS_LIBRARIES,
  blasKernelsInstalled,
  installBlasKernels,
  loadBlas,
  loadedBlas,
  measureSgemm,
  uninstallBlasKernels,
} from "./src/blas_cpu.ts";
export type { Blas, BlasHost } from "./src/blas_cpu.ts";
export {
  installWasmMatMulFix,
  isWasmMatMulFixInstalled,
  uninstallWasmMatMulFix,
} from "./src/wasm_matmul.ts";
export { engineState } from "./src/state.ts";
export type { EngineProcessState } from "./src/state.ts";
