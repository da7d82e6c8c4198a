/**
 * The `cpu-blas` path: a tfjs CPU backend with its `BatchMatMul` and
 * `_FusedMatMul` kernels replaced by a system BLAS `cblas_sgemm` called through
 * Deno FFI. The elementwise work (bias, activation, loss, Adam) stays in the
 * backend's own kernels.
 *
 * Two hosts: `wasm` (the default: BLAS reads and writes the wasm heap in
 * place, and the elementwise work runs in XNNPACK/SIMD) and `cpu` (tfjs's
 * plain-JavaScript backend, whose elementwise kernels are so slow — about 2 s
 * per Adam step on a 10 × 1024 MLP — that they, not the matmuls, bound training).
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
 * Opens the first BLAS library that loads. The library stays open for the
 * rest of the process ({@linkcode loadedBlas} names it): a multi-threaded
 * BLAS's thread pool does not outlive unloading safely, and the kernels and
 * engines that multiply with it hold its functions.
 *
 * @returns the library and its sgemm
 * @throws {Error} when none loads, naming what was tried and why each failed, and how to install one
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
      failures.push(`"${library}" (${dlopenReason(library, e as Error)})`);
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
    `No BLAS library loads: tried ${failures.join(", ")}: ` +
      `on Debian/Ubuntu run "apt-get install ${BLAS_DEBIAN_PACKAGE}" (or libopenblas0), ` +
      `on macOS Accelerate is built in, or set ALFRED_BLAS_LIBRARY to a library exporting cblas_sgemm`,
  );
}

/**
 * Why `Deno.dlopen` refused a library, once: Deno words it as "Could not open
 * library: Could not open library: PATH: REASON" (its prefix, then the
 * loader's message with the same prefix); this keeps REASON, or the loader's
 * message when it does not name the library.
 */
function dlopenReason(library: string, e: Error): string {
  const message = e.message.split("\n")[0].replace(/^(Could not open library: )+/, "");
  const resolved = message.indexOf(": ");
  if (resolved > 0 && message.slice(0, resolved).endsWith(library.split("/").pop()!)) {
    return message.slice(resolved + 2);
  }
  return message;
}

/**
 * The BLAS library this process has open ({@linkcode loadBlas} opens one, once).
 *
 * @returns the library's path or name, or null when none was loaded
 */
export function loadedBlas(): string | null {
  return loaded?.blas.library ?? null;
}

/** The tfjs backends the BLAS kernels can be installed on. */
export type BlasHost = "wasm" | "cpu";

/** Reads operands and allocates outputs on one backend. */
interface HostOps {
  read(t: tf.TensorInfo): Float32Array;
  /** Allocates a float32 output; returns it and a function giving its values (call after every allocation). */
  alloc(shape: number[]): { info: tf.TensorInfo; values: () => Float32Array };
  dispose(t: tf.TensorInfo): void;
}

interface CpuBackendLike {
  data: { get(id: unknown): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  disposeIntermediateTensorInfo(t: tf.TensorInfo): void;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  disposeData(id: unknown): boolean;
}

function hostOps(host: BlasHost, backend: unknown): HostOps {
  if (host === "cpu") {
    const b = backend as CpuBackendLike;
    return {
      read: (t) => b.data.get(t.dataId).values as Float32Array,
      alloc: (shape) => {
        const values = new Float32Array(sizeOf(shape));
        return { info: b.makeTensorInfo(shape, "float32", values), values: () => values };
      },
      dispose: (t) => b.disposeIntermediateTensorInfo(t),
    };
  }
  const b = backend as WasmBackendLike;
  return {
    // Views of the wasm heap: taken after every allocation (growth detaches old views).
    read: (t) => b.typedArrayFromHeap(t),
    alloc: (shape) => {
      const info = b.makeOutput(shape, "float32");
      return { info, values: () => b.typedArrayFromHeap(info) };
    },
    dispose: (t) => {
      b.disposeData(t.dataId);
    },
  };
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
  host: HostOps,
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
  const output = host.alloc([...outOuter, m, n]);
  const out = output.values();
  const av = host.read(a);
  const bv = host.read(b);
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
  return output.info;
}

const ACTIVATION_KERNELS: Record<string, string> = {
  relu: "Relu",
  elu: "Elu",
  relu6: "Relu6",
  sigmoid: "Sigmoid",
};

const stock = new Map<BlasHost, Map<string, KernelConfig>>();
const installed = new Map<BlasHost, string>();

function kernel(name: string, host: BlasHost): KernelConfig {
  const k = tf.getKernel(name, host);
  if (!k) {
    throw new Error(
      `Cannot install the BLAS kernels: the ${host} kernel "${name}" is not registered (import "@tensorflow/tfjs"${
        host === "wasm" ? ' and "@tensorflow/tfjs-backend-wasm"' : ""
      } first)`,
    );
  }
  return k;
}

function batchMatMulKernel(blas: Blas, original: KernelConfig, host: BlasHost): tf.KernelFunc {
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
      hostOps(host, args.backend),
    );
  };
}

function fusedMatMulKernel(blas: Blas, original: KernelConfig, host: BlasHost): tf.KernelFunc {
  const add = kernel("Add", host);
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
    const ops = hostOps(host, args.backend);
    let current = blasBatchMatMul(blas, a, b, !!attrs.transposeA, !!attrs.transposeB, ops);
    if (bias) {
      const next = add.kernelFunc({
        inputs: { a: current, b: bias },
        backend: args.backend,
        attrs: {},
      }) as tf.TensorInfo;
      ops.dispose(current);
      current = next;
    }
    const act = attrs.activation;
    if (act && act !== "linear") {
      let next: tf.TensorInfo;
      if (act === "prelu") {
        next = kernel("Prelu", host).kernelFunc({
          inputs: { x: current, alpha: preluActivationWeights as tf.TensorInfo },
          backend: args.backend,
          attrs: {},
        }) as tf.TensorInfo;
      } else if (act === "leakyrelu") {
        next = kernel("LeakyRelu", host).kernelFunc({
          inputs: { x: current },
          backend: args.backend,
          attrs: { alpha: attrs.leakyreluAlpha ?? 0.2 },
        }) as tf.TensorInfo;
      } else if (ACTIVATION_KERNELS[act]) {
        next = kernel(ACTIVATION_KERNELS[act], host).kernelFunc({
          inputs: { x: current },
          backend: args.backend,
          attrs: {},
        }) as tf.TensorInfo;
      } else {
        throw new Error(`Activation ${act} has not been implemented for the ${host} backend.`);
      }
      ops.dispose(current);
      current = next;
    }
    return current;
  };
}

/**
 * Whether the BLAS kernels are registered for a backend.
 *
 * @param host the backend (default `wasm`)
 * @returns the library in use, or null
 */
export function blasKernelsInstalled(host: BlasHost = "wasm"): string | null {
  return installed.get(host) ?? null;
}

/**
 * Registers `BatchMatMul` and `_FusedMatMul` backed by BLAS sgemm for a tfjs
 * CPU backend. Idempotent. Activate the backend (`await tf.setBackend(host)`)
 * to use them; for `wasm`, activate it before installing so its kernels' setup
 * has run. Installing over the wasm transposed-matmul fix replaces it; the
 * uninstall restores whatever was registered before.
 *
 * @param host `wasm` (default; the elementwise work in XNNPACK) or `cpu` (plain JavaScript)
 * @returns the BLAS library in use
 * @throws {Error} when no BLAS library loads (with the package to install),
 *   FFI is not permitted, or the backend's kernels are not registered
 * @example
 * ```ts
 * await tf.setBackend("wasm");
 * const { library } = installBlasKernels();
 * console.log(`cpu-blas via ${library}`);
 * ```
 */
export function installBlasKernels(host: BlasHost = "wasm"): { library: string } {
  const blas = loadBlas();
  const already = installed.get(host);
  if (already) return { library: already };
  const originals = {
    BatchMatMul: kernel("BatchMatMul", host),
    _FusedMatMul: kernel("_FusedMatMul", host),
  };
  const saved = new Map<string, KernelConfig>();
  for (const [name, original] of Object.entries(originals)) {
    saved.set(name, original);
    tf.unregisterKernel(name, host);
    tf.registerKernel({
      ...original,
      kernelFunc: name === "BatchMatMul"
        ? batchMatMulKernel(blas, original, host)
        : fusedMatMulKernel(blas, original, host),
    });
  }
  stock.set(host, saved);
  installed.set(host, blas.library);
  return { library: blas.library };
}

/**
 * Restores the matmul kernels that were registered before {@linkcode installBlasKernels}.
 *
 * @param host the backend (default `wasm`)
 * @returns true when BLAS kernels were installed and are now removed
 */
export function uninstallBlasKernels(host: BlasHost = "wasm"): boolean {
  const saved = stock.get(host);
  if (!installed.has(host) || !saved) return false;
  for (const [name, original] of saved) {
    tf.unregisterKernel(name, host);
    tf.registerKernel(original);
  }
  stock.delete(host);
  installed.delete(host);
  return true;
}

/**
 * Float32 sgemm throughput of the loaded BLAS on `n × n` matrices, measured
 * now: the best of `rounds` rounds of `reps` products after a warm-up round
 * (the library's threads start and the clock settles in the first ones), so
 * the figure is the ceiling the training rates are compared against.
 *
 * @param n side of the square matrices
 * @param reps products per round
 * @param rounds timed rounds; the fastest counts
 * @returns GFLOP/s and the library
 * @throws {Error} when no BLAS library loads
 */
export function measureSgemm(n = 1024, reps = 5, rounds = 5): { gflops: number; library: string } {
  const blas = loadBlas();
  const a = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = new Float32Array(n * n).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const c = new Float32Array(n * n);
  for (let i = 0; i < reps; i++) blas.sgemm(false, false, n, n, n, a, b, c);
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) blas.sgemm(false, false, n, n, n, a, b, c);
    best = Math.min(best, (performance.now() - t0) / 1000 / reps);
  }
  return { gflops: 2 * n ** 3 / best / 1e9, library: blas.library };
}
