// What the person running a batch sees: on a terminal, one progress bar with the counts and an
// ETA, and a line per finished submission above it; elsewhere (a log file, CI), plain lines.
import cliProgress from 'cli-progress';
import { isFinal, type SubmissionState } from './state.ts';

export interface Counts {
  total: number;
  graded: number;
  zero: number;
  notGradable: number;
  running: number;
  queued: number;
}

/** `started`: submissions the scheduler reports running; others in flight are still waiting. */
export function countStates(states: SubmissionState[], started?: Set<number>): Counts {
  const live = states.filter((s) => s.status !== 'superseded');
  const n = (f: (s: SubmissionState) => boolean) => live.filter(f).length;
  return {
    total: live.length,
    graded: n((s) => s.status === 'graded'),
    zero: n((s) => s.status === 'load_failed' || s.status === 'rejected'),
    notGradable: n((s) => s.status === 'not_gradable'),
    running: n((s) => s.status === 'running' && (!started || started.has(s.index))),
    queued: n((s) => s.status === 'queued' || (s.status === 'running' && Boolean(started) && !started!.has(s.index))),
  };
}

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private lastLine = '';
  private readonly t0 = Date.now();
  private firstDone: number | null = null;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {}

  update(states: SubmissionState[], started?: Set<number>): void {
    if (this.quiet) return;
    const c = countStates(states, started);
    const finished = states.filter((s) => s.status !== 'superseded' && isFinal(s.status)).length;
    const payload = { graded: c.graded, zero: c.zero, ng: c.notGradable, running: c.running, queued: c.queued, left: this.eta(finished, c.total) };
    if (this.stream.isTTY) {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          {
            stream: this.stream,
            format: '{bar} {value}/{total} | graded {graded} | zero {zero} | not gradable {ng} | running {running} | queued {queued} | ETA {left}',
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(c.total, finished, payload);
      } else {
        this.bar.setTotal(c.total);
        this.bar.update(finished, payload);
      }
      return;
    }
    const line = `[${finished}/${c.total}] graded ${c.graded}, zero ${c.zero}, not gradable ${c.notGradable}, running ${c.running}, queued ${c.queued}, ETA ${payload.left}`;
    if (line !== this.lastLine) this.stream.write(line + '\n');
    this.lastLine = line;
  }

  /**
   * Time left at the rate seen so far: the time per finished submission since this run started
   * (submissions finished by an earlier run of the batch are not counted in the rate).
   */
  private eta(finished: number, total: number): string {
    this.firstDone ??= finished;
    const done = finished - this.firstDone;
    if (finished >= total) return '0s';
    if (done <= 0) return '...';
    const s = Math.round((((Date.now() - this.t0) / done) * (total - finished)) / 1000);
    return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
  }

  /** A line above the bar. */
  log(line: string): void {
    if (this.quiet) return;
    if (this.bar) {
      // cli-progress redraws on the next update; clear the line first so the text is not mixed in.
      this.stream.write('\r\x1b[2K' + line + '\n');
      this.bar.render();
    } else this.stream.write(line + '\n');
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
