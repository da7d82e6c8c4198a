/**
 * Backend selection (`train.backend`): which TensorFlow.js backend runs the
 * training, and on what device.
 *
 * | backend | what runs it |
 * | --- | --- |
 * | `wasm` | tfjs-backend-wasm (XNNPACK, SIMD), the CPU default, with the transposed-matmul fix |
 * | `cpu` | tfjs's plain-JavaScript CPU backend (slow, the reference) |
 * | `webgpu` | tfjs-backend-webgpu on Deno's built-in WebGPU (Deno 2.9 exposes `navigator.gpu` without a flag); on a machine without a GPU the adapter is a software one (llvmpipe): correct but slow |
 * | `tensorflow` | `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node`, only when the user installed one |
 * | `cpu-blas` | the wasm backend with its matmuls in a system BLAS through FFI (`installBlasKernels` of `@alfred/engines`), when one loads |
 * | `auto` | `webgpu` when a hardware adapter exists, else `cpu-blas` when a BLAS loads (2–4× faster than `wasm` in `deno task bench`), else `wasm`; never fails for lack of a library |
 *
 * `train.engine: fused` trains without tfjs ops on `webgpu` (WGSL), on
 * `cpu-blas` (the fused CPU engine with the BLAS sgemm) and on `wasm` (the
 * same engine with its own wasm SIMD sgemm, which needs no library).
 *
 * Determinism: tfjs has no global seed; every random op in Alfred takes an
 * explicit seed (initializers, dropout masks, shuffles). The wasm backend
 * runs single-threaded in Deno (its threaded build needs browser workers),
 * so its reductions have a fixed order and a run repeats bit for bit.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as tfWasm from "@tensorflow/tfjs-backend-wasm";
import type { Backend } from "../config/schema.ts";
import {
  installBlasKernels,
  installWasmMatMulFix,
  loadBlas,
  uninstallBlasKernels,
} from "@alfred/engines";

/** What {@linkcode selectBackend} chose. */
export interface BackendInfo {
  /** The tfjs backend name now active: `wasm`, `cpu`, `webgpu` or `tensorflow`. */
  backend: string;
  /** Human-readable device, e.g. `wasm SIMD, 1 thread, 2 CPUs` or the GPU adapter's description. */
  device: string;
  /** Threads the backend computes with, where known. */
  threads?: number;
  /** What the config asked for. */
  requested: Backend;
  /** Facts worth printing: the fix installed, a software adapter, a fallback. */
  notes: string[];
}

/** What {@linkcode probeWebGpu} found. */
export interface WebGpuProbe {
  /** An adapter was returned. */
  available: boolean;
  /** It is a real GPU, not a software fallback (llvmpipe, SwiftShader, lavapipe, WARP). */
  hardware: boolean;
  /** The adapter's description (or vendor/architecture), or why there is none. */
  description: string;
}

interface GpuAdapterLike {
  info?: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  isFallbackAdapter?: boolean;
}

const SOFTWARE_ADAPTER = /llvmpipe|swiftshader|lavapipe|softpipe|microsoft basic render|warp/i;

/**
 * Asks Deno's WebGPU for the adapter tfjs-webgpu would use (high performance).
 *
 * @returns whether one exists, whether it is hardware, and its description
 */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  // Deno types `navigator.gpu` as always present; a build without WebGPU leaves it undefined.
  const gpu: GPU | undefined = navigator.gpu;
  if (!gpu) return { available: false, hardware: false, description: "navigator.gpu is undefined" };
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (e) {
    return { available: false, hardware: false, description: `requestAdapter failed: ${e}` };
  }
  if (!adapter) {
    return { available: false, hardware: false, description: "requestAdapter returned null" };
  }
  const info = adapter.info ?? {};
  const description = info.description ||
    [info.vendor, info.architecture, info.device].filter(Boolean).join(" ") || "unknown adapter";
  const fallback = info.isFallbackAdapter === true || adapter.isFallbackAdapter === true ||
    SOFTWARE_ADAPTER.test(description);
  return { available: true, hardware: !fallback, description };
}

function cpuCount(): number {
  return navigator.hardwareConcurrency ?? 1;
}

function cpuModel(): string | undefined {
  try {
    const text = Deno.readTextFileSync("/proc/cpuinfo");
    return /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim();
  } catch {
    return undefined;
  }
}

async function activate(name: string): Promise<void> {
  if (tf.getBackend() === name) return;
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`The ${name} backend failed to initialize`);
  await tf.ready();
}

async function useWasm(requested: Backend, notes: string[]): Promise<BackendInfo> {
  await activate("wasm");
  if (uninstallBlasKernels("wasm")) notes.push("BLAS matmul kernels removed");
  if (installWasmMatMulFix()) notes.push("wasm transposed-matmul fix installed");
  else notes.push("wasm transposed-matmul fix active");
  const threads = tfWasm.getThreadsCount();
  const model = cpuModel();
  const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT") ? "SIMD" : "no SIMD";
  return {
    backend: "wasm",
    device: `wasm ${simd}, ${threads} thread${threads === 1 ? "" : "s"}, ${cpuCount()} CPUs${
      model ? ` (${model})` : ""
    }`,
    threads,
    requested,
    notes,
  };
}

async function useCpu(requested: Backend, notes: string[]): Promise<BackendInfo> {
  await activate("cpu");
  const model = cpuModel();
  return {
    backend: "cpu",
    device: `tfjs cpu (JavaScript), 1 thread${model ? ` (${model})` : ""}`,
    threads: 1,
    requested,
    notes,
  };
}

async function useCpuBlas(requested: Backend, notes: string[]): Promise<BackendInfo> {
  const wasm = await useWasm(requested, notes);
  let library: string;
  try {
    library = installBlasKernels("wasm").library;
  } catch (e) {
    throw new Error(
      `The cpu-blas backend is not available on this machine: ${
        (e as Error).message
      }; or use backend "wasm" (train.engine: fused multiplies with its own wasm SIMD sgemm there)`,
    );
  }
  notes.push("matmuls in BLAS, elementwise ops in the wasm backend");
  return { ...wasm, backend: "cpu-blas", device: `${wasm.device} + ${library} cblas_sgemm` };
}

async function useWebGpu(requested: Backend, notes: string[]): Promise<BackendInfo> {
  const probe = await probeWebGpu();
  if (!probe.available) {
    throw new Error(
      `The webgpu backend has no adapter: ${probe.description}: use backend wasm, or run on a machine with a GPU and its Vulkan/Metal driver`,
    );
  }
  await import("@tensorflow/tfjs-backend-webgpu");
  await activate("webgpu");
  if (!probe.hardware) {
    notes.push("software WebGPU adapter: correct but slow; use it for tests, not for speed");
  }
  notes.push("read tensors with await tensor.data(): dataSync() fails on Deno's WebGPU");
  return {
    backend: "webgpu",
    device: `WebGPU ${probe.description}${probe.hardware ? "" : " (software)"}`,
    requested,
    notes,
  };
}

/** Where the optional native backends are looked for, in order. */
export const TENSORFLOW_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

async function useTensorflow(requested: Backend, notes: string[]): Promise<BackendInfo> {
  const failures: string[] = [];
  for (const spec of TENSORFLOW_PACKAGES) {
    try {
      // A variable specifier: the packages are optional and absent from deno.json.
      const name: string = spec;
      await import(name);
      await activate("tensorflow");
      return {
        backend: "tensorflow",
        device: `libtensorflow via ${spec}${spec.endsWith("gpu") ? " (CUDA)" : " (CPU)"}`,
        requested,
        notes,
      };
    } catch (e) {
      failures.push(`${spec}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  throw new Error(
    `The tensorflow backend needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, which are optional and not installed: ` +
      `install one with "deno add npm:@tensorflow/tfjs-node@4.22.0" (or npm:@tensorflow/tfjs-node-gpu@4.22.0 with CUDA and cuDNN) ` +
      `and run with --allow-ffi, or use backend "wasm" (${failures.join("; ")})`,
  );
}

/**
 * Activates the backend an experiment's `train.backend` asks for.
 * Idempotent: selecting the active backend again changes nothing.
 *
 * @param b `auto`, `wasm`, `cpu`, `webgpu`, `tensorflow` or `cpu-blas`
 * @returns the active backend, its device and notes
 * @throws {Error} when the backend is unavailable, saying why and what to do instead
 * @example
 * ```ts
 * const info = await selectBackend("auto");
 * console.log(`${info.backend} on ${info.device}`);
 * ```
 */
export async function selectBackend(b: Backend): Promise<BackendInfo> {
  const notes: string[] = [];
  switch (b) {
    case "wasm":
      return await useWasm(b, notes);
    case "cpu":
      return await useCpu(b, notes);
    case "webgpu":
      return await useWebGpu(b, notes);
    case "tensorflow":
      return await useTensorflow(b, notes);
    case "cpu-blas":
      return await useCpuBlas(b, notes);
    case "auto": {
      const probe = await probeWebGpu();
      if (probe.hardware) {
        try {
          return await useWebGpu(b, notes);
        } catch (e) {
          notes.push(`webgpu on ${probe.description} failed (${(e as Error).message}); using wasm`);
        }
      } else {
        notes.push(
          `auto: no hardware WebGPU adapter (${probe.description}${
            probe.available ? ", software" : ""
          })`,
        );
      }
      try {
        loadBlas();
        return await useCpuBlas(b, notes);
      } catch (e) {
        notes.push(`auto: using wasm (${(e as Error).message})`);
      }
      return await useWasm(b, notes);
    }
    default:
      throw new RangeError(
        `Unknown backend "${b as string}": expected one of "auto", "wasm", "cpu", "webgpu", "tensorflow", "cpu-blas"`,
      );
  }
}
