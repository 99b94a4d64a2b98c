import { readFileSync } from 'node:fs';
import { openGpu } from './harness/child/gpu/device.ts';
const h = await openGpu('any' as never);
const d = h.device;
for (const first of [0, 1]) for (const [file, constants, nb] of [['matmul_regblock.wgsl', { BK: 16 }, 3], ['layernorm.wgsl', { WG: 256 }, 4]] as const) {
  const code = readFileSync('reference/p3/' + file, 'utf8');
  let t = performance.now();
  const m = d.createShaderModule({ code });
  const p = d.createComputePipeline({ layout: 'auto', compute: { module: m, entryPoint: 'main', constants: { ...constants } } });
  console.log(file, 'pipeline', (performance.now() - t).toFixed(0), 'ms');
  const u = d.createBuffer({ size: 64, usage: GPUBufferUsage.UNIFORM });
  const bufs = Array.from({ length: nb }, () => d.createBuffer({ size: 1 << 20, usage: GPUBufferUsage.STORAGE }));
  const bg = d.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: u } }, ...bufs.map((b, i) => ({ binding: i + 1, resource: { buffer: b } }))] });
  for (const n of [first, 1, 1]) {
    t = performance.now();
    const enc = d.createCommandEncoder(); const pass = enc.beginComputePass();
    pass.setPipeline(p); pass.setBindGroup(0, bg); if (n === 0) { const ib = d.createBuffer({ size: 12, usage: GPUBufferUsage.INDIRECT | GPUBufferUsage.COPY_DST }); d.queue.writeBuffer(ib, 0, new Uint32Array([0, 0, 0])); pass.dispatchWorkgroupsIndirect(ib, 0); } else pass.dispatchWorkgroups(n); pass.end();
    d.queue.submit([enc.finish()]); await d.queue.onSubmittedWorkDone();
    console.log('  dispatch', n, (performance.now() - t).toFixed(0), 'ms');
  }
  if (first === 0) break;
}
process.exit(0);
