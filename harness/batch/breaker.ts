// The batch's circuit breaker. When the gradings of submission after submission end in a fault
// (not gradable, a crash, no result) with none graded between, the fault is the node's or the
// install's, not the submissions': every further grading would fail the same way, and each would
// be retried --max-attempts times (hours of a cluster's queue for a class). The batch halts
// instead; --resume takes it up once the fault is fixed. One submission failing again and again
// counts once: its own code may be what trips the harness.
//
// An install fault can also look like the students' own: a package the harness provides missing
// on the node makes every submission that imports it fail to load, a zero each. Submission after
// submission failing to load for want of the same one of the harness's own packages halts the
// batch too, and those zeros are held back until a person resumes it. (A package the harness
// does not provide, which students import alike, is their own doing.)
import type { SubmissionState } from './state.ts';

/** How a submission's last attempt ended, for the breaker: null when it does not count either way. */
export function attemptVerdict(s: SubmissionState): 'graded' | 'fault' | null {
  const last = s.attempts.at(-1);
  if (!last?.counted) return null; // cut short by the batch being stopped
  if (s.status === 'graded' || s.status === 'load_failed') return 'graded';
  if (s.status === 'queued' || s.status === 'not_gradable') return 'fault';
  return null;
}

/** The package a load failure says is missing ('@scope/name' or 'name'), or null. */
export function missingPackage(message: string): string | null {
  const m = /Cannot find (?:package|module) '([^']+)'/.exec(message);
  if (!m || m[1]!.startsWith('.') || m[1]!.startsWith('/')) return null;
  const parts = m[1]!.split('/');
  return parts[0]!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

export class FaultStreak {
  private readonly faults = new Set<string>();
  private loads: { pkg: string; message: string; keys: Set<string> } | null = null;
  private held: string | null = null;

  /**
   * `limit`: different submissions in a row; 0 never halts. `provided`: the packages the
   * harness provides (its own dependencies), whose absence is the install's fault.
   */
  constructor(
    readonly limit: number,
    private readonly provided: string[] = [],
  ) {}

  /** The missing package whose zeros the halt holds back, or null. */
  get heldPackage(): string | null {
    return this.held;
  }

  /** Records how one attempt ended; returns why the batch should halt, or null. */
  record(s: SubmissionState): string | null {
    const verdict = attemptVerdict(s);
    if (verdict === 'graded') {
      this.faults.clear();
      // By package, not by message: the message also names the file that imports it.
      const pkg = s.status === 'load_failed' ? missingPackage(s.message) : null;
      if (!pkg || !this.provided.includes(pkg)) this.loads = null;
      else if (this.loads?.pkg === pkg) this.loads.keys.add(s.key);
      else this.loads = { pkg, message: s.message, keys: new Set([s.key]) };
    }
    if (verdict === 'fault') this.faults.add(s.key);
    if (this.limit === 0) return null;
    if (this.faults.size >= this.limit)
      return (
        `the gradings of ${this.faults.size} different submissions in a row ended in a fault, none graded between: ` +
        `the node or the install is probably broken, not the submissions (the last: ${s.name}: ${s.message.replace(/; retrying \(.*\)$/, '')})`
      );
    if (this.loads && this.loads.keys.size >= this.limit) {
      this.held ??= this.loads.pkg;
      return (
        `${this.loads.keys.size} submissions in a row could not be loaded for want of ${this.loads.pkg}, a package the harness ` +
        `provides: the install is probably broken, not the submissions (the last: ${this.loads.message}); their zeros are held back`
      );
    }
    return null;
  }
}
