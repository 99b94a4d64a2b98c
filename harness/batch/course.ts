// The course's policies as data (course.json at the repository root, or --course FILE): weights,
// due dates, the time zone, the late-hour rules and the last day of classes. The engine never
// names a project; the syllabus does, here, as data.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { UsageError } from '../projects.ts';
import { HARNESS_ROOT } from '../runner/launcher.ts';

const localDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a local date, YYYY-MM-DD');
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day, HH:MM (24 h)');

export const courseSchema = z.object({
  $comment: z.string().optional(),
  course: z.string(),
  term: z.string().optional(),
  timeZone: z.string(),
  dueTime: clock,
  lastDayOfClasses: localDate,
  totalWeight: z.number().positive(),
  lateHours: z.object({
    total: z.number().nonnegative(),
    perProject: z.number().nonnegative(),
    /** A daily window of local time that is not counted as late (e.g. midnight to 7 AM). */
    notCounted: z.object({ from: clock, to: clock }).nullable(),
    /** How a fraction of an hour counts: `ceil` (a minute late is an hour), `floor`, or `exact`. */
    rounding: z.enum(['ceil', 'floor', 'exact']),
  }),
  projects: z
    .array(z.object({ id: z.string().min(1), title: z.string(), weight: z.number().nonnegative(), due: localDate }))
    .min(1),
});

export type Course = z.infer<typeof courseSchema>;
export type CourseProject = Course['projects'][number];
export type LatePolicy = Course['lateHours'] & { timeZone: string; dueTime: string };

export const DEFAULT_COURSE_FILE = path.join(HARNESS_ROOT, 'course.json');

export function parseCourse(text: string, where: string): Course {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${where}: not valid JSON (${(e as Error).message})`);
  }
  const r = courseSchema.safeParse(raw);
  if (!r.success) throw new UsageError(`${where}: ${r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  const c = r.data;
  if (!DateTime.local().setZone(c.timeZone).isValid) throw new UsageError(`${where}: unknown time zone '${c.timeZone}' (an IANA name such as America/New_York)`);
  const ids = new Set<string>();
  for (const p of c.projects) {
    if (ids.has(p.id)) throw new UsageError(`${where}: project '${p.id}' is listed twice`);
    ids.add(p.id);
  }
  const sum = c.projects.reduce((a, p) => a + p.weight, 0);
  if (Math.abs(sum - c.totalWeight) > 1e-9)
    throw new UsageError(`${where}: the project weights add up to ${sum}, but totalWeight is ${c.totalWeight}`);
  return c;
}

export function loadCourse(file = DEFAULT_COURSE_FILE): Course {
  if (!existsSync(file)) throw new UsageError(`course policy file not found: ${file} (see harness/batch/README.md for its fields)`);
  return parseCourse(readFileSync(file, 'utf8'), file);
}

export function latePolicy(c: Course): LatePolicy {
  return { ...c.lateHours, timeZone: c.timeZone, dueTime: c.dueTime };
}

/** The instant a project is due: its due date at the course's due time, in the course's zone. */
export function deadline(c: Pick<Course, 'timeZone' | 'dueTime'>, dueDate: string): DateTime {
  return DateTime.fromISO(`${dueDate}T${c.dueTime}`, { zone: c.timeZone });
}

/** The end of the last day of classes (midnight after it, local time): later is "not handed in". */
export function lastDayEnd(c: Pick<Course, 'timeZone' | 'lastDayOfClasses'>): DateTime {
  return DateTime.fromISO(c.lastDayOfClasses, { zone: c.timeZone }).plus({ days: 1 }).startOf('day');
}

export function courseProject(c: Course, id: string): CourseProject | undefined {
  return c.projects.find((p) => p.id === id);
}
