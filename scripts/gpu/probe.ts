/**
 * What one dispatch and one host round trip cost in Deno's WebGPU on this
 * adapter: JavaScript encoding, `finish`, `submit` and GPU time per trivial
 * dispatch, and the latency of `onSubmittedWorkDone` and `mapAsync` (Deno's
 * mapAsync sleeps 10 ms after the queue drains). Run by `scripts/gpu/check.sh`.
 *
 * @module
 */
const adapter = await navigator.gpu.requestAdapter();
const device = await adapter!.requestDevice();
const info = adapter!.info;
console.log("adapter", info.description || info.vendor);
const code = `@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> d: array<f32>;
@group(0) @binding(4) var<uniform> u: vec4<u32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < u.x) { a[g.x] = b[g.x] + c[g.x] + d[g.x]; }
}`;
const mod = device.createShaderModule({ code });
const pipes = [0, 1].map(() =>
  device.createComputePipeline({ layout: "auto", compute: { module: mod, entryPoint: "main" } })
);
const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
const bufs = Array.from({ length: 8 }, () => device.createBuffer({ size: 4096, usage: S }));
const ub = device.createBuffer({
  size: 16,
  usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
});
device.queue.writeBuffer(ub, 0, new Uint32Array([64, 0, 0, 0]));
const groups = pipes.map((p, i) =>
  device.createBindGroup({
    layout: p.getBindGroupLayout(0),
    entries: [0, 1, 2, 3].map((j) => ({ binding: j, resource: { buffer: bufs[(i * 4 + j) % 8] } }))
      .concat([{ binding: 4, resource: { buffer: ub } }]),
  })
);
for (const mode of ["full", "noSetPipeline", "dispatchOnly", "full", "perPassOf50"]) {
  const N = 20000;
  const t0 = performance.now();
  const enc = device.createCommandEncoder();
  let pass = enc.beginComputePass();
  for (let i = 0; i < N; i++) {
    if (mode === "perPassOf50" && i % 50 === 0 && i) {
      pass.end();
      pass = enc.beginComputePass();
    }
    if (mode !== "dispatchOnly" || i === 0) {
      if (mode !== "noSetPipeline" || i === 0) {
        pass.setPipeline(pipes[i & 1 && mode !== "noSetPipeline" ? 1 : 0]);
      }
      pass.setBindGroup(0, groups[mode !== "noSetPipeline" ? i & 1 : 0]);
    }
    pass.dispatchWorkgroups(1);
  }
  pass.end();
  const t1 = performance.now();
  const cb = enc.finish();
  const t2 = performance.now();
  device.queue.submit([cb]);
  const t3 = performance.now();
  await device.queue.onSubmittedWorkDone();
  const t4 = performance.now();
  const us = (x: number) => (x * 1000 / N).toFixed(2);
  console.log(
    `${mode}: encode ${us(t1 - t0)} µs/dispatch, finish ${us(t2 - t1)}, submit ${
      us(t3 - t2)
    }, gpu-wait ${us(t4 - t3)} µs/dispatch`,
  );
}

// Round trips: how long a tiny submit takes to be seen done, by each waiting method.
const src = bufs[0];
const read = device.createBuffer({
  size: 16,
  usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
});
/** Times 20 tiny submits (one dispatch, one 16-byte copy) each followed by `wait`. */
const trip = async (how: string, wait: () => Promise<void>) => {
  const ts: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipes[0]);
    pass.setBindGroup(0, groups[0]);
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(src, 0, read, 0, 16);
    device.queue.submit([enc.finish()]);
    await wait();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  console.log(
    `round trip (${how}): median ${ts[10].toFixed(3)} ms, min ${ts[0].toFixed(3)}, max ${
      ts[19].toFixed(3)
    }`,
  );
};
const done = () => device.queue.onSubmittedWorkDone();
const map = async () => {
  await read.mapAsync(GPUMapMode.READ);
  read.unmap();
};
await trip("done", done);
await trip("map", map);
await trip("done+map", async () => {
  await done();
  await map();
});
// Chunked submits: 20000 dispatches in submits of 50.
{
  const t0 = performance.now();
  for (let c = 0; c < 400; c++) {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < 50; i++) {
      pass.setPipeline(pipes[i & 1]);
      pass.setBindGroup(0, groups[i & 1]);
      pass.dispatchWorkgroups(1);
    }
    pass.end();
    device.queue.submit([enc.finish()]);
  }
  const t1 = performance.now();
  await device.queue.onSubmittedWorkDone();
  const t2 = performance.now();
  console.log(
    `submits of 50: cpu ${((t1 - t0) * 1000 / 20000).toFixed(2)} µs/dispatch, then wait ${
      (t2 - t1).toFixed(1)
    } ms; total ${((t2 - t0) * 1000 / 20000).toFixed(2)} µs/dispatch`,
  );
}
// Waiting by submitting empty batches (each submit polls the device and fires finished callbacks).
let spins = 0;
await trip("map, empty submits while waiting", async () => {
  let mapped = false;
  const p = read.mapAsync(GPUMapMode.READ).then(() => {
    mapped = true;
  });
  spins = 0;
  while (!mapped) {
    device.queue.submit([]);
    spins++;
    await new Promise((r) => setTimeout(r, 0));
  }
  await p;
  read.unmap();
});
console.log(`spins in the last round trip: ${spins}`);
