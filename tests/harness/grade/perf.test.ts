// A timed case that measures the machine (CaseSpec.machine: the harness's own code runs the same
// in every implementation, as p1's memcpy does) gets no speedup_vs_reference; the task's other
// cases do. Shown on p2's attention with a bench case so marked, the reference against itself.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findProject } from '../../../harness/projects.ts';
import { run, ROOT } from '../../helpers/run.ts';
import type { Project } from '../../../harness/project.ts';

describe('a case that measures the machine', () => {
  it('is timed, without a speedup; the graded case of the same task has one', async () => {
    const p2 = await findProject('p2');
    const attention = p2.tasks.find((t) => t.id === 'attention')!;
    const graded = attention.perf!.case;
    const machine = { label: 'the same, as a machine figure', params: graded.params, machine: true };
    const project: Project = { ...p2, tasks: [{ ...attention, bench: [machine] }] };
    const o = await run('p2', path.join(ROOT, 'reference', 'p2'), { mode: 'bench', project });
    const by = (label: string) => o.run.perf.find((p) => p.label === label)!;
    expect(by(machine.label).impls.map((i) => i.ok)).toEqual([true, true]);
    expect(by(machine.label).speedup_vs_reference).toBeNull();
    expect(by(graded.label).speedup_vs_reference).toBeGreaterThan(0);
  });
});
