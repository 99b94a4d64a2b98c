// The list of cases a run covers, with their seeds. Public seeds come from names only (the
// same everywhere, printed with every failure); hidden seeds also mix in the grader's secret,
// which never reaches the submission's process.
import { seedFrom } from '../rng.ts';
import type { CaseSpec, Project, Task } from '../project.ts';
import { likelyMeant } from '../suggest.ts';
import { UsageError } from '../projects.ts';

export type Visibility = 'public' | 'hidden';

export interface PlannedCase {
  task: Task;
  index: number;
  visibility: Visibility;
  spec: CaseSpec<unknown>;
  seed: number;
  /** `task/n` for public cases, `task/hidden-n` for hidden ones. */
  id: string;
}

export interface CaseSelection {
  hidden: boolean;
  secret?: string;
  /** The hidden cases by task id (harness/staff.ts), needed when `hidden` is set. */
  hiddenCases?: Map<string, CaseSpec<unknown>[]>;
  tasks?: string[];
  /** `task/n`: just that case. */
  caseId?: string;
}

export function publicSeed(project: Project, task: Task, index: number): number {
  return seedFrom(project.id, task.id, 'public', String(index));
}

export function hiddenSeed(secret: string, project: Project, task: Task, index: number): number {
  return seedFrom(secret, project.id, task.id, 'hidden', String(index));
}

export function planCases(project: Project, sel: CaseSelection): PlannedCase[] {
  const out: PlannedCase[] = [];
  for (const task of project.tasks) {
    if (sel.tasks && !sel.tasks.includes(task.id)) continue;
    task.public.forEach((spec, index) =>
      out.push({ task, index, visibility: 'public', spec, seed: publicSeed(project, task, index), id: `${task.id}/${index}` }),
    );
    if (sel.hidden) {
      if (!sel.secret) throw new UsageError('hidden cases need the grader secret');
      if (!sel.hiddenCases) throw new UsageError('hidden cases were asked for but not loaded');
      const secret = sel.secret;
      (sel.hiddenCases.get(task.id) ?? []).forEach((spec, index) =>
        out.push({ task, index, visibility: 'hidden', spec, seed: hiddenSeed(secret, project, task, index), id: `${task.id}/hidden-${index}` }),
      );
    }
  }
  if (sel.caseId) {
    const one = out.filter((c) => c.id === sel.caseId);
    if (!one.length) {
      const ids = out.map((c) => c.id);
      const [caseTask] = sel.caseId.split('/');
      if (sel.tasks && project.tasks.some((t) => t.id === caseTask) && !sel.tasks.includes(caseTask!))
        throw new UsageError(`case '${sel.caseId}' is not in the tasks chosen (${sel.tasks.join(', ')}): leave out --task (or --milestone) to run it`);
      const task = project.tasks.find((t) => t.id === sel.caseId);
      if (task) throw new UsageError(`'${sel.caseId}' is a task: --task ${task.id} runs all its cases, --case ${task.id}/0 its first`);
      // A typo, or the task's name begun (`conv/1` for `convolution/1`).
      const [typedTask = '', rest] = sel.caseId.split('/');
      const begun = typedTask.length >= 3 ? project.tasks.filter((t) => t.id.toLowerCase().startsWith(typedTask.toLowerCase())) : [];
      const meant = likelyMeant(sel.caseId, ids) ?? (begun.length === 1 && ids.includes(`${begun[0]!.id}/${rest}`) ? `${begun[0]!.id}/${rest}` : null);
      throw new UsageError(`no case '${sel.caseId}'${meant ? `: did you mean '${meant}'?` : '.'} Cases: ${ids.join(', ')}`);
    }
    return one;
  }
  return out;
}
