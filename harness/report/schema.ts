// The schema of run.json: everything a run measured. Validated before every write, so a
// malformed record is a harness error, never a file someone grades from. Documented in
// harness/report/FORMATS.md.
import { z } from 'zod';

const num = z.number();
const details = z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]));

export const summarySchema = z.object({
  n: z.number().int(),
  median: num,
  iqr: num,
  p10: num,
  p90: num,
  min: num,
  max: num,
  spread: num,
});

export const caseSchema = z.object({
  id: z.string(),
  task: z.string(),
  index: z.number().int(),
  label: z.string(),
  visibility: z.enum(['public', 'hidden']),
  /** Public cases only: hidden seeds are not written down. */
  seed: z.number().int().nullable(),
  params: z.unknown(),
  status: z.enum(['passed', 'failed']),
  /** Why it failed: wrong_output, exception, bad_output, timeout, crash, out_of_memory, exit, protocol, missing_export, load_error. */
  kind: z.string().nullable(),
  message: z.string(),
  details: details.optional(),
  ms: num.nullable(),
  peak_bytes: num.nullable(),
  leaked_tensors: z.number().int().nullable(),
});

export const implMeasureSchema = z.object({
  impl: z.string(),
  ok: z.boolean(),
  message: z.string(),
  summary: summarySchema.nullable(),
  samples_ms: z.array(num),
  round_medians_ms: z.array(num),
  wall_ms: num,
  metrics: z.record(z.string(), num),
});

export const perfSchema = z.object({
  task: z.string(),
  label: z.string(),
  params: z.unknown(),
  graded: z.boolean(),
  impls: z.array(implMeasureSchema),
  speedup_vs_reference: num.nullable(),
  flags: z.array(z.string()),
});

/** A task's speedup over the reference for grading, from its graded timed cases. */
export const perfTaskSchema = z.object({
  task: z.string(),
  speedup_vs_reference: num.nullable(),
  basis: z.string(),
});

export const taskScoreSchema = z.object({
  task: z.string(),
  title: z.string(),
  correctness: num,
  correctness_max: num,
  performance: num,
  performance_max: num,
  note: z.string(),
});

export const runSchema = z.object({
  schema: z.literal('mlsys.run/1'),
  status: z.enum(['running', 'complete', 'load_failed', 'not_gradable']),
  mode: z.enum(['test', 'grade', 'bench']),
  project: z.string(),
  submission: z.object({ path: z.string(), entry: z.string().nullable() }),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  options: z.object({
    hidden: z.boolean(),
    /** A short digest of the grader secret (not the secret): --resume reuses hidden cases only from the same one. */
    secret_digest: z.string().nullable(),
    backend: z.string(),
    sandbox: z.string(),
    timeout_scale: num,
    tasks: z.array(z.string()).nullable(),
    case: z.string().nullable(),
  }),
  device: z.record(z.string(), z.unknown()),
  versions: z.record(z.string(), z.string()),
  cases: z.array(caseSchema),
  perf: z.array(perfSchema),
  perf_tasks: z.array(perfTaskSchema),
  score: z
    .object({ total: num, max: num, tasks: z.array(taskScoreSchema) })
    .nullable(),
  warnings: z.array(z.string()),
  output: z.object({ stdout: z.string(), stderr: z.string() }),
  /** test only: tsc's errors in the submission (advisory), or why it was not checked. */
  type_check: z.union([z.object({ errors: z.array(z.string()) }), z.object({ skipped: z.string() })]).optional(),
  not_gradable_reason: z.string().nullable(),
});

export type RunRecord = z.infer<typeof runSchema>;
export type CaseRecord = z.infer<typeof caseSchema>;
export type PerfRecord = z.infer<typeof perfSchema>;
export type ImplMeasure = z.infer<typeof implMeasureSchema>;
export type TaskScore = z.infer<typeof taskScoreSchema>;
export type PerfTask = z.infer<typeof perfTaskSchema>;

export const benchRecordSchema = z.object({
  project: z.string(),
  task: z.string(),
  impl: z.string(),
  label: z.string(),
  params: z.unknown(),
  metrics: z.record(z.string(), num),
  device: z.record(z.string(), z.unknown()),
});
export const benchSchema = z.array(benchRecordSchema);
export type BenchRecord = z.infer<typeof benchRecordSchema>;
