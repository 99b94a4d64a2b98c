// The gradebook: one row per student, a column per task and per project, the late hours, and
// the weighted course total, from one or more batch folders and the course's policies. What the
// rules leave to a person (over the late budget, a time that is unknown, a refused archive, a
// submission not gradable) is flagged. The course total is left empty while a cell's points are
// unknown (pending, not gradable, over the budget, time unknown): never guessed, never shown as
// a zero. A refused archive is scored 0 and flagged for a look.
import { DateTime } from 'luxon';
import type { Project } from '../project.ts';
import { findProject, UsageError } from '../projects.ts';
import { byStudent, chooseSubmission } from './choose.ts';
import { courseProject, deadline, lastDayEnd, latePolicy, type Course } from './course.ts';
import type { Student } from './discover.ts';
import { chargeLateHours, type LateInput, type LateResult } from './late.ts';
import { matchRoster, rosterStudent, type RosterRow } from './roster.ts';
import { BatchStore, type Batch, type SubmissionState } from './state.ts';

export type CellStatus =
  | 'graded' // on time, or late within the budget
  | 'over_budget' // D or F by whether it basically works: for the TA
  | 'missing' // nothing by the last day of classes: zero
  | 'open' // nothing yet, before the last day of classes
  | 'unknown_time' // graded, but the submission time is unknown: for the TA
  | 'load_failed' // graded 0: the code could not be loaded
  | 'rejected' // graded 0: the archive was refused; for the TA to look at
  | 'not_gradable' // a harness or machine fault: re-run, never a zero
  | 'pending'; // still being graded

export interface Cell {
  status: CellStatus;
  entry: string | null;
  submitted_at: string | null;
  score: number | null;
  max: number | null;
  tasks: Record<string, number | null>;
  late_hours: number | null;
  late_charged: number;
  /** weight x score / max, or 0, or null when a person must decide. */
  points: number | null;
  note: string;
}

export interface GradebookProject {
  id: string;
  title: string;
  weight: number | null;
  due: string | null;
  regrade: 'latest' | 'best';
  tasks: { id: string; title: string; max: number }[];
  batch_dir: string;
  /** Why the batch halted (its submissions wait for a resume), or null. */
  halted: string | null;
  /** Stopped with --cancel (or a halt): nothing is graded until it is resumed. */
  cancelled: boolean;
}

export interface GradebookRow {
  student: Student;
  roster: RosterRow | null;
  projects: Record<string, Cell>;
  late_hours_used: number;
  late_hours_left: number;
  /** The weighted total, or null while a cell waits for a person or a re-run (never a false 0). */
  course_points: number | null;
  flags: string[];
}

export interface Gradebook {
  schema: 'mlsys.gradebook/1';
  generated_at: string;
  as_of: string;
  course: { name: string; total_weight: number; time_zone: string; last_day_of_classes: string };
  projects: GradebookProject[];
  rows: GradebookRow[];
}

export interface BatchInput {
  dir: string;
  batch: Batch;
  states: SubmissionState[];
  /**
   * The tasks the batch grades, as the project declares them: a column each, in the project's
   * order, whether or not anything is graded yet. Without it (a project this copy does not
   * have), the columns come from the grades themselves.
   */
  declared?: { id: string; title: string; max: number }[];
}

export function loadBatchInput(dir: string): BatchInput {
  const store = new BatchStore(dir);
  if (!store.exists()) throw new UsageError(`no batch in ${dir} (no batch.json)`);
  return { dir, batch: store.readBatch(), states: store.allStates() };
}

/** Adds the project's task list to a batch, so the gradebook's columns do not change shape as grades come in. */
export async function withDeclaredTasks(input: BatchInput): Promise<BatchInput> {
  let project: Project;
  try {
    project = await findProject(input.batch.project);
  } catch {
    return input;
  }
  const only = input.batch.options.tasks;
  const tasks = project.tasks.filter((t) => !only || only.includes(t.id));
  return { ...input, declared: tasks.map((t) => ({ id: t.id, title: t.title, max: t.points })) };
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** Cells whose points are not known yet: the course total waits for them. */
const UNSETTLED: CellStatus[] = ['pending', 'not_gradable', 'over_budget', 'unknown_time'];

function projectTasks(states: SubmissionState[], declared: BatchInput['declared']): GradebookProject['tasks'] {
  const seen = new Map<string, { id: string; title: string; max: number }>((declared ?? []).map((t) => [t.id, t]));
  // Then any task graded that the project no longer declares.
  for (const s of states) for (const t of s.score?.tasks ?? []) if (!seen.has(t.task)) seen.set(t.task, { id: t.task, title: t.title, max: t.max });
  return [...seen.values()];
}

function mergeStudent(a: Student, b: Student): Student {
  return { id: a.id, name: a.name ?? b.name, email: a.email ?? b.email, sid: a.sid ?? b.sid };
}

export function buildGradebook(inputs: BatchInput[], course: Course, opt: { roster?: RosterRow[]; asOf?: DateTime } = {}): Gradebook {
  const asOf = opt.asOf ?? DateTime.now().setZone(course.timeZone);
  const seenProjects = new Set<string>();
  for (const i of inputs) {
    if (seenProjects.has(i.batch.project)) throw new UsageError(`two batch folders for ${i.batch.project}: give one per project`);
    seenProjects.add(i.batch.project);
  }
  // Course order (by due date), then any project the course file does not list.
  const order = (id: string) => {
    const k = course.projects.findIndex((p) => p.id === id);
    return k < 0 ? Infinity : k;
  };
  const sorted = [...inputs].sort((a, b) => order(a.batch.project) - order(b.batch.project));
  const projects: GradebookProject[] = sorted.map((i) => {
    const cp = courseProject(course, i.batch.project);
    return {
      id: i.batch.project,
      title: cp?.title ?? i.batch.project_title,
      weight: cp?.weight ?? null,
      due: cp?.due ?? null,
      regrade: i.batch.options.regrade,
      tasks: projectTasks(i.states, i.declared),
      batch_dir: i.dir,
      halted: i.batch.halted,
      cancelled: i.batch.cancelled,
    };
  });

  // Everyone: from the submissions, then the roster.
  const students = new Map<string, Student>();
  for (const i of sorted) for (const s of i.states) for (const st of s.students) students.set(st.id, mergeStudent(students.get(st.id) ?? st, st));
  const roster = opt.roster ?? [];
  const rosterOf = new Map<string, RosterRow>();
  for (const st of students.values()) {
    const r = matchRoster(roster, st);
    if (r) rosterOf.set(st.id, r);
  }
  const matched = new Set(rosterOf.values());
  for (const r of roster)
    if (!matched.has(r)) {
      const st = rosterStudent(r);
      students.set(st.id, st);
      rosterOf.set(st.id, r);
    }

  const policy = latePolicy(course);
  const lastDay = lastDayEnd(course);
  // As of a time: what was handed in after it does not exist yet (a submission of unknown time is
  // kept, and flagged as such).
  const handedIn = (s: SubmissionState) => !s.submitted_at || DateTime.fromISO(s.submitted_at, { setZone: true }) <= asOf;
  const perProject = sorted.map((i) => ({
    input: i,
    byStudent: byStudent(i.states.filter(handedIn)),
    current: new Set(i.batch.entries.filter((e) => e.current).map((e) => e.key)),
  }));

  const rows: GradebookRow[] = [...students.values()]
    .sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id) || a.id.localeCompare(b.id))
    .map((student) => {
      const picks = perProject.map((p) => chooseSubmission(p.byStudent.get(student.id) ?? [], p.input.batch.options.regrade, p.current));
      // Late hours, charged in deadline order over the projects the course file dates.
      const lateInputs: LateInput[] = [];
      projects.forEach((gp, k) => {
        if (!gp.due) return;
        // A superseded pick (as of a time before the newer submission) still counts for lateness.
        const pick = picks[k];
        lateInputs.push({
          project: gp.id,
          deadline: deadline(course, gp.due),
          submitted: pick?.submitted_at ? DateTime.fromISO(pick.submitted_at, { setZone: true }) : null,
          timeUnknown: Boolean(pick && !pick.submitted_at),
        });
      });
      const late = new Map<string, LateResult>(chargeLateHours(lateInputs, policy, lastDay, asOf).map((r) => [r.project, r]));
      const flags: string[] = [];
      const cells: Record<string, Cell> = {};
      projects.forEach((gp, k) => {
        const cell = makeCell(gp, picks[k], late.get(gp.id) ?? null);
        cells[gp.id] = cell;
        if (['over_budget', 'unknown_time', 'rejected', 'not_gradable', 'pending'].includes(cell.status)) flags.push(`${gp.id}: ${cell.note}`);
        for (const f of picks[k]?.flags ?? []) flags.push(`${gp.id}: ${f}`);
      });
      if (roster.length && !rosterOf.has(student.id))
        flags.push('not on the roster: no row of it matches this name, email or id, so Canvas cannot match this row');
      const lastLate = [...late.values()].at(-1);
      return {
        student,
        roster: rosterOf.get(student.id) ?? null,
        projects: cells,
        late_hours_used: r2(policy.total - (lastLate?.left ?? policy.total)),
        late_hours_left: r2(lastLate?.left ?? policy.total),
        course_points: Object.values(cells).some((c) => UNSETTLED.includes(c.status))
          ? null
          : r2(Object.values(cells).reduce((a, c) => a + (c.points ?? 0), 0)),
        flags,
      };
    });

  return {
    schema: 'mlsys.gradebook/1',
    generated_at: new Date().toISOString(),
    as_of: asOf.toISO()!,
    course: { name: course.course, total_weight: course.totalWeight, time_zone: course.timeZone, last_day_of_classes: course.lastDayOfClasses },
    projects,
    rows,
  };
}

function makeCell(gp: GradebookProject, pick: SubmissionState | null, late: LateResult | null): Cell {
  const taskCells = (s: SubmissionState | null, zero: boolean) =>
    Object.fromEntries(gp.tasks.map((t) => [t.id, zero ? 0 : (s?.score?.tasks.find((x) => x.task === t.id)?.points ?? null)]));
  const base: Cell = {
    status: 'pending',
    entry: pick?.name ?? null,
    submitted_at: pick?.submitted_at ?? null,
    score: null,
    max: pick?.score?.max ?? (gp.tasks.reduce((a, t) => a + t.max, 0) || null),
    tasks: taskCells(null, false),
    late_hours: late?.hours ?? null,
    late_charged: late?.charged ?? 0,
    points: null,
    note: late?.note ?? '',
  };
  const weighted = (score: number, max: number | null) => (gp.weight === null ? null : max ? r2((gp.weight * score) / max) : 0);
  const zero = (status: CellStatus, note: string): Cell => ({ ...base, status, score: 0, tasks: taskCells(null, true), points: gp.weight === null ? null : 0, note });

  if (!pick) {
    if (late?.status === 'missing') return zero('missing', late.note);
    return { ...base, status: 'open', note: late?.note || 'not handed in' };
  }
  if (pick.status === 'superseded')
    // As of a time before the student's newer submission: the one that counts then was never
    // graded (only the newest is, with --regrade latest). Unknown, so never a zero.
    return {
      ...base,
      status: 'pending',
      note: `${pick.name} (handed in ${pick.submitted_at ?? 'at an unknown time'}) is the submission that counts at this time, but only a newer one was graded (--regrade latest): resuming the batch with --regrade best grades every submission and settles this cell`,
    };
  if (late?.status === 'missing') return zero('missing', late.note);
  switch (pick.status) {
    case 'queued':
    case 'running':
      return {
        ...base,
        status: 'pending',
        note: gp.halted
          ? `held: its batch halted (${gp.batch_dir}/batch.json says why); fix the fault, then resume the batch`
          : gp.cancelled
            ? 'not graded: its batch was cancelled (--cancel); resume it to grade this'
            : 'still being graded',
      };
    case 'not_gradable':
      return { ...base, status: 'not_gradable', note: `not gradable (re-run the batch with --resume): ${pick.message}` };
    case 'rejected':
      return zero('rejected', `${pick.message} (scored 0; check it by hand)`);
    case 'load_failed':
      return { ...zero('load_failed', pick.message), max: pick.score?.max ?? base.max, late_hours: base.late_hours, late_charged: base.late_charged };
    case 'graded':
      break;
  }
  const score = pick.score?.total ?? 0;
  const max = pick.score?.max ?? null;
  const graded: Cell = { ...base, score, max, tasks: taskCells(pick, false) };
  if (late?.status === 'over_budget') return { ...graded, status: 'over_budget', note: `${late.note} (scored ${score} / ${max})` };
  if (late?.status === 'unknown_time') return { ...graded, status: 'unknown_time', note: `${late.note} (scored ${score} / ${max})` };
  return { ...graded, status: 'graded', points: weighted(score, max) };
}
