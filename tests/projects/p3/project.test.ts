// Project 3's bench summary (bench.json and the bench table): the best roofline fraction of each
// implementation, and each GPU-sized case of a memory-bound kernel against the course's target
// (75% of the copy bandwidth), as docs/gpu-results.md reports them.
import { describe, expect, it } from 'vitest';
import type { MeasuredCase } from '../../../harness/project.ts';
import project from '../../../projects/p3/project.ts';

const summaryOf = (task: string, cases: MeasuredCase[]) => project.tasks.find((t) => t.id === task)!.benchSummary!(cases);
const timedCase = (impl: string, label: string, gpuScale: boolean, roofline: number): MeasuredCase => ({
  impl,
  label,
  params: { dims: {}, gpuScale },
  metrics: { ms: 1, gbps: roofline * 4000, roofline_fraction: roofline },
});

describe('p3 bench summary', () => {
  it('marks each GPU-sized case of a memory-bound kernel met or not against 75% of copy', () => {
    const out = summaryOf('transpose', [timedCase('reference', '4096x4096', false, 0.5), timedCase('reference', '8192x8192', true, 0.87), timedCase('reference', '8191x8193', true, 0.54)]);
    expect(out.map((m) => m.label)).toEqual([
      'best roofline fraction (8192x8192)',
      'target ≥ 75% of the copy bandwidth (8192x8192): met',
      'target ≥ 75% of the copy bandwidth (8191x8193): NOT met',
    ]);
    expect(out[2]!.metrics).toEqual({ roofline_fraction: 0.54 });
  });

  it('gives no verdict where the GPU sizes were not timed (a CPU adapter), nor for matmul, whose target is a fraction of cuBLAS', () => {
    expect(summaryOf('softmax', [timedCase('submission', '4096x4096', false, 0.1)]).map((m) => m.label)).toEqual(['best roofline fraction (4096x4096)']);
    expect(summaryOf('matmul', [timedCase('reference', '4096x4096x4096', true, 0.7)]).map((m) => m.label)).toEqual(['best roofline fraction (4096x4096x4096)']);
    expect(summaryOf('layernorm', [])).toEqual([]);
  });
});
