/**
 * The fused CPU engine's own sgemm in WebAssembly SIMD, for machines without
 * a BLAS library: `C = op(A)·op(B)` (or `C += …`) in float32, row-major, any
 * of the four transpositions, any m, n and k.
 *
 * Design (GotoBLAS's, in 128-bit vectors):
 *
 * - A register-blocked micro-kernel computes a {@linkcode MR} × {@linkcode NR}
 *   (6 × 8) tile of C in twelve four-float accumulators, one
 *   `f32x4.relaxed_madd` per accumulator and step of the shared dimension: per
 *   step two vector loads of B, six one-float broadcasts of A, twelve
 *   multiply-adds; the loop is unrolled eight times. Measured on the 2-core
 *   reference machine (AMD EPYC, V8 15), on one core with both panels in L1,
 *   against other shapes: 6 × 8 reached 43 GFLOP/s, 4 × 8 40, 2 × 16 42,
 *   4 × 12 and 3 × 16 23 (they need more registers than the fifteen V8
 *   allocates on x64); without fused multiply-add 6 × 8 fell to 25 and 4 × 8
 *   to 31.
 * - Operands are packed first, so the micro-kernel reads both sequentially
 *   whatever their transposition: blocks of {@linkcode KC} steps of the shared
 *   dimension; of B {@linkcode NC} columns in panels of NR (with four-by-four
 *   shuffles when B is transposed), of A {@linkcode MC} rows in panels of MR.
 *   The B panel being used stays in L1, the A block in L2. Edges are padded
 *   with zeros in the packed panels; a partial tile of C is computed into a
 *   scratch tile and copied back.
 * - Threads split C into chunks (strips of columns when there are enough,
 *   else of rows), about four per thread, taken one at a time as each thread
 *   finishes its last (so a thread the OS holds back delays the product by
 *   one chunk); each packs its own panels into its own scratch in the shared
 *   arena. No thread ever splits the shared dimension.
 *
 * Summation order, hence determinism: every element of C is accumulated in
 * one register lane, starting from 0 (or from C with `accumulate`), adding
 * `a[i,p]·b[p,j]` for p = 0, 1, …, k − 1 in order; between blocks of the
 * shared dimension the float32 accumulator is stored to C and loaded back
 * unchanged. So the result is the plain sequential dot product, the same bits
 * whatever the blocking, the tile an element falls in, the split or the thread
 * count. Each step rounds once where `relaxed_madd` is fused (V8 emits an FMA
 * instruction where the CPU has one: x64 with FMA3, arm64) and twice where it
 * is not; {@linkcode WasmSgemm.fused} says which this machine does. Error
 * bound, either way (a recursive sum of k products): |C − exact| ≤
 * γ_k·Σ_p |a_ip||b_pj| with γ_k = k·u / (1 − k·u), u = 2⁻²⁴.
 *
 * @module
 */
import {
  f32const,
  floatLanes,
  I32,
  ifElse,
  Locals,
  loop,
  OP,
  set,
  V128,
  type WasmFunction,
} from "./wasm_emit.ts";

/** Rows of C per micro-kernel tile. */
export const MR = 6;
/** Columns of C per micro-kernel tile (two vectors). */
export const NR = 8;
/** Steps of the shared dimension per packed block (A's panel row, B's panel depth). */
export const KC = 384;
/** Rows of A per packed block (a multiple of MR): MC × KC floats stay in L2. */
export const MC = 120;
/** Columns of B per packed block (a multiple of NR and of 16). */
export const NC = 1024;
/** Steps of the micro-kernel's loop unrolled. */
const UNROLL = 8;
/** Panels of an untransposed B packed together, one row of B at a time. */
const GROUP = 8;

/**
 * Floats of scratch one thread needs in the arena: an A block, a B block and
 * one tile.
 */
export const SGEMM_SCRATCH_FLOATS = MC * KC + KC * NC + MR * NR;

/** `get` for a named local. */
type Get = (n: string, type?: number) => number;

/** `x = min(cap, end − i)` as i32, for locals `end` and `i`. */
function remaining(L: Get, x: string, cap: number, end: string, i: string): number[] {
  const left = [...OP.get(L(end)), ...OP.get(L(i)), ...OP.i32sub];
  return set(L(x, I32), [
    ...OP.i32const(cap),
    ...left,
    ...left,
    ...OP.i32const(cap),
    ...OP.i32gtS,
    ...OP.select,
  ]);
}

/** `base + i·scale` for i32 locals (scale a local or a constant). */
function offset(L: Get, base: string, i: string, scale: string | number): number[] {
  return [
    ...OP.get(L(base)),
    ...OP.get(L(i)),
    ...(typeof scale === "number" ? OP.i32const(scale) : OP.get(L(scale))),
    ...OP.i32mul,
    ...OP.i32add,
  ];
}

/** `local += x` for a named i32 local and a constant or another local. */
function add(L: Get, local: string, x: string | number): number[] {
  return [
    ...OP.get(L(local)),
    ...(typeof x === "number" ? OP.i32const(x) : OP.get(L(x))),
    ...OP.i32add,
    ...OP.set(L(local)),
  ];
}

const MICRO_PARAMS: [string, number][] = [
  ["ap", I32],
  ["bp", I32],
  ["c", I32],
  ["ldc", I32],
  ["kc", I32],
  ["acc", I32],
];

/**
 * `micro(ap, bp, c, ldc, kc, acc)`: MR × NR outputs at byte address `c` (row
 * stride `ldc` bytes) from a packed A panel (MR floats per step) and a packed
 * B panel (NR floats per step), over `kc` steps; `acc` non-zero adds to C,
 * else overwrites it.
 */
function microKernel(fma: boolean): WasmFunction {
  const rows = MR;
  return {
    name: "micro",
    params: MICRO_PARAMS.map(([, t]) => t),
    exported: false,
    body: () => {
      const L = new Locals(MICRO_PARAMS);
      const $ = L.$.bind(L);
      const vectors = NR / 4;
      const accs: number[][] = [];
      for (let r = 0; r < rows; r++) {
        accs.push(Array.from({ length: vectors }, (_, x) => $(`c${r}_${x}`, V128)));
      }
      const bs = Array.from({ length: vectors }, (_, x) => $(`b${x}`, V128));
      const a = $("a", V128);
      const p = $("p", I32);
      const ci = $("ci", I32);
      const unrolledEnd = $("kU", I32);
      const eachTile = (f: (r: number, x: number) => number[]) => {
        const out: number[] = [];
        for (let r = 0; r < rows; r++) {
          for (let x = 0; x < vectors; x++) out.push(...f(r, x));
          out.push(...add($, "ci", "ldc"));
        }
        return [...set(ci, OP.get($("c"))), ...out];
      };
      const load = eachTile((r, x) => [...OP.get(ci), ...OP.loadAt(16 * x), ...OP.set(accs[r][x])]);
      const zero: number[] = accs.flat().flatMap((v) => [...OP.zero, ...OP.set(v)]);
      const step = (u: number) => {
        const s: number[] = [];
        bs.forEach((b, x) =>
          s.push(...OP.get($("bp")), ...OP.loadAt(4 * (u * NR + 4 * x)), ...OP.set(b))
        );
        for (let r = 0; r < rows; r++) {
          s.push(...OP.get($("ap")), ...OP.loadSplat(4 * (u * MR + r)), ...OP.set(a));
          bs.forEach((b, x) => {
            const c = accs[r][x];
            s.push(
              ...(fma
                ? [...OP.get(a), ...OP.get(b), ...OP.get(c), ...OP.madd]
                : [...OP.get(c), ...OP.get(a), ...OP.get(b), ...OP.mul, ...OP.add]),
              ...OP.set(c),
            );
          });
        }
        return s;
      };
      const advance = (steps: number) => [
        ...add($, "ap", steps * MR * 4),
        ...add($, "bp", steps * NR * 4),
      ];
      const unrolled = Array.from({ length: UNROLL }, (_, u) => step(u)).flat();
      const store = eachTile((
        r,
        x,
      ) => [...OP.get(ci), ...OP.get(accs[r][x]), ...OP.storeAt(16 * x)]);
      return L.code([
        ...ifElse(OP.get($("acc")), load, zero),
        ...set(unrolledEnd, [...OP.get($("kc")), ...OP.i32const(-UNROLL), ...OP.i32and]),
        ...loop(p, unrolledEnd, [...unrolled, ...advance(UNROLL)], OP.i32const(UNROLL)),
        ...loop(p, $("kc"), [...step(0), ...advance(1)], OP.i32const(1)),
        ...store,
      ]);
    },
  };
}

/**
 * Copies `rows` × `cols` floats between two row-major matrices (byte
 * addresses and row strides in named locals), with scalar loads and stores.
 */
function copyTile(
  L: Get,
  src: string,
  srcStride: string | number,
  dst: string,
  dstStride: string | number,
  rows: string,
  cols: string,
): number[] {
  return [
    ...set(L("s", I32), OP.get(L(src))),
    ...set(L("d", I32), OP.get(L(dst))),
    ...set(L("i", I32), OP.i32const(0)),
    ...set(L("colBytes", I32), [...OP.get(L(cols)), ...OP.i32const(4), ...OP.i32mul]),
    ...loop(L("i"), L(rows), [
      ...set(L("j", I32), OP.i32const(0)),
      ...loop(L("j"), L("colBytes"), [
        ...OP.get(L("d")),
        ...OP.get(L("j")),
        ...OP.i32add,
        ...OP.get(L("s")),
        ...OP.get(L("j")),
        ...OP.i32add,
        ...OP.f32load(),
        ...OP.f32store(),
      ], OP.i32const(4)),
      ...add(L, "s", srcStride),
      ...add(L, "d", dstStride),
    ], OP.i32const(1)),
  ];
}

const MACRO_PARAMS: [string, number][] = [
  ["ap", I32],
  ["bp", I32],
  ["c", I32],
  ["ldc", I32],
  ["mc", I32],
  ["nc", I32],
  ["kc", I32],
  ["acc", I32],
  ["tile", I32],
];

/**
 * `macro(ap, bp, c, ldc, mc, nc, kc, acc, tile)`: the `mc` × `nc` block of C
 * at byte address `c` from a packed A block (`mc` rows, panels of MR) and a
 * packed B block (`nc` columns, panels of NR), `kc` steps deep; full tiles
 * are written in place, partial ones (at the bottom or right edge) through
 * the scratch `tile`.
 */
const macroKernel: WasmFunction = {
  name: "macro",
  params: MACRO_PARAMS.map(([, t]) => t),
  body: (index) => {
    const L = new Locals(MACRO_PARAMS);
    const $ = L.$.bind(L);
    for (const n of ["jr", "ir", "nr", "mr", "a", "b", "cc", "panelBytes"]) $(n, I32);
    const micro = (c: number[], ldc: number[]) => [
      ...OP.get($("a")),
      ...OP.get($("b")),
      ...c,
      ...ldc,
      ...OP.get($("kc")),
      ...OP.get($("acc")),
      ...OP.call(index("micro")),
    ];
    const rowsLoop = [
      ...remaining($, "mr", MR, "mc", "ir"),
      ...set($("a"), offset($, "ap", "ir", "panelBytes")),
      ...set($("cc"), [
        ...offset($, "c", "ir", "ldc"),
        ...OP.get($("jr")),
        ...OP.i32const(4),
        ...OP.i32mul,
        ...OP.i32add,
      ]),
      ...ifElse(
        [
          ...OP.get($("nr")),
          ...OP.i32const(NR),
          ...OP.i32eq,
          ...OP.get($("mr")),
          ...OP.i32const(MR),
          ...OP.i32eq,
          ...OP.i32and,
        ],
        micro(OP.get($("cc")), OP.get($("ldc"))),
        [
          ...ifElse(OP.get($("acc")), copyTile($, "cc", "ldc", "tile", NR * 4, "mr", "nr")),
          ...micro(OP.get($("tile")), OP.i32const(NR * 4)),
          ...copyTile($, "tile", NR * 4, "cc", "ldc", "mr", "nr"),
        ],
      ),
    ];
    return L.code([
      // Bytes of a packed row or column of the block: kc floats.
      ...set($("panelBytes"), [...OP.get($("kc")), ...OP.i32const(4), ...OP.i32mul]),
      ...loop($("jr"), $("nc"), [
        ...remaining($, "nr", NR, "nc", "jr"),
        ...set($("b"), offset($, "bp", "jr", "panelBytes")),
        ...set($("ir"), OP.i32const(0)),
        ...loop($("ir"), $("mc"), rowsLoop, OP.i32const(MR)),
      ], OP.i32const(NR)),
    ]);
  },
};

const GENERIC_PARAMS: [string, number][] = [
  ["src", I32],
  ["laneStride", I32],
  ["kStride", I32],
  ["lanes", I32],
  ["width", I32],
  ["kc", I32],
  ["dst", I32],
];

/**
 * `pack_panel(src, laneStride, kStride, lanes, width, kc, dst)`: one packed
 * panel, scalar: for each of `kc` steps, `width` floats, lane l read at
 * `src + p·kStride + l·laneStride` for l < `lanes` and 0 past them.
 */
const packPanel: WasmFunction = {
  name: "pack_panel",
  params: GENERIC_PARAMS.map(([, t]) => t),
  exported: false,
  body: () => {
    const L = new Locals(GENERIC_PARAMS);
    const $ = L.$.bind(L);
    for (const n of ["p", "l", "s", "from"]) $(n, I32);
    return L.code([
      ...set($("from"), OP.get($("src"))),
      ...loop($("p"), $("kc"), [
        ...set($("l"), OP.i32const(0)),
        ...set($("s"), OP.get($("from"))),
        ...loop($("l"), $("width"), [
          ...ifElse(
            [...OP.get($("l")), ...OP.get($("lanes")), ...OP.i32ltS],
            [...OP.get($("dst")), ...OP.get($("s")), ...OP.f32load(), ...OP.f32store()],
            [...OP.get($("dst")), ...f32const(0), ...OP.f32store()],
          ),
          ...add($, "dst", 4),
          ...add($, "s", "laneStride"),
        ], OP.i32const(1)),
        ...add($, "from", "kStride"),
      ], OP.i32const(1)),
    ]);
  },
};

/** The locals `o0..o3` = the 4 × 4 transpose of the vectors in locals `x0..x3`. */
function transpose4(L: Get, x: string[], o: string[]): number[] {
  const shuffle = (a: string, b: string, f: [number, number, number, number], to: string) =>
    set(L(to, V128), [...OP.get(L(a)), ...OP.get(L(b)), ...OP.shuffle(floatLanes(f))]);
  return [
    ...shuffle(x[0], x[1], [0, 4, 1, 5], "t0"),
    ...shuffle(x[0], x[1], [2, 6, 3, 7], "t1"),
    ...shuffle(x[2], x[3], [0, 4, 1, 5], "t2"),
    ...shuffle(x[2], x[3], [2, 6, 3, 7], "t3"),
    ...shuffle("t0", "t2", [0, 1, 4, 5], o[0]),
    ...shuffle("t0", "t2", [2, 3, 6, 7], o[1]),
    ...shuffle("t1", "t3", [0, 1, 4, 5], o[2]),
    ...shuffle("t1", "t3", [2, 3, 6, 7], o[3]),
  ];
}

const PACK_PARAMS: [string, number][] = [
  ["src", I32],
  ["ld", I32],
  ["trans", I32],
  ["count", I32],
  ["kc", I32],
  ["dst", I32],
];

/**
 * `pack_a(src, ld, trans, mc, kc, dst)` and `pack_b(src, ld, trans, nc, kc,
 * dst)`: a block of op(A) (`mc` rows, panels of MR) or of op(B) (`nc`
 * columns, panels of NR), `kc` steps of the shared dimension from byte
 * address `src` (row stride `ld` bytes of the stored matrix), packed at `dst`
 * panel after panel, each `kc` × width floats. A full panel whose lanes are
 * contiguous in memory is copied a vector at a time; one whose lanes are rows
 * of the stored matrix is transposed four steps at a time; a partial panel is
 * copied one float at a time and padded with zeros.
 *
 * @param operand which operand: A's lanes are contiguous when it is
 *   transposed, B's when it is not
 */
function packKernel(operand: "a" | "b"): WasmFunction {
  const width = operand === "a" ? MR : NR;
  return {
    name: `pack_${operand}`,
    params: PACK_PARAMS.map(([, t]) => t),
    body: (index) => {
      const L = new Locals(PACK_PARAMS);
      const $ = L.$.bind(L);
      for (const n of ["i", "lanes", "s", "d", "p", "kc4", "panelBytes", "rowLanes"]) $(n, I32);
      const rows = Array.from({ length: width }, (_, t) => $(`r${t}`, I32));
      const x = Array.from({ length: width }, (_, t) => `x${t}`);
      x.forEach((n) => $(n, V128));
      // Lanes are rows of the stored matrix: A not transposed, B transposed.
      const rowLanes = operand === "a" ? [...OP.get($("trans")), ...OP.i32eqz] : OP.get($("trans"));
      const contiguous = [
        ...set($("p"), OP.i32const(0)),
        ...loop($("p"), $("kc"), [
          ...OP.get($("d")),
          ...OP.get($("s")),
          ...OP.loadAt(0),
          ...OP.storeAt(0),
          ...OP.get($("d")),
          ...OP.get($("s")),
          ...(width === 8 ? OP.loadAt(16) : OP.i64load(16)),
          ...(width === 8 ? OP.storeAt(16) : OP.i64store(16)),
          ...add($, "s", "ld"),
          ...add($, "d", width * 4),
        ], OP.i32const(1)),
      ];
      const load = (t: number) => set($(x[t]), [...OP.get(rows[t]), ...OP.loadAt(0)]);
      const store = (to: number, v: string) => [
        ...OP.get($("d")),
        ...OP.get($(v)),
        ...OP.storeAt(to),
      ];
      const fourSteps: number[] = [];
      for (let g = 0; g + 4 <= width; g += 4) {
        const o = [0, 1, 2, 3].map((q) => `o${q}`);
        fourSteps.push(
          ...[0, 1, 2, 3].flatMap((t) => load(g + t)),
          ...transpose4($, x.slice(g, g + 4), o),
          ...o.flatMap((v, q) => store(4 * (q * width + g), v)),
        );
      }
      if (width % 4 === 2) {
        // Two lanes left (MR = 6): interleave them and store eight bytes per step.
        const g = width - 2;
        const pair = (f: [number, number, number, number], to: string) =>
          set($(to, V128), [
            ...OP.get($(x[g])),
            ...OP.get($(x[g + 1])),
            ...OP.shuffle(floatLanes(f)),
          ]);
        fourSteps.push(
          ...load(g),
          ...load(g + 1),
          ...pair([0, 4, 1, 5], "u0"),
          ...pair([2, 6, 3, 7], "u1"),
          ...[0, 1, 2, 3].flatMap((q) => [
            ...OP.get($("d")),
            ...OP.get($(q < 2 ? "u0" : "u1")),
            ...OP.storeLane64(4 * (q * width + g), q % 2),
          ]),
        );
      }
      const rowPointers = rows.flatMap((r, t) =>
        set(r, [
          ...OP.get($("s")),
          ...OP.i32const(t),
          ...OP.get($("ld")),
          ...OP.i32mul,
          ...OP.i32add,
        ])
      );
      const strided = [
        ...rowPointers,
        ...set($("kc4"), [...OP.get($("kc")), ...OP.i32const(-4), ...OP.i32and]),
        ...set($("p"), OP.i32const(0)),
        ...loop($("p"), $("kc4"), [
          ...fourSteps,
          ...rows.flatMap((r) => [...OP.get(r), ...OP.i32const(16), ...OP.i32add, ...OP.set(r)]),
          ...add($, "d", 4 * 4 * width),
        ], OP.i32const(4)),
        ...ifElse([...OP.get($("kc4")), ...OP.get($("kc")), ...OP.i32ltS], [
          ...OP.get(rows[0]),
          ...OP.get($("ld")),
          ...OP.i32const(4),
          ...OP.i32const(width),
          ...OP.i32const(width),
          ...OP.get($("kc")),
          ...OP.get($("kc4")),
          ...OP.i32sub,
          ...OP.get($("d")),
          ...OP.call(index("pack_panel")),
        ]),
      ];
      const partial = [
        ...OP.get($("s")),
        // lane stride, then step stride
        ...OP.get($("ld")),
        ...OP.i32const(4),
        ...OP.get($("rowLanes")),
        ...OP.select,
        ...OP.i32const(4),
        ...OP.get($("ld")),
        ...OP.get($("rowLanes")),
        ...OP.select,
        ...OP.get($("lanes")),
        ...OP.i32const(width),
        ...OP.get($("kc")),
        ...OP.get($("d")),
        ...OP.call(index("pack_panel")),
      ];
      // B not transposed, GROUP full panels at a time: each step reads GROUP·NR
      // contiguous floats of one row of B (rows are a power-of-two stride apart
      // in the engine's weights, so a panel at a time would thrash the cache sets).
      const grouped = operand === "b"
        ? [
          ...set($("groupEnd", I32), [
            ...OP.get($("count")),
            ...OP.i32const(-GROUP * NR),
            ...OP.i32and,
          ]),
          ...set($("panelStride", I32), [...OP.get($("kc")), ...OP.i32const(4 * NR), ...OP.i32mul]),
          ...ifElse(OP.get($("trans")), [], [
            ...loop($("i"), $("groupEnd"), [
              ...set($("d"), offset($, "dst", "i", "panelBytes")),
              ...set($("s"), offset($, "src", "i", 4)),
              ...set($("p"), OP.i32const(0)),
              ...loop($("p"), $("kc"), [
                ...Array.from({ length: GROUP }, (_, g) => [
                  ...OP.get($("d")),
                  ...OP.get($("panelStride")),
                  ...OP.i32const(g),
                  ...OP.i32mul,
                  ...OP.i32add,
                  ...OP.tee($("dg", I32)),
                  ...OP.get($("s")),
                  ...OP.loadAt(32 * g),
                  ...OP.storeAt(0),
                  ...OP.get($("dg")),
                  ...OP.get($("s")),
                  ...OP.loadAt(32 * g + 16),
                  ...OP.storeAt(16),
                ]).flat(),
                ...add($, "s", "ld"),
                ...add($, "d", NR * 4),
              ], OP.i32const(1)),
            ], OP.i32const(GROUP * NR)),
          ]),
        ]
        : [];
      return L.code([
        ...set($("rowLanes"), rowLanes),
        ...set($("panelBytes"), [...OP.get($("kc")), ...OP.i32const(4), ...OP.i32mul]),
        ...grouped,
        ...loop($("i"), $("count"), [
          ...remaining($, "lanes", width, "count", "i"),
          ...set($("d"), offset($, "dst", "i", "panelBytes")),
          // The panel's first lane: row i of the stored matrix, or its column i.
          ...set($("s"), [
            ...offset($, "src", "i", "ld"),
            ...offset($, "src", "i", 4),
            ...OP.get($("rowLanes")),
            ...OP.select,
          ]),
          ...ifElse(
            [...OP.get($("lanes")), ...OP.i32const(width), ...OP.i32eq],
            ifElse(OP.get($("rowLanes")), strided, contiguous),
            partial,
          ),
        ], OP.i32const(width)),
      ]);
    },
  };
}

/**
 * The sgemm's functions for the kernel module: the exported `pack_a`,
 * `pack_b` and `macro`, the internal panel packer and micro-kernel.
 *
 * @param fma use `f32x4.relaxed_madd` (else a multiply then an add)
 * @returns the functions, in the order they join the module
 */
export function sgemmFunctions(fma: boolean): WasmFunction[] {
  return [
    packKernel("a"),
    packKernel("b"),
    macroKernel,
    packPanel,
    microKernel(fma),
  ];
}

/**
 * A module that uses `f32x4.relaxed_madd` and nothing else: whether this
 * runtime accepts relaxed SIMD.
 *
 * @returns true when it validates
 */
export function relaxedSimdValidates(): boolean {
  // (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd)
  const body = [0, 0x20, 0, 0x20, 1, 0x20, 2, ...OP.madd, 0x0b];
  return WebAssembly.validate(
    new Uint8Array([
      ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
      ...[1, 8, 1, 0x60, 3, V128, V128, V128, 1, V128],
      ...[3, 2, 1, 0],
      ...[10, body.length + 2, 1, body.length, ...body],
    ]),
  );
}

/** The sgemm's exports of the kernel module; addresses and strides in bytes. */
export interface SgemmKernels {
  /** Packs `mc` rows × `kc` steps of op(A) into panels of MR. */
  pack_a(src: number, ld: number, trans: number, mc: number, kc: number, dst: number): void;
  /** Packs `kc` steps × `nc` columns of op(B) into panels of NR. */
  pack_b(src: number, ld: number, trans: number, nc: number, kc: number, dst: number): void;
  /** `C (+)= Ap·Bp` over an `mc` × `nc` block, `kc` steps deep. */
  macro(
    ap: number,
    bp: number,
    c: number,
    ldc: number,
    mc: number,
    nc: number,
    kc: number,
    acc: number,
    tile: number,
  ): void;
}

/**
 * One sgemm, as the threads share it: `C = op(A)·op(B)` (`C += …` with
 * `accumulate`), row-major, addresses in bytes of the arena, leading
 * dimensions in floats.
 */
export interface SgemmJob {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  a: number;
  lda: number;
  b: number;
  ldb: number;
  c: number;
  ldc: number;
  accumulate: boolean;
}

/** One thread's scratch in the arena (byte addresses): an A block, a B block, a tile. */
export interface SgemmScratch {
  a: number;
  b: number;
  tile: number;
}

/**
 * The scratch of one thread laid out from a byte address.
 *
 * @param base the first byte of {@linkcode SGEMM_SCRATCH_FLOATS} floats (64-byte aligned)
 * @returns the three regions
 */
export function sgemmScratch(base: number): SgemmScratch {
  return { a: base, b: base + 4 * MC * KC, tile: base + 4 * (MC * KC + KC * NC) };
}

/**
 * Products below this many multiply-adds (m·n·k) run on one thread: waking
 * another costs tens of microseconds, about what 2²⁰ multiply-adds take.
 */
export const SGEMM_PARALLEL_MIN = 1 << 20;

/** Chunks per thread a split product aims at, so a thread the OS holds back delays little. */
const CHUNKS_PER_THREAD = 4;

/**
 * Columns (or rows) below which a chunk loses more to packing than it gains:
 * every chunk packs all of A (or of B) again, at about the cost of three
 * multiply-adds per float, so a chunk of 128 columns spends about 2% on it.
 */
const CHUNK_MIN = 128;

/**
 * Into how many chunks (rectangles of C) a product is split for `threads`
 * threads, which take them one at a time as they finish (a thread the OS
 * holds back then delays the product by one chunk, not by half of it): one
 * for small products; else about four per thread, each at least half the
 * parallel threshold's work and {@linkcode CHUNK_MIN} columns (or MC rows)
 * wide; and at least one per thread where C has a 16-column or MR-row strip
 * for each.
 *
 * @param m rows of C
 * @param n columns of C
 * @param k the shared dimension
 * @param threads threads available
 * @returns the number of chunks (1: the calling thread alone)
 */
export function sgemmChunks(m: number, n: number, k: number, threads: number): number {
  const work = m * n * Math.max(k, 1);
  if (threads <= 1 || work < SGEMM_PARALLEL_MIN) return 1;
  const strips = Math.max(Math.ceil(n / 16), Math.ceil(m / MR));
  const wide = Math.max(Math.ceil(n / CHUNK_MIN), Math.ceil(m / MC));
  const byWork = Math.floor(work / (SGEMM_PARALLEL_MIN / 2));
  return Math.max(
    Math.min(strips, threads),
    Math.min(wide, CHUNKS_PER_THREAD * threads, byWork),
  );
}

/**
 * The rectangle of C chunk `c` of `chunks` covers: a strip of columns (in
 * multiples of 16, so no two threads write one cache line of a row) when C
 * has a strip per chunk, else a strip of rows (multiples of MR).
 *
 * @param m rows of C
 * @param n columns of C
 * @param chunks from {@linkcode sgemmChunks}
 * @param c the chunk (0 ≤ c < chunks)
 * @returns `[i0, i1, j0, j1]`, possibly empty
 */
export function sgemmChunk(
  m: number,
  n: number,
  chunks: number,
  c: number,
): [number, number, number, number] {
  if (Math.ceil(n / 16) >= chunks) {
    const size = Math.ceil(n / chunks / 16) * 16;
    return [0, m, Math.min(n, c * size), Math.min(n, (c + 1) * size)];
  }
  const size = Math.ceil(m / chunks / MR) * MR;
  return [Math.min(m, c * size), Math.min(m, (c + 1) * size), 0, n];
}

/**
 * Computes the rectangle `[i0, i1) × [j0, j1)` of a job's C on the calling
 * thread: blocks of NC columns, KC steps and MC rows, packed into `scratch`,
 * each multiplied by the macro-kernel.
 *
 * @param kernels the module's sgemm exports
 * @param memory the arena's memory (for the k = 0 case)
 * @param scratch this thread's scratch
 * @param job the product
 * @param rect `[i0, i1, j0, j1]`
 */
export function sgemmRect(
  kernels: SgemmKernels,
  memory: WebAssembly.Memory,
  scratch: SgemmScratch,
  job: SgemmJob,
  rect: [number, number, number, number],
): void {
  const [i0, i1, j0, j1] = rect;
  if (i1 <= i0 || j1 <= j0) return;
  const { transA, transB, k, a, lda, b, ldb, c, ldc } = job;
  if (k === 0) {
    if (job.accumulate) return;
    const view = new Float32Array(memory.buffer);
    for (let i = i0; i < i1; i++) view.fill(0, c / 4 + i * ldc + j0, c / 4 + i * ldc + j1);
    return;
  }
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = Math.min(NC, j1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      const bSrc = b + 4 * (transB ? jc * ldb + pc : pc * ldb + jc);
      kernels.pack_b(bSrc, 4 * ldb, transB ? 1 : 0, nc, kc, scratch.b);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = Math.min(MC, i1 - ic);
        const aSrc = a + 4 * (transA ? pc * lda + ic : ic * lda + pc);
        kernels.pack_a(aSrc, 4 * lda, transA ? 1 : 0, mc, kc, scratch.a);
        const acc = pc > 0 || job.accumulate ? 1 : 0;
        kernels.macro(
          scratch.a,
          scratch.b,
          c + 4 * (ic * ldc + jc),
          4 * ldc,
          mc,
          nc,
          kc,
          acc,
          scratch.tile,
        );
      }
    }
  }
}

/**
 * Runs a job split into `chunks` over the threads (the calling one
 * included), returning when all are done.
 */
export type SgemmParallel = (job: SgemmJob, chunks: number) => void;

/**
 * The wasm SIMD sgemm bound to one arena: the fused CPU engine's matmul when
 * no BLAS library loads. Operands are views of the arena's memory.
 */
export class WasmSgemm {
  /** Whether each multiply-add rounds once (the CPU fuses `relaxed_madd`). */
  readonly fused: boolean;

  /**
   * @param kernels the module's sgemm exports, instantiated on `memory`
   * @param memory the arena's memory
   * @param scratch the calling thread's scratch
   * @param fma whether the module was emitted with `relaxed_madd`
   * @param threads threads a product may be split over
   * @param parallel runs a split product over the threads (absent: one thread)
   * @param probe a scratch tile's worth of arena floats for the fused-rounding probe
   */
  constructor(
    readonly kernels: SgemmKernels,
    readonly memory: WebAssembly.Memory,
    readonly scratch: SgemmScratch,
    readonly fma: boolean,
    readonly threads: number,
    readonly parallel: SgemmParallel | null,
    probe: Float32Array,
  ) {
    this.fused = fma && fusedProbe(this, probe);
  }

  /** What runs the products, for the run record: `wasm SIMD sgemm (FMA, 2 threads)`. */
  describe(): string {
    const t = this.parallel ? this.threads : 1;
    const arithmetic = this.fused ? "fused multiply-add" : "multiply then add";
    return `wasm SIMD sgemm (${arithmetic}, ${t} thread${t === 1 ? "" : "s"})`;
  }

  /**
   * Row-major `C = op(A)·op(B)`, or `C += op(A)·op(B)`.
   *
   * @param transA use Aᵀ (A stored k × m)
   * @param transB use Bᵀ (B stored n × k)
   * @param m rows of C
   * @param n columns of C
   * @param k the shared dimension
   * @param a A's values: a view of the arena starting at its first element
   * @param b B's values, likewise
   * @param c C's values, likewise; overwritten (or added to)
   * @param accumulate add to C instead of overwriting it
   * @throws {RangeError} when an operand is not in the arena or too short
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
    accumulate = false,
  ): void {
    if (m === 0 || n === 0) return;
    const inArena = (x: Float32Array, what: string, floats: number) => {
      if (x.buffer !== this.memory.buffer) {
        throw new RangeError(`The wasm sgemm's ${what} is not in its arena: copy it there first`);
      }
      if (x.length < floats) {
        throw new RangeError(
          `The wasm sgemm's ${what} has ${x.length} floats: expected at least ${floats}`,
        );
      }
      return x.byteOffset;
    };
    const job: SgemmJob = {
      transA,
      transB,
      m,
      n,
      k,
      a: inArena(a, "A", m * k),
      lda: transA ? m : k,
      b: inArena(b, "B", k * n),
      ldb: transB ? k : n,
      c: inArena(c, "C", m * n),
      ldc: n,
      accumulate,
    };
    const chunks = this.parallel ? sgemmChunks(m, n, k, this.threads) : 1;
    if (chunks === 1) {
      sgemmRect(this.kernels, this.memory, this.scratch, job, [0, m, 0, n]);
    } else {
      this.parallel!(job, chunks);
    }
  }
}

/**
 * Whether a two-step dot product rounds once per step: `1·(−1) + (1 + 2⁻²³)(1 − 2⁻²³)`
 * is −2⁻⁴⁶ with a fused multiply-add and 0 without.
 */
function fusedProbe(s: WasmSgemm, probe: Float32Array): boolean {
  const e = 2 ** -23;
  probe.set([1, 1 + e, -1, 1 - e, 0]);
  const [a, b, c] = [probe.subarray(0, 2), probe.subarray(2, 4), probe.subarray(4, 5)];
  s.sgemm(false, false, 1, 1, 2, a, b, c);
  return c[0] !== 0;
}
