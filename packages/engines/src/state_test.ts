/**
 * The process-wide state is reported as it changes: the wasm transposed-matmul
 * fix here (it needs nothing installed); the BLAS kernels and the WebGPU device
 * are covered where they can be had (`tests/engines_blas_test.ts`,
 * `tests/engines_limits_test.ts`).
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { assertEquals } from "../../../tests/assert.ts";
import { engineState } from "./state.ts";
import {
  installWasmMatMulFix,
  isWasmMatMulFixInstalled,
  uninstallWasmMatMulFix,
} from "./wasm_matmul.ts";

Deno.test("engineState: the wasm matmul fix is reported as installed and as removed", async () => {
  const previous = tf.getBackend();
  await tf.setBackend("wasm");
  const had = isWasmMatMulFixInstalled();
  try {
    installWasmMatMulFix();
    assertEquals(engineState().wasmMatMulFix, true);
    uninstallWasmMatMulFix();
    assertEquals(engineState().wasmMatMulFix, false);
    assertEquals(engineState().gpuBuffers, 0);
  } finally {
    if (had) installWasmMatMulFix();
    if (previous) await tf.setBackend(previous);
  }
});
