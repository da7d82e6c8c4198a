/**
 * The wasm transposed-matmul fix.
 *
 * tfjs-backend-wasm 4.22 sends `BatchMatMul` with `transposeA` or
 * `transposeB` to a naive loop (0.4–2.5 GFLOP/s on this machine's cores)
 * while the untransposed case goes to XNNPACK (about 25–30 GFLOP/s). Both
 * backward-pass products of a Dense layer are transposed — `dX = dY·Wᵀ` and
 * `dW = Xᵀ·dY` — so training spends most of its time there. The forward pass
 * and `_FusedMatMul` are untransposed (inside a gradient tape tfjs only fuses
 * linear activations, so hidden layers run `BatchMatMul` + bias + activation).
 *
 * The fix re-registers the wasm `BatchMatMul` and `_FusedMatMul` kernels:
 * a transposed operand is first transposed explicitly with the wasm
 * `Transpose` kernel (a copy, O(n²)) and then the fast untransposed kernel
 * runs (O(n³)). The result equals the stock kernel's up to float32 summation
 * order (XNNPACK accumulates in a different order than the naive loop);
 * `tests/backend_test.ts` bounds the difference and shows it is bit-identical
 * to the untransposed kernel applied to the explicitly transposed operand.
 *
 * A batched `BatchMatMul` (more than one product, as multi-head attention's
 * `[batch, heads, steps, steps]` scores and their gradients) is slow in the
 * stock kernel with or without transposes: 256 products of 60 × 60 × 16 took
 * 23–29 ms (about 1 GFLOP/s) on the shared 2-core machine. The fix sends those
 * to this package's wasm SIMD sgemm instead, one call per product with the
 * transposes done while packing: the operands are copied into the sgemm's own
 * wasm memory (an {@linkcode Arena}, grown by replacing it when a larger batch
 * comes) and the result copied back. Each product is the same sum in another
 * float32 order (blocks of `KC` steps, with or without fused multiply-add).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Arena, simdKernels } from "./wasm_simd.ts";
import {
  SGEMM_SCRATCH_FLOATS,
  type SgemmKernels,
  sgemmRect,
  type SgemmScratch,
  sgemmScratch,
} from "./wasm_sgemm.ts";

type KernelConfig = tf.KernelConfig;
type KernelArgs = Parameters<tf.KernelFunc>[0];

const PATCHED = ["BatchMatMul", "_FusedMatMul"] as const;
const stock = new Map<string, KernelConfig>();

/**
 * Whether the fix is currently registered.
 *
 * @returns true after {@linkcode installWasmMatMulFix}, false after {@linkcode uninstallWasmMatMulFix}
 */
export function isWasmMatMulFixInstalled(): boolean {
  return stock.size > 0;
}

function transposeLastTwo(
  x: tf.TensorInfo,
  backend: KernelArgs["backend"],
  transpose: KernelConfig,
): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
}

/** The batched products' sgemm: its arena, kernels, scratch and operand floats. */
interface BatchedSgemm {
  arena: Arena;
  kernels: SgemmKernels;
  scratch: SgemmScratch;
  /** Floats after the scratch, for A, B and C. */
  base: number;
  floats: number;
}

let batched: BatchedSgemm | null = null;

/** Smallest operand area the batched sgemm's arena is made with (16 MiB). */
const BATCHED_MIN_FLOATS = 1 << 22;
/** Products whose operands need more floats than this (1 GiB) stay on the stock kernel. */
const BATCHED_MAX_FLOATS = 1 << 28;

/** The batched sgemm with room for `floats` operand floats, or null when none can be had. */
function batchedSgemm(floats: number): BatchedSgemm | null {
  if (batched && batched.floats >= floats) return batched;
  if (floats > BATCHED_MAX_FLOATS) return null;
  const size = Math.max(BATCHED_MIN_FLOATS, 2 ** Math.ceil(Math.log2(floats)));
  const arena = Arena.create(4 * (SGEMM_SCRATCH_FLOATS + size), 2);
  if (!(arena instanceof Arena)) return null;
  const scratch = arena.floats(SGEMM_SCRATCH_FLOATS);
  const operands = arena.floats(size);
  batched = {
    arena,
    kernels: simdKernels(arena.module, arena.memory),
    scratch: sgemmScratch(scratch.byteOffset),
    base: operands.byteOffset / 4,
    floats: size,
  };
  return batched;
}

interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/**
 * `op(A)·op(B)` for more than one product (a batch of 1 broadcasting) on the
 * wasm sgemm; null when the stock kernel should run (one product, not float32,
 * general broadcasting, or no arena).
 */
function batchedMatMul(args: KernelArgs): tf.TensorInfo | null {
  const { a, b } = args.inputs as Record<string, tf.TensorInfo>;
  const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  const transA = !!attrs.transposeA;
  const transB = !!attrs.transposeB;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const k = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const m = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const n = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== (transB ? b.shape[rb - 1] : b.shape[rb - 2])) return null;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = outerA.reduce((x, y) => x * y, 1);
  const batchB = outerB.reduce((x, y) => x * y, 1);
  const batch = Math.max(batchA, batchB);
  if (batch < 2 || m === 0 || n === 0 || k === 0) return null;
  const same = outerA.length === outerB.length && outerA.every((v, i) => v === outerB[i]);
  let outer: number[];
  if (same) outer = outerA;
  else if (batchB === 1 && outerB.every((v) => v === 1) && outerA.length >= outerB.length) {
    outer = outerA;
  } else if (batchA === 1 && outerA.every((v) => v === 1) && outerB.length >= outerA.length) {
    outer = outerB;
  } else return null;
  const sizeA = batchA * m * k;
  const sizeB = batchB * k * n;
  const sizeC = batch * m * n;
  const s = batchedSgemm(sizeA + sizeB + sizeC + 48);
  if (!s) return null;
  const backend = args.backend as unknown as WasmHeap;
  const out = backend.makeOutput([...outer, m, n], "float32");
  // Views of the tfjs heap, taken after the allocation (growth detaches older ones).
  const av = backend.typedArrayFromHeap(a);
  const bv = backend.typedArrayFromHeap(b);
  const heap = new Float32Array(s.arena.memory.buffer);
  const align = (x: number) => Math.ceil(x / 16) * 16;
  const offA = s.base;
  const offB = align(offA + sizeA);
  const offC = align(offB + sizeB);
  heap.set(av.subarray(0, sizeA), offA);
  heap.set(bv.subarray(0, sizeB), offB);
  for (let i = 0; i < batch; i++) {
    sgemmRect(s.kernels, s.arena.memory, s.scratch, {
      transA,
      transB,
      m,
      n,
      k,
      a: 4 * (offA + (batchA === 1 ? 0 : i) * m * k),
      lda: transA ? m : k,
      b: 4 * (offB + (batchB === 1 ? 0 : i) * k * n),
      ldb: transB ? k : n,
      c: 4 * (offC + i * m * n),
      ldc: n,
      accumulate: false,
    }, [0, m, 0, n]);
  }
  backend.typedArrayFromHeap(out).set(heap.subarray(offC, offC + sizeC));
  return out;
}

function fixedKernel(original: KernelConfig, transpose: KernelConfig): tf.KernelFunc {
  return (args: KernelArgs) => {
    if (original.kernelName === "BatchMatMul") {
      const result = batchedMatMul(args);
      if (result) return result;
    }
    const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args);
    const inputs = args.inputs as Record<string, tf.TensorInfo>;
    const backend = args.backend as KernelArgs["backend"] & {
      disposeData(id: unknown): boolean;
    };
    const temporaries: tf.TensorInfo[] = [];
    const a = attrs.transposeA ? transposeLastTwo(inputs.a, backend, transpose) : inputs.a;
    const b = attrs.transposeB ? transposeLastTwo(inputs.b, backend, transpose) : inputs.b;
    if (a !== inputs.a) temporaries.push(a);
    if (b !== inputs.b) temporaries.push(b);
    try {
      return original.kernelFunc({
        ...args,
        inputs: { ...inputs, a, b },
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
  };
}

/**
 * Registers the fixed wasm `BatchMatMul` and `_FusedMatMul` kernels.
 * Idempotent. Call it after the wasm backend is initialized
 * (`await tf.setBackend("wasm")`), so the stock kernels' setup has run; the
 * stock setup functions are kept, so a re-initialized backend still works.
 *
 * @returns true when it installed the fix now, false when it was already installed
 * @throws {Error} when the wasm kernels are not registered (the wasm backend was not imported)
 */
export function installWasmMatMulFix(): boolean {
  if (isWasmMatMulFixInstalled()) return false;
  const transpose = tf.getKernel("Transpose", "wasm");
  if (!transpose) {
    throw new Error(
      'Cannot install the wasm matmul fix: the wasm kernels are not registered (import "@tensorflow/tfjs-backend-wasm" first)',
    );
  }
  for (const name of PATCHED) {
    const original = tf.getKernel(name, "wasm");
    if (!original) {
      throw new Error(`Cannot install the wasm matmul fix: kernel "${name}" is missing`);
    }
    stock.set(name, original);
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ ...original, kernelFunc: fixedKernel(original, transpose) });
  }
  return true;
}

/**
 * Restores tfjs's stock wasm kernels (for the benchmark and the tests).
 *
 * @returns true when the fix was installed and is now removed
 */
export function uninstallWasmMatMulFix(): boolean {
  if (!isWasmMatMulFixInstalled()) return false;
  for (const [name, original] of stock) {
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(original);
  }
  stock.clear();
  return true;
}
