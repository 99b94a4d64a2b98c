// Late hours as the syllabus defines them. A submission's lateness is the real time between the
// deadline and the submission, less every stretch of the daily not-counted window (midnight to
// 7 AM) in the course's time zone. Intervals are built from local wall-clock times and measured
// as instants, so a daylight-saving change (which happens at 2 AM, inside the window in
// America/New_York) neither adds nor loses an hour.
import { DateTime } from 'luxon';
import type { LatePolicy } from './course.ts';

const HOUR_MS = 3_600_000;

function at(day: DateTime, hhmm: string): DateTime {
  const [h, m] = hhmm.split(':').map(Number);
  return day.set({ hour: h, minute: m, second: 0, millisecond: 0 });
}

function overlapMs(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/** Milliseconds between `from` and `to` that count as late (0 when `to` is not after `from`). */
export function countedMs(from: DateTime, to: DateTime, policy: Pick<LatePolicy, 'timeZone' | 'notCounted'>): number {
  const t0 = from.toMillis();
  const t1 = to.toMillis();
  if (t1 <= t0) return 0;
  let ms = t1 - t0;
  const w = policy.notCounted;
  if (!w || w.from === w.to) return ms;
  // Every local day that can hold part of a window overlapping [from, to]: one day earlier too,
  // for a window that starts before midnight (e.g. 23:00 to 07:00).
  let day = from.setZone(policy.timeZone).startOf('day').minus({ days: 1 });
  const lastDay = to.setZone(policy.timeZone).startOf('day');
  while (day <= lastDay) {
    const start = at(day, w.from);
    const end = w.from < w.to ? at(day, w.to) : at(day.plus({ days: 1 }), w.to);
    ms -= overlapMs(t0, t1, start.toMillis(), end.toMillis());
    day = day.plus({ days: 1 }).startOf('day');
  }
  return ms;
}

/** Late hours of a submission against a deadline, rounded as the policy says (0 when on time). */
export function lateHours(deadline: DateTime, submitted: DateTime, policy: Pick<LatePolicy, 'timeZone' | 'notCounted' | 'rounding'>): number {
  const h = countedMs(deadline, submitted, policy) / HOUR_MS;
  if (h <= 0) return 0;
  if (policy.rounding === 'exact') return h;
  // A microsecond of float noise must not turn 3 hours into 4.
  return policy.rounding === 'ceil' ? Math.ceil(h - 1e-9) : Math.floor(h + 1e-9);
}

export type LateStatus =
  /** Handed in by the deadline. */
  | 'on_time'
  /** Late within the budget: the hours are charged. */
  | 'late'
  /** Past 72 hours on the project or 144 in total: "D or F by whether it basically works", for the TA. */
  | 'over_budget'
  /** Handed in after the last day of classes, or nothing handed in once it has passed: zero. */
  | 'missing'
  /** Nothing handed in yet, and the last day of classes has not passed. */
  | 'open'
  /** Handed in, but the submission time is unknown: for the TA. */
  | 'unknown_time';

export interface LateInput {
  project: string;
  deadline: DateTime;
  /** null: nothing handed in. */
  submitted: DateTime | null;
  /** A submission exists but its time is not known. */
  timeUnknown?: boolean;
}

export interface LateResult {
  project: string;
  status: LateStatus;
  /** Late hours of this submission (null when there is none or its time is unknown). */
  hours: number | null;
  /** Hours taken from the student's budget by this project. */
  charged: number;
  /** Budget left after this project. */
  left: number;
  note: string;
}

/**
 * Charges a student's projects against the budget in deadline order. A project over the
 * per-project limit, or one that would take the total past the budget, is not charged: it is
 * flagged "D or F by whether it basically works" instead, and the hours stay for later projects.
 */
export function chargeLateHours(items: LateInput[], policy: LatePolicy, lastDay: DateTime, asOf: DateTime): LateResult[] {
  let left = policy.total;
  const sorted = [...items].sort((a, b) => a.deadline.toMillis() - b.deadline.toMillis());
  return sorted.map((it): LateResult => {
    const base = { project: it.project, hours: null, charged: 0 };
    if (it.timeUnknown) return { ...base, status: 'unknown_time', left, note: 'submission time unknown: check it and apply the late-hour rules by hand' };
    if (!it.submitted) {
      return asOf >= lastDay
        ? { ...base, status: 'missing', left, note: 'not handed in by the last day of classes: zero' }
        : { ...base, status: 'open', left, note: 'not handed in yet' };
    }
    if (it.submitted >= lastDay) return { ...base, status: 'missing', left, note: 'handed in after the last day of classes: zero' };
    const hours = lateHours(it.deadline, it.submitted, policy);
    if (hours === 0) return { ...base, hours, status: 'on_time', left, note: '' };
    if (hours > policy.perProject)
      return { ...base, hours, status: 'over_budget', left, note: `${fmt(hours)} late hours, over the ${policy.perProject} allowed on one project: D or F by whether it basically works` };
    if (hours > left)
      return { ...base, hours, status: 'over_budget', left, note: `${fmt(hours)} late hours, but only ${fmt(left)} of ${policy.total} left: D or F by whether it basically works` };
    left -= hours;
    return { ...base, hours, charged: hours, status: 'late', left, note: `${fmt(hours)} late hours charged` };
  });
}

const fmt = (h: number) => (Number.isInteger(h) ? String(h) : h.toFixed(2));
