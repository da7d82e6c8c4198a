/**
 * Preloaded by `scripts/test.ts` into every test file of the shared test
 * process: a test file that asks for a WebGPU adapter there prints a marker
 * line, and `deno task test` fails naming the file, which belongs in
 * `OWN_PROCESS` (each WebGPU instance created and dropped in one process
 * risks heap corruption and an abort at exit: see `scripts/test.ts`).
 * Nothing else changes: the adapter request goes on as asked.
 *
 * @module
 */
import { WEBGPU_MARKER } from "./test.ts";

const gpu = (navigator as unknown as {
  gpu?: { requestAdapter: (...args: unknown[]) => Promise<unknown> };
}).gpu;
if (gpu) {
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  let told = false;
  gpu.requestAdapter = (...args: unknown[]) => {
    if (!told) console.log(`${WEBGPU_MARKER}${Deno.mainModule}`);
    told = true;
    return requestAdapter(...args);
  };
}
