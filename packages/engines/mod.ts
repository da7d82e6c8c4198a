/**
 * Fast training engines: the fused MLP engines (`train.engine:
 * fused`) — WGSL on `webgpu`; on the CPU (`cpu-blas` or `wasm`) a BLAS sgemm
 * when one loads, else the engine's own wasm SIMD sgemm, with wasm SIMD
 * kernels and threads — the BLAS matmul kernels behind the tfjs engine on
 * `cpu-blas`, and their bench section.
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
} from "./src/fused.ts";
export {
  checkFusedGpuLimits,
  fusedDevice,
  type FusedGpuBuffer,
  fusedGpuBuffers,
  fusedGpuLimitProblem,
  type FusedGpuLimits,
  type FusedGpuSizes,
  type FusedTrainArgs,
  liveGpuBuffers,
  trainFused,
} from "./src/fused_webgpu.ts";
export { checkFusedFits, type FusedTarget } from "./src/plan.ts";
export {
  type FusedCpuArgs,
  fusedCpuBytes,
  fusedCpuProblem,
  fusedCpuSgemm,
  type FusedCpuSizes,
  type FusedSgemm,
  PARALLEL_MIN_PARAMS,
  trainFusedCpu,
} from "./src/fused_cpu.ts";
export { CpuPool, type PoolBuffers } from "./src/cpu_pool.ts";
export {
  KC,
  MC,
  MR,
  NC,
  NR,
  relaxedSimdValidates,
  SGEMM_SCRATCH_FLOATS,
  type SgemmJob,
  type SgemmKernels,
  WasmSgemm,
} from "./src/wasm_sgemm.ts";
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
} from "./src/blas_cpu.ts";
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
} from "./bench/bench.ts";
export {
  type Epilogue,
  FUSED_ACTIVATIONS,
  type FusedActivation,
  type MatmulKernel,
  TILED_128,
  TILED_64,
} from "./src/wgsl.ts";
