/**
 * cpu-blas: the BLAS-backed BatchMatMul/_FusedMatMul on the wasm and cpu
 * backends (transposes, batch dims, broadcasting, fused bias + activation),
 * inside real training runs for every loss, with and without layer and batch
 * normalization, and one training step through tfjs's gradients.
 *
 * Every comparison is against an exact (float64) reference within the float32
 * rounding bound of the operation (`tests/float32_bounds.ts`): a length-k
 * product, in any summation order, is within γₖ·Σ|a||b| of exact (γₖ ≈ k·2⁻²⁴).
 * So the tests hold for every OpenBLAS kernel (`OPENBLAS_CORETYPE`) and thread
 * count, and a wrong index, a dropped term or a mishandled bias fails them.
 *
 * Training runs are not compared by their per-epoch losses: with batch
 * normalization on 14- and 16-row batches the dense bias before the norm gets
 * a gradient that is zero up to rounding, Adam turns that noise into ±lr
 * steps, the moving means carry the drift, and three epochs amplify a 1e-7
 * summation-order difference to a few percent of the validation loss (2.04 %
 * seen on a 2-core EPYC): no tolerance separates that from a bug. What BLAS
 * changes in a training run is the matmuls, so the run is checked there: every
 * product the forward and backward passes ask for is checked against the exact
 * product of its own operands, which is well-conditioned however far the
 * trajectory has drifted.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { assert, assertEquals } from "./assert.ts";
import { withNeeds } from "./requirements.ts";
import {
  assertStepWithinBound,
  assertWithinBound,
  fusedReference,
  matmulReference,
} from "./float32_bounds.ts";
import { LabelConfig, LossConfig, ModelConfig, TrainConfig } from "../src/config/schema.ts";
import { buildModel } from "../src/models/registry.ts";
import { makeLoss } from "../src/models/losses.ts";
import {
  type BlasHost,
  blasKernelsInstalled,
  engineState,
  installBlasKernels,
  measureSgemm,
  trainModel,
  uninstallBlasKernels,
} from "@alfred/engines";

type KernelArgs = Parameters<tf.KernelFunc>[0];

function values(shape: number[], salt: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n).map((_, i) => Math.sin(i * 1.37 + salt) * 0.9);
  return tf.tensor(data, shape);
}

const HOSTS: BlasHost[] = ["wasm", "cpu"];

/** `f` on `host` with the BLAS kernels, and with the stock kernels of the cpu backend. */
async function blasAndStock(
  host: BlasHost,
  f: () => tf.Tensor,
): Promise<{ blas: tf.Tensor; stock: tf.Tensor }> {
  await tf.setBackend(host);
  installBlasKernels(host);
  const blas = f();
  uninstallBlasKernels(host);
  await tf.setBackend("cpu");
  uninstallBlasKernels("cpu");
  const stock = f();
  await tf.setBackend(host);
  return { blas, stock };
}

Deno.test(withNeeds(["openblas"], {
  name:
    "cpu-blas matmul is within float32 rounding of the exact product: transposes, batch dims, broadcasting",
  fn: async () => {
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
      { a: [200, 150], b: [120, 150], ta: false, tb: true }, // past OpenBLAS's small-matrix path
    ];
    for (const host of HOSTS) {
      for (const c of cases) {
        await tf.setBackend(host);
        const a = values(c.a, 1);
        const b = values(c.b, 2);
        const { blas, stock } = await blasAndStock(host, () => tf.matMul(a, b, c.ta, c.tb));
        const ref = matmulReference(a.dataSync(), c.a, b.dataSync(), c.b, c.ta, c.tb);
        const { exact, bound } = fusedReference(ref, null);
        const what = `${host} ${JSON.stringify(c)}`;
        assertEquals(blas.shape, ref.shape, what);
        assertWithinBound(blas.dataSync(), exact, bound, `${what} blas`);
        assertWithinBound(stock.dataSync(), exact, bound, `${what} stock cpu`);
        tf.dispose([a, b, blas, stock]);
      }
    }
  },
}));

Deno.test(withNeeds(["openblas"], {
  name:
    "cpu-blas fused matmul: bias and activations within float32 rounding of exact; int32 goes to the stock cpu kernel",
  fn: async () => {
    for (const host of HOSTS) {
      for (
        const activation of ["linear", "relu", "sigmoid", "elu", "relu6", "leakyrelu"] as const
      ) {
        for (const [ta, tb] of [[false, false], [true, true]]) {
          await tf.setBackend(host);
          const aShape = ta ? [11, 8] : [8, 11], bShape = tb ? [6, 11] : [11, 6];
          const a = values(aShape, 3);
          const b = values(bShape, 4);
          const bias = values([6], 5);
          const { blas, stock } = await blasAndStock(
            host,
            () => tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias, activation }),
          );
          const ref = matmulReference(a.dataSync(), aShape, b.dataSync(), bShape, ta, tb);
          const { exact, bound } = fusedReference(ref, bias.dataSync(), activation);
          const what = `${host} ${activation} ${ta}/${tb}`;
          assertWithinBound(blas.dataSync(), exact, bound, `${what} blas`);
          assertWithinBound(stock.dataSync(), exact, bound, `${what} stock cpu`);
          tf.dispose([a, b, bias, blas, stock]);
        }
      }
    }
    await tf.setBackend("cpu");
    const ai = tf.tensor2d([[1, 2], [3, 4]], [2, 2], "int32");
    const { blas, stock } = await blasAndStock("cpu", () => tf.matMul(ai, ai));
    assertEquals(blas.dtype, "int32");
    assertEquals(Array.from(blas.dataSync()), Array.from(stock.dataSync()));
    tf.dispose([ai, blas, stock]);
  },
}));

/** What the checking kernels saw during a run. */
interface Checked {
  calls: Record<string, number>;
  /** Products with a transposed operand (the backward pass's). */
  transposed: number;
  /** Largest |error| / bound. */
  worst: number;
}

/**
 * Installs the BLAS kernels on `host`, wrapped so that every float32 call
 * (forward and backward) is checked: the output has the exact product's shape
 * and lies within its rounding bound, and the operands are left unchanged.
 */
function installCheckedBlas(host: BlasHost): Checked {
  installBlasKernels(host);
  const seen: Checked = { calls: {}, transposed: 0, worst: 0 };
  for (const name of ["BatchMatMul", "_FusedMatMul"]) {
    const blasKernel = tf.getKernel(name, host)!;
    tf.unregisterKernel(name, host);
    tf.registerKernel({
      ...blasKernel,
      kernelFunc: (args: KernelArgs) => {
        const inputs = args.inputs as Record<string, tf.TensorInfo | undefined>;
        const { a, b, bias, preluActivationWeights } = inputs;
        if (!a || !b || a.dtype !== "float32" || b.dtype !== "float32") {
          return blasKernel.kernelFunc(args);
        }
        const attrs = args.attrs as {
          transposeA?: boolean;
          transposeB?: boolean;
          activation?: string;
        };
        const activation = attrs.activation ?? "linear";
        assert(!preluActivationWeights, "prelu is not modelled by the reference");
        const backend = args.backend as tf.KernelBackend;
        const read = (t: tf.TensorInfo) =>
          Float32Array.from(backend.readSync(t.dataId) as Float32Array);
        const before = [a, b, ...(bias ? [bias] : [])].map(read);
        const out = blasKernel.kernelFunc(args) as tf.TensorInfo;
        const what = `${host} ${name} [${a.shape}]${attrs.transposeA ? "ᵀ" : ""}·[${b.shape}]${
          attrs.transposeB ? "ᵀ" : ""
        } ${bias ? "+ bias " : ""}${activation}`;
        [a, b, ...(bias ? [bias] : [])].map(read).forEach((after, i) => {
          assert(
            after.every((v, j) => Object.is(v, before[i][j])),
            `${what}: operand ${i} changed`,
          );
        });
        const ta = !!attrs.transposeA, tb = !!attrs.transposeB;
        const ref = matmulReference(before[0], a.shape, before[1], b.shape, ta, tb);
        const { exact, bound } = fusedReference(ref, bias ? before[2] : null, activation);
        assertEquals(out.shape, ref.shape, what);
        const worst = assertWithinBound(read(out), exact, bound, what);
        seen.worst = Math.max(seen.worst, worst);
        seen.calls[name] = (seen.calls[name] ?? 0) + 1;
        if (ta || tb) seen.transposed++;
        return out;
      },
    });
  }
  return seen;
}

Deno.test(withNeeds(["openblas"], {
  name:
    "cpu-blas training, every loss, without, with layer and with batch norm: every product of the forward and backward passes is within float32 rounding, operands untouched, no buffer leaked",
  fn: async () => {
    for (const host of HOSTS) {
      for (const lossName of ["bce", "mse", "huber", "mse-sign", "huber-sign", "sign-ratio"]) {
        for (const norm of ["none", "layer", "batch"]) {
          if (host === "cpu" && norm !== "none" && lossName !== "bce") continue; // keep the suite quick
          await tf.setBackend(host);
          const buffers = tf.backend().numDataIds();
          const seen = installCheckedBlas(host);
          assert(blasKernelsInstalled(host) !== null);
          const direction = lossName === "bce";
          const label = LabelConfig.parse({ mode: direction ? "direction" : "magnitude" });
          const config = ModelConfig.parse({ size: 16, layers: 2, normalization: norm });
          const model = buildModel(config, 6, label, 3);
          const rows = 40;
          const x = new Float32Array(rows * 6).map((_, i) => Math.sin(i * 0.37));
          const y = new Float32Array(rows).map((_, i) => {
            const s = Math.cos(i * 1.3) + x[i * 6];
            return direction ? (s > 0 ? 1 : 0) : 0.3 * s;
          });
          const what = `${host} ${lossName} ${norm}`;
          try {
            const { history } = await trainModel({
              model,
              loss: makeLoss(LossConfig.parse({ name: lossName })),
              train: TrainConfig.parse({ epochs: 3, batch_size: 16, learning_rate: 0.01 }),
              seed: 4,
              x: { data: x.subarray(0, 180), rows: 30, cols: 6 },
              y: y.subarray(0, 30),
              xVal: { data: x.subarray(180), rows: 10, cols: 6 },
              yVal: y.subarray(30),
            });
            assertEquals(history.length, 3, what);
            for (const h of history) {
              assert(Number.isFinite(h.loss) && Number.isFinite(h.valLoss), `${what}: ${h.loss}`);
            }
          } finally {
            model.dispose();
            uninstallBlasKernels(host);
          }
          // Forward (fused, with bias) and backward (transposed) products all went through BLAS.
          assert((seen.calls._FusedMatMul ?? 0) > 0, `${what}: no fused product`);
          assert((seen.calls.BatchMatMul ?? 0) > 0, `${what}: no plain product`);
          assert(seen.transposed > 0, `${what}: no backward product`);
          assertEquals(tf.backend().numDataIds(), buffers, `${what}: buffers leaked`);
        }
      }
    }
  },
}));

Deno.test(withNeeds(["openblas"], {
  name:
    "cpu-blas training step: the loss and every gradient are within float32 rounding of a float64 forward and backward (mse, bce)",
  fn: async () => {
    const rows = 32, cols = 6;
    const x = new Float32Array(rows * cols).map((_, i) => Math.sin(i * 0.37 + 0.2));
    for (const host of HOSTS) {
      for (const lossName of ["mse", "bce"] as const) {
        const direction = lossName === "bce";
        const y = new Float32Array(rows).map((_, i) => {
          const s = Math.cos(i * 1.3) + x[i * cols];
          return direction ? (s > 0 ? 1 : 0) : 0.3 * s;
        });
        await tf.setBackend(host);
        const model = buildModel(
          ModelConfig.parse({ size: 16, layers: 2 }),
          cols,
          LabelConfig.parse({ mode: direction ? "direction" : "magnitude" }),
          3,
        );
        const loss = makeLoss(LossConfig.parse({ name: lossName }));
        installBlasKernels(host);
        const blas = await assertStepWithinBound(model, loss, lossName, x, cols, y, `${host} blas`);
        uninstallBlasKernels(host);
        // The stock kernels meet the same bound: it is the arithmetic's, not BLAS's.
        const stock = await assertStepWithinBound(
          model,
          loss,
          lossName,
          x,
          cols,
          y,
          `${host} stock`,
        );
        assert(blas.grads.some((g) => g.some((v) => v !== 0)), "all gradients are zero");
        assertEquals(blas.grads.length, stock.grads.length);
        model.dispose();
      }
    }
  },
}));

Deno.test(withNeeds(["openblas"], {
  name:
    "cpu-blas: install is idempotent, uninstall restores, engineState says so, no tensor leaks, sgemm measures",
  fn: async () => {
    await tf.setBackend("cpu");
    const before = tf.memory().numTensors;
    const { library } = installBlasKernels();
    assertEquals(installBlasKernels().library, library);
    assertEquals(blasKernelsInstalled(), library);
    assertEquals(engineState().blas, library);
    assertEquals(engineState().blasKernels.wasm, library);
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
    assertEquals(engineState().blasKernels.wasm, null);
    assertEquals(engineState().blas, library, "the library stays open for the process");
    const s = measureSgemm(128, 2);
    assert(s.gflops > 0 && Number.isFinite(s.gflops));
  },
}));
