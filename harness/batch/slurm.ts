// Slurm: job arrays through sbatch, polled with `scontrol show job` (which keeps finished jobs for
// MinJobAge, and needs no accounting database, unlike sacct), cancelled with scancel.
import { execa } from 'execa';
import { mkdirSync } from 'node:fs';
import { UsageError } from '../projects.ts';
import { shq } from '../shell.ts';
import { sleep, taskKey, type ArraySpec, type JobRef, type Scheduler, type TaskPhase, type TaskReport } from './scheduler.ts';
import type { SlurmOptions } from './state.ts';

/** A fault of the cluster or of the batch's options (sbatch refused, Slurm not answering). */
export class SlurmError extends Error {}

const PENDING = ['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'RESIZING'];
const RUNNING = ['RUNNING', 'COMPLETING', 'SIGNALING', 'STAGE_OUT', 'SUSPENDED', 'STOPPED'];
const ENDED = ['COMPLETED', 'FAILED'];
// Everything else (TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, CANCELLED, PREEMPTED, BOOT_FAIL, DEADLINE...)
// is Slurm ending the task: a machine or limit problem, retried.

export function phaseOf(state: string): TaskPhase {
  const s = state.replace(/\+$/, ''); // "CANCELLED+" and the like
  if (PENDING.includes(s)) return 'pending';
  if (RUNNING.includes(s)) return 'running';
  if (ENDED.includes(s)) return 'ended';
  return 'died';
}

/** "0-3,7,9-10%2" -> [0, 1, 2, 3, 7, 9, 10] */
export function expandTaskIds(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split('%')[0].split(',')) {
    const m = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    const step = m[3] ? Number(m[3]) : 1;
    for (let i = a; i <= b; i += step) out.push(i);
  }
  return out;
}

/** [0, 1, 2, 3, 7, 9, 10] -> "0-3,7,9-10": what --array takes. */
export function compressIds(ids: number[]): string {
  const s = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** One line of `scontrol -o show job`: its Key=Value fields. */
export function parseScontrolLine(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)=(\S*)/g)) if (!(m[1] in out)) out[m[1]] = m[2];
  return out;
}

export interface SlurmSchedulerOptions extends SlurmOptions {
  /** Array tasks at once (--array=...%N); null for no limit. */
  throttle: number | null;
}

export class SlurmScheduler implements Scheduler {
  readonly name = 'slurm';
  readonly detached = true;
  private maxArray: number | null = null;

  constructor(
    private readonly opt: SlurmSchedulerOptions,
    private readonly pollMs = 10_000,
  ) {}

  /** Slurm's MaxArraySize: array task ids must be below it. */
  private async maxArraySize(): Promise<number> {
    if (this.maxArray !== null) return this.maxArray;
    const r = await execa('scontrol', ['show', 'config'], { reject: false });
    const m = /MaxArraySize\s*=\s*(\d+)/.exec(r.stdout ?? '');
    this.maxArray = m ? Number(m[1]) : 1001;
    return this.maxArray;
  }

  /** The sbatch command line for one array (without the script), for the README and the tests. */
  sbatchArgs(spec: ArraySpec, ids: number[], offset: number): string[] {
    const o = this.opt;
    return [
      '--parsable',
      `--array=${compressIds(ids)}${this.opt.throttle ? `%${this.opt.throttle}` : ''}`,
      `--job-name=${spec.name}`,
      `--output=${spec.logDir}/%A_%a.log`,
      `--time=${o.time_minutes}`,
      `--mem=${o.mem}`,
      `--cpus-per-task=${o.cpus}`,
      ...(o.gres ? [`--gres=${o.gres}`] : []),
      ...(o.partition ? [`--partition=${o.partition}`] : []),
      ...(o.account ? [`--account=${o.account}`] : []),
      `--export=ALL,MLSYS_INDEX_OFFSET=${offset}`,
      ...o.extra,
    ];
  }

  async submit(spec: ArraySpec): Promise<JobRef[]> {
    // Slurm fails a task at launch (JobLaunchFailure) when its --output folder is missing.
    mkdirSync(spec.logDir, { recursive: true });
    const max = await this.maxArraySize();
    // Array task ids must stay below MaxArraySize: larger indices go in further arrays, each
    // with an offset that the job script adds back.
    const groups = new Map<number, number[]>();
    for (const i of spec.indices) {
      const base = Math.floor(i / max) * max;
      groups.set(base, [...(groups.get(base) ?? []), i]);
    }
    const jobs: JobRef[] = [];
    for (const [offset, indices] of groups) {
      const args = [...this.sbatchArgs(spec, indices.map((i) => i - offset), offset), spec.script];
      const r = await execa('sbatch', args, { reject: false });
      if (r.exitCode !== 0) {
        throw new SlurmError(`sbatch refused the job (exit ${r.exitCode}): ${(r.stderr || r.stdout || '').trim()}\n  command: sbatch ${args.map(shq).join(' ')}`);
      }
      const id = r.stdout.trim().split(';')[0];
      if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch printed no job id: ${r.stdout.trim()}`);
      jobs.push({ id, indices: [...indices] });
    }
    return jobs;
  }

  /** The offset of an array submitted by submit(): all its indices share one MaxArraySize block. */
  private async offsetOf(job: JobRef): Promise<number> {
    const max = await this.maxArraySize();
    return job.indices.length ? Math.floor(Math.min(...job.indices) / max) * max : 0;
  }

  async poll(jobs: JobRef[]): Promise<Map<string, TaskReport>> {
    const out = new Map<string, TaskReport>();
    for (const j of jobs) {
      const r = await execa('scontrol', ['-o', 'show', 'job', j.id], { reject: false });
      const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
      if (r.exitCode !== 0) {
        if (/Invalid job id/i.test(text)) {
          for (const i of j.indices) out.set(taskKey(j.id, i), { phase: 'lost', detail: 'no longer known to Slurm (finished more than MinJobAge ago, or cancelled while pending)' });
          continue;
        }
        throw new SlurmError(`scontrol show job ${j.id} failed: ${text.trim()}`);
      }
      const offset = await this.offsetOf(j);
      const seen = new Map<number, TaskReport>();
      for (const line of (r.stdout ?? '').split('\n')) {
        if (!line.trim()) continue;
        const f = parseScontrolLine(line);
        if (f.ArrayJobId !== j.id || f.ArrayTaskId === undefined) continue;
        const state = f.JobState ?? 'UNKNOWN';
        const detail = [state, f.Reason && f.Reason !== 'None' ? `(${f.Reason})` : '', f.NodeList && f.NodeList !== '(null)' ? `on ${f.NodeList}` : '', f.ExitCode ? `exit ${f.ExitCode}` : '']
          .filter(Boolean)
          .join(' ');
        for (const t of expandTaskIds(f.ArrayTaskId)) seen.set(t + offset, { phase: phaseOf(state), detail });
      }
      for (const i of j.indices)
        out.set(taskKey(j.id, i), seen.get(i) ?? { phase: 'lost', detail: 'not in the job any more (cancelled while pending?)' });
    }
    return out;
  }

  async cancel(job: JobRef): Promise<void> {
    const offset = await this.offsetOf(job);
    const ids = job.indices.map((i) => i - offset).filter((i) => i >= 0);
    const target = ids.length ? `${job.id}_[${compressIds(ids)}]` : job.id;
    const r = await execa('scancel', [target], { reject: false });
    if (r.exitCode !== 0 && !/Invalid job id|already completing or completed/i.test(r.stderr ?? '')) throw new SlurmError(`scancel ${target} failed: ${(r.stderr ?? '').trim()}`);
  }

  wait(ms: number): Promise<void> {
    return sleep(Math.min(ms, this.pollMs));
  }

  /**
   * Cancels jobs with the batch's name that the batch has no record of: submitted by a grader
   * killed between sbatch's answer and writing it down. Left alone they would grade the same
   * submissions as the resubmitted tasks, into the same folders.
   */
  async cancelStrays(name: string, known: Set<string>): Promise<string[]> {
    const r = await execa('squeue', ['-h', `--name=${name}`, '-o', '%F'], { reject: false });
    if (r.exitCode !== 0) return [];
    const strays = [...new Set((r.stdout ?? '').split('\n').map((l) => l.trim()).filter((id) => /^\d+$/.test(id) && !known.has(id)))];
    for (const id of strays) await this.cancel({ id, indices: [] });
    return strays;
  }
}

/** Is Slurm usable from here (sbatch on PATH and a controller that answers)? */
export async function slurmProblem(): Promise<string | null> {
  const r = await execa('scontrol', ['ping'], { reject: false }).catch(() => null);
  if (!r || (r as { failed?: boolean; exitCode?: number }).exitCode === undefined) return 'Slurm is not installed here (no scontrol on PATH)';
  if (r.exitCode !== 0 || !/is UP/.test(r.stdout ?? '')) return `the Slurm controller does not answer (scontrol ping: ${(r.stdout || r.stderr || '').trim() || `exit ${r.exitCode}`}); is SLURM_CONF set?`;
  return null;
}

export function checkTimeLimit(text: string): number {
  // minutes, or [D-]HH:MM[:SS] as sbatch takes it
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const m = /^(?:(\d+)-)?(\d+):(\d{2})(?::(\d{2}))?$/.exec(t);
  if (!m) throw new UsageError(`--time-limit '${text}': minutes, or [D-]HH:MM[:SS]`);
  return Number(m[1] ?? 0) * 1440 + Number(m[2]) * 60 + Number(m[3]) + Math.ceil(Number(m[4] ?? 0) / 60);
}
