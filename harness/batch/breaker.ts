// The batch's circuit breaker. When the gradings of submission after submission end in a fault
// (not gradable, a crash, no result) with none graded between, the fault is the node's or the
// install's, not the submissions': every further grading would fail the same way, and each would
// be retried --max-attempts times (hours of a cluster's queue for a class). The batch halts
// instead; --resume takes it up once the fault is fixed. One submission failing again and again
// counts once: its own code may be what trips the harness.
import type { SubmissionState } from './state.ts';

/** How a submission's last attempt ended, for the breaker: null when it does not count either way. */
export function attemptVerdict(s: SubmissionState): 'graded' | 'fault' | null {
  const last = s.attempts.at(-1);
  if (!last?.counted) return null; // cut short by the batch being stopped
  if (s.status === 'graded' || s.status === 'load_failed') return 'graded';
  if (s.status === 'queued' || s.status === 'not_gradable') return 'fault';
  return null;
}

export class FaultStreak {
  private readonly keys = new Set<string>();

  /** `limit`: different submissions in a row; 0 never halts. */
  constructor(readonly limit: number) {}

  /** Records how one attempt ended; returns why the batch should halt, or null. */
  record(s: SubmissionState): string | null {
    const verdict = attemptVerdict(s);
    if (verdict === 'graded') this.keys.clear();
    if (verdict !== 'fault') return null;
    this.keys.add(s.key);
    if (this.limit === 0 || this.keys.size < this.limit) return null;
    return (
      `the gradings of ${this.keys.size} different submissions in a row ended in a fault, none graded between: ` +
      `the node or the install is probably broken, not the submissions (the last: ${s.name}: ${s.message.replace(/; retrying \(.*\)$/, '')})`
    );
  }
}
