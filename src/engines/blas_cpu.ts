/**
 * The `cpu-blas` path: tfjs's plain-JavaScript `cpu` backend with its
 * `BatchMatMul` and `_FusedMatMul` kernels replaced by a system BLAS
 * `cblas_sgemm` called through Deno FFI. The elementwise work (bias, activation,
 * loss, Adam) stays in the stock cpu kernels.
 *
 * Libraries tried, in order: `libopenblas.so.0` (Debian/Ubuntu package
 * `libopenblas0-pthread`, or `libopenblas0`), `libopenblas.so`, `libcblas.so.3`,
 * `libblas.so.3`, and Apple's Accelerate framework on macOS. Set
 * `ALFRED_BLAS_LIBRARY` to a path to force one.
 *
 * Semantics match the stock cpu kernel exactly up to float32 summation order:
 * transposed operands map to sgemm's `CblasTrans`, batch dimensions of the
 * two operands broadcast when one of them is 1 (as the stock kernel does), and
 * non-float32 operands (`int32` matmuls) go to the stock kernel.
 *
 * Needs `--allow-ffi`. {@linkcode installBlasKernels} throws a clear error when
 * no library loads.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

type KernelConfig = tf.KernelConfig;
type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Where a BLAS is looked for, in order (`ALFRED_BLAS_LIBRARY` comes first when set). */
export const BLAS_LIBRARIES: readonly string[] = [
  "libopenblas.so.0",
  "libopenblas.so",
  "libcblas.so.3",
  "libblas.so.3",
  "/System/Library/Frameworks/Accelerate.framework/Accelerate",
];

/** The Debian package that provides `libopenblas.so.0` (what `.ci/run` installs). */
export const BLAS_DEBIAN_PACKAGE = "libopenblas0-pthread";

const SGEMM_SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
} as const;

type BlasLibrary = Deno.DynamicLibrary<typeof SGEMM_SYMBOLS>;

/** A loaded BLAS: its name and a row-major sgemm. */
export interface Blas {
  /** The library path or name that loaded. */
  library: string;
  /**
   * Row-major `C = op(A)·op(B)` (alpha 1, beta 0).
   *
   * @param transA use Aᵀ (A stored K × M)
   * @param transB use Bᵀ (B stored N × K)
   * @param m rows of C
   * @param n columns of C
   * @param k the shared dimension
   * @param a A's values (a view starting at its first element)
   * @param b B's values
   * @param c C's values, overwritten
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
  ): void;
}

let loaded: { lib: BlasLibrary; blas: Blas } | null = null;

const CBLAS_ROW_MAJOR = 101;
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;

/**
 * Opens the first BLAS library that loads (cached for the process).
 *
 * @returns the library and its sgemm
 * @throws {Error} when none loads, naming what was tried and how to install one
 */
export function loadBlas(): Blas {
  if (loaded) return loaded.blas;
  let forced: string | undefined;
  try {
    forced = Deno.env.get("ALFRED_BLAS_LIBRARY") || undefined;
  } catch {
    forced = undefined;
  }
  const candidates = forced ? [forced, ...BLAS_LIBRARIES] : [...BLAS_LIBRARIES];
  const failures: string[] = [];
  for (const library of candidates) {
    let lib: BlasLibrary;
    try {
      lib = Deno.dlopen(library, SGEMM_SYMBOLS);
    } catch (e) {
      if ((e as Error).name === "NotCapable" || (e as Error).name === "PermissionDenied") {
        throw new Error(
          "The cpu-blas backend needs FFI: run deno with --allow-ffi (the BLAS library is loaded with Deno.dlopen)",
        );
      }
      failures.push(`${library} (${(e as Error).message.split("\n")[0]})`);
      continue;
    }
    const blas: Blas = {
      library,
      sgemm(transA, transB, m, n, k, a, b, c) {
        if (m === 0 || n === 0) return;
        if (k === 0) {
          c.fill(0, 0, m * n);
          return;
        }
        const lda = transA ? m : k;
        const ldb = transB ? k : n;
        lib.symbols.cblas_sgemm(
          CBLAS_ROW_MAJOR,
          transA ? CBLAS_TRANS : CBLAS_NO_TRANS,
          transB ? CBLAS_TRANS : CBLAS_NO_TRANS,
          m,
          n,
          k,
          1,
          a,
          lda,
          b,
          ldb,
          0,
          c,
          n,
        );
      },
    };
    loaded = { lib, blas };
    return blas;
  }
  throw new Error(
    `The cpu-blas backend found no BLAS library: tried ${failures.join("; ")}. ` +
      `On Debian/Ubuntu run "apt-get install ${BLAS_DEBIAN_PACKAGE}" (or libopenblas0); ` +
      `on macOS Accelerate is built in; or set ALFRED_BLAS_LIBRARY to a library exporting cblas_sgemm; ` +
      `or use backend "wasm"`,
  );
}

interface CpuBackendLike {
  data: { get(id: unknown): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  disposeIntermediateTensorInfo(t: tf.TensorInfo): void;
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * `op(a)·op(b)` on the cpu backend through BLAS, with the stock kernel's shape
 * rules (batch dims flattened; a batch of 1 broadcasts).
 */
function blasBatchMatMul(
  blas: Blas,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transA: boolean,
  transB: boolean,
  backend: CpuBackendLike,
): tf.TensorInfo {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const inner = transA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const innerB = transB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  const m = transA ? a.shape[aRank - 1] : a.shape[aRank - 2];
  const n = transB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  if (inner !== innerB) {
    throw new Error(
      `Error in matMul: inner shapes (${inner}) and (${innerB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transA} and transposeB=${transB} must match.`,
    );
  }
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  const outOuter = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = Math.max(batchA, batchB);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) {
    throw new Error(
      `Error in matMul: batch dimensions [${outerA}] and [${outerB}] must be equal or one of them 1`,
    );
  }
  const av = backend.data.get(a.dataId).values as Float32Array;
  const bv = backend.data.get(b.dataId).values as Float32Array;
  const out = new Float32Array(batch * m * n);
  const aStride = m * inner;
  const bStride = inner * n;
  for (let i = 0; i < batch; i++) {
    const ai = batchA === 1 ? 0 : i;
    const bi = batchB === 1 ? 0 : i;
    blas.sgemm(
      transA,
      transB,
      m,
      n,
      inner,
      av.subarray(ai * aStride, (ai + 1) * aStride),
      bv.subarray(bi * bStride, (bi + 1) * bStride),
      out.subarray(i * m * n, (i + 1) * m * n),
    );
  }
  return backend.makeTensorInfo([...outOuter, m, n], "float32", out);
}

const ACTIVATION_KERNELS: Record<string, string> = {
  relu: "Relu",
  elu: "Elu",
  relu6: "Relu6",
  sigmoid: "Sigmoid",
};

const stock = new Map<string, KernelConfig>();
let installedLibrary: string | null = null;

function kernel(name: string): KernelConfig {
  const k = tf.getKernel(name, "cpu");
  if (!k) {
    throw new Error(
      `Cannot install the BLAS kernels: the cpu kernel "${name}" is not registered (import "@tensorflow/tfjs" first)`,
    );
  }
  return k;
}

function batchMatMulKernel(blas: Blas, original: KernelConfig): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { a, b } = args.inputs as Record<string, tf.TensorInfo>;
    if (a.dtype !== "float32" || b.dtype !== "float32") return original.kernelFunc(args);
    const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    return blasBatchMatMul(
      blas,
      a,
      b,
      !!attrs.transposeA,
      !!attrs.transposeB,
      args.backend as unknown as CpuBackendLike,
    );
  };
}

function fusedMatMulKernel(blas: Blas, original: KernelConfig): tf.KernelFunc {
  const add = kernel("Add");
  return (args: KernelArgs) => {
    const inputs = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = args.attrs as {
      transposeA?: boolean;
      transposeB?: boolean;
      activation?: string;
      leakyreluAlpha?: number;
    };
    const { a, b, bias, preluActivationWeights } = inputs;
    if (!a || !b || a.dtype !== "float32" || b.dtype !== "float32") {
      return original.kernelFunc(args);
    }
    const backend = args.backend as unknown as CpuBackendLike;
    let current = blasBatchMatMul(blas, a, b, !!attrs.transposeA, !!attrs.transposeB, backend);
    if (bias) {
      const next = add.kernelFunc({
        inputs: { a: current, b: bias },
        backend: args.backend,
        attrs: {},
      }) as tf.TensorInfo;
      backend.disposeIntermediateTensorInfo(current);
      current = next;
    }
    const act = attrs.activation;
    if (act && act !== "linear") {
      let next: tf.TensorInfo;
      if (act === "prelu") {
        next = kernel("Prelu").kernelFunc({
          inputs: { x: current, alpha: preluActivationWeights as tf.TensorInfo },
          backend: args.backend,
          attrs: {},
        }) as tf.TensorInfo;
      } else if (act === "leakyrelu") {
        next = kernel("LeakyRelu").kernelFunc({
          inputs: { x: current },
          backend: args.backend,
          attrs: { alpha: attrs.leakyreluAlpha ?? 0.2 },
        }) as tf.TensorInfo;
      } else if (ACTIVATION_KERNELS[act]) {
        next = kernel(ACTIVATION_KERNELS[act]).kernelFunc({
          inputs: { x: current },
          backend: args.backend,
          attrs: {},
        }) as tf.TensorInfo;
      } else {
        throw new Error(`Activation ${act} has not been implemented for the CPU backend.`);
      }
      backend.disposeIntermediateTensorInfo(current);
      current = next;
    }
    return current;
  };
}

/**
 * Whether the BLAS kernels are registered for the cpu backend.
 *
 * @returns the library in use, or null
 */
export function blasKernelsInstalled(): string | null {
  return installedLibrary;
}

/**
 * Registers `BatchMatMul` and `_FusedMatMul` for tfjs's `cpu` backend backed
 * by BLAS sgemm. Idempotent. Activate the backend with
 * `await tf.setBackend("cpu")` to use them.
 *
 * @returns the BLAS library in use
 * @throws {Error} when no BLAS library loads (with the package to install) or
 *   FFI is not permitted
 * @example
 * ```ts
 * const { library } = installBlasKernels();
 * await tf.setBackend("cpu");
 * console.log(`cpu-blas via ${library}`);
 * ```
 */
export function installBlasKernels(): { library: string } {
  const blas = loadBlas();
  if (installedLibrary) return { library: installedLibrary };
  const originals = {
    BatchMatMul: kernel("BatchMatMul"),
    _FusedMatMul: kernel("_FusedMatMul"),
  };
  for (const [name, original] of Object.entries(originals)) {
    stock.set(name, original);
    tf.unregisterKernel(name, "cpu");
    tf.registerKernel({
      ...original,
      kernelFunc: name === "BatchMatMul"
        ? batchMatMulKernel(blas, original)
        : fusedMatMulKernel(blas, original),
    });
  }
  installedLibrary = blas.library;
  return { library: blas.library };
}

/**
 * Restores tfjs's stock cpu matmul kernels (for comparisons and tests).
 *
 * @returns true when BLAS kernels were installed and are now removed
 */
export function uninstallBlasKernels(): boolean {
  if (!installedLibrary) return false;
  for (const [name, original] of stock) {
    tf.unregisterKernel(name, "cpu");
    tf.registerKernel(original);
  }
  stock.clear();
  installedLibrary = null;
  return true;
}

/**
 * Float32 sgemm throughput of the loaded BLAS on `n × n` matrices, measured
 * now (the ceiling the cpu-blas training rate is compared against).
 *
 * @param n side of the square matrices
 * @param reps timed repetitions (after one warm-up)
 * @returns GFLOP/s and the library
 * @throws {Error} when no BLAS library loads
 */
export function measureSgemm(n = 1024, reps = 5): { gflops: number; library: string } {
  const blas = loadBlas();
  const a = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = new Float32Array(n * n).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const c = new Float32Array(n * n);
  blas.sgemm(false, false, n, n, n, a, b, c);
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) blas.sgemm(false, false, n, n, n, a, b, c);
  const seconds = (performance.now() - t0) / 1000 / reps;
  return { gflops: 2 * n ** 3 / seconds / 1e9, library: blas.library };
}
