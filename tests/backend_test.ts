import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { probeWebGpu, selectBackend } from "../src/train/backend.ts";
import {
  blasKernelsInstalled,
  installWasmMatMulFix,
  isWasmMatMulFixInstalled,
  uninstallWasmMatMulFix,
} from "@alfred/engines";
import { benchCommand, formatBench, QUICK_BENCH, runBench } from "../src/cli/bench.ts";
import {
  DEFAULT_PIPELINE_BENCH,
  formatPipelineBench,
  growthExponent,
  pipelineBench,
} from "../src/pipeline_bench.ts";
import { buildModel } from "../src/models/registry.ts";
import { bceLoss } from "../src/models/losses.ts";
import { LabelConfig, ModelConfig } from "../src/config/schema.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "./assert.ts";
import { requirement, withNeeds } from "./requirements.ts";
import {
  assertStepWithinBound,
  assertWithinBound,
  gamma,
  matmulReference,
  U,
} from "./float32_bounds.ts";

/** Deterministic pseudo-random float32 values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** Inputs and labels of the one-step checks: well-scaled, no hidden unit near ReLU's kink. */
function stepData(rows: number, cols: number, seed: number) {
  const x = values(rows * cols, seed);
  const y = new Float32Array(rows).map((_, r) => {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c];
    return s > 0 ? 1 : 0;
  });
  return { x, y };
}

/**
 * One training step of `vanilla.small` (BCE) on the backend `setup` selects: its loss and every gradient against
 * the float64 forward and backward, within float32 rounding (`tests/float32_bounds.ts`: γₖ per
 * product of length k, a few ulps per elementwise step); then Adam trains it for a few steps.
 * Comparing one step, not a trajectory: Adam normalizes each gradient component, so a component
 * that is zero up to rounding moves by ±lr on one backend and not on another, and losses a few
 * steps later differ by more than any bound on the arithmetic.
 */
async function stepOn(
  backend: string,
  setup: () => Promise<unknown>,
  shape: { size: number; layers: number; inputs: number; rows: number; seed: number },
) {
  const info = await setup();
  const net = buildModel(
    ModelConfig.parse({ family: "vanilla.small", size: shape.size, layers: shape.layers }),
    shape.inputs,
    LabelConfig.parse({ mode: "direction" }),
    shape.seed,
  );
  const { x, y } = stepData(shape.rows, shape.inputs, shape.seed);
  const step = await assertStepWithinBound(net, bceLoss, "bce", x, shape.inputs, y, backend);
  const xt = tf.tensor2d(x, [shape.rows, shape.inputs]);
  const yt = tf.tensor2d(y, [shape.rows, 1]);
  const opt = tf.train.adam(0.02);
  const losses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const c = opt.minimize(
      () => bceLoss(yt, net.apply(xt, { training: true }) as tf.Tensor),
      true,
    )!;
    losses.push((await c.data())[0]);
    c.dispose();
  }
  const weights = await Promise.all(net.getWeights().map(async (w) => Array.from(await w.data())));
  tf.dispose([xt, yt]);
  opt.dispose();
  net.dispose();
  assertEquals(losses[0], step.loss, `${backend}: the first step's loss is the checked one`);
  assert(losses[3] < losses[0], `${backend} did not learn: ${losses}`);
  return { info, losses, weights };
}

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
      // One product: bit-identical to the untransposed kernel on the transposed copy. A batch
      // runs on the wasm SIMD sgemm (another summation order), held to the bound below.
      if (batch === 1) {
        assertEquals(
          Array.from(fixed),
          Array.from(explicit),
          `explicit ${[batch, m, k, n, ta, tb]}`,
        );
      }
      // Both within γₖ·Σ|a||b| of the exact product (any summation order), so within twice that
      // of each other.
      const { exact, magnitude } = matmulReference(
        aData,
        batch === 1 ? aShape : [batch, ...aShape],
        bData,
        batch === 1 ? bShape : [batch, ...bShape],
        ta,
        tb,
      );
      for (let i = 0; i < exact.length; i++) {
        const bound = gamma(k) * magnitude[i];
        assert(Math.abs(fixed[i] - exact[i]) <= bound, `fixed[${i}] off by ${fixed[i] - exact[i]}`);
        assert(Math.abs(stock[i] - exact[i]) <= bound, `stock[${i}] off by ${stock[i] - exact[i]}`);
        assert(Math.abs(fixed[i] - stock[i]) <= 2 * bound, `fixed vs stock at ${i}`);
      }
      tf.dispose([a, b, at, bt]);
    }
  }
});

Deno.test("wasm matmul fix: batched products (a batch of 1 broadcasting, rank 4) match the stock kernel within float32 summation-order error", async () => {
  await selectBackend("wasm");
  const cases: [number[], number[], boolean, boolean][] = [
    [[4, 2, 5, 7], [7, 3], false, false],
    [[1, 5, 7], [3, 2, 7], false, true],
    [[2, 3, 7, 5], [2, 3, 7, 4], true, false],
  ];
  for (const [aShape, bShape, ta, tb] of cases) {
    const a = tf.tensor(values(aShape.reduce((x, y) => x * y, 1), 3), aShape);
    const b = tf.tensor(values(bShape.reduce((x, y) => x * y, 1), 5), bShape);
    uninstallWasmMatMulFix();
    const stock = tf.matMul(a, b, ta, tb);
    installWasmMatMulFix();
    const before = tf.memory().numTensors;
    const fixed = tf.matMul(a, b, ta, tb);
    assertEquals(fixed.shape, stock.shape);
    assertEquals(tf.memory().numTensors, before + 1, "the batched path leaked a temporary");
    // Both are within γₖ·Σ|a||b| of the exact product, k ≤ 7 and |a|, |b| ≤ 1 here: within
    // 2·γ₇·7 of each other.
    const k = ta ? aShape[aShape.length - 2] : aShape[aShape.length - 1];
    const [p, q] = [fixed.dataSync(), stock.dataSync()];
    p.forEach((v, i) =>
      assert(Math.abs(v - q[i]) <= 2 * gamma(k) * k, `${aShape}·${bShape}[${i}]`)
    );
    tf.dispose([a, b, stock, fixed]);
  }
});

Deno.test("wasm matmul fix: a Dense MLP's training step is within float32 rounding with and without it; training repeats bit for bit", async () => {
  const shape = { size: 48, layers: 3, inputs: 20, rows: 64, seed: 4 };
  const wasm = (fixed: boolean) => async () => {
    await selectBackend("wasm");
    if (fixed) installWasmMatMulFix();
    else uninstallWasmMatMulFix();
  };
  await stepOn("wasm stock", wasm(false), shape);
  const fixed = await stepOn("wasm fixed", wasm(true), shape);
  const again = await stepOn("wasm fixed", wasm(true), shape);
  assertEquals([again.losses, again.weights], [fixed.losses, fixed.weights]);
  await selectBackend("wasm");
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
  const blas = requirement("openblas").available;
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

Deno.test(withNeeds(["webgpu"], {
  name:
    "webgpu (any adapter, software included) computes a training step within float32 rounding, as wasm does, and learns",
  fn: async () => {
    const probe = await probeWebGpu();
    const shape = { size: 16, layers: 2, inputs: 6, rows: 32, seed: 8 };
    await stepOn("wasm", () => selectBackend("wasm"), shape);
    const gpu = await stepOn("webgpu", () => selectBackend("webgpu"), shape);
    const info = gpu.info as Awaited<ReturnType<typeof selectBackend>>;
    assertEquals(info.backend, "webgpu");
    assert(info.device.includes(probe.description), info.device);
    await selectBackend("wasm");
  },
}));

Deno.test("bench: a bad flag value is named with what is allowed, before any work (exit 2)", async () => {
  const cases: [string[], string][] = [
    [["--backends", "wasm,tpu"], 'Invalid --backends "wasm,tpu": expected a comma-separated list'],
    [["--epochs=0"], 'Invalid value "0" for --epochs: expected a positive integer'],
    [["--budget", "soon"], 'Invalid value "soon" for --budget: expected a positive number'],
    [["--blas-host", "gpu"], 'Invalid --blas-host "gpu": expected wasm or cpu'],
    [["--workloads", "1x1@1"], 'Invalid --workloads "1x1@1": expected a comma-separated list'],
    [["--epochs"], 'Option "--epochs" needs a value: --epochs N'],
  ];
  for (const [args, message] of cases) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await benchCommand(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
    assertEquals([code, out], [2, []], args.join(" "));
    assert(err.join("\n").startsWith(message), err.join("\n"));
    assert(err.join("\n").includes("\n\nUsage: deno task bench "), err.join("\n"));
  }
});

Deno.test("bench --pipeline: growth exponents, its table, and one small run in child processes", async () => {
  assertAlmostEquals(growthExponent(100, 1, 1000, 100), 2, 1e-12);
  assertAlmostEquals(growthExponent(100, 3, 1000, 30), 1, 1e-12);
  assert(Number.isNaN(growthExponent(100, 0, 1000, 3)));
  const sizes = [16, 32];
  const workDir = await Deno.makeTempDir();
  try {
    const { rows, failed } = await pipelineBench({
      ...DEFAULT_PIPELINE_BENCH,
      sizes,
      // The experiment evaluates from 2012.
      from: "2008-01-01",
      to: "2014-12-31",
      epochs: 1,
      workDir,
    });
    assertEquals([rows.map((r) => r.tickers), failed], [sizes, null]);
    for (const r of rows) {
      assert(r.runSeconds > 0 && r.synth.seconds > 0, JSON.stringify(r));
      for (const stage of ["data", "tickers", "features", "train", "backtest"]) {
        assert(r.stages[stage] > 0, `${stage}: ${JSON.stringify(r.stages)}`);
      }
      // The children's own peaks, read through FFI (granted to them): the run holds at least tfjs.
      assert(r.runPeakRss !== null && r.runPeakRss > 50 * 2 ** 20, JSON.stringify(r));
    }
    // The temporary folder is gone, and nothing else was left in the work folder.
    assertEquals([...Deno.readDirSync(workDir)], []);
    const table = formatPipelineBench(rows);
    const backtest = table.find((l) => l.startsWith("backtest"))!.trim().split(/\s+/);
    const expected = growthExponent(16, rows[0].stages.backtest, 32, rows[1].stages.backtest);
    assertEquals(backtest.at(-1), expected.toFixed(2));
    assert(
      table.some((l) => l.includes("16 tickers") && l.includes("exp 16->32")),
      table.join("\n"),
    );
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
  // A size that fails (10 tickers cannot give the experiment its 14) is reported, not thrown.
  const small = await Deno.makeTempDir();
  try {
    const { rows, failed } = await pipelineBench({
      ...DEFAULT_PIPELINE_BENCH,
      sizes: [10],
      from: "2010-01-01",
      to: "2013-12-31",
      epochs: 1,
      workDir: small,
    });
    assertEquals([rows, failed?.tickers, failed?.step], [[], 10, "run"]);
    assertStringIncludes(failed!.message, "asks for 14 tickers but only");
    assertStringIncludes(
      formatPipelineBench(rows, failed).join("\n"),
      "10 tickers: the run failed",
    );
    assertEquals([...Deno.readDirSync(small)], []);
  } finally {
    await Deno.remove(small, { recursive: true });
  }
  const err: string[] = [];
  const io = { out: () => {}, err: (l: string) => err.push(l) };
  assertEquals(await benchCommand(["--pipeline", "--sizes", "1000,100"], io), 2);
  assert(err[0].startsWith('Invalid --sizes "1000,100": expected increasing'), err[0]);
  assertEquals(await benchCommand(["--sizes", "100"], io), 2);
});

Deno.test("bench --quick runs every CPU backend and prints the table", async () => {
  const result = await runBench({ ...QUICK_BENCH, budgetSeconds: 2 });
  const ran = QUICK_BENCH.backends.length - result.skipped.length;
  assertEquals(result.rows.length, QUICK_BENCH.models.length * ran);
  assertEquals(result.skipped.length, requirement("openblas").available ? 0 : 1);
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

Deno.test("selectBackend: without a BLAS library, cpu-blas fails saying what to install and auto falls back to wasm", async () => {
  // A machine without OpenBLAS, simulated in a child process whose dlopen finds nothing.
  const backend = new URL("../src/train/backend.ts", import.meta.url).href;
  const code = `
    Deno.dlopen = (path) => { throw new Error(path + ": cannot open shared object file"); };
    const { selectBackend } = await import("${backend}");
    let message = "";
    try { await selectBackend("cpu-blas"); } catch (e) { message = e.message; }
    const auto = await selectBackend("auto");
    console.log(JSON.stringify({ message, auto: auto.backend, notes: auto.notes }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert(out.success, stderr);
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  assert(r.message.startsWith("The cpu-blas backend is not available on this machine"), r.message);
  assert(r.message.includes("apt-get install libopenblas0-pthread"), r.message);
  // Each library's failure once, its name quoted; the advice once.
  assert(r.message.includes('"libopenblas.so.0" (cannot open shared object file)'), r.message);
  assertEquals(r.message.match(/or use backend "wasm"/g)?.length, 1, r.message);
  const probe = await probeWebGpu();
  assertEquals(r.auto, probe.hardware ? "webgpu" : "wasm");
  if (!probe.hardware) {
    assert(
      r.notes.some((n: string) => /^auto: using wasm \(No BLAS library loads: .*\)$/.test(n)),
      r.notes,
    );
  }
});

Deno.test(withNeeds(["openblas"], {
  name:
    "cpu-blas: matmuls, fused matmuls and ops on them are within float32 rounding of exact, as tfjs-cpu's are; selecting wasm again removes them",
  fn: async () => {
    const cases = [[1, 23, 40, 31], [2, 9, 17, 5]];
    type Case = { a: tf.Tensor; b: tf.Tensor; bias: tf.Tensor; ta: boolean; tb: boolean };
    const inputs: Case[] = [];
    for (const [batch, m, k, n] of cases) {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
        const aShape = ta ? [k, m] : [m, k];
        const bShape = tb ? [n, k] : [k, n];
        inputs.push({
          a: tf.tensor(values(batch * m * k, m + k), batch === 1 ? aShape : [batch, ...aShape]),
          b: tf.tensor(values(batch * k * n, n + 2 * k), batch === 1 ? bShape : [batch, ...bShape]),
          bias: tf.tensor1d(values(n, 5)),
          ta,
          tb,
        });
      }
    }
    const compute = () =>
      inputs.map(({ a, b, bias, ta, tb }) => {
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
        return [plain, fused, ...mixed].map((t) => Float32Array.from(t.dataSync()));
      });
    // Exact values and bounds. With P the product (error Ep ≤ γₖΣ|a||b|): relu(P + bias) has
    // γₖ₊₁(Σ|a||b| + |bias|); P + P: 2Ep plus one rounding; 0.5·P: 0.5·Ep (exact scaling);
    // 3/(|P| + 1): 3·Ep (its slope is at most 3) plus the add and the division (2 ulps);
    // P − bias: Ep plus one rounding.
    const expected = inputs.map(({ a, b, bias, ta, tb }) => {
      const ref = matmulReference(a.dataSync(), a.shape, b.dataSync(), b.shape, ta, tb);
      const bv = bias.dataSync();
      const n = ref.shape.at(-1)!;
      const ops: [(p: number, c: number) => number, (p: number, e: number, c: number) => number][] =
        [
          [(p) => p, (_, e) => e],
          [(p, c) => Math.max(p + c, 0), () => 0], // bound filled in below
          [(p) => 2 * p, (p, e) => 2 * e + U * 2 * Math.abs(p)],
          [(p) => 0.5 * p, (_, e) => 0.5 * e],
          [(p) => 3 / (Math.abs(p) + 1), (p, e) => 3 * e + 2 * U * 3 / (Math.abs(p) + 1)],
          [(p, c) => p - c, (p, e, c) => e + U * Math.abs(p - c)],
        ];
      return ops.map(([f, bound], j) => {
        const exact = new Float64Array(ref.exact.length), bounds = new Float64Array(exact.length);
        for (let i = 0; i < exact.length; i++) {
          const c = bv[i % n];
          exact[i] = f(ref.exact[i], c);
          bounds[i] = j === 1
            ? gamma(ref.k + 1) * (ref.magnitude[i] + Math.abs(c))
            : bound(ref.exact[i], gamma(ref.k) * ref.magnitude[i], c);
        }
        return { exact, bounds };
      });
    });
    await selectBackend("cpu");
    const reference = compute();
    const info = await selectBackend("cpu-blas");
    assertEquals([info.backend, tf.getBackend()], ["cpu-blas", "wasm"]);
    assert(info.device.includes("cblas_sgemm"), info.device);
    const blas = compute();
    expected.forEach((results, c) => {
      results.forEach(({ exact, bounds }, j) => {
        assertWithinBound(blas[c][j], exact, bounds, `cpu-blas case ${c} result ${j}`);
        assertWithinBound(reference[c][j], exact, bounds, `tfjs-cpu case ${c} result ${j}`);
      });
    });
    // Back on plain wasm, the BLAS kernels are gone and the transposed-matmul fix is back.
    const plain = await selectBackend("wasm");
    assert(plain.notes.includes("BLAS matmul kernels removed"), plain.notes.join("; "));
    assertEquals(blasKernelsInstalled("wasm"), null);
    tf.dispose(inputs.flatMap(({ a, b, bias }) => [a, b, bias]));
    await selectBackend("wasm");
  },
}));

Deno.test(withNeeds(["openblas"], {
  name:
    "cpu-blas computes a Dense MLP's training step within float32 rounding, as tfjs-cpu does; it learns, and repeats bit for bit",
  fn: async () => {
    const shape = { size: 40, layers: 3, inputs: 12, rows: 48, seed: 6 };
    const cpuBlas = () => selectBackend("cpu-blas");
    await stepOn("cpu", () => selectBackend("cpu"), shape);
    const blas = await stepOn("cpu-blas", cpuBlas, shape);
    const again = await stepOn("cpu-blas", cpuBlas, shape);
    assertEquals([again.losses, again.weights], [blas.losses, blas.weights]);
    await selectBackend("wasm");
  },
}));
