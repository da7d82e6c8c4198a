/**
 * The emitter of the fused CPU engine's WebAssembly: the binary encoding
 * (<https://webassembly.github.io/spec/core/binary/>), an instruction table,
 * a few structured-control helpers and a function builder with named locals.
 * The kernel module itself is assembled in {@link ./wasm_simd.ts}; the
 * elementwise kernels are written there and the sgemm kernels in
 * {@link ./wasm_sgemm.ts}, all with these pieces. No toolchain, nothing fetched.
 *
 * @module
 */

/**
 * Unsigned LEB128 of a non-negative integer below 2³².
 *
 * @param n the value
 * @returns its bytes
 */
export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/**
 * Signed LEB128 of an i32 (what `i32.const` takes).
 *
 * @param n the value
 * @returns its bytes
 */
export function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  while (true) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/**
 * A length-prefixed UTF-8 name.
 *
 * @param s the name
 * @returns its bytes
 */
export function name(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...leb(b.length), ...b];
}

/**
 * A module section: its id, its size, its body.
 *
 * @param id section id
 * @param body the section's bytes
 * @returns the section's bytes
 */
export function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

/**
 * `f32.const x`.
 *
 * @param x the value (rounded to float32)
 * @returns the instruction's bytes
 */
export function f32const(x: number): number[] {
  return [0x43, ...new Uint8Array(new Float32Array([x]).buffer)];
}

/** Value type i32. */
export const I32 = 0x7f;
/** Value type f32. */
export const F32 = 0x7d;
/** Value type v128. */
export const V128 = 0x7b;

/** A memory access's `memarg`: log2 of the alignment hint and a constant byte offset. */
const memarg = (align: number, offset: number) => [align, ...leb(offset)];

/** The instructions used, with their encodings (SIMD ones behind the 0xfd prefix). */
export const OP = {
  get: (i: number) => [0x20, ...leb(i)],
  set: (i: number) => [0x21, ...leb(i)],
  tee: (i: number) => [0x22, ...leb(i)],
  call: (f: number) => [0x10, ...leb(f)],
  i32const: (v: number) => [0x41, ...sleb(v)],
  i32add: [0x6a],
  i32sub: [0x6b],
  i32mul: [0x6c],
  i32and: [0x71],
  i32shl: [0x74],
  i32eqz: [0x45],
  i32eq: [0x46],
  i32ne: [0x47],
  i32ltS: [0x48],
  i32ltU: [0x49],
  i32gtS: [0x4a],
  i32geS: [0x4e],
  i32geU: [0x4f],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  brIf: (depth: number) => [0x0d, depth],
  br: (depth: number) => [0x0c, depth],
  end: [0x0b],
  /** `select`: the first of two values when the i32 on top is non-zero, else the second. */
  select: [0x1b],
  /** `f32.load` / `f32.store` at a constant byte offset from the address. */
  f32load: (offset = 0) => [0x2a, ...memarg(2, offset)],
  f32store: (offset = 0) => [0x38, ...memarg(2, offset)],
  /** `i64.load` / `i64.store`: eight bytes copied bit for bit. */
  i64load: (offset = 0) => [0x29, ...memarg(0, offset)],
  i64store: (offset = 0) => [0x37, ...memarg(0, offset)],
  /** v128.load / v128.store with 16-byte alignment, offset 0. */
  load: [0xfd, 0x00, 4, 0],
  store: [0xfd, 0x0b, 4, 0],
  /** v128.load / v128.store at a constant byte offset (any alignment). */
  loadAt: (offset: number) => [0xfd, 0x00, ...memarg(0, offset)],
  storeAt: (offset: number) => [0xfd, 0x0b, ...memarg(0, offset)],
  /** v128.load32_splat: one float from memory in all four lanes. */
  loadSplat: (offset: number) => [0xfd, 0x09, ...memarg(2, offset)],
  /** v128.store64_lane: eight bytes of a vector (lane 0 or 1 of two) at a constant offset. */
  storeLane64: (offset: number, lane: number) => [0xfd, 0x5b, ...memarg(0, offset), lane],
  /** v128.const of sixteen zero bytes. */
  zero: [0xfd, 0x0c, ...new Array(16).fill(0)],
  /** i8x16.shuffle of the two vectors on the stack by sixteen byte indices. */
  shuffle: (lanes: number[]) => [0xfd, 0x0d, ...lanes],
  splat: [0xfd, 0x13],
  sqrt: [0xfd, 0xe3, 0x01],
  add: [0xfd, 0xe4, 0x01],
  sub: [0xfd, 0xe5, 0x01],
  mul: [0xfd, 0xe6, 0x01],
  div: [0xfd, 0xe7, 0x01],
  max: [0xfd, 0xe9, 0x01],
  gt: [0xfd, 0x44],
  and: [0xfd, 0x4e],
  /**
   * f32x4.relaxed_madd (relaxed SIMD): `a·b + c`, fused (one rounding) or
   * not (two), as the machine does it; V8 fuses where the CPU has FMA.
   */
  madd: [0xfd, 0x85, 0x02],
} as const;

/**
 * The byte lanes of an `i8x16.shuffle` that picks four floats by index
 * (0–3 from the first operand, 4–7 from the second).
 *
 * @param f the four float indices
 * @returns sixteen byte indices
 */
export function floatLanes(f: [number, number, number, number]): number[] {
  return f.flatMap((i) => [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);
}

/**
 * `local = x` for a local index and an expression's instructions.
 *
 * @param local the local's index
 * @param x instructions leaving one value
 * @returns the instructions
 */
export const set = (local: number, x: number[]): number[] => [...x, ...OP.set(local)];

/**
 * `local += step` (i32).
 *
 * @param local the local's index
 * @param step instructions leaving the i32 to add
 * @returns the instructions
 */
export const bump = (local: number, step: number[]): number[] => [
  ...OP.get(local),
  ...step,
  ...OP.i32add,
  ...OP.set(local),
];

/**
 * `for (; i < end; i += step) body` over i32 locals `i` and `end` (`i` starts
 * wherever it is: locals start at 0), compared as unsigned (byte addresses
 * of a 4 GiB memory pass 2³¹).
 *
 * @param i the counter's local
 * @param end the bound's local
 * @param body the loop body
 * @param step instructions leaving the increment (default 16: one vector of bytes)
 * @returns the instructions
 */
export function loop(
  i: number,
  end: number,
  body: number[],
  step: number[] = OP.i32const(16),
): number[] {
  return [
    ...OP.block,
    ...OP.loop,
    ...OP.get(i),
    ...OP.get(end),
    ...OP.i32geU,
    ...OP.brIf(1),
    ...body,
    ...bump(i, step),
    ...OP.br(0),
    ...OP.end,
    ...OP.end,
  ];
}

/**
 * `if (cond) then else otherwise` with no result.
 *
 * @param cond instructions leaving an i32
 * @param then the branch taken when it is non-zero
 * @param otherwise the other branch (none by default)
 * @returns the instructions
 */
export function ifElse(cond: number[], then: number[], otherwise: number[] = []): number[] {
  return [
    ...cond,
    ...OP.if,
    ...then,
    ...(otherwise.length ? [...OP.else, ...otherwise] : []),
    ...OP.end,
  ];
}

/**
 * A function's locals by name: parameters first (in order), then locals
 * declared as the body is written.
 */
export class Locals {
  readonly #index = new Map<string, number>();
  readonly #types: number[] = [];
  readonly #params: number;

  /**
   * @param params the function's parameters: name and value type, in order
   */
  constructor(params: [string, number][]) {
    for (const [n, t] of params) this.#declare(n, t);
    this.#params = params.length;
  }

  #declare(n: string, t: number): number {
    if (this.#index.has(n)) throw new Error(`Local "${n}" is declared twice`);
    const i = this.#types.length;
    this.#index.set(n, i);
    this.#types.push(t);
    return i;
  }

  /**
   * The index of a local, declared with `type` on first use.
   *
   * @param n its name
   * @param type its value type (needed on first use of a non-parameter)
   * @returns its index
   * @throws {Error} for an undeclared local without a type
   */
  $(n: string, type?: number): number {
    const i = this.#index.get(n);
    if (i !== undefined) return i;
    if (type === undefined) throw new Error(`Local "${n}" is used before it is declared`);
    return this.#declare(n, type);
  }

  /**
   * The function's code entry: its non-parameter locals, the body and `end`.
   *
   * @param body the function's instructions
   * @returns the code entry's bytes
   */
  code(body: number[]): number[] {
    return code(this.#types.slice(this.#params).map((t) => [1, t] as [number, number]), body);
  }
}

/**
 * A function's code entry: its locals (runs of count and type), its body and
 * the closing `end`.
 *
 * @param locals runs of `[count, type]`
 * @param body the instructions
 * @returns the code entry's bytes
 */
export function code(locals: [number, number][], body: number[]): number[] {
  const f = [
    ...leb(locals.length),
    ...locals.flatMap(([n, t]) => [...leb(n), t]),
    ...body,
    ...OP.end,
  ];
  return [...leb(f.length), ...f];
}

/** One function of a module: its name, signature and body. */
export interface WasmFunction {
  /** Its name: how the others call it, and its export name when exported. */
  name: string;
  /** Parameter types (no results: every kernel writes to memory). */
  params: number[];
  /** Exported to JavaScript (default true). */
  exported?: boolean;
  /**
   * Its code entry ({@linkcode code} or {@linkcode Locals.code}), given a
   * resolver of other functions' indices for `call`.
   */
  body: (index: (name: string) => number) => number[];
}

/**
 * A module importing one shared memory `env.memory` of exactly `pages`
 * pages and defining `functions` (exported by name unless marked otherwise).
 *
 * @param pages the memory's size in pages (its minimum and maximum)
 * @param functions the functions, in index order
 * @returns the module's bytes
 * @throws {Error} for a call to an unknown function (a bug in a kernel's body)
 */
export function moduleBytes(pages: number, functions: WasmFunction[]): Uint8Array<ArrayBuffer> {
  const signatures: string[] = [];
  const typeOf = functions.map((f) => {
    const key = f.params.join(",");
    let i = signatures.indexOf(key);
    if (i < 0) i = signatures.push(key) - 1;
    return i;
  });
  const types = [
    ...leb(signatures.length),
    ...signatures.flatMap((s) => {
      const params = s ? s.split(",").map(Number) : [];
      return [0x60, ...leb(params.length), ...params, 0];
    }),
  ];
  const indexOf = new Map(functions.map((f, i) => [f.name, i]));
  const index = (n: string) => {
    const i = indexOf.get(n);
    if (i === undefined) throw new Error(`Call to an unknown wasm function "${n}"`);
    return i;
  };
  const imports = [1, ...name("env"), ...name("memory"), 0x02, 0x03, ...leb(pages), ...leb(pages)];
  const exported = functions.map((f, i) => [f, i] as const).filter(([f]) => f.exported !== false);
  const exports = [
    ...leb(exported.length),
    ...exported.flatMap(([f, i]) => [...name(f.name), 0x00, ...leb(i)]),
  ];
  const bodies = [...leb(functions.length), ...functions.flatMap((f) => f.body(index))];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, types),
    ...section(2, imports),
    ...section(3, [...leb(functions.length), ...typeOf.flatMap((t) => leb(t))]),
    ...section(7, exports),
    ...section(10, bodies),
  ]);
}
