/**
 * The `cpu-blas` backend: tfjs's CPU backend with its `BatchMatMul` and
 * `_FusedMatMul` kernels replaced by a system BLAS `cblas_sgemm` called
 * through Deno FFI (OpenBLAS on Linux, Accelerate on macOS). The elementwise
 * work (activations, Adam) stays in tfjs-cpu's JavaScript.
 *
 * It is registered as its own tfjs backend, `cpu-blas`, holding a copy of
 * every `cpu` kernel, so the plain `cpu` backend stays the untouched
 * reference. BLAS handles transposed operands natively (no copy).
 *
 * Float32 results differ from tfjs-cpu's blocked loop only by summation
 * order; OpenBLAS with several threads splits the output, not the sum, so a
 * run repeats bit for bit on the same machine and thread count.
 *
 * Needs `--allow-ffi`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Libraries tried in order. */
export const BLAS_LIBRARIES = [
  "libopenblas.so.0",
  "libopenblas.so",
  "libblas.so.3",
  "libcblas.so.3",
  "/System/Library/Frameworks/Accelerate.framework/Accelerate",
] as const;

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32", // order
      "i32", // transA
      "i32", // transB
      "i32", // M
      "i32", // N
      "i32", // K
      "f32", // alpha
      "buffer", // A
      "i32", // lda
      "buffer", // B
      "i32", // ldb
      "f32", // beta
      "buffer", // C
      "i32", // ldc
    ],
    result: "void",
  },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
} as const;

/** A loaded BLAS. */
export interface Blas {
  /** The library file that loaded. */
  library: string;
  /** Threads OpenBLAS computes with, when it says. */
  threads?: number;
  /** Row-major `C = A·B` (each optionally transposed) on float32 arrays. */
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

let loaded: Blas | undefined;

/**
 * Loads the first BLAS of {@linkcode BLAS_LIBRARIES} that exports `cblas_sgemm`.
 * Cached after the first success.
 *
 * @returns the BLAS
 * @throws {Error} naming every library tried and how to install one
 */
export function loadBlas(): Blas {
  if (loaded) return loaded;
  const failures: string[] = [];
  for (const library of BLAS_LIBRARIES) {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen(library, SYMBOLS);
    } catch (e) {
      if ((e as Error).name === "NotCapable" || (e as Error).name === "PermissionDenied") {
        throw new Error(`Cannot load a BLAS library: FFI is not allowed (run with --allow-ffi)`);
      }
      failures.push(library);
      continue;
    }
    const symbols = lib.symbols;
    const threads = symbols.openblas_get_num_threads
      ? symbols.openblas_get_num_threads()
      : undefined;
    loaded = {
      library,
      threads,
      sgemm(transA, transB, m, n, k, a, b, c) {
        // CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112
        symbols.cblas_sgemm(
          101,
          transA ? 112 : 111,
          transB ? 112 : 111,
          m,
          n,
          k,
          1,
          a,
          Math.max(1, transA ? m : k),
          b,
          Math.max(1, transB ? k : n),
          0,
          c,
          Math.max(1, n),
        );
      },
    };
    return loaded;
  }
  throw new Error(
    `No BLAS library with cblas_sgemm could be loaded (tried ${failures.join(", ")}): ` +
      `install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas0; macOS has Accelerate)`,
  );
}

interface CpuBackendLike {
  data: { get(id: unknown): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
  disposeIntermediateTensorInfo(t: tf.TensorInfo): void;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function blasMatMul(
  blas: Blas,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transA: boolean,
  transB: boolean,
  backend: CpuBackendLike,
): tf.TensorInfo | null {
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  const av = backend.data.get(a.dataId).values;
  const bv = backend.data.get(b.dataId).values;
  if (!(av instanceof Float32Array) || !(bv instanceof Float32Array)) return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transA} and transposeB=${transB} must match.`,
    );
  }
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
  );
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  const out = new Float32Array(batch * m * n);
  if (m * n > 0 && k > 0) {
    for (let i = 0; i < batch; i++) {
      const ai = (i % batchA) * m * k;
      const bi = (i % batchB) * k * n;
      blas.sgemm(
        transA,
        transB,
        m,
        n,
        k,
        av.subarray(ai, ai + m * k),
        bv.subarray(bi, bi + k * n),
        out.subarray(i * m * n, (i + 1) * m * n),
      );
    }
  }
  return backend.makeTensorInfo([...outer, m, n], "float32", out);
}

const ACTIVATION_KERNELS: Record<string, string> = {
  relu: "Relu",
  relu6: "Relu6",
  elu: "Elu",
  sigmoid: "Sigmoid",
  leakyrelu: "LeakyRelu",
  prelu: "Prelu",
};

let registered: { library: string; threads?: number } | undefined;

/** The name of the backend {@linkcode registerCpuBlasBackend} registers. */
export const CPU_BLAS = "cpu-blas";

/**
 * Registers the `cpu-blas` tfjs backend (idempotent).
 *
 * @returns the BLAS library and its thread count
 * @throws {Error} when no BLAS loads (see {@linkcode loadBlas})
 */
export function registerCpuBlasBackend(): { library: string; threads?: number } {
  if (registered) return registered;
  const blas = loadBlas();
  const factory = tf.findBackendFactory("cpu");
  if (!factory) throw new Error("Cannot register cpu-blas: the tfjs cpu backend is missing");
  tf.registerBackend(CPU_BLAS, factory, 0);
  for (const kernel of tf.getKernelsForBackend("cpu")) {
    if (!tf.getKernel(kernel.kernelName, CPU_BLAS)) {
      tf.registerKernel({ ...kernel, backendName: CPU_BLAS });
    }
  }
  const stockMatMul = tf.getKernel("BatchMatMul", "cpu")!;
  const stockFused = tf.getKernel("_FusedMatMul", "cpu")!;
  const kernel = (name: string) => tf.getKernel(name, CPU_BLAS)!.kernelFunc;

  tf.unregisterKernel("BatchMatMul", CPU_BLAS);
  tf.registerKernel({
    kernelName: "BatchMatMul",
    backendName: CPU_BLAS,
    kernelFunc: (args: KernelArgs) => {
      const { a, b } = args.inputs as Record<string, tf.TensorInfo>;
      const attrs = args.attrs as { transposeA: boolean; transposeB: boolean };
      return blasMatMul(
        blas,
        a,
        b,
        attrs.transposeA,
        attrs.transposeB,
        args.backend as unknown as CpuBackendLike,
      ) ?? stockMatMul.kernelFunc(args);
    },
  });

  tf.unregisterKernel("_FusedMatMul", CPU_BLAS);
  tf.registerKernel({
    kernelName: "_FusedMatMul",
    backendName: CPU_BLAS,
    kernelFunc: (args: KernelArgs) => {
      const inputs = args.inputs as Record<string, tf.TensorInfo | undefined>;
      const attrs = args.attrs as {
        transposeA: boolean;
        transposeB: boolean;
        activation?: string;
        leakyreluAlpha?: number;
      };
      const backend = args.backend as unknown as CpuBackendLike;
      const activation = attrs.activation ?? "linear";
      if (activation !== "linear" && !(activation in ACTIVATION_KERNELS)) {
        return stockFused.kernelFunc(args);
      }
      const product = blasMatMul(
        blas,
        inputs.a!,
        inputs.b!,
        attrs.transposeA,
        attrs.transposeB,
        backend,
      );
      if (!product) return stockFused.kernelFunc(args);
      let current = product;
      const call = (name: string, ins: Record<string, tf.TensorInfo>, at: object = {}) => {
        const next = kernel(name)({
          inputs: ins,
          backend: args.backend,
          attrs: at as tf.NamedAttrMap,
        }) as tf.TensorInfo;
        backend.disposeIntermediateTensorInfo(current);
        current = next;
      };
      if (inputs.bias) call("Add", { a: current, b: inputs.bias });
      if (activation === "leakyrelu") {
        call("LeakyRelu", { x: current }, { alpha: attrs.leakyreluAlpha ?? 0.2 });
      } else if (activation === "prelu") {
        call("Prelu", { x: current, alpha: inputs.preluActivationWeights! });
      } else if (activation !== "linear") {
        call(ACTIVATION_KERNELS[activation], { x: current });
      }
      return current;
    },
  });
  for (const [name, op] of Object.entries(FAST_BINARY)) {
    const stock = tf.getKernel(name, CPU_BLAS)!;
    tf.unregisterKernel(name, CPU_BLAS);
    tf.registerKernel({
      kernelName: name,
      backendName: CPU_BLAS,
      kernelFunc: (args: KernelArgs) =>
        fastBinary(args, op) ?? stock.kernelFunc(args) as tf.TensorInfo,
    });
  }
  registered = { library: blas.library, threads: blas.threads };
  return registered;
}

/**
 * Same-shape and tensor-with-scalar float32 binary ops as plain typed-array
 * loops. tfjs-cpu's generic broadcasting loop costs about 10 ns an element;
 * Adam's update is a dozen such ops over every parameter, which dominated
 * a training step once the matmuls went to BLAS. Each element is computed
 * with the same float32 operation as tfjs-cpu, so results are identical.
 * One loop per op (not a shared loop calling a closure): V8 inlines it.
 */
const FAST_BINARY = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3 } as const;

function binaryLoop(
  op: number,
  out: Float32Array,
  a: Float32Array,
  b: Float32Array,
  aStep: number,
  bStep: number,
): void {
  const n = out.length;
  switch (op) {
    case 0:
      for (let i = 0; i < n; i++) out[i] = a[i * aStep] + b[i * bStep];
      break;
    case 1:
      for (let i = 0; i < n; i++) out[i] = a[i * aStep] - b[i * bStep];
      break;
    case 2:
      for (let i = 0; i < n; i++) out[i] = a[i * aStep] * b[i * bStep];
      break;
    default:
      for (let i = 0; i < n; i++) out[i] = a[i * aStep] / b[i * bStep];
  }
}

function fastBinary(args: KernelArgs, op: number): tf.TensorInfo | null {
  const { a, b } = args.inputs as Record<string, tf.TensorInfo>;
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  const backend = args.backend as unknown as CpuBackendLike;
  const av = backend.data.get(a.dataId).values;
  const bv = backend.data.get(b.dataId).values;
  if (!(av instanceof Float32Array) || !(bv instanceof Float32Array)) return null;
  const sameShape = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  // Same shape, or a scalar (shape []) against anything: the result has the other operand's shape.
  const shape = sameShape || b.shape.length === 0 ? a.shape : a.shape.length === 0 ? b.shape : null;
  if (!shape) return null;
  const out = new Float32Array(Math.max(av.length, bv.length));
  binaryLoop(
    op,
    out,
    av,
    bv,
    av.length === 1 && !sameShape ? 0 : 1,
    bv.length === 1 && !sameShape ? 0 : 1,
  );
  return backend.makeTensorInfo(shape, "float32", out);
}
