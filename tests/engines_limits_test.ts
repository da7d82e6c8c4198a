/**
 * The fused engines' limits, checked before any training: the WebGPU
 * engine's buffers against an adapter's binding, buffer and dispatch limits
 * (a fake device, and the software adapter's real limits where there is
 * one), and the CPU engine's memory against what is available and, with the
 * wasm sgemm, one wasm memory's 4 GiB. Each refusal names the model, the
 * limit and what to do.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { testWith } from "./requirements.ts";
import { LabelConfig, LossConfig, ModelConfig, TrainConfig } from "../src/config/schema.ts";
import { buildModel, describeModel } from "../src/models/registry.ts";
import { makeLoss } from "../src/models/losses.ts";
import {
  checkFusedFits,
  checkFusedGpuLimits,
  engineState,
  fusedCpuProblem,
  fusedDevice,
  fusedGpuBuffers,
  fusedGpuLimitProblem,
  type FusedGpuLimits,
  fusedLayout,
  releaseFusedDevice,
  trainFused,
} from "@alfred/engines";

const label = LabelConfig.parse({ mode: "magnitude" });
const describe = (size: number, layers: number, inputs = 60) =>
  describeModel(ModelConfig.parse({ family: "vanilla.small", size, layers }), inputs, { label });

/** The software adapter's (llvmpipe's) limits, and WebGPU's defaults for the rest. */
const LLVMPIPE: FusedGpuLimits = {
  maxStorageBufferBindingSize: 134_217_728,
  maxBufferSize: 2_147_483_648,
  maxComputeWorkgroupsPerDimension: 65_535,
  maxStorageBuffersPerShaderStage: 8,
};

const ADAM = { batchSize: 64, optimizer: "adam" as const };

Deno.test("webgpu limits: the 10x4096 model's parameters exceed a 128 MiB storage binding, named with the fix", () => {
  // The headline experiment's model: 14 inputs, 10 hidden layers of 4096.
  const d = describe(4096, 10, 14);
  const why = fusedGpuLimitProblem(d, { ...ADAM, rows: 1000, valRows: 200 }, LLVMPIPE);
  assert(why, "refused");
  // The figure: 151,097,345 parameters × 4 bytes.
  assertEquals(fusedLayout(d).params * 4, 604_389_380);
  for (
    const part of [
      'model "vanilla.small" (10 layers of 4096, 151,097,345 parameters)',
      "the parameters (151,097,345 floats) need a storage binding of 604,389,380 bytes",
      "the adapter allows 134,217,728 bytes (maxStorageBufferBindingSize)",
      "33,554,432 parameters fit one binding",
      "train.engine: fused on a CPU backend (train.backend: wasm or cpu-blas)",
    ]
  ) assert(why.includes(part), `${part}\nin: ${why}`);
  assert(!why.includes("maxBufferSize"), why);
  assertEquals(fusedGpuLimitProblem(describe(1024, 10), { ...ADAM, rows: 1000 }, LLVMPIPE), null);
});

Deno.test("webgpu limits: the buffer, dispatch and binding-count limits, and the data's own buffers", () => {
  const d = describe(1024, 10);
  const params = fusedLayout(d).params;
  // Bound buffers within the binding limit, but the (unbound) best copy past maxBufferSize.
  const small = { ...LLVMPIPE, maxBufferSize: params * 4 - 4 };
  const why = fusedGpuLimitProblem(d, ADAM, small)!;
  assert(why.includes(`need a buffer of ${(params * 4).toLocaleString("en-US")} bytes`), why);
  assert(why.includes("(maxBufferSize)"), why);
  // A batch too large for one dispatch dimension: the simple kernel's 8-row tiles.
  const rows = 8 * 65_535 + 8;
  const wide = fusedGpuLimitProblem(
    describe(16, 2),
    { batchSize: rows, optimizer: "sgd", kernel: { kind: "simple" } },
    LLVMPIPE,
  )!;
  assert(wide.includes("65,536 workgroups along one dimension"), wide);
  assert(wide.includes("lower train.batch_size"), wide);
  const few = fusedGpuLimitProblem(describe(16, 2), ADAM, {
    ...LLVMPIPE,
    maxStorageBuffersPerShaderStage: 4,
  })!;
  assert(few.includes("(maxStorageBuffersPerShaderStage)"), few);
  // A million training rows of 60 inputs: 240 MB of inputs in one binding.
  const data = fusedGpuLimitProblem(describe(16, 2), { ...ADAM, rows: 1_000_000 }, LLVMPIPE)!;
  assert(data.includes("the training inputs (1000000 rows × 60) need a storage binding"), data);
  // Before the dataset is built: no data buffers, and the count is a lower bound.
  const early = fusedGpuLimitProblem(describe(4096, 10, 1), ADAM, LLVMPIPE)!;
  assert(early.includes("at least 151,044,097 parameters"), early);
  const names = fusedGpuBuffers(describe(16, 2), ADAM).buffers.map((b) => b.what);
  assert(!names.some((n) => n.includes("training inputs")), names.join(", "));
});

Deno.test("webgpu limits: the engine refuses a model past its device's limits before building anything", async () => {
  await tf.setBackend("cpu");
  const cfg = ModelConfig.parse({ family: "vanilla.small", size: 16, layers: 2 });
  const description = describeModel(cfg, 5, { label });
  const model = buildModel(cfg, 5, label, 1);
  const lossConfig = LossConfig.parse({ name: "mse" });
  const x = { data: new Float32Array(40 * 5), rows: 40, cols: 5 };
  const y = new Float32Array(40);
  // Only the limits are read before the check; a device without them would fail elsewhere.
  const device = { limits: { ...LLVMPIPE, maxStorageBufferBindingSize: 1024 } } as GPUDevice;
  try {
    await assertRejects(
      () =>
        trainFused({
          model,
          loss: makeLoss(lossConfig),
          lossConfig,
          description,
          train: TrainConfig.parse({ epochs: 1, batch_size: 16 }),
          seed: 1,
          x,
          y,
          xVal: x,
          yVal: y,
          device,
        }),
      RangeError,
      "The fused WebGPU engine cannot train this model: model \"vanilla.small\" (2 layers of 16, 385 parameters) does not fit the adapter's limits: a layer's outputs (40 rows × 16) need a storage binding of 2,560 bytes, and the adapter allows 1,024 bytes",
    );
  } finally {
    model.dispose();
  }
});

testWith(["webgpu"], {
  name: "webgpu limits: the 10x4096 model is refused on this adapter's real limits, at once",
  fn: async () => {
    const { device, adapter } = await fusedDevice();
    const limit = device.limits.maxStorageBufferBindingSize;
    const d = describe(4096, 10, 1);
    const params = fusedLayout(d).params;
    if (params * 4 <= limit && params * 4 <= device.limits.maxBufferSize) {
      // A large GPU holds it: nothing to refuse.
      await checkFusedGpuLimits(d, ADAM);
      return;
    }
    const started = performance.now();
    await assertRejects(
      () => checkFusedFits("webgpu", d, ADAM),
      RangeError,
      `The fused WebGPU engine cannot train on "${adapter}"`,
    );
    assert(performance.now() - started < 5000, "checked without training");
    let message = "";
    try {
      await checkFusedGpuLimits(d, ADAM);
    } catch (e) {
      message = (e as Error).message;
    }
    assert(message.includes(`${limit.toLocaleString("en-US")} bytes`), message);
  },
});

testWith(["webgpu"], {
  name: "webgpu device: kept for the process until released, then gone from engineState",
  fn: async () => {
    const { adapter } = await fusedDevice();
    assertEquals(engineState().gpuDevice, adapter);
    assertEquals(engineState().gpuBuffers, 0);
    assertEquals(await releaseFusedDevice(), true);
    assertEquals(engineState().gpuDevice, null);
    assertEquals(await releaseFusedDevice(), false);
  },
});

Deno.test("cpu limits: memory available and, for the wasm sgemm, one wasm memory's 4 GiB", async () => {
  const d = describe(1024, 10);
  const sizes = { ...ADAM, rows: 1000, valRows: 200 };
  assertEquals(fusedCpuProblem(d, sizes, "wasm", 2, 64 * 2 ** 30), null);
  const tight = fusedCpuProblem(d, sizes, "blas", 2, 2 ** 20)!;
  assert(tight.includes("but 0.00 GiB is available: lower model.size or model.layers"), tight);
  // 10 × 8192: 604 M parameters, 9 GiB with Adam: past a wasm memory, fine with a BLAS.
  const big = describe(8192, 10);
  assertEquals(fusedCpuProblem(big, sizes, "blas", 2, 64 * 2 ** 30), null);
  const wasm = fusedCpuProblem(big, sizes, "wasm", 2, 64 * 2 ** 30)!;
  assert(wasm.includes("in one wasm memory, which holds at most 4 GiB"), wasm);
  assert(wasm.includes('install a BLAS ("apt-get install libopenblas0-pthread")'), wasm);
  // The wasm sgemm's scratch counts: two threads need more than none.
  const withScratch = fusedCpuProblem(d, sizes, "wasm", 2, 1);
  assert(withScratch?.includes("needs about"), withScratch ?? "");
  await assertRejects(
    () => checkFusedFits("wasm", describe(8192, 10, 1), ADAM),
    RangeError,
    'The fused CPU engine cannot train this model: model "vanilla.small" (10 layers of 8192, at least',
  );
});
