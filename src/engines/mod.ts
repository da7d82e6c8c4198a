/**
 * Fast training engines (issue 9): the fused MLP engines (`train.engine:
 * fused`) — WGSL on `webgpu`, BLAS sgemm and JavaScript kernels on `cpu-blas`
 * — the BLAS matmul kernels behind the tfjs engine on `cpu-blas`, and their
 * bench section.
 *
 * @module
 */
export {
  checkFusedArgs,
  type FusedArgs,
  type FusedEngine,
  type FusedLayer,
  fusedLayout,
  fusedUnsupported,
  runFused,
  weightSlots,
} from "./fused.ts";
export { fusedDevice, type FusedTrainArgs, liveGpuBuffers, trainFused } from "./fused_webgpu.ts";
export {
  type FusedCpuArgs,
  fusedCpuBytes,
  PARALLEL_MIN_PARAMS,
  trainFusedCpu,
} from "./fused_cpu.ts";
export { type OptimizerBuffers, OptimizerPool } from "./cpu_pool.ts";
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
