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
 * @module
 */
import * as tf from "@tensorflow/tfjs";

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

function fixedKernel(original: KernelConfig, transpose: KernelConfig): tf.KernelFunc {
  return (args: KernelArgs) => {
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
