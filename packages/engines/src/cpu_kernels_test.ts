/**
 * The fused CPU engine's kernels: the emitted wasm module validates, each
 * SIMD kernel agrees with its JavaScript twin (float32 against float64
 * arithmetic: 1e-6 relative), the arena aligns, zeroes and refuses what does
 * not fit, and the engine reports which kernels ran.
 */
import { assert, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { biasActivation, columnSums, derivativeMul } from "./cpu_kernels.ts";
import { adamRange } from "./cpu_optimizer.ts";
import { rangeUpdate } from "./cpu_pool.ts";
import { Arena, ARENA_MAX_BYTES, kernelModuleBytes, simdKernels } from "./wasm_simd.ts";
import { uniformFloats } from "../../../tests/synth_helpers.ts";

function close(a: Float32Array, b: Float32Array, what: string, rtol = 1e-6) {
  assertEquals(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    assert(
      Math.abs(a[i] - b[i]) <= rtol * Math.max(1, Math.abs(b[i])),
      `${what}[${i}]: simd ${a[i]} vs js ${b[i]}`,
    );
  }
}

function arena(bytes: number): Arena {
  const a = Arena.create(bytes, 16);
  if (!(a instanceof Arena)) throw new Error(`no arena: ${a.reason}`);
  return a;
}

Deno.test("wasm kernels: the emitted module validates and exports every kernel", () => {
  assert(WebAssembly.validate(kernelModuleBytes(1)));
  const names = WebAssembly.Module.exports(new WebAssembly.Module(kernelModuleBytes(1)))
    .map((e) => e.name);
  assertEquals(names, [
    "adam",
    "sgd",
    "bias_add",
    "bias_relu",
    "relu_grad",
    "col_sums",
    "pack_a",
    "pack_b",
    "macro",
  ]);
});

Deno.test("wasm kernels: the arena aligns to 64 bytes, zeroes, and refuses what does not fit", () => {
  const a = arena(1000);
  const x = a.floats(3);
  const y = a.floats(5);
  assertEquals(x.byteOffset % 64, 0);
  assertEquals(y.byteOffset % 64, 0);
  assert(y.byteOffset >= x.byteOffset + 12);
  assert(y.every((v) => v === 0));
  assert(x.buffer instanceof SharedArrayBuffer);
  assertThrows(() => a.floats(1_000_000), RangeError, "The arena is full");
  const big = Arena.create(ARENA_MAX_BYTES, 4);
  assert(!(big instanceof Arena) && big.reason.includes("exceeds a wasm memory's 4 GiB"));
});

Deno.test("wasm kernels: Adam and SGD match the JavaScript update, a tail of 1-3 elements included", () => {
  for (const n of [4, 16, 1003, 4096 + 2]) {
    for (const kind of [0, 1]) {
      const a = arena(4 * n * 4 + 4096);
      const [p, g, m, v] = [a.floats(n), a.floats(n), a.floats(n), a.floats(n)];
      p.set(uniformFloats(n, 1));
      g.set(uniformFloats(n, 2, 0.1));
      m.set(uniformFloats(n, 3, 0.01));
      v.set(uniformFloats(n, 4, 0.01).map(Math.abs));
      const [p2, m2, v2] = [p.slice(), m.slice(), v.slice()];
      const update = rangeUpdate({
        p,
        g,
        m,
        v,
        wasm: { memory: a.memory, module: a.module },
      });
      for (let step = 0; step < 3; step++) {
        const [lr, c1, c2] = [0.01, 1 - 0.9 ** (step + 1), 1 - 0.999 ** (step + 1)];
        update(kind, lr, c1, c2, 0, n);
        if (kind === 0) adamRange(p2, g, m2, v2, lr, c1, c2, 0, n);
        else for (let i = 0; i < n; i++) p2[i] -= lr * g[i];
      }
      close(p, p2, `${kind === 0 ? "adam" : "sgd"} n=${n} p`);
      if (kind === 0) {
        close(m, m2, `adam n=${n} m`);
        close(v, v2, `adam n=${n} v`);
      }
    }
  }
});

Deno.test("wasm kernels: bias + ReLU/linear, the ReLU gradient and column sums match the JavaScript kernels", () => {
  const rows = 7;
  for (const n of [4, 12, 64]) {
    const a = arena(4 * (4 * rows * n + 3 * n) + 4096);
    const k = simdKernels(a.module, a.memory);
    const bias = a.floats(n);
    bias.set(uniformFloats(n, 5));
    for (const act of ["relu", "linear"] as const) {
      const h = a.floats(rows * n);
      h.set(uniformFloats(rows * n, 6));
      const ref = h.slice();
      if (act === "relu") k.bias_relu(h.byteOffset, bias.byteOffset, rows, n);
      else k.bias_add(h.byteOffset, bias.byteOffset, rows, n);
      biasActivation(ref, rows, n, bias, 0, act);
      close(h, ref, `bias ${act} n=${n}`);
    }
    const d = a.floats(rows * n);
    const out = a.floats(rows * n);
    d.set(uniformFloats(rows * n, 7));
    out.set(uniformFloats(rows * n, 8));
    const dRef = d.slice();
    k.relu_grad(d.byteOffset, out.byteOffset, rows * n);
    derivativeMul(dRef, out, rows * n, "relu");
    close(d, dRef, `relu grad n=${n}`);
    assert(d.some((x) => x === 0) && d.some((x) => x !== 0), "the mask both keeps and drops");
    const g = a.floats(n);
    g.fill(123);
    const gRef = new Float32Array(n);
    k.col_sums(d.byteOffset, g.byteOffset, rows, n);
    columnSums(d, rows, n, gRef, 0);
    close(g, gRef, `column sums n=${n}`);
  }
});
