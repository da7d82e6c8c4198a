/**
 * Fast training engines (issue 9): the fused WebGPU MLP engine
 * (`train.engine: fused`), the BLAS matmul kernels behind `train.backend:
 * cpu-blas`, and their bench section.
 *
 * @module
 */
export {
  fusedDevice,
  type FusedTrainArgs,
  fusedUnsupported,
  liveGpuBuffers,
  trainFused,
} from "./fused_webgpu.ts";
export {
  type Blas,
  BLAS_DEBIAN_PACKAGE,
  BLAS_LIBRARIES,
  type BlasHost,
  blasKernelsInstalled,
  installBlasKernels,
  loadBlas,
  measureSgemm,
  uninstallBlasKernels,
} from "./blas_cpu.ts";
export {
  type BenchEngine,
  DEFAULT_ENGINE_BENCH,
  ENGINE_WORKLOADS,
  engineBench,
  type EngineBenchOptions,
  type EngineBenchResult,
  type EngineBenchRow,
  engineBenchRows,
  type EngineWorkload,
  formatEngineBench,
  TORCH_SCRIPT,
} from "./bench.ts";
export {
  type Epilogue,
  FUSED_ACTIVATIONS,
  type FusedActivation,
  type MatmulKernel,
  TILED_128,
  TILED_64,
} from "./wgsl.ts";
