/**
 * Kernel sweep of the fused WebGPU engine on issue 9's workloads: seconds per
 * epoch (median of the epochs after the first) for each matmul kernel and
 * split-K choice, then (unless `--no-stock`) stock tfjs-webgpu `model.fit` on
 * the two small workloads in the same process. `--quick` shrinks everything
 * for a software adapter; `--stock-only` skips the sweep. Run by
 * `scripts/gpu/check.sh`.
 *
 * @module
 */
import { LabelConfig, LossConfig, ModelConfig, TrainConfig } from "../../src/config/schema.ts";
import { buildModel, describeModel } from "../../src/models/registry.ts";
import { bceLoss } from "../../src/models/losses.ts";
import {
  fusedDevice,
  type MatmulKernel,
  TILED_128,
  TILED_64,
  trainFused,
  vec4Kernel,
} from "@alfred/engines";
import { Prng } from "@alfred/core";

const quick = Deno.args.includes("--quick");
const found = await fusedDevice();
const lim = found.device.limits;
console.log(`adapter: ${found.adapter} software=${found.software}`);
console.log(
  `limits: binding=${lim.maxStorageBufferBindingSize} buffer=${lim.maxBufferSize} wgStorage=${lim.maxComputeWorkgroupStorageSize} invocations=${lim.maxComputeInvocationsPerWorkgroup} features=${
    [...found.device.features].join(",")
  }`,
);
const workloads = quick ? [{ size: 64, layers: 3, rows: 256, batch: 64 }] : [
  { size: 256, layers: 10, rows: 1000, batch: 64 },
  { size: 1024, layers: 10, rows: 1000, batch: 64 },
  { size: 4096, layers: 10, rows: 1000, batch: 64 },
  { size: 4096, layers: 10, rows: 4096, batch: 512 },
];
type V = {
  name: string;
  kernel?: MatmulKernel | "auto";
  splitK?: number | "auto";
  submitEvery?: number;
};
const variants: V[] = [
  { name: "auto(vec4)" },
  { name: "t64 v4 splitAuto", kernel: vec4Kernel(TILED_64), splitK: "auto" },
  { name: "t128 v4 splitAuto", kernel: vec4Kernel(TILED_128), splitK: "auto" },
  { name: "t128 v4 split1", kernel: vec4Kernel(TILED_128), splitK: 1 },
  { name: "t64 scalar splitAuto", kernel: TILED_64, splitK: "auto" },
  { name: "t128 scalar splitAuto", kernel: TILED_128, splitK: "auto" },
];
const label = LabelConfig.parse({ mode: "direction" });
function data(rows: number, cols: number, seed: number) {
  const rng = new Prng(seed);
  return {
    x: { data: new Float32Array(rows * cols).map(() => rng.next() * 2 - 1), rows, cols },
    y: new Float32Array(rows).map(() => (rng.next() < 0.5 ? 0 : 1)),
  };
}
const epochs = quick ? 2 : 4;
const only = Deno.args.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const chosen = only
  ? workloads.filter((w) => `${w.layers}x${w.size}@${w.batch}` === only)
  : workloads;
for (const w of Deno.args.includes("--stock-only") ? [] : chosen) {
  const config = ModelConfig.parse({ family: "vanilla.small", size: w.size, layers: w.layers });
  const description = describeModel(config, 60, { label, batchSize: w.batch });
  const t = data(w.rows, 60, 42);
  const v = data(64, 60, 43);
  for (const variant of variants) {
    const model = buildModel(config, 60, label, 42);
    try {
      const t0 = performance.now();
      const r = await trainFused({
        model,
        loss: bceLoss,
        lossConfig: LossConfig.parse({ name: "bce" }),
        description,
        train: TrainConfig.parse({
          epochs,
          batch_size: w.batch,
          learning_rate: 1e-4,
          patience: 1_000_000,
          lr_patience: 1_000_000,
        }),
        seed: 42,
        ...t,
        xVal: v.x,
        yVal: v.y,
        kernel: variant.kernel,
        splitK: variant.splitK,
        submitEvery: variant.submitEvery,
      });
      const secs = r.history.map((h) => h.seconds);
      const timed = secs.slice(1).sort((a, b) => a - b);
      const med = timed[timed.length >> 1];
      const tflops = 6 * description.parameters * w.rows / med / 1e12;
      console.log(
        `sweep ${w.layers}x${w.size}@${w.batch} rows=${w.rows} ${variant.name}: median ${
          med.toFixed(4)
        } s/epoch (${tflops.toFixed(2)} TFLOP/s) epochs=[${
          secs.map((s) => s.toFixed(4)).join(",")
        }] losses=[${r.history.map((h) => h.loss.toFixed(6)).join(",")}] total=${
          ((performance.now() - t0) / 1000).toFixed(1)
        }s`,
      );
    } catch (e) {
      console.log(
        `sweep ${w.layers}x${w.size}@${w.batch} ${variant.name}: FAILED ${(e as Error).stack}`,
      );
    } finally {
      model.dispose();
    }
  }
}

// Stock tfjs-webgpu (model.fit) on the two small workloads, same process: the per-op-overhead baseline.
if (!Deno.args.includes("--no-stock")) {
  const tf = await import("@tensorflow/tfjs");
  await import("@tensorflow/tfjs-backend-webgpu");
  await tf.setBackend("webgpu");
  await tf.ready();
  for (const size of quick ? [32] : [256, 1024]) {
    const config = ModelConfig.parse({ family: "vanilla.small", size, layers: 10 });
    const model = buildModel(config, 60, label, 42);
    model.compile({ optimizer: tf.train.adam(1e-4), loss: "binaryCrossentropy" });
    const rows = quick ? 128 : 1000;
    const t = data(rows, 60, 42);
    const x = tf.tensor2d(t.x.data, [rows, 60]);
    const y = tf.tensor2d(t.y, [rows, 1]);
    const secs: number[] = [];
    for (let e = 0; e < 3; e++) {
      const t0 = performance.now();
      await model.fit(x, y, { batchSize: 64, epochs: 1, verbose: 0 });
      secs.push((performance.now() - t0) / 1000);
    }
    console.log(
      `stock tfjs-webgpu model.fit 10x${size}@64 rows=${rows}: epochs=[${
        secs.map((s) => s.toFixed(3)).join(",")
      }]`,
    );
    tf.dispose([x, y]);
    model.dispose();
  }
}
