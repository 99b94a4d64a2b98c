// Which of a student's submissions counts, by the regrade policy: `latest` (the newest handed in,
// preferring what is in the submissions folder now) or `best` (the highest score among those
// graded; the newest on a tie).
import type { SubmissionState } from './state.ts';

const SCORED = ['graded', 'load_failed', 'rejected'];

const time = (s: SubmissionState) => (s.submitted_at ? Date.parse(s.submitted_at) : -Infinity);

function newest(a: SubmissionState, b: SubmissionState): SubmissionState {
  if (time(a) !== time(b)) return time(a) > time(b) ? a : b;
  return a.name >= b.name ? a : b;
}

const fraction = (s: SubmissionState) => (s.status === 'graded' && s.score && s.score.max > 0 ? s.score.total / s.score.max : 0);

/**
 * `current`: keys of the entries in the submissions folder now; with `latest` they win over
 * entries seen only by earlier runs of the batch.
 */
export function chooseSubmission(states: SubmissionState[], policy: 'latest' | 'best', current: Set<string>): SubmissionState | null {
  if (!states.length) return null;
  if (policy === 'best') {
    const scored = states.filter((s) => SCORED.includes(s.status));
    if (scored.length) return scored.reduce((a, b) => (fraction(a) !== fraction(b) ? (fraction(a) > fraction(b) ? a : b) : newest(a, b)));
  }
  const live = states.filter((s) => s.status !== 'superseded');
  const pool = live.filter((s) => current.has(s.key)).length ? live.filter((s) => current.has(s.key)) : live.length ? live : states;
  return pool.reduce(newest);
}

/** Each student's states in a batch, by student id. */
export function byStudent(states: SubmissionState[]): Map<string, SubmissionState[]> {
  const out = new Map<string, SubmissionState[]>();
  for (const s of states) for (const st of s.students) out.set(st.id, [...(out.get(st.id) ?? []), s]);
  return out;
}
