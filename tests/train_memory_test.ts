import { checkPlanFits, currentRssBytes, memoryPlan, peakRssBytes } from "../src/train/memory.ts";
import { describeModel } from "../src/models/registry.ts";
import { fusedCpuBytes, fusedLayout } from "@alfred/engines";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./assert.ts";

const label = { mode: "magnitude" as const, horizon: 1 };
const model = {
  family: "vanilla.small.tanh" as const,
  size: 512,
  layers: 4,
  activation: "relu" as const,
  dropout: 0,
};

Deno.test("memoryPlan: the runtime, the models alive at once and what the engine allocates", () => {
  const d = describeModel(model, 14, { label, batchSize: 64 });
  const w = d.memory.weights;
  const tfjs = memoryPlan(d, { engine: "tfjs", optimizer: "adam" }, {
    runtimeBytes: 1000,
    models: 2,
  });
  // Adam's step holds 11 weight-sized temporaries per variable until it ends; the heap grows 20%.
  const heap = d.memory.optimizer + d.memory.gradients + d.memory.activations +
    d.memory.workspace + w + 11 * 4 * d.trainableParameters;
  assertEquals(tfjs.parts.map((p) => p.bytes), [1000, 2 * w, Math.round(1.2 * heap)]);
  assertEquals(tfjs.bytes, tfjs.parts.reduce((s, p) => s + p.bytes, 0));
  const { layers, params } = fusedLayout(d);
  const engine = fusedCpuBytes(layers, params, 64, "adam");
  const cpu = memoryPlan(d, { engine: "fused-cpu", bytes: engine }, { runtimeBytes: 0, models: 1 });
  assertEquals(cpu.bytes, w + engine + 2 * w);
  // The engine holds parameters, gradients, two moments and a best copy: at least 5 copies.
  assert(engine >= 5 * 4 * params, `${engine} < 5 x ${4 * params}`);
});

Deno.test("checkPlanFits: refuses a plan past the free memory, naming its parts", () => {
  const d = describeModel(model, 14, { label, batchSize: 64 });
  const plan = memoryPlan(d, { engine: "tfjs", optimizer: "sgd" }, {
    runtimeBytes: 2 ** 30,
    models: 1,
  });
  checkPlanFits(plan, "model x", plan.bytes);
  const e = assertThrows(() => checkPlanFits(plan, "model x", plan.bytes - 1), RangeError);
  assertStringIncludes(e.message, "The run does not fit in memory: model x needs about");
  assertStringIncludes(e.message, "runtime and data (measured) 1.00 GiB");
});

Deno.test("peakRssBytes: the operating system's peak, which an allocation raises", () => {
  const before = peakRssBytes();
  if (before === null) {
    // Only where getrusage cannot be reached: not Linux or macOS.
    assert(Deno.build.os !== "linux" && Deno.build.os !== "darwin", "no peak on linux/darwin");
    return;
  }
  assert(before >= currentRssBytes() * 0.9, `${before} vs ${currentRssBytes()}`);
  const big = new Uint8Array(256 * 2 ** 20);
  big.fill(1); // touched, so resident
  const now = currentRssBytes();
  const after = peakRssBytes()!;
  assert(now >= 256 * 2 ** 20, `resident ${now} after touching 256 MiB`);
  // The kernel batches its resident-page counts per thread (a few hundred kilobytes apart).
  const slack = 4 * 2 ** 20;
  assert(after >= now - slack && after >= before, `peak ${after} below ${now} or ${before}`);
  assertEquals(big[big.length - 1], 1);
});
