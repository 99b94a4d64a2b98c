// Points from outcomes: correctness by the fraction of a task's cases passed; speed credit only
// when every case passed (correctness gates performance), on a linear curve of the speedup
// against the reference measured in the same run.
import type { Task } from '../project.ts';
import type { CaseRecord, PerfTask, TaskScore } from '../report/schema.ts';

export function perfCredit(speedup: number, floor: number, target: number): number {
  if (!(speedup > floor)) return 0;
  if (speedup >= target) return 1;
  return (speedup - floor) / (target - floor);
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export function scoreTask(task: Task, cases: CaseRecord[], perf: PerfTask | undefined): TaskScore {
  const share = task.perf ? task.perf.share : 0;
  const correctnessMax = task.points * (1 - share);
  const perfMax = task.points * share;
  const passed = cases.filter((c) => c.status === 'passed').length;
  const correctness = cases.length ? (correctnessMax * passed) / cases.length : 0;
  let performance = 0;
  let note = `${passed}/${cases.length} cases passed`;
  if (task.perf) {
    if (passed !== cases.length || !cases.length) note += '; speed not credited until every case passes';
    else if (!perf) note += '; speed not measured in this run';
    else if (perf.speedup_vs_reference === null) note += `; speed not credited: ${perf.basis}`;
    else {
      const c = perfCredit(perf.speedup_vs_reference, task.perf.floor, task.perf.target);
      performance = perfMax * c;
      note += `; speedup vs reference ${perf.speedup_vs_reference.toFixed(2)}x, ${perf.basis} (full credit at ${task.perf.target}x, none at ${task.perf.floor}x)`;
    }
  }
  return {
    task: task.id,
    title: task.title,
    correctness: round2(correctness),
    correctness_max: round2(correctnessMax),
    performance: round2(performance),
    performance_max: round2(perfMax),
    note,
  };
}
