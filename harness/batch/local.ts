// The local pool: the scheduler for one machine. Runs the batch's job script for at most N tasks
// at a time, each in its own process group, so one submission's crash never touches another and
// a stopped batch can take its whole grading (and the submission's processes) down with it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sleep, taskKey, type ArraySpec, type JobRef, type Scheduler, type TaskReport } from './scheduler.ts';

interface Queued {
  job: string;
  index: number;
  spec: ArraySpec;
}

export class LocalPool implements Scheduler {
  readonly name = 'local';
  readonly detached = false;
  private queue: Queued[] = [];
  private running = new Map<string, ChildProcess>();
  private reports = new Map<string, TaskReport>();
  private jobs = new Set<string>();
  private seq = 0;
  private wake: (() => void) | null = null;

  /** `pidDir`: where each task's process id is kept, so that a later run can stop an orphan. */
  constructor(
    readonly concurrency: number,
    private readonly pidDir: string,
  ) {
    // The children are process-group leaders of their own: stop them when this process ends.
    process.once('exit', () => this.killAll('SIGTERM'));
  }

  async submit(spec: ArraySpec): Promise<JobRef[]> {
    const id = `local-${process.pid}-${Date.now().toString(36)}-${++this.seq}`;
    this.jobs.add(id);
    for (const index of spec.indices) {
      this.queue.push({ job: id, index, spec });
      this.reports.set(taskKey(id, index), { phase: 'pending', detail: 'queued' });
    }
    this.pump();
    return [{ id, indices: [...spec.indices] }];
  }

  private pump(): void {
    while (this.running.size < this.concurrency && this.queue.length) this.start(this.queue.shift()!);
  }

  private start(q: Queued): void {
    const key = taskKey(q.job, q.index);
    mkdirSync(q.spec.logDir, { recursive: true });
    mkdirSync(this.pidDir, { recursive: true });
    const log = openSync(path.join(q.spec.logDir, `${q.job}_${q.index}.log`), 'a');
    const child = spawn('bash', [q.spec.script], {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, MLSYS_TASK_INDEX: String(q.index), MLSYS_JOB_ID: q.job },
    });
    closeSync(log);
    this.running.set(key, child);
    this.reports.set(key, { phase: 'running', detail: `pid ${child.pid}` });
    if (child.pid) writeFileSync(path.join(this.pidDir, String(q.index)), `${child.pid} ${q.job}\n`);
    const finish = (report: TaskReport) => {
      if (!this.running.has(key)) return;
      this.running.delete(key);
      this.reports.set(key, report);
      this.pump();
      this.wake?.();
    };
    child.on('error', (e) => finish({ phase: 'died', detail: `could not start the job script: ${e.message}` }));
    child.on('exit', (code, signal) =>
      finish(signal ? { phase: 'died', detail: `killed by ${signal}` } : { phase: 'ended', detail: `exit ${code}` }),
    );
  }

  async poll(jobs: JobRef[]): Promise<Map<string, TaskReport>> {
    const out = new Map<string, TaskReport>();
    for (const j of jobs)
      for (const i of j.indices) {
        const key = taskKey(j.id, i);
        out.set(key, this.jobs.has(j.id) ? (this.reports.get(key) ?? { phase: 'lost', detail: 'unknown task' }) : { phase: 'lost', detail: 'started by an earlier run of the batch' });
      }
    return out;
  }

  async cancel(job: JobRef): Promise<void> {
    if (!this.jobs.has(job.id)) {
      for (const i of job.indices) await killOrphan(this.pidDir, job.id, i);
      return;
    }
    const mine = new Set(job.indices);
    this.queue = this.queue.filter((q) => !(q.job === job.id && mine.has(q.index)));
    for (const i of job.indices) {
      const key = taskKey(job.id, i);
      const child = this.running.get(key);
      if (child?.pid) killGroup(child.pid, 'SIGTERM');
      else if (this.reports.get(key)?.phase === 'pending') this.reports.set(key, { phase: 'died', detail: 'CANCELLED' });
    }
  }

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  killAll(signal: NodeJS.Signals): void {
    this.queue = [];
    for (const c of this.running.values()) if (c.pid) killGroup(c.pid, signal);
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * A task of an earlier run of this batch whose controller was killed may still be grading.
 * It is stopped (process group and all) only when its pid is still that task's job script:
 * the pid file names the job, and the process's environment must say the same.
 */
export async function killOrphan(pidDir: string, job: string, index: number): Promise<boolean> {
  const f = path.join(pidDir, String(index));
  if (!existsSync(f)) return false;
  const [pidText, fileJob] = readFileSync(f, 'utf8').trim().split(' ');
  const pid = Number(pidText);
  if (!(pid > 1) || fileJob !== job) return false;
  const ours = () => {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      return env.includes(`MLSYS_JOB_ID=${job}`) && env.includes(`MLSYS_TASK_INDEX=${index}`);
    } catch {
      return false; // not running (or not ours to read)
    }
  };
  if (!ours()) return false;
  // SIGTERM first: the grade stops the submission's processes on its way out.
  killGroup(pid, 'SIGTERM');
  for (let i = 0; i < 50 && ours(); i++) await sleep(100);
  if (ours()) killGroup(pid, 'SIGKILL');
  return true;
}
