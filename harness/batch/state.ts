// What a batch keeps on disk, so that killing the grader loses nothing:
//   OUT/batch.json               the batch: project, options, every entry ever seen, jobs submitted
//   OUT/manifest.tsv             index -> submission code and result folder (read by the job script)
//   OUT/subs/<key>/state.json    one submission: status, attempts, score (written by the controller)
//   OUT/subs/<key>/done.json     written by the job script when `mlsys grade` returned
// Every file is written atomically (a temporary file, then a rename).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeAtomic, writeJson } from '../report/write.ts';
import { studentSchema } from './discover.ts';

export const slurmOptionsSchema = z.object({
  partition: z.string().nullable(),
  account: z.string().nullable(),
  time_minutes: z.number().int().positive(),
  mem: z.string(),
  cpus: z.number().int().positive(),
  /** null: no --gres. */
  gres: z.string().nullable(),
  extra: z.array(z.string()),
  /** An Apptainer image to grade in, or null to run the harness of this checkout. */
  container: z.string().nullable(),
});
export type SlurmOptions = z.infer<typeof slurmOptionsSchema>;

export const batchSchema = z.object({
  schema: z.literal('mlsys.batch/1'),
  /** A random token: names the batch's Slurm jobs. */
  id: z.string(),
  project: z.string(),
  project_title: z.string(),
  submissions_dir: z.string(),
  created_at: z.string(),
  options: z.object({
    scheduler: z.enum(['local', 'slurm']),
    hidden: z.boolean(),
    /** Digest of the grader secret of --hidden (harness/staff.ts): a resume must use the same one. */
    secret_digest: z.string().nullable().default(null),
    sandbox: z.string(),
    tasks: z.array(z.string()).nullable(),
    regrade: z.enum(['latest', 'best']),
    /** Passed to every `mlsys grade` after the submission, --out and --resume. */
    grade_args: z.array(z.string()),
    max_attempts: z.number().int().positive(),
    /** Halt the batch after faults in this many different submissions in a row, none graded between; 0: never. */
    halt_after: z.number().int().nonnegative().default(5),
    /** Local: gradings at once. Slurm: the array's throttle (%N), or null for none. */
    concurrency: z.number().int().positive().nullable(),
    timestamps: z.string().nullable(),
    /** The course's policies file the batch was run with (time zone, gradebook), or null for none. */
    course: z.string().nullable().default(null),
    slurm: slurmOptionsSchema.nullable(),
  }),
  /** Every entry seen, in order of first sight; an entry's index is its line in manifest.tsv. */
  entries: z.array(z.object({ index: z.number().int(), key: z.string(), name: z.string(), current: z.boolean() })),
  jobs: z.array(z.object({ id: z.string(), scheduler: z.string(), indices: z.array(z.number().int()), submitted_at: z.string() })),
  /** Set by --cancel, or by a halt: nothing is submitted until --resume. */
  cancelled: z.boolean(),
  /** Why the batch halted by itself (faults in submission after submission: a broken node or install), or null. */
  halted: z.string().nullable().default(null),
  /** When it halted on submissions that could not load for want of a package: that package; later such zeros are held back too. */
  held_package: z.string().nullable().default(null),
});
export type Batch = z.infer<typeof batchSchema>;

export const FINAL = ['graded', 'load_failed', 'rejected', 'not_gradable', 'superseded'] as const;
export const statusSchema = z.enum(['queued', 'running', ...FINAL]);
export type SubmissionStatus = z.infer<typeof statusSchema>;

export const attemptSchema = z.object({
  scheduler: z.string(),
  job: z.string(),
  /** `exit N` from the grade, or how the scheduler ended it (TIMEOUT, NODE_FAIL, CANCELLED...). */
  outcome: z.string(),
  exit_code: z.number().int().nullable(),
  host: z.string().nullable(),
  ended_at: z.string(),
  /** false when the attempt was cut short by the batch itself being stopped: not held against it. */
  counted: z.boolean(),
});
export type Attempt = z.infer<typeof attemptSchema>;

export const taskPointsSchema = z.object({ task: z.string(), title: z.string(), points: z.number(), max: z.number() });

export const submissionStateSchema = z.object({
  schema: z.literal('mlsys.batch-submission/1'),
  key: z.string(),
  index: z.number().int(),
  name: z.string(),
  source: z.string(),
  kind: z.enum(['folder', 'zip', 'tar.gz']),
  hash: z.string(),
  /** The folder that is graded (an unpacked archive's code), or null before it is known. */
  code_dir: z.string().nullable(),
  students: z.array(studentSchema),
  submitted_at: z.string().nullable(),
  time_source: z.enum(['metadata', 'timestamps']).nullable(),
  status: statusSchema,
  /** The attempt in flight. */
  job: z.object({ scheduler: z.string(), id: z.string(), submitted_at: z.string() }).nullable(),
  attempts: z.array(attemptSchema),
  score: z.object({ total: z.number(), max: z.number(), tasks: z.array(taskPointsSchema) }).nullable(),
  leaderboard: z.array(z.object({ name: z.string(), value: z.number(), order: z.enum(['asc', 'desc']) })),
  /** For a person: why it was rejected, could not load, or is not gradable. */
  message: z.string(),
  /** Notes for the TA (e.g. a speedup flagged as implausible). */
  flags: z.array(z.string()),
  updated_at: z.string(),
});
export type SubmissionState = z.infer<typeof submissionStateSchema>;

export const doneSchema = z.object({ rc: z.number().int(), job: z.string(), task: z.number().int(), host: z.string(), at: z.string() });
export type Done = z.infer<typeof doneSchema>;

export const isFinal = (s: SubmissionStatus): boolean => (FINAL as readonly string[]).includes(s);

export class BatchStore {
  constructor(readonly outDir: string) {}

  get batchFile(): string {
    return path.join(this.outDir, 'batch.json');
  }
  get manifestFile(): string {
    return path.join(this.outDir, 'manifest.tsv');
  }
  get jobScript(): string {
    return path.join(this.outDir, 'job.sh');
  }
  subDir(key: string): string {
    return path.join(this.outDir, 'subs', key);
  }
  resultDir(key: string): string {
    return path.join(this.subDir(key), 'result');
  }

  exists(): boolean {
    return existsSync(this.batchFile);
  }

  readBatch(): Batch {
    return batchSchema.parse(JSON.parse(readFileSync(this.batchFile, 'utf8')));
  }

  writeBatch(b: Batch): void {
    writeJson(this.batchFile, batchSchema, b);
  }

  readState(key: string): SubmissionState | null {
    const f = path.join(this.subDir(key), 'state.json');
    if (!existsSync(f)) return null;
    const r = submissionStateSchema.safeParse(JSON.parse(readFileSync(f, 'utf8')));
    return r.success ? r.data : null;
  }

  writeState(s: SubmissionState): void {
    s.updated_at = new Date().toISOString();
    writeJson(path.join(this.subDir(s.key), 'state.json'), submissionStateSchema, s);
  }

  /** Every submission state in the batch folder, in index order. */
  allStates(): SubmissionState[] {
    const dir = path.join(this.outDir, 'subs');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((k) => this.readState(k))
      .filter((s): s is SubmissionState => s !== null)
      .sort((a, b) => a.index - b.index);
  }

  /** What the job script wrote when `mlsys grade` returned, if it did. */
  readDone(key: string): Done | null {
    const f = path.join(this.subDir(key), 'done.json');
    if (!existsSync(f)) return null;
    try {
      const r = doneSchema.safeParse(JSON.parse(readFileSync(f, 'utf8')));
      return r.success ? r.data : null;
    } catch {
      return null;
    }
  }

  /** index, key, code folder, result folder: one line per entry, read by the job script. */
  writeManifest(rows: { index: number; key: string; codeDir: string | null }[]): void {
    const clean = (s: string) => {
      if (/[\t\n\r]/.test(s)) throw new Error(`internal error: a path with a tab or newline cannot go in the manifest: ${JSON.stringify(s)}`);
      return s;
    };
    const lines = rows.map((r) => [r.index, r.key, clean(r.codeDir ?? '-'), clean(this.subDir(r.key))].join('\t'));
    writeAtomic(this.manifestFile, lines.join('\n') + '\n');
  }
}
