/**
 * WebAssembly SIMD kernels for the fused CPU engine — the optimizer updates,
 * bias + ReLU, the ReLU gradient, column sums and the sgemm of
 * {@link ./wasm_sgemm.ts} — and the shared wasm memory (an arena) that holds
 * the parameters, gradients, moments and activations they work on.
 *
 * Why: an Adam step is a stream over four arrays with a square root and a
 * division per element. Scalar JavaScript does about 4 ns an element; 128-bit
 * SIMD does four at a time and is bound by memory bandwidth instead: 7 ms
 * against 20 ms for 10.5 M parameters on the 2-core reference machine, two
 * threads each.
 *
 * The module is assembled here, byte by byte, with the emitter of
 * {@link ./wasm_emit.ts} (an instruction table; no toolchain, nothing
 * fetched). It imports one shared memory of exactly the arena's size and
 * exports the kernels of {@linkcode SimdKernels}, which take byte offsets into
 * that memory and counts that are multiples of 4 (callers do the rest with the
 * JavaScript kernels of {@link ./cpu_kernels.ts}), and the sgemm's kernels of
 * {@linkcode SgemmKernels}. The arithmetic is float32 throughout (as tfjs and
 * the WGSL engine compute it).
 *
 * @module
 */
import { ADAM } from "./cpu_optimizer.ts";
import { bump, code, F32, f32const, I32, loop, moduleBytes, OP, set, V128 } from "./wasm_emit.ts";
import { relaxedSimdValidates, sgemmFunctions, type SgemmKernels } from "./wasm_sgemm.ts";

/** Bytes of a wasm page. */
export const WASM_PAGE_BYTES = 65536;
/** The most a wasm32 memory can hold: 65536 pages, 4 GiB. */
export const ARENA_MAX_BYTES = 65536 * WASM_PAGE_BYTES;

/** `base + i` (byte address of the current vector of the array whose offset is local `base`). */
const at = (base: number, i: number) => [...OP.get(base), ...OP.get(i), ...OP.i32add];

/** `bytes = count · 4` into `local`, from the count's local. */
const bytesOf = (local: number, count: number) =>
  set(local, [...OP.get(count), ...OP.i32const(2), ...OP.i32shl]);

/** `store(addr, load(addr) op value)` for the vector at `base + i`. */
const update = (base: number, i: number, value: number[]) => [
  ...at(base, i),
  ...at(base, i),
  ...OP.load,
  ...value,
];

/**
 * `adam(p, g, m, v, n, lr, r1, r2)`: byte offsets of the four arrays, `n`
 * elements (a multiple of 4), the learning rate and the reciprocal bias
 * corrections `1/c1`, `1/c2`.
 */
function adamBody(): number[] {
  // Params 0 p, 1 g, 2 m, 3 v, 4 n, 5 lr, 6 r1, 7 r2; locals 8 i, 9 end (i32),
  // 10 β1, 11 1−β1, 12 β2, 13 1−β2, 14 lr, 15 r1, 16 r2, 17 ε, 18 g, 19 m', 20 v' (v128).
  const splat = (value: number[], local: number) => set(local, [...value, ...OP.splat]);
  return [
    ...bytesOf(9, 4),
    ...splat(f32const(ADAM.beta1), 10),
    ...splat(f32const(1 - ADAM.beta1), 11),
    ...splat(f32const(ADAM.beta2), 12),
    ...splat(f32const(1 - ADAM.beta2), 13),
    ...splat(OP.get(5), 14),
    ...splat(OP.get(6), 15),
    ...splat(OP.get(7), 16),
    ...splat(f32const(ADAM.epsilon), 17),
    ...loop(8, 9, [
      ...set(18, [...at(1, 8), ...OP.load]),
      // m' = m·β1 + g·(1−β1)
      ...update(2, 8, [
        ...OP.get(10),
        ...OP.mul,
        ...OP.get(18),
        ...OP.get(11),
        ...OP.mul,
        ...OP.add,
        ...OP.tee(19),
        ...OP.store,
      ]),
      // v' = v·β2 + g·g·(1−β2)
      ...update(3, 8, [
        ...OP.get(12),
        ...OP.mul,
        ...OP.get(18),
        ...OP.get(18),
        ...OP.mul,
        ...OP.get(13),
        ...OP.mul,
        ...OP.add,
        ...OP.tee(20),
        ...OP.store,
      ]),
      // p = p − lr·(m'·r1) / (√(v'·r2) + ε)
      ...update(0, 8, [
        ...OP.get(14),
        ...OP.get(19),
        ...OP.get(15),
        ...OP.mul,
        ...OP.mul,
        ...OP.get(20),
        ...OP.get(16),
        ...OP.mul,
        ...OP.sqrt,
        ...OP.get(17),
        ...OP.add,
        ...OP.div,
        ...OP.sub,
        ...OP.store,
      ]),
    ]),
  ];
}

/** `sgd(p, g, n, lr)`: `p −= lr·g` over `n` elements (a multiple of 4). */
function sgdBody(): number[] {
  // Params 0 p, 1 g, 2 n, 3 lr; locals 4 i, 5 end (i32), 6 lr (v128).
  return [
    ...bytesOf(5, 2),
    ...set(6, [...OP.get(3), ...OP.splat]),
    ...loop(4, 5, [
      ...update(0, 4, [...at(1, 4), ...OP.load, ...OP.get(6), ...OP.mul, ...OP.sub, ...OP.store]),
    ]),
  ];
}

/**
 * `bias_add(h, b, rows, n)` / `bias_relu(...)`: `H[r, c] += b[c]` over a
 * rows × n matrix (n a multiple of 4), then ReLU for the second.
 */
function biasBody(relu: boolean): number[] {
  // Params 0 h (advanced row by row), 1 b, 2 rows, 3 n; locals 4 r, 5 c, 6 rowBytes (i32), 7 zero (v128).
  const columns = loop(5, 6, [
    ...update(0, 5, [
      ...at(1, 5),
      ...OP.load,
      ...OP.add,
      ...(relu ? [...OP.get(7), ...OP.max] : []),
      ...OP.store,
    ]),
  ]);
  return [
    ...bytesOf(6, 3),
    ...set(7, [...f32const(0), ...OP.splat]),
    ...loop(4, 2, [...set(5, OP.i32const(0)), ...columns, ...bump(0, OP.get(6))], OP.i32const(1)),
  ];
}

/** `relu_grad(d, h, n)`: `D[i] = H[i] > 0 ? D[i] : 0` over `n` elements (a multiple of 4). */
function reluGradBody(): number[] {
  // Params 0 d, 1 h, 2 n; locals 3 i, 4 end (i32), 5 zero (v128).
  return [
    ...bytesOf(4, 2),
    ...set(5, [...f32const(0), ...OP.splat]),
    ...loop(3, 4, [
      ...update(0, 3, [...at(1, 3), ...OP.load, ...OP.get(5), ...OP.gt, ...OP.and, ...OP.store]),
    ]),
  ];
}

/** `col_sums(d, g, rows, n)`: `G[c] = Σ_r D[r, c]` over a rows × n matrix (n a multiple of 4). */
function colSumsBody(): number[] {
  // Params 0 d (advanced row by row), 1 g, 2 rows, 3 n; locals 4 r, 5 c, 6 rowBytes (i32).
  const columns = (body: number[]) => [...set(5, OP.i32const(0)), ...loop(5, 6, body)];
  return [
    ...bytesOf(6, 3),
    ...columns([...at(1, 5), ...f32const(0), ...OP.splat, ...OP.store]),
    ...loop(4, 2, [
      ...columns(update(1, 5, [...at(0, 5), ...OP.load, ...OP.add, ...OP.store])),
      ...bump(0, OP.get(6)),
    ], OP.i32const(1)),
  ];
}

/**
 * The kernel module's bytes for a shared memory of `pages` pages: the
 * elementwise kernels of {@linkcode SimdKernels} and the sgemm's of
 * {@linkcode SgemmKernels}.
 *
 * @param pages the arena's size in pages (its minimum and maximum)
 * @param fma emit the sgemm with `f32x4.relaxed_madd` (default: when this
 *   runtime validates relaxed SIMD)
 * @returns a wasm binary exporting the kernels
 */
export function kernelModuleBytes(
  pages: number,
  fma: boolean = relaxedSimdValidates(),
): Uint8Array<ArrayBuffer> {
  const kernel = (n: string, params: number[], locals: [number, number][], body: number[]) => ({
    name: n,
    params,
    body: () => code(locals, body),
  });
  return moduleBytes(pages, [
    kernel("adam", [I32, I32, I32, I32, I32, F32, F32, F32], [[2, I32], [11, V128]], adamBody()),
    kernel("sgd", [I32, I32, I32, F32], [[2, I32], [1, V128]], sgdBody()),
    kernel("bias_add", [I32, I32, I32, I32], [[3, I32], [1, V128]], biasBody(false)),
    kernel("bias_relu", [I32, I32, I32, I32], [[3, I32], [1, V128]], biasBody(true)),
    kernel("relu_grad", [I32, I32, I32], [[2, I32], [1, V128]], reluGradBody()),
    kernel("col_sums", [I32, I32, I32, I32], [[3, I32]], colSumsBody()),
    ...sgemmFunctions(fma),
  ]);
}

/**
 * The exported kernels, bound to one arena. Arguments are byte offsets into
 * the arena's memory and counts; every count of columns or elements must be a
 * multiple of 4 (callers do the rest in JavaScript).
 */
export interface SimdKernels {
  /** Adam over `n` elements with `r1 = 1/c1`, `r2 = 1/c2`. */
  adam(
    p: number,
    g: number,
    m: number,
    v: number,
    n: number,
    lr: number,
    r1: number,
    r2: number,
  ): void;
  /** `p −= lr·g` over `n` elements. */
  sgd(p: number, g: number, n: number, lr: number): void;
  /** `H[r, c] += b[c]` over rows × n. */
  bias_add(h: number, b: number, rows: number, n: number): void;
  /** `H[r, c] = max(H[r, c] + b[c], 0)` over rows × n. */
  bias_relu(h: number, b: number, rows: number, n: number): void;
  /** `D[i] = H[i] > 0 ? D[i] : 0` over `n` elements. */
  relu_grad(d: number, h: number, n: number): void;
  /** `G[c] = Σ_r D[r, c]` over rows × n. */
  col_sums(d: number, g: number, rows: number, n: number): void;
}

/**
 * Instantiates the kernel module on an arena's memory (on any thread).
 *
 * @param module the compiled module of {@linkcode Arena}
 * @param memory the arena's memory
 * @returns the kernels
 */
export function simdKernels(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): SimdKernels & SgemmKernels {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  // Sound: the module is `kernelModuleBytes`' own, which exports exactly these functions.
  return instance.exports as unknown as SimdKernels & SgemmKernels;
}

/**
 * A shared wasm memory of fixed size handing out 64-byte-aligned float
 * arrays, with the kernel module compiled for it.
 */
export class Arena {
  #next = 0;

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly module: WebAssembly.Module,
    /** Whether the module's sgemm uses `f32x4.relaxed_madd` (this runtime validates relaxed SIMD). */
    readonly fma: boolean,
  ) {}

  /**
   * Reserves a shared memory of at least `bytes` (plus alignment slack) and
   * compiles the kernel module for it.
   *
   * @param bytes what the arrays will need
   * @param arrays how many arrays will be taken (each may lose 64 bytes to alignment)
   * @returns the arena, or why there is none: the arrays exceed
   *   {@linkcode ARENA_MAX_BYTES}, or the runtime refuses the shared memory
   * @throws {WebAssembly.CompileError} when the emitted module is invalid (a bug, never hidden)
   */
  static create(bytes: number, arrays: number): Arena | { reason: string } {
    const pages = Math.ceil((bytes + 64 * arrays) / WASM_PAGE_BYTES);
    if (pages * WASM_PAGE_BYTES > ARENA_MAX_BYTES) {
      return {
        reason: `${
          (pages * WASM_PAGE_BYTES / 2 ** 30).toFixed(2)
        } GiB exceeds a wasm memory's 4 GiB`,
      };
    }
    const fma = relaxedSimdValidates();
    const module = new WebAssembly.Module(kernelModuleBytes(pages, fma));
    let memory: WebAssembly.Memory;
    try {
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    } catch (e) {
      return { reason: `no shared wasm memory of ${pages} pages: ${(e as Error).message}` };
    }
    return new Arena(memory, module, fma);
  }

  /**
   * The next `length` floats of the arena, zeroed.
   *
   * @param length elements
   * @returns the view and its byte offset in the memory
   * @throws {RangeError} when the arena is full
   */
  floats(length: number): Float32Array {
    const offset = Math.ceil(this.#next / 64) * 64;
    if (offset + length * 4 > this.memory.buffer.byteLength) {
      throw new RangeError(`The arena is full: ${length} floats do not fit at byte ${offset}`);
    }
    this.#next = offset + length * 4;
    return new Float32Array(this.memory.buffer, offset, length);
  }
}
