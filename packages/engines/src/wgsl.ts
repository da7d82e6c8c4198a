/**
 * WGSL sources of the fused MLP engine ({@link ./fused_webgpu.ts}).
 *
 * Every shader reads the current mini-batch from a 32-byte `Step` uniform
 * (`start` row in the shuffled index, `rows`, the loss accumulator `slot`, the
 * learning rate and Adam's bias corrections). The engine copies each step's
 * entry from a per-epoch table into that uniform between compute passes, so a
 * whole epoch is encoded into one command buffer and every pipeline, buffer and
 * bind group is built once per model.
 *
 * The losses mirror `src/models/losses.ts` term by term, including the
 * gradients tfjs's autodiff produces (clipped BCE has a zero gradient outside
 * the clip range; Huber's `min(|e|, delta)` takes the `|e| <= delta` branch at
 * the tie; `relu(-y·p)` has subgradient 0 at 0).
 *
 * @module
 */
import { BCE_EPSILON, type LossSpec } from "./spec.ts";

/** Activations the engine implements (forward from the input, derivative from the output). */
export type FusedActivation = "relu" | "tanh" | "sigmoid" | "linear" | "elu";

/** Activations the engine implements. */
export const FUSED_ACTIVATIONS: readonly FusedActivation[] = [
  "relu",
  "tanh",
  "sigmoid",
  "linear",
  "elu",
];

/** Shared-dimension slice loaded per iteration. */
export const TILE_K = 16;

const STEP = `struct Step { start: u32, rows: u32, slot: u32, pad0: u32,
  lr: f32, c1: f32, c2: f32, pad1: f32 };
@group(0) @binding(0) var<uniform> step: Step;`;

/**
 * Uniform shape of one dispatch: `m`, `n`, `k` (0 means "the step's rows"),
 * element offsets of the operands in their buffers and the transposition flags.
 */
const DIMS = `struct Dims { m: u32, n: u32, k: u32, ta: u32, tb: u32,
  aOff: u32, bOff: u32, cOff: u32, xOff: u32, p0: u32, p1: u32, p2: u32 };
@group(0) @binding(1) var<uniform> dims: Dims;`;

/** Bytes of the `Dims` uniform. */
export const DIMS_BYTES = 48;
/** Bytes of one `Step` entry. */
export const STEP_BYTES = 32;

function f(x: number): string {
  const s = Math.fround(x).toPrecision(9);
  return s.includes(".") || s.includes("e") ? s : `${s}.0`;
}

function activationExpr(a: FusedActivation, v: string): string {
  switch (a) {
    case "relu":
      return `max(${v}, 0.0)`;
    case "tanh":
      return `tanh(${v})`;
    case "sigmoid":
      return `(1.0 / (1.0 + exp(-${v})))`;
    case "linear":
      return v;
    case "elu":
      return `select(exp(${v}) - 1.0, ${v}, ${v} > 0.0)`;
  }
}

/** Derivative of the activation expressed through its output `y`. */
function derivativeExpr(a: FusedActivation, y: string): string {
  switch (a) {
    case "relu":
      return `select(0.0, 1.0, ${y} > 0.0)`;
    case "tanh":
      return `(1.0 - ${y} * ${y})`;
    case "sigmoid":
      return `(${y} * (1.0 - ${y}))`;
    case "linear":
      return "1.0";
    case "elu":
      return `select(${y} + 1.0, 1.0, ${y} >= 0.0)`;
  }
}

/** What a matmul dispatch does with its accumulated tile. */
export type Epilogue =
  | { kind: "bias-activation"; activation: FusedActivation }
  | { kind: "activation-derivative"; activation: FusedActivation }
  | { kind: "plain" }
  | { kind: "split" };

/**
 * How a matmul is computed: `tiled` (workgroup-shared tiles, `t × t` outputs
 * per thread, a `wg × wg` workgroup, so a `wg·t` square tile of C per
 * workgroup) for hardware adapters, or `simple` (one output per thread, no
 * shared memory) for software adapters, where LLVM needs 20–50 s to compile a
 * tiled shader (llvmpipe) but milliseconds for the simple one.
 */
export type MatmulKernel =
  | { kind: "tiled"; wg: number; t: number; vec4?: boolean }
  | { kind: "simple" };

/** A tiled kernel: 16 × 16 threads, 4 × 4 outputs each (64 × 64 tiles). */
export const TILED_64: MatmulKernel = { kind: "tiled", wg: 16, t: 4 };
/** A tiled kernel for large outputs: 16 × 16 threads, 8 × 8 outputs each (128 × 128 tiles, 16 KiB of workgroup memory). */
export const TILED_128: MatmulKernel = { kind: "tiled", wg: 16, t: 8 };

/**
 * The same tile with four-float (`vec4<f32>`) loads from memory and from the
 * workgroup tiles, for products whose dimensions and offsets are multiples of 4.
 *
 * @param k a tiled kernel (`t` a multiple of 4)
 * @returns the vectorized kernel
 */
export function vec4Kernel(k: MatmulKernel): MatmulKernel {
  if (k.kind !== "tiled" || k.t % 4 !== 0) {
    throw new RangeError(
      "Four-float loads need a tiled kernel with a multiple of 4 outputs a side",
    );
  }
  return { ...k, vec4: true };
}

/**
 * The square tile of C one workgroup computes, and the workgroup's size.
 *
 * @param k the kernel
 * @returns tile side (rows = columns) and workgroup side
 */
export function matmulTile(k: MatmulKernel): { tile: number; wg: number } {
  return k.kind === "tiled" ? { tile: k.wg * k.t, wg: k.wg } : { tile: 8, wg: 8 };
}

/**
 * `C = op(A)·op(B)` with a fused epilogue.
 *
 * Tiled: a `wg × wg` workgroup computes a `wg·t` square tile of C, each thread
 * `t × t` outputs strided by `wg` (so shared loads and global stores are
 * contiguous across threads), staging `tile × 16` slices of A and `16 × tile`
 * slices of B in workgroup memory; the inner loop is unrolled into scalar
 * accumulators. Simple: one output per thread.
 *
 * Epilogues: `bias-activation` (forward: `act(acc + X[xOff + col])`),
 * `activation-derivative` (backward: `acc · act'(X[xOff + row·n + col])` with
 * X the layer's output), `plain` (weight gradients), `split` (split-K, tiled
 * only: workgroup `z` sums the shared dimension's slice `[z·p1, (z+1)·p1)` and
 * stores its partial tile at `C[cOff + z·m·n + row·n + col]`; a
 * {@linkcode splitReduceShader} dispatch adds the slices and applies the
 * real epilogue — for skinny products such as 64 rows × 4096 × 4096, where
 * one row of output tiles would leave most of a large GPU idle).
 *
 * @param e the epilogue
 * @param kernel tiled (default {@linkcode TILED_64}) or simple
 * @returns WGSL source
 */
export function matmulShader(e: Epilogue, kernel: MatmulKernel = TILED_64): string {
  const usesX = e.kind !== "plain" && e.kind !== "split";
  if (e.kind === "split" && kernel.kind !== "tiled") {
    throw new RangeError("Split-K needs the tiled matmul kernel");
  }
  let store: string;
  if (e.kind === "split") {
    store = `C[dims.cOff + wg.z * m * n + row * n + col] = acc;`;
  } else if (e.kind === "bias-activation") {
    store = `let v = acc + X[dims.xOff + col];
        C[dims.cOff + row * n + col] = ${activationExpr(e.activation, "v")};`;
  } else if (e.kind === "activation-derivative") {
    store = `let y = X[dims.xOff + row * n + col];
        C[dims.cOff + row * n + col] = acc * ${derivativeExpr(e.activation, "y")};`;
  } else {
    store = `C[dims.cOff + row * n + col] = acc;`;
  }
  if (kernel.kind === "tiled" && kernel.vec4) {
    return vec4MatmulShader(kernel, store, usesX, e.kind === "split");
  }
  const head = matmulOperands(usesX, "f32");
  if (kernel.kind === "simple") {
    return `${head}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m = select(dims.m, step.rows, dims.m == 0u);
  let n = dims.n;
  let k = select(dims.k, step.rows, dims.k == 0u);
  let row = gid.y;
  let col = gid.x;
  if (row >= m || col >= n) { return; }
  let sa = select(1u, m, dims.ta == 1u);
  let ba = dims.aOff + select(row * k, row, dims.ta == 1u);
  let sb = select(n, 1u, dims.tb == 1u);
  let bb = dims.bOff + select(col, col * k, dims.tb == 1u);
  var acc = 0.0;
  for (var i = 0u; i < k; i = i + 1u) { acc = fma(A[ba + i * sa], B[bb + i * sb], acc); }
  ${store}
}
`;
  }
  const W = kernel.wg;
  const T = kernel.t;
  const tile = W * T;
  const threads = W * W;
  const loadsPerThread = Math.ceil((tile * TILE_K) / threads);
  const R = Array.from({ length: T }, (_, i) => i);
  const decl = R.flatMap((i) => R.map((j) => `var c${i}_${j} = 0.0;`)).join(" ");
  const loads = `
    for (var l = 0u; l < ${loadsPerThread}u; l = l + 1u) {
      let idx = tid + ${threads}u * l;
      if (idx < ${tile * TILE_K}u) {
        var r: u32; var c: u32; var v = 0.0;
        if (dims.ta == 0u) {
          r = idx / ${TILE_K}u; c = idx % ${TILE_K}u;
          if (m0 + r < m && k0 + c < kEnd) { v = A[dims.aOff + (m0 + r) * k + k0 + c]; }
        } else {
          r = idx % ${tile}u; c = idx / ${tile}u;
          if (m0 + r < m && k0 + c < kEnd) { v = A[dims.aOff + (k0 + c) * m + m0 + r]; }
        }
        As[c * ${tile}u + r] = v;
        var br: u32; var bc: u32; var w = 0.0;
        if (dims.tb == 0u) {
          bc = idx % ${tile}u; br = idx / ${tile}u;
          if (k0 + br < kEnd && n0 + bc < n) { w = B[dims.bOff + (k0 + br) * n + n0 + bc]; }
        } else {
          br = idx % ${TILE_K}u; bc = idx / ${TILE_K}u;
          if (k0 + br < kEnd && n0 + bc < n) { w = B[dims.bOff + (n0 + bc) * k + k0 + br]; }
        }
        Bs[br * ${tile}u + bc] = w;
      }
    }`;
  const inner = [
    ...R.map((i) => `let a${i} = As[kk * ${tile}u + lid.y + ${W * i}u];`),
    ...R.map((j) => `let b${j} = Bs[kk * ${tile}u + lid.x + ${W * j}u];`),
    ...R.flatMap((i) => R.map((j) => `c${i}_${j} = fma(a${i}, b${j}, c${i}_${j});`)),
  ].join("\n      ");
  const stores = R.map((i) => `
  {
    let row = m0 + lid.y + ${W * i}u;
    if (row < m) {${
    R.map((j) => `
      {
        let col = n0 + lid.x + ${W * j}u;
        if (col < n) {
          let acc = c${i}_${j};
          ${store}
        }
      }`).join("")
  }
    }
  }`).join("");
  return `${head}
${
    tiledMain({
      wg: W,
      tile,
      split: e.kind === "split",
      element: "f32",
      slots: tile * TILE_K,
      decl,
      loads,
      inner,
      stores,
    })
  }`;
}

/** The storage bindings of a matmul: `A` and `B` of `element`, `C` and `X` of f32. */
function matmulOperands(usesX: boolean, element: "f32" | "vec4<f32>"): string {
  return `${STEP}
${DIMS}
@group(0) @binding(2) var<storage, read> A: array<${element}>;
@group(0) @binding(3) var<storage, read> B: array<${element}>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;
${usesX ? "@group(0) @binding(5) var<storage, read> X: array<f32>;" : ""}`;
}

/**
 * The frame both tiled kernels share: workgroup tiles of `slots` elements,
 * the output tile's origin, the shared-dimension range (one split-K slice or
 * all of it) and the loop that loads a `TILE_K` slice, synchronizes and runs
 * `inner` over it; then `stores`.
 */
function tiledMain(o: {
  wg: number;
  tile: number;
  split: boolean;
  element: "f32" | "vec4<f32>";
  slots: number;
  decl: string;
  loads: string;
  inner: string;
  stores: string;
}): string {
  return `var<workgroup> As: array<${o.element}, ${o.slots}>;
var<workgroup> Bs: array<${o.element}, ${o.slots}>;

@compute @workgroup_size(${o.wg}, ${o.wg})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m = select(dims.m, step.rows, dims.m == 0u);
  let n = dims.n;
  let k = select(dims.k, step.rows, dims.k == 0u);
  let m0 = wg.y * ${o.tile}u;
  let n0 = wg.x * ${o.tile}u;
  if (m0 >= m) { return; }
  let tid = lid.y * ${o.wg}u + lid.x;
  ${
    o.split
      ? "let kBeg = wg.z * dims.p1;\n  let kEnd = min(k, kBeg + dims.p1);"
      : "let kBeg = 0u;\n  let kEnd = k;"
  }
  ${o.decl}
  for (var k0 = kBeg; k0 < kEnd; k0 = k0 + ${TILE_K}u) {${o.loads}
    workgroupBarrier();
    for (var kk = 0u; kk < ${TILE_K}u; kk = kk + 1u) {
      ${o.inner}
    }
    workgroupBarrier();
  }${o.stores}
}
`;
}

/**
 * The tiled product with four-float loads. Operands are bound as
 * `array<vec4<f32>>`, so the host uses it only when `n`, `k`, `m` (when `A` is
 * transposed) and the offsets are multiples of 4. Workgroup tiles hold four
 * consecutive rows of `op(A)` (columns of `op(B)`) per element; a thread owns
 * the rows `4·(q·wg + y) + 0..3` and columns `4·(q·wg + x) + 0..3` for
 * `q < t/4`, so each step of the shared dimension reads `t/2` vectors and
 * issues `t²/4` vector FMAs.
 */
function vec4MatmulShader(
  kernel: { wg: number; t: number },
  store: string,
  usesX: boolean,
  split: boolean,
): string {
  const W = kernel.wg;
  const T = kernel.t;
  const tile = W * T;
  const Q = tile / 4;
  const threads = W * W;
  const slots = TILE_K * Q;
  const perThread = Math.ceil(slots / threads);
  const V = Array.from({ length: T / 4 }, (_, i) => i);
  const R = Array.from({ length: T }, (_, i) => i);
  const C4 = ["x", "y", "z", "w"];
  const decl = R.flatMap((i) => V.map((j) => `var c${i}_${j} = vec4<f32>(0.0);`)).join(" ");
  const inner = [
    ...V.map((q) => `let a${q} = As[kk * ${Q}u + ${q * W}u + lid.y];`),
    ...V.map((q) => `let b${q} = Bs[kk * ${Q}u + ${q * W}u + lid.x];`),
    ...R.flatMap((i) =>
      V.map((j) => `c${i}_${j} = fma(vec4<f32>(a${i >> 2}.${C4[i & 3]}), b${j}, c${i}_${j});`)
    ),
  ].join("\n      ");
  const stores = R.map((i) => {
    const rowExpr = `m0 + (${(i >> 2) * W}u + lid.y) * 4u + ${i & 3}u`;
    return `
  {
    let row = ${rowExpr};
    if (row < m) {${
      V.map((j) =>
        C4.map((c, ci) => `
      {
        let col = n0 + (${j * W}u + lid.x) * 4u + ${ci}u;
        if (col < n) {
          let acc = c${i}_${j}.${c};
          ${store}
        }
      }`).join("")
      ).join("")
    }
    }
  }`;
  }).join("");
  const loads = `
    for (var l = 0u; l < ${perThread}u; l = l + 1u) {
      let s = tid + ${threads}u * l;
      if (s < ${slots}u) {
        if (dims.ta == 1u) {
          // op(A)[r][c] = A[c·m + r]: four consecutive rows at once.
          let kk = s / ${Q}u;
          let rq = s % ${Q}u;
          let r = m0 + rq * 4u;
          var v = vec4<f32>(0.0);
          if (r < m && k0 + kk < kEnd) { v = A[(dims.aOff + (k0 + kk) * m + r) / 4u]; }
          As[kk * ${Q}u + rq] = v;
        } else {
          // op(A)[r][c] = A[r·k + c]: four consecutive columns, spread over four tile rows.
          let r = s / ${TILE_K / 4}u;
          let cq = s % ${TILE_K / 4}u;
          var v = vec4<f32>(0.0);
          if (m0 + r < m && k0 + cq * 4u < kEnd) { v = A[(dims.aOff + (m0 + r) * k + k0 + cq * 4u) / 4u]; }
          let at = cq * ${4 * Q}u + r / 4u;
          let comp = r % 4u;
          As[at][comp] = v.x;
          As[at + ${Q}u][comp] = v.y;
          As[at + ${2 * Q}u][comp] = v.z;
          As[at + ${3 * Q}u][comp] = v.w;
        }
        if (dims.tb == 0u) {
          // op(B)[c][j] = B[c·n + j]: four consecutive columns of the output.
          let kk = s / ${Q}u;
          let jq = s % ${Q}u;
          let j = n0 + jq * 4u;
          var w = vec4<f32>(0.0);
          if (k0 + kk < kEnd && j < n) { w = B[(dims.bOff + (k0 + kk) * n + j) / 4u]; }
          Bs[kk * ${Q}u + jq] = w;
        } else {
          // op(B)[c][j] = B[j·k + c]: four consecutive shared indices, spread over four tile rows.
          let j = s / ${TILE_K / 4}u;
          let cq = s % ${TILE_K / 4}u;
          var w = vec4<f32>(0.0);
          if (n0 + j < n && k0 + cq * 4u < kEnd) { w = B[(dims.bOff + (n0 + j) * k + k0 + cq * 4u) / 4u]; }
          let at = cq * ${4 * Q}u + j / 4u;
          let comp = j % 4u;
          Bs[at][comp] = w.x;
          Bs[at + ${Q}u][comp] = w.y;
          Bs[at + ${2 * Q}u][comp] = w.z;
          Bs[at + ${3 * Q}u][comp] = w.w;
        }
      }
    }`;
  return `${matmulOperands(usesX, "vec4<f32>")}
${tiledMain({ wg: W, tile, split, element: "vec4<f32>", slots, decl, loads, inner, stores })}`;
}

/**
 * Adds the split-K partial products (`dims.p2` slices of m × n at `W`) and
 * applies the epilogue, one thread per output (grid-stride).
 *
 * @param e the real epilogue of the product
 * @returns WGSL source
 */
export function splitReduceShader(e: Exclude<Epilogue, { kind: "split" }>): string {
  const usesX = e.kind !== "plain";
  let store: string;
  if (e.kind === "bias-activation") {
    store = `let v = acc + X[dims.xOff + col];
    C[dims.cOff + i] = ${activationExpr(e.activation, "v")};`;
  } else if (e.kind === "activation-derivative") {
    store = `let y = X[dims.xOff + i];
    C[dims.cOff + i] = acc * ${derivativeExpr(e.activation, "y")};`;
  } else {
    store = `C[dims.cOff + i] = acc;`;
  }
  return `${STEP}
${DIMS}
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
${usesX ? "@group(0) @binding(4) var<storage, read> X: array<f32>;" : ""}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let m = select(dims.m, step.rows, dims.m == 0u);
  let n = dims.n;
  let total = m * n;
  for (var i = gid.x; i < total; i = i + nwg.x * 256u) {
    let col = i % n;
    var acc = 0.0;
    for (var z = 0u; z < dims.p2; z = z + 1u) { acc = acc + W[z * total + i]; }
    ${store}
  }
}
`;
}

/**
 * Copies the step's rows of the inputs and labels into the batch buffers:
 * `Xb[r] = X[index[start + r]]`, `Yb[r] = Y[index[start + r]]`.
 * `dims.n` is the number of columns.
 *
 * @returns WGSL source
 */
export function gatherShader(): string {
  return `${STEP}
${DIMS}
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> Y: array<f32>;
@group(0) @binding(4) var<storage, read> index: array<u32>;
@group(0) @binding(5) var<storage, read_write> Xb: array<f32>;
@group(0) @binding(6) var<storage, read_write> Yb: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let cols = dims.n;
  let total = step.rows * cols;
  for (var i = gid.x; i < total; i = i + nwg.x * 256u) {
    let r = i / cols;
    let c = i % cols;
    let src = index[step.start + r];
    Xb[i] = X[src * cols + c];
    if (c == 0u) { Yb[r] = Y[src]; }
  }
}
`;
}

/**
 * Per-row loss and its gradient with respect to the output unit's
 * pre-activation, divided by the batch size (the loss is a mean). One
 * workgroup; the batch's loss sum is added to `acc[step.slot]` in a fixed
 * order (deterministic).
 *
 * @param loss the loss config
 * @param output the output activation
 * @returns WGSL source
 */
export function lossShader(loss: LossSpec, output: FusedActivation): string {
  const eps = f(BCE_EPSILON);
  const hi = f(1 - BCE_EPSILON);
  const delta = f(loss.delta);
  const huber = `let a = abs(e);
    let q = min(a, ${delta});
    var l = 0.5 * q * q + ${delta} * (a - q);
    var g = select(${delta}, a, a <= ${delta}) * select(-1.0, 1.0, e > 0.0);`;
  const sign = (w: string) =>
    `let s = -y * p;
    l = l + ${w} * max(s, 0.0);
    g = g + ${w} * select(0.0, -y, s > 0.0);`;
  let body: string;
  switch (loss.name) {
    case "bce":
      body = `let pc = clamp(p, ${eps}, ${hi});
    var l = -(y * log(pc) + (1.0 - y) * log(1.0 - pc));
    var g = select(0.0, -(y / pc - (1.0 - y) / (1.0 - pc)), p >= ${eps} && p <= ${hi});`;
      break;
    case "mse":
      body = `var l = e * e;
    var g = 2.0 * e;`;
      break;
    case "huber":
      body = huber;
      break;
    case "mse-sign":
      body = `var l = e * e;
    var g = 2.0 * e;
    ${sign(f(loss.sign_weight))}`;
      break;
    case "huber-sign":
      body = `${huber}
    ${sign(f(loss.sign_weight))}`;
      break;
    case "sign-ratio":
      body = `var l = ${f(loss.value_ratio)} * e * e;
    var g = ${f(loss.value_ratio)} * 2.0 * e;
    ${sign(f(loss.sign_ratio))}`;
      break;
  }
  return `${STEP}
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read> Yb: array<f32>;
@group(0) @binding(3) var<storage, read_write> D: array<f32>;
@group(0) @binding(4) var<storage, read_write> acc: array<f32>;
var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let rows = step.rows;
  let scale = 1.0 / f32(rows);
  var sum = 0.0;
  for (var i = lid.x; i < rows; i = i + 256u) {
    let p = pred[i];
    let y = Yb[i];
    let e = p - y;
    ${body}
    sum = sum + l;
    D[i] = g * scale * ${derivativeExpr(output, "p")};
  }
  partial[lid.x] = sum;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { partial[lid.x] = partial[lid.x] + partial[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { acc[step.slot] = acc[step.slot] + partial[0]; }
}
`;
}

/**
 * Bias gradient: `G[cOff + col] = Σ_rows D[row·n + col]`.
 *
 * @returns WGSL source
 */
export function biasGradShader(): string {
  return `${STEP}
${DIMS}
@group(0) @binding(2) var<storage, read> D: array<f32>;
@group(0) @binding(3) var<storage, read_write> G: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x;
  let n = dims.n;
  if (col >= n) { return; }
  var s = 0.0;
  for (var r = 0u; r < step.rows; r = r + 1u) { s = s + D[r * n + col]; }
  G[dims.cOff + col] = s;
}
`;
}

/**
 * One optimizer update over the flat parameter buffer, mirroring tfjs's
 * `AdamOptimizer` (epsilon 1e-7, bias corrections `c1 = 1 − β1^t`,
 * `c2 = 1 − β2^t` from the step) or `SGDOptimizer`. `dims.n` is the parameter count.
 *
 * @param optimizer adam or sgd
 * @returns WGSL source
 */
export function updateShader(optimizer: "adam" | "sgd"): string {
  const body = optimizer === "adam"
    ? `let m1 = M[i] * 0.9 + g * ${f(1 - 0.9)};
    let v1 = V[i] * 0.999 + (g * g) * ${f(1 - 0.999)};
    M[i] = m1;
    V[i] = v1;
    let mh = m1 / step.c1;
    let vh = v1 / step.c2;
    P[i] = (mh / (sqrt(vh) + ${f(1e-7)})) * (-step.lr) + P[i];`
    : `P[i] = (-step.lr) * g + P[i];`;
  return `${STEP}
${DIMS}
@group(0) @binding(2) var<storage, read_write> P: array<f32>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
${
    optimizer === "adam"
      ? `@group(0) @binding(4) var<storage, read_write> M: array<f32>;
@group(0) @binding(5) var<storage, read_write> V: array<f32>;`
      : ""
  }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var i = gid.x; i < dims.n; i = i + nwg.x * 256u) {
    let g = G[i];
    ${body}
  }
}
`;
}

/** tfjs-layers' BatchNormalization defaults (momentum 0.99, epsilon 1e-3). */
export const BATCH_NORM = { momentum: 0.99, epsilon: 1e-3 } as const;

/**
 * Batch normalization forward, one thread per column, in place on the layer's
 * pre-normalization output `H` (rows × n), then the activation. Parameters in
 * `P` from `dims.xOff`: gamma, beta, moving mean, moving variance (n each).
 *
 * Training (`dims.p0 == 0`): batch mean and biased variance (tfjs `moments`),
 * `xhat = (z − mean)·rsqrt(var + eps)` kept in `XH`, `rsqrt` kept in `S`, and
 * the moving statistics updated as tfjs-layers does
 * (`moving − (moving − batch)·(1 − momentum)`). Inference (`dims.p0 == 1`):
 * the moving statistics normalize.
 *
 * @param activation the hidden activation applied after normalization
 * @returns WGSL source
 */
export function batchNormForwardShader(activation: FusedActivation): string {
  const eps = f(BATCH_NORM.epsilon);
  const decay = f(1 - BATCH_NORM.momentum);
  return `${STEP}
${DIMS}
@group(0) @binding(2) var<storage, read_write> H: array<f32>;
@group(0) @binding(3) var<storage, read_write> XH: array<f32>;
@group(0) @binding(4) var<storage, read_write> P: array<f32>;
@group(0) @binding(5) var<storage, read_write> S: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let n = dims.n;
  if (c >= n) { return; }
  let rows = step.rows;
  let g = P[dims.xOff + c];
  let b = P[dims.xOff + n + c];
  var mean: f32;
  var rstd: f32;
  if (dims.p0 == 1u) {
    mean = P[dims.xOff + 2u * n + c];
    rstd = inverseSqrt(P[dims.xOff + 3u * n + c] + ${eps});
  } else {
    var s = 0.0;
    for (var r = 0u; r < rows; r = r + 1u) { s = s + H[r * n + c]; }
    mean = s / f32(rows);
    var q = 0.0;
    for (var r = 0u; r < rows; r = r + 1u) { let d = H[r * n + c] - mean; q = q + d * d; }
    let variance = q / f32(rows);
    rstd = inverseSqrt(variance + ${eps});
    S[c] = rstd;
    let mm = P[dims.xOff + 2u * n + c];
    let mv = P[dims.xOff + 3u * n + c];
    P[dims.xOff + 2u * n + c] = mm - (mm - mean) * ${decay};
    P[dims.xOff + 3u * n + c] = mv - (mv - variance) * ${decay};
  }
  for (var r = 0u; r < rows; r = r + 1u) {
    let xh = (H[r * n + c] - mean) * rstd;
    if (dims.p0 == 0u) { XH[r * n + c] = xh; }
    let v = xh * g + b;
    H[r * n + c] = ${activationExpr(activation, "v")};
  }
}
`;
}

/**
 * Batch normalization backward, one thread per column, in place on `D`
 * (gradient with respect to the normalized output in, with respect to the
 * pre-normalization input out):
 * `dz = γ·rstd/N·(N·dy − Σdy − xhat·Σ(dy·xhat))`, `dγ = Σ(dy·xhat)`, `dβ = Σdy`
 * written to `G` at `dims.cOff` (gamma) and `dims.cOff + n` (beta).
 *
 * @returns WGSL source
 */
export function batchNormBackwardShader(): string {
  return `${STEP}
${DIMS}
@group(0) @binding(2) var<storage, read_write> D: array<f32>;
@group(0) @binding(3) var<storage, read> XH: array<f32>;
@group(0) @binding(4) var<storage, read> P: array<f32>;
@group(0) @binding(5) var<storage, read> S: array<f32>;
@group(0) @binding(6) var<storage, read_write> G: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let n = dims.n;
  if (c >= n) { return; }
  let rows = step.rows;
  var sdy = 0.0;
  var sdyx = 0.0;
  for (var r = 0u; r < rows; r = r + 1u) {
    let dy = D[r * n + c];
    sdy = sdy + dy;
    sdyx = sdyx + dy * XH[r * n + c];
  }
  G[dims.cOff + c] = sdyx;
  G[dims.cOff + n + c] = sdy;
  let nf = f32(rows);
  let k = P[dims.xOff + c] * S[c] / nf;
  for (var r = 0u; r < rows; r = r + 1u) {
    D[r * n + c] = k * (nf * D[r * n + c] - sdy - XH[r * n + c] * sdyx);
  }
}
`;
}
