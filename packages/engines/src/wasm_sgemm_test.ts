/**
 * The fused CPU engine's wasm SIMD sgemm (`wasm_sgemm.ts`): needs
 * nothing installed, so it runs everywhere.
 *
 * - Against a float64 reference for all four transpositions, odd sizes on
 *   both sides of every tile and block edge (MR, NR, KC, MC, NC), k = 0,
 *   m or n = 1, and `accumulate`; nothing outside C is written.
 * - Tolerance, from the error analysis rather than one machine's figures:
 *   each output is a recursive sum of k products, each step rounding once
 *   (fused multiply-add) or twice (product, then sum), so (Higham, Accuracy
 *   and Stability of Numerical Algorithms, (3.5))
 *   `|C − exact| ≤ γ_k · Σ_p |a_ip|·|b_pj|` with `γ_k = k·u / (1 − k·u)`,
 *   `u = 2⁻²⁴`; with `accumulate` the initial C is one more term
 *   (`γ_{k+1}`, `|C₀|` added to the sum). The float64 reference's own
 *   error (products exact, k·2⁻⁵³ relative on the sums) is 2²⁹ times smaller.
 * - Summation order: every output equals, bit for bit, the 1 × 1 product of
 *   its row and column — whatever tile, block, chunk or thread computed it —
 *   and the results do not depend on the thread count (1, 2, 3; chunks of
 *   columns and of rows, taken by whichever thread is free).
 * - Relaxed SIMD: Deno 2.9.6 validates `f32x4.relaxed_madd`; the module
 *   without it validates too and rounds twice.
 */
import { assert, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { Arena, kernelModuleBytes, simdKernels } from "./wasm_simd.ts";
import {
  KC,
  MC,
  MR,
  NC,
  NR,
  relaxedSimdValidates,
  SGEMM_PARALLEL_MIN,
  SGEMM_SCRATCH_FLOATS,
  sgemmChunk,
  sgemmChunks,
  sgemmScratch,
  WasmSgemm,
} from "./wasm_sgemm.ts";
import { CpuPool } from "./cpu_pool.ts";
import { Prng } from "@alfred/core";
import { uniformFloats } from "../../../tests/synth_helpers.ts";

const U = 2 ** -24;
const gamma = (k: number) => (k * U) / (1 - k * U);

interface Setup {
  arena: Arena;
  sgemm: WasmSgemm;
  pool: CpuPool | null;
}

/** An arena of `mib` MiB with a wasm sgemm on `threads` threads (a pool when more than one). */
async function setup(threads: number, mib = 48, fma?: boolean): Promise<Setup> {
  const arena = Arena.create(mib * 2 ** 20, 64);
  if (!(arena instanceof Arena)) throw new Error(`no arena: ${arena.reason}`);
  const scratch = Array.from({ length: threads }, () => arena.floats(SGEMM_SCRATCH_FLOATS));
  const probe = arena.floats(16);
  const module = fma === undefined
    ? arena.module
    : new WebAssembly.Module(kernelModuleBytes(arena.memory.buffer.byteLength / 65536, fma));
  const kernels = simdKernels(module, arena.memory);
  let pool: CpuPool | null = null;
  if (threads > 1) {
    pool = await CpuPool.start(threads, {
      p: arena.floats(16),
      g: arena.floats(16),
      wasm: { memory: arena.memory, module },
      scratch: scratch.map((s) => s.byteOffset),
    });
  }
  const p = pool;
  const sgemm = new WasmSgemm(
    kernels,
    arena.memory,
    sgemmScratch(scratch[0].byteOffset),
    fma ?? arena.fma,
    threads,
    p ? (job, parts) => p.sgemm(job, parts) : null,
    probe,
  );
  return { arena, sgemm, pool };
}

function fill(x: Float32Array, seed: number): Float32Array {
  x.set(uniformFloats(x.length, seed));
  return x;
}

/** op(A)[i, p] and op(B)[p, j] of row-major storage. */
const aAt = (a: Float32Array, ta: boolean, m: number, k: number, i: number, p: number) =>
  ta ? a[p * m + i] : a[i * k + p];
const bAt = (b: Float32Array, tb: boolean, n: number, k: number, p: number, j: number) =>
  tb ? b[j * k + p] : b[p * n + j];

const GUARD = 64;

/**
 * Runs one product in the arena against the float64 reference; C sits between
 * two guard zones of NaN that must stay untouched.
 */
function check(
  s: Setup,
  ta: boolean,
  tb: boolean,
  m: number,
  n: number,
  k: number,
  accumulate = false,
): void {
  const what = `${ta ? "Aᵀ" : "A"}·${tb ? "Bᵀ" : "B"} m=${m} n=${n} k=${k}${
    accumulate ? " accumulate" : ""
  }`;
  const a = fill(s.arena.floats(Math.max(1, m * k)), m * 31 + k);
  const b = fill(s.arena.floats(Math.max(1, k * n)), n * 17 + k + 1);
  const zone = s.arena.floats(m * n + 2 * GUARD).fill(NaN);
  const c = zone.subarray(GUARD, GUARD + m * n);
  const c0 = fill(new Float32Array(m * n), 7);
  if (accumulate) c.set(c0);
  s.sgemm.sgemm(ta, tb, m, n, k, a, b, c, accumulate);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let exact = accumulate ? c0[i * n + j] : 0;
      let magnitude = Math.abs(exact);
      for (let p = 0; p < k; p++) {
        const x = aAt(a, ta, m, k, i, p) * bAt(b, tb, n, k, p, j);
        exact += x;
        magnitude += Math.abs(x);
      }
      const got = c[i * n + j];
      const bound = gamma(accumulate ? k + 1 : k) * magnitude;
      assert(
        Math.abs(got - exact) <= bound,
        `${what} [${i}, ${j}]: ${got} vs exact ${exact} (bound ${bound})`,
      );
    }
  }
  const outside = [...zone.subarray(0, GUARD), ...zone.subarray(GUARD + m * n)];
  assert(outside.every(Number.isNaN), `${what}: wrote outside C`);
}

const TRANSPOSES: [boolean, boolean][] = [[false, false], [true, false], [false, true], [
  true,
  true,
]];

Deno.test("wasm sgemm: relaxed SIMD validates on this Deno; the module validates with and without it", () => {
  assert(relaxedSimdValidates(), "Deno 2.9.6's V8 accepts f32x4.relaxed_madd");
  for (const fma of [true, false]) assert(WebAssembly.validate(kernelModuleBytes(1, fma)));
  const names = WebAssembly.Module.exports(new WebAssembly.Module(kernelModuleBytes(1)))
    .map((e) => e.name);
  for (const n of ["pack_a", "pack_b", "macro"]) assert(names.includes(n), n);
  assertEquals(MR * NR % 16, 0);
  assertEquals(MC % MR, 0);
  assertEquals(NC % 16, 0);
});

Deno.test("wasm sgemm: all transposes on odd sizes match float64 within γ_k·Σ|a||b|", async () => {
  const s = await setup(1);
  const sizes = [1, 3, 5, 17, 63, 65, 129];
  for (const [ta, tb] of TRANSPOSES) {
    for (const x of sizes) check(s, ta, tb, x, x, x);
    for (const [m, n, k] of [[1, 129, 65], [129, 1, 17], [65, 63, 1], [17, 5, 129], [3, 65, 5]]) {
      check(s, ta, tb, m, n, k);
    }
  }
});

Deno.test("wasm sgemm: block edges (KC, MC, NC), the micro-tile edges, k = 0 and accumulate", async () => {
  const s = await setup(1, 64);
  for (const [ta, tb] of TRANSPOSES) {
    // The shared dimension crosses one and two KC blocks (C is stored and reloaded between them).
    check(s, ta, tb, MR + 1, NR + 1, KC + 1);
    check(s, ta, tb, 2 * MR, 2 * NR, 2 * KC + 3);
    // Rows cross MC blocks; columns cross an NC block.
    check(s, ta, tb, MC + 1, 9, 7);
    check(s, ta, tb, 2 * MC + MR - 1, 3, 5);
    check(s, ta, tb, 5, NC + 17, 9);
    // k = 0: C is zero, or unchanged when accumulating.
    check(s, ta, tb, 7, 9, 0);
    check(s, ta, tb, 7, 9, 0, true);
    for (const [m, n, k] of [[1, 1, 1], [13, 21, 300], [MR, NR, 1], [65, 17, KC]]) {
      check(s, ta, tb, m, n, k, true);
    }
  }
});

Deno.test("wasm sgemm: every output is the sequential dot product of its row and column, bit for bit", async () => {
  // 13 rows (a partial tile), 2065 columns (past NC, a partial panel), k = 600 (three KC blocks).
  const s = await setup(2, 64);
  const [m, n, k] = [13, NC + 17, 2 * KC + 88];
  const rng = new Prng(3);
  for (const [ta, tb] of TRANSPOSES) {
    const a = fill(s.arena.floats(m * k), 11);
    const b = fill(s.arena.floats(k * n), 12);
    const c = s.arena.floats(m * n);
    s.sgemm.sgemm(ta, tb, m, n, k, a, b, c);
    const row = s.arena.floats(k);
    const col = s.arena.floats(k);
    const one = s.arena.floats(1);
    for (let t = 0; t < 40; t++) {
      const i = t < 4 ? [0, m - 1, 0, m - 1][t] : Math.floor(rng.next() * m);
      const j = t < 4 ? [0, 0, n - 1, n - 1][t] : Math.floor(rng.next() * n);
      for (let p = 0; p < k; p++) {
        row[p] = aAt(a, ta, m, k, i, p);
        col[p] = bAt(b, tb, n, k, p, j);
      }
      s.sgemm.sgemm(false, false, 1, 1, k, row, col, one);
      assertEquals(c[i * n + j], one[0], `${ta}/${tb} [${i}, ${j}]`);
    }
  }
  s.pool?.close();
});

Deno.test("wasm sgemm: results do not depend on the thread count (1, 2, 3), bit for bit", async () => {
  const setups = [await setup(1), await setup(2), await setup(3)];
  try {
    // Split by columns (n has a 16-column strip per thread) and by rows (n = 7).
    for (const [m, n, k] of [[64, 1000, 70], [500, 7, 400], [37, 333, 129]]) {
      assert(m * n * k >= SGEMM_PARALLEL_MIN, "large enough to be split");
      for (const [ta, tb] of TRANSPOSES) {
        const results = setups.map((s) => {
          const a = fill(s.arena.floats(m * k), 21);
          const b = fill(s.arena.floats(k * n), 22);
          const c = s.arena.floats(m * n);
          s.sgemm.sgemm(ta, tb, m, n, k, a, b, c);
          return Array.from(c);
        });
        assertEquals(results[1], results[0], `2 threads ${[m, n, k, ta, tb]}`);
        assertEquals(results[2], results[0], `3 threads ${[m, n, k, ta, tb]}`);
      }
    }
    // About four chunks per thread, each at least half the parallel threshold's
    // work and 128 columns wide, and at least one per thread.
    assertEquals(sgemmChunks(64, 1000, 70, 3), 8);
    assertEquals(sgemmChunks(64, 4096, 4096, 2), 8);
    assertEquals(sgemmChunks(64, 256, 256, 2), 2);
    assertEquals(sgemmChunks(64, 32, 520, 3), 3, "at least one chunk per thread");
    assertEquals(sgemmChunks(8, 8, 8, 3), 1, "small products stay on one thread");
  } finally {
    for (const s of setups) s.pool?.close();
  }
});

Deno.test("wasm sgemm: the chunks tile C exactly, in 16-column strips or MR-row strips", () => {
  for (const [m, n] of [[64, 1000], [500, 7], [5, 5], [1, 4096], [4096, 1], [37, 333]]) {
    for (const parts of [1, 2, 3, 8, 12]) {
      const seen = new Uint8Array(m * n);
      for (let t = 0; t < parts; t++) {
        const [i0, i1, j0, j1] = sgemmChunk(m, n, parts, t);
        if (j0 > 0 && j0 < n) assertEquals(j0 % 16, 0);
        if (i0 > 0 && i0 < m) assertEquals(i0 % MR, 0);
        for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) seen[i * n + j]++;
      }
      assert(seen.every((x) => x === 1), `${m}x${n} in ${parts} parts`);
    }
  }
});

Deno.test("wasm sgemm: relaxed_madd rounds once where the CPU fuses it; without it, twice", async () => {
  const plain = await setup(1, 8, false);
  assertEquals(plain.sgemm.fused, false);
  assert(plain.sgemm.describe().includes("multiply then add"), plain.sgemm.describe());
  // The probe's product: 1·(−1) + (1 + 2⁻²³)(1 − 2⁻²³) = −2⁻⁴⁶ exactly, 0 with two roundings.
  const e = 2 ** -23;
  const run = (s: Setup) => {
    const a = s.arena.floats(2);
    const b = s.arena.floats(2);
    const c = s.arena.floats(1);
    a.set([1, 1 + e]);
    b.set([-1, 1 - e]);
    s.sgemm.sgemm(false, false, 1, 1, 2, a, b, c);
    return c[0];
  };
  assertEquals(run(plain), 0);
  const fma = await setup(1, 8);
  assertEquals(run(fma), fma.sgemm.fused ? -(2 ** -46) : 0);
  let flags = "";
  try {
    flags = /^flags\s*:(.*)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "";
  } catch {
    // not Linux: nothing more to check
  }
  if (/\bfma\b/.test(flags)) assert(fma.sgemm.fused, "an x64 CPU with FMA3 fuses relaxed_madd");
  assert(fma.sgemm.describe().startsWith("wasm SIMD sgemm ("), fma.sgemm.describe());
});

Deno.test("wasm sgemm: operands outside the arena or too short are refused", async () => {
  const s = await setup(1, 8);
  const inside = s.arena.floats(12);
  assertThrows(
    () => s.sgemm.sgemm(false, false, 3, 4, 1, new Float32Array(3), inside, inside),
    RangeError,
    "The wasm sgemm's A is not in its arena",
  );
  assertThrows(
    () => s.sgemm.sgemm(false, false, 3, 4, 2, inside, inside.subarray(0, 7), inside),
    RangeError,
    "The wasm sgemm's B has 7 floats: expected at least 8",
  );
});
