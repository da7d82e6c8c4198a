/**
 * The engines bench section on tiny workloads: rows for each engine with
 * positive timings and consistent arithmetic, the sgemm ratio, the torch
 * line, and a formatted table; the backend it found is restored.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "./assert.ts";
import { engineBench, formatEngineBench } from "../src/engines/bench.ts";
import { blasKernelsInstalled } from "../src/engines/blas_cpu.ts";

Deno.test("engine bench: tiny workloads on cpu-blas and the fused engines (software adapter, CPU)", async () => {
  await tf.setBackend("cpu");
  const workloads = [{ size: 8, layers: 2, rows: 40, batch: 16 }];
  const r = await engineBench({
    workloads,
    softwareGpu: true,
    torch: false,
    epochs: 1,
    budgetSeconds: 5,
    sgemmSize: 64,
  });
  assertEquals(tf.getBackend(), "cpu");
  assertEquals(blasKernelsInstalled("wasm"), null);
  assert(r.sgemm.gflops !== null && r.sgemm.gflops > 0);
  const engines = r.rows.map((x) => x.engine).sort();
  assertEquals(engines, ["cpu-blas", "fused", "fused-cpu"], JSON.stringify(r.skipped));
  for (const row of r.rows) {
    assertEquals(row.workload, "2x8 rows=40 batch=16");
    assertEquals(row.parameters, 60 * 8 + 8 + 8 * 8 + 8 + 8 + 1);
    assert(row.secondsPerEpoch !== null && row.secondsPerEpoch > 0);
    const expected = 6 * row.parameters * 40 / row.secondsPerEpoch / 1e9;
    assert(Math.abs((row.gflops ?? 0) - expected) <= 1e-9 * expected);
    assertEquals(row.batchesPerEpoch, 3);
  }
  for (const engine of ["cpu-blas", "fused-cpu"]) {
    const cpu = r.rows.find((x) => x.engine === engine)!;
    assert(Math.abs(cpu.vsSgemm! - cpu.gflops! / (r.sgemm.gflops as number)) < 1e-12, engine);
  }
  assertEquals(r.rows.find((x) => x.engine === "fused")!.vsSgemm, null);
  assertEquals(r.torch.available, false);
  const text = formatEngineBench(r);
  assert(text.includes("cblas_sgemm"));
  assert(text.includes("torch: torch not requested"));
  assert(text.includes("2x8 rows=40 batch=16"));
});
