import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { probeWebGpu, selectBackend } from "../src/train/backend.ts";
import {
  installWasmMatMulFix,
  isWasmMatMulFixInstalled,
  uninstallWasmMatMulFix,
} from "../src/train/wasm_matmul.ts";
import { blasKernelsInstalled, loadBlas } from "../src/engines/blas_cpu.ts";
import { benchCommand, formatBench, QUICK_BENCH, runBench } from "../src/cli/bench.ts";
import { buildModel } from "../src/models/registry.ts";
import { bceLoss } from "../src/models/losses.ts";
import { LabelConfig, ModelConfig } from "../src/config/schema.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";

/** Deterministic pseudo-random float32 values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** Float64 reference of a (batched) matmul, plus Σ|a||b| per output for the error bound. */
function reference(
  a: Float32Array,
  b: Float32Array,
  [batch, m, k, n]: number[],
  ta: boolean,
  tb: boolean,
): { exact: Float64Array; magnitude: Float64Array } {
  const exact = new Float64Array(batch * m * n);
  const magnitude = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let mag = 0;
        for (let q = 0; q < k; q++) {
          const av = ta ? a[p * k * m + q * m + i] : a[p * m * k + i * k + q];
          const bv = tb ? b[p * n * k + j * k + q] : b[p * k * n + q * n + j];
          s += av * bv;
          mag += Math.abs(av * bv);
        }
        exact[p * m * n + i * n + j] = s;
        magnitude[p * m * n + i * n + j] = mag;
      }
    }
  }
  return { exact, magnitude };
}

const U = 2 ** -24; // float32 unit roundoff

Deno.test("wasm matmul fix: same results as the stock kernel within float32 summation-order error", async () => {
  await selectBackend("wasm");
  const shapes = [[1, 37, 70, 45], [3, 16, 33, 9]];
  for (const [batch, m, k, n] of shapes) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const aData = values(batch * m * k, m * 31 + k);
      const bData = values(batch * k * n, n * 17 + k);
      const aShape = ta ? [k, m] : [m, k];
      const bShape = tb ? [n, k] : [k, n];
      const a = batch === 1 ? tf.tensor(aData, aShape) : tf.tensor(aData, [batch, ...aShape]);
      const b = batch === 1 ? tf.tensor(bData, bShape) : tf.tensor(bData, [batch, ...bShape]);
      uninstallWasmMatMulFix();
      const stock = tf.matMul(a, b, ta, tb).dataSync();
      // What the fix computes: the untransposed stock kernel on explicitly transposed operands.
      const at = ta ? tf.transpose(a, batch === 1 ? [1, 0] : [0, 2, 1]) : a;
      const bt = tb ? tf.transpose(b, batch === 1 ? [1, 0] : [0, 2, 1]) : b;
      const explicit = tf.matMul(at, bt).dataSync();
      installWasmMatMulFix();
      const before = tf.memory().numTensors;
      const fixedTensor = tf.matMul(a, b, ta, tb);
      const fixed = fixedTensor.dataSync();
      assertEquals(fixedTensor.shape, batch === 1 ? [m, n] : [batch, m, n]);
      fixedTensor.dispose();
      assertEquals(tf.memory().numTensors, before, "the fix leaked a temporary");
      // Bit-identical to the untransposed kernel on the transposed copy.
      assertEquals(Array.from(fixed), Array.from(explicit), `explicit ${[batch, m, k, n, ta, tb]}`);
      // Both within the textbook bound k·u·Σ|a||b| of the exact product, so within 2·k·u·Σ|a||b| of each other.
      const { exact, magnitude } = reference(aData, bData, [batch, m, k, n], ta, tb);
      for (let i = 0; i < exact.length; i++) {
        const bound = k * U * magnitude[i];
        assert(Math.abs(fixed[i] - exact[i]) <= bound, `fixed[${i}] off by ${fixed[i] - exact[i]}`);
        assert(Math.abs(stock[i] - exact[i]) <= bound, `stock[${i}] off by ${stock[i] - exact[i]}`);
        assert(Math.abs(fixed[i] - stock[i]) <= 2 * bound, `fixed vs stock at ${i}`);
      }
      tf.dispose([a, b, at, bt]);
    }
  }
});

Deno.test("wasm matmul fix: training a Dense MLP gives the stock kernel's losses and weights (tolerance 1e-5)", async () => {
  await selectBackend("wasm");
  const train = (fixed: boolean) => {
    if (fixed) installWasmMatMulFix();
    else uninstallWasmMatMulFix();
    const net = buildModel(
      ModelConfig.parse({ family: "vanilla.small", size: 48, layers: 3 }),
      20,
      LabelConfig.parse({ mode: "direction" }),
      4,
    );
    const x = tf.randomNormal([64, 20], 0, 1, "float32", 5);
    const y = tf.cast(tf.greater(tf.sum(x, 1, true), 0), "float32");
    const opt = tf.train.adam(0.01);
    const losses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const c = opt.minimize(
        () => bceLoss(y, net.apply(x, { training: true }) as tf.Tensor),
        true,
      )!;
      losses.push(c.dataSync()[0]);
      c.dispose();
    }
    const weights = net.getWeights().map((w) => Array.from(w.dataSync()));
    tf.dispose([x, y]);
    opt.dispose();
    net.dispose();
    return { losses, weights };
  };
  const stock = train(false);
  const fixed = train(true);
  assert(stock.losses[4] < stock.losses[0], "the model did not learn");
  stock.losses.forEach((l, i) => assertAlmostEquals(fixed.losses[i], l, 1e-5, `loss ${i}`));
  stock.weights.forEach((w, i) =>
    w.forEach((v, j) => assertAlmostEquals(fixed.weights[i][j], v, 1e-5, `weight ${i}[${j}]`))
  );
  // The fix is deterministic: a second run repeats bit for bit.
  assertEquals(train(true), fixed);
});

Deno.test("wasm matmul fix: a transposed product runs as an explicit transpose and the untransposed kernel", async () => {
  // The speed-up itself is measured by `deno task bench` (wasm-stock against wasm), not here.
  await selectBackend("wasm");
  const a = tf.randomNormal([96, 64], 0, 1, "float32", 1);
  const b = tf.randomNormal([96, 80], 0, 1, "float32", 2);
  uninstallWasmMatMulFix();
  const stockKernel = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc;
  const explicit = Array.from(tf.matMul(tf.transpose(a), b).dataSync());
  installWasmMatMulFix();
  assert(tf.getKernel("BatchMatMul", "wasm")!.kernelFunc !== stockKernel, "fix not registered");
  const fixed = Array.from(tf.matMul(a, b, true, false).dataSync());
  // Bit for bit the untransposed kernel on the transposed copy: the fix takes that path.
  assertEquals(fixed, explicit);
  tf.dispose([a, b]);
});

Deno.test("selectBackend: wasm installs the fix idempotently; cpu switches; both report a device", async () => {
  uninstallWasmMatMulFix();
  const first = await selectBackend("wasm");
  assertEquals(first.backend, "wasm");
  assertEquals(tf.getBackend(), "wasm");
  assert(first.notes.includes("wasm transposed-matmul fix installed"), first.notes.join("; "));
  assert((first.threads ?? 0) >= 1);
  assert(first.device.startsWith("wasm "), first.device);
  const second = await selectBackend("wasm");
  assert(second.notes.includes("wasm transposed-matmul fix active"));
  assert(isWasmMatMulFixInstalled());
  const cpu = await selectBackend("cpu");
  assertEquals([cpu.backend, tf.getBackend()], ["cpu", "cpu"]);
  await selectBackend("wasm");
});

Deno.test("selectBackend: tensorflow and cpu-blas fail with what to do instead", async () => {
  await assertRejects(
    () => selectBackend("tensorflow"),
    Error,
    "deno add npm:@tensorflow/tfjs-node@4.22.0",
  );
  await assertRejects(
    () => selectBackend("gpu" as never),
    RangeError,
    'Unknown backend "gpu"',
  );
  assertEquals(tf.getBackend(), "wasm");
});

Deno.test("selectBackend: auto picks webgpu only on a hardware adapter, else cpu-blas when a BLAS loads, else wasm", async () => {
  const probe = await probeWebGpu();
  let blas = true;
  try {
    loadBlas();
  } catch {
    blas = false;
  }
  const info = await selectBackend("auto");
  assertEquals(info.requested, "auto");
  if (probe.hardware) {
    assertEquals(info.backend, "webgpu");
  } else {
    assertEquals(info.backend, blas ? "cpu-blas" : "wasm");
    assert(info.notes.some((n) => n.startsWith("auto: no hardware WebGPU adapter")), info.notes[0]);
  }
  await selectBackend("wasm");
});

Deno.test("webgpu (when an adapter exists, software included) trains like wasm within tolerance", async () => {
  const probe = await probeWebGpu();
  if (!probe.available) {
    console.log(`skipped: ${probe.description}`);
    return;
  }
  const run = async (backend: "wasm" | "webgpu") => {
    const info = await selectBackend(backend);
    const net = buildModel(
      ModelConfig.parse({ family: "vanilla.small", size: 16, layers: 2 }),
      6,
      LabelConfig.parse({ mode: "direction" }),
      8,
    );
    const x = tf.tensor2d(values(32 * 6, 3), [32, 6]);
    const y = tf.cast(tf.greater(tf.sum(x, 1, true), 0), "float32");
    const opt = tf.train.adam(0.02);
    const losses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const c = opt.minimize(
        () => bceLoss(y, net.apply(x, { training: true }) as tf.Tensor),
        true,
      )!;
      losses.push((await c.data())[0]);
      c.dispose();
    }
    tf.dispose([x, y]);
    opt.dispose();
    net.dispose();
    return { info, losses };
  };
  const wasm = await run("wasm");
  const gpu = await run("webgpu");
  assertEquals(gpu.info.backend, "webgpu");
  assert(gpu.info.device.includes(probe.description), gpu.info.device);
  wasm.losses.forEach((l, i) => assertAlmostEquals(gpu.losses[i], l, 1e-4, `loss ${i}`));
  await selectBackend("wasm");
});

Deno.test("bench --quick runs every CPU backend and prints the table", async () => {
  const result = await runBench({ ...QUICK_BENCH, budgetSeconds: 2 });
  const ran = QUICK_BENCH.backends.length - result.skipped.length;
  assertEquals(result.rows.length, QUICK_BENCH.models.length * ran);
  assertEquals(result.skipped.length, blasAvailable() ? 0 : 1);
  assert(result.matmulGflops > 0);
  for (const row of result.rows) {
    assert(row.secondsPerEpoch > 0 && Number.isFinite(row.gflops), JSON.stringify(row));
    assertAlmostEquals(
      row.gflops,
      6 * row.parameters * QUICK_BENCH.rows / row.secondsPerEpoch / 1e9,
      1e-9,
    );
  }
  // Same seed, same data: every backend ends a timed epoch at (nearly) the same loss.
  for (const model of new Set(result.rows.map((r) => r.model))) {
    const losses = result.rows.filter((r) => r.model === model).map((r) => r.finalLoss);
    losses.forEach((l) => assertAlmostEquals(l, losses[0], 1e-4, model));
  }
  const table = formatBench(result).join("\n");
  assert(table.includes("s/epoch") && table.includes("% matmul"), table);
  assert(table.includes("2x16") && table.includes("wasm-stock"), table);
  assertEquals(await benchCommand(["--bogus"]), 2);
  assertEquals(await benchCommand(["--epochs", "0"]), 2);
  assertEquals(await benchCommand(["--quick", "--backends", "wasm", "--budget", "1"]), 0);
  assertEquals(tf.getBackend(), "wasm");
});

function blasAvailable(): boolean {
  try {
    loadBlas();
    return true;
  } catch {
    return false;
  }
}

Deno.test("cpu-blas: matmuls match tfjs-cpu within float32 error; selecting wasm again removes them", async () => {
  if (!blasAvailable()) {
    await assertRejects(() => selectBackend("cpu-blas"), Error, "not available on this machine");
    return;
  }
  const cases = [[1, 23, 40, 31], [2, 9, 17, 5]];
  const inputs: tf.Tensor[][] = [];
  for (const [batch, m, k, n] of cases) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const aShape = ta ? [k, m] : [m, k];
      const bShape = tb ? [n, k] : [k, n];
      inputs.push([
        tf.tensor(values(batch * m * k, m + k), batch === 1 ? aShape : [batch, ...aShape]),
        tf.tensor(values(batch * k * n, n + 2 * k), batch === 1 ? bShape : [batch, ...bShape]),
        tf.tensor1d(values(n, 5)),
        tf.tensor1d([ta ? 1 : 0, tb ? 1 : 0, k]),
      ]);
    }
  }
  const compute = () =>
    inputs.map(([a, b, bias, flags]) => {
      const [ta, tb] = Array.from(flags.dataSync()).map((v) => v === 1);
      const plain = tf.matMul(a, b, ta, tb);
      const fused = tf.fused.matMul({
        a,
        b,
        transposeA: ta,
        transposeB: tb,
        bias,
        activation: "relu",
      });
      const mixed = [
        tf.add(plain, plain),
        tf.mul(plain, 0.5),
        tf.div(tf.scalar(3), tf.add(tf.abs(plain), 1)),
        tf.sub(plain, bias), // broadcast: the stock kernel's path
      ];
      return [plain, fused, ...mixed].map((t) => Array.from(t.dataSync()));
    });
  await selectBackend("cpu");
  const reference = compute();
  const info = await selectBackend("cpu-blas");
  assertEquals([info.backend, tf.getBackend()], ["cpu-blas", "wasm"]);
  assert(info.device.includes("cblas_sgemm"), info.device);
  const blas = compute();
  reference.forEach((results, c) => {
    const k = inputs[c][3].dataSync()[2];
    results.forEach((r, j) => {
      r.forEach((v, i) => {
        // Matmul outputs: k·u relative to the |values| involved; elementwise ops on them inherit it.
        const tol = k * U * 8 * Math.max(1, Math.abs(v));
        assertAlmostEquals(blas[c][j][i], v, tol, `case ${c} result ${j} index ${i}`);
      });
    });
  });
  // Back on plain wasm, the BLAS kernels are gone and the transposed-matmul fix is back.
  const plain = await selectBackend("wasm");
  assert(plain.notes.includes("BLAS matmul kernels removed"), plain.notes.join("; "));
  assertEquals(blasKernelsInstalled("wasm"), null);
  tf.dispose(inputs.flat());
  await selectBackend("wasm");
});

Deno.test("cpu-blas trains a Dense MLP to tfjs-cpu's losses (tolerance 1e-4)", async () => {
  if (!blasAvailable()) return;
  const run = async (backend: "cpu" | "cpu-blas") => {
    await selectBackend(backend);
    const net = buildModel(
      ModelConfig.parse({ family: "vanilla.small", size: 40, layers: 3 }),
      12,
      LabelConfig.parse({ mode: "direction" }),
      6,
    );
    const x = tf.tensor2d(values(48 * 12, 4), [48, 12]);
    const y = tf.cast(tf.greater(tf.sum(x, 1, true), 0), "float32");
    const opt = tf.train.adam(0.01);
    const losses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const c = opt.minimize(
        () => bceLoss(y, net.apply(x, { training: true }) as tf.Tensor),
        true,
      )!;
      losses.push(c.dataSync()[0]);
      c.dispose();
    }
    tf.dispose([x, y]);
    opt.dispose();
    net.dispose();
    return losses;
  };
  const cpu = await run("cpu");
  const blas = await run("cpu-blas");
  // Elementwise ops run in wasm (XNNPACK) on one side and in JavaScript on the other.
  cpu.forEach((l, i) => assertAlmostEquals(blas[i], l, 1e-4, `loss ${i}`));
  assertEquals(await run("cpu-blas"), blas);
  await selectBackend("wasm");
});
