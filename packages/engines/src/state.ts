/**
 * What the engines change for the whole process, in one place: the kernels
 * registered in tfjs (BLAS matmuls per backend, the wasm transposed-matmul
 * fix), the BLAS library opened, and the WebGPU device the fused engine
 * keeps. Each has its own functions to install, load, release or remove it;
 * {@linkcode engineState} reports them all.
 *
 * @module
 */
import { blasKernelsInstalled, loadedBlas } from "./blas_cpu.ts";
import { fusedDeviceAdapter, liveGpuBuffers } from "./fused_webgpu.ts";
import { isWasmMatMulFixInstalled } from "./wasm_matmul.ts";

/** What {@linkcode engineState} reports. */
export interface EngineProcessState {
  /** The BLAS library open for the process (`loadBlas`; it is never closed), or null. */
  blas: string | null;
  /** The library behind tfjs's matmul kernels, per backend (`installBlasKernels`), or null. */
  blasKernels: { wasm: string | null; cpu: string | null };
  /** Whether tfjs's wasm matmuls run the transposed-matmul fix (`installWasmMatMulFix`). */
  wasmMatMulFix: boolean;
  /** The adapter of the WebGPU device the fused engine keeps (`fusedDevice`, `releaseFusedDevice`), or null. */
  gpuDevice: string | null;
  /** Buffers a fused WebGPU training holds now (0 between trainings). */
  gpuBuffers: number;
}

/**
 * The process-wide state the engines hold now.
 *
 * @returns the BLAS library, the kernels registered in tfjs, the WebGPU device
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import "@tensorflow/tfjs-backend-wasm";
 * import { engineState, installWasmMatMulFix } from "@alfred/engines";
 * await tf.setBackend("wasm");
 * installWasmMatMulFix();
 * engineState().wasmMatMulFix; // true
 * ```
 */
export function engineState(): EngineProcessState {
  return {
    blas: loadedBlas(),
    blasKernels: { wasm: blasKernelsInstalled("wasm"), cpu: blasKernelsInstalled("cpu") },
    wasmMatMulFix: isWasmMatMulFixInstalled(),
    gpuDevice: fusedDeviceAdapter(),
    gpuBuffers: liveGpuBuffers(),
  };
}
