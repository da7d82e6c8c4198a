/**
 * The engines bench section on tiny workloads: rows for each engine with
 * positive timings and consistent arithmetic, each CPU row against the rate
 * of the sgemm it ran, both sgemm references, progress lines as cells and
 * epochs run, the torch line, a formatted table, the closing comparison with
 * stock tfjs-wasm; the backend it found is restored. The BLAS-free part needs
 * nothing installed; the OpenBLAS and WebGPU parts are declared with their
 * requirements.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "./assert.ts";
import { testWith } from "./requirements.ts";
import {
  engineBench,
  type EngineBenchResult,
  type EngineBenchRow,
  formatEngineBench,
} from "@alfred/engines/bench";
import { blasKernelsInstalled } from "@alfred/engines";
import { type BenchResult, blasFreeSummary, QUICK_BENCH } from "../src/cli/bench.ts";

const WORKLOADS = [{ size: 8, layers: 2, rows: 40, batch: 16 }];
const TINY = { workloads: WORKLOADS, torch: false, epochs: 1, budgetSeconds: 5, sgemmSize: 64 };

function checkRow(row: EngineBenchRow): void {
  assertEquals(row.workload, "2x8 rows=40 batch=16");
  assertEquals(row.parameters, 60 * 8 + 8 + 8 * 8 + 8 + 8 + 1);
  assert(row.secondsPerEpoch !== null && row.secondsPerEpoch > 0);
  const expected = 6 * row.parameters * 40 / row.secondsPerEpoch / 1e9;
  assert(Math.abs((row.gflops ?? 0) - expected) <= 1e-9 * expected);
  assertEquals(row.batchesPerEpoch, 3);
}

Deno.test("engine bench: the BLAS-free fused CPU engine against its own sgemm, with progress as it runs", async () => {
  await tf.setBackend("cpu");
  const lines: string[] = [];
  const r = await engineBench({
    ...TINY,
    // A workload of more rows than cpuMaxRows is left to the GPU unless asked for.
    workloads: [...WORKLOADS, { size: 8, layers: 2, rows: 1001, batch: 16 }],
    engines: ["fused-wasm"],
    log: (line) => lines.push(line),
  });
  assertEquals(r.skipped, [
    "fused-wasm 2x8 rows=1001 batch=16: not timed by default (minutes per epoch on a CPU); ask for it with --workloads 2x8@16",
  ]);
  assertEquals(tf.getBackend(), "cpu");
  assert(r.wasmSgemm.gflops !== null && r.wasmSgemm.gflops > 0, JSON.stringify(r.wasmSgemm));
  assert(r.wasmSgemm.device.startsWith("wasm SIMD sgemm ("), r.wasmSgemm.device);
  assertEquals(r.rows.map((x) => x.engine), ["fused-wasm"], JSON.stringify(r.skipped));
  const row = r.rows[0];
  checkRow(row);
  assert(row.device.includes("fused CPU MLP engine: wasm SIMD sgemm"), row.device);
  assert(Math.abs(row.vsSgemm! - row.gflops! / r.wasmSgemm.gflops) < 1e-12);
  // Progress: the references, the cell, and every epoch as it finishes.
  assert(lines[0].startsWith("measuring the sgemm references (64^3)"), lines[0]);
  assert(
    lines.some((l) => l.includes("wasm SIMD sgemm (") && l.endsWith("GFLOP/s")),
    lines.join("\n"),
  );
  assert(lines.includes(
    "timing fused-wasm on 2x8 rows=40 batch=16: 1 warm-up epoch + up to 1 timed (budget 5 s)",
  ));
  assert(
    lines.some((l) =>
      l.includes("fused-wasm 2x8 rows=40 batch=16: epoch 1/2") && l.endsWith("(warm-up)")
    ),
  );
  assert(lines.some((l) => l.includes("fused-wasm 2x8 rows=40 batch=16: epoch 2/2")));
  const text = formatEngineBench(r);
  assert(text.includes(r.wasmSgemm.device), text);
  assert(text.includes("% its sgemm"), text);
  assert(text.includes("torch: torch not requested"), text);
});

testWith(["openblas"], {
  name:
    "engine bench: fused-blas and cpu-blas against OpenBLAS, both sgemms in one run; cpu-blas skips a model past the wasm heap",
  fn: async () => {
    await tf.setBackend("cpu");
    const r = await engineBench({ ...TINY, engines: ["fused-blas", "fused-cpu", "cpu-blas"] });
    assertEquals(tf.getBackend(), "cpu");
    assertEquals(blasKernelsInstalled("wasm"), null);
    assert(r.sgemm.gflops !== null && r.sgemm.gflops > 0);
    assert(r.wasmSgemm.gflops !== null && r.wasmSgemm.gflops > 0);
    const engines = r.rows.map((x) => x.engine).sort();
    assertEquals(engines, ["cpu-blas", "fused-blas", "fused-cpu"], JSON.stringify(r.skipped));
    for (const row of r.rows) {
      checkRow(row);
      assert(Math.abs(row.vsSgemm! - row.gflops! / (r.sgemm.gflops as number)) < 1e-12, row.engine);
    }
    // fused-cpu picks OpenBLAS when it loads.
    assert(r.rows.find((x) => x.engine === "fused-cpu")!.device.includes("libopenblas"));
    const text = formatEngineBench(r);
    assert(text.includes("cblas_sgemm (libopenblas"), text);
    assert(/wasm SIMD sgemm \(.*\): [\d.]+ GFLOP\/s \(\d+% of cblas_sgemm\)/.test(text), text);
    const past = await engineBench({
      ...TINY,
      engines: ["cpu-blas"],
      workloads: [{ size: 4096, layers: 10, rows: 40, batch: 16 }],
    });
    assertEquals(past.rows, []);
    assert(past.skipped[0].includes('does not fit the wasm heap; blasHost "cpu"'), past.skipped[0]);
  },
});

testWith(["webgpu"], {
  name: "engine bench: the fused WebGPU engine on whatever adapter there is (software included)",
  fn: async () => {
    await tf.setBackend("cpu");
    const r = await engineBench({ ...TINY, engines: ["fused"], softwareGpu: true });
    assertEquals(r.rows.map((x) => x.engine), ["fused"], JSON.stringify(r.skipped));
    checkRow(r.rows[0]);
    assertEquals(r.rows[0].vsSgemm, null);
    assert(r.rows[0].device.startsWith("WebGPU "), r.rows[0].device);
  },
});

Deno.test("engine bench: the closing line compares the BLAS-free engine with stock tfjs-wasm on the same workload", () => {
  const cell = (backend: string, seconds: number) => ({
    model: "10x1024",
    backend,
    device: "",
    parameters: 1,
    secondsPerEpoch: seconds,
    gflops: 1,
    batchesTimed: 1,
    batchesPerEpoch: 16,
    finalLoss: 0.5,
  });
  const table = {
    options: { ...QUICK_BENCH, rows: 1000, batchSize: 64, inputs: 60 },
    matmulGflops: 1,
    sgemm: { gflops: null, reason: "" },
    rows: [cell("wasm-stock", 8), cell("wasm", 4)],
    skipped: [],
  } as unknown as BenchResult;
  const engine = (name: EngineBenchRow["engine"], device: string, seconds: number) =>
    ({
      workload: "10x1024 rows=1000 batch=64",
      engine: name,
      device,
      parameters: 1,
      secondsPerEpoch: seconds,
      gflops: 1,
      batchesTimed: 16,
      batchesPerEpoch: 16,
      vsTorch: null,
      vsSgemm: null,
      note: "",
    }) as EngineBenchRow;
  const section = {
    rows: [engine("fused-blas", "libopenblas", 0.5), engine("fused-wasm", "wasm SIMD sgemm", 2)],
    sgemm: { gflops: null, reason: "" },
    wasmSgemm: { gflops: null, reason: "" },
    torch: { available: false, reason: "" },
    skipped: [],
  } as EngineBenchResult;
  assertEquals(
    blasFreeSummary(table, section),
    "BLAS-free fused CPU engine on 10x1024 rows=1000 batch=64: 2.000 s/epoch, 4.0x stock tfjs-wasm (8.000 s/epoch), 2.0x tfjs-wasm with the matmul fix (4.000 s/epoch)",
  );
  assertEquals(blasFreeSummary(table, { ...section, rows: section.rows.slice(0, 1) }), null);
});
