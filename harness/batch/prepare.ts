// Turns a submissions folder into the batch's files: every entry gets an index in manifest.tsv, a
// result folder with its own copy of the code (an archive unpacked, a folder copied: later changes
// to the submissions folder do not change what is graded) and a state. A new batch starts here;
// --resume comes back here, keeps what is finished, and adds what is new.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../projects.ts';
import type { Project } from '../project.ts';
import type { Entry } from './discover.ts';
import { writeJobScript } from './jobscript.ts';
import { BatchStore, isFinal, type Batch, type SubmissionState } from './state.ts';
import { checkFolder, codeRoot, unpackArchive, UnpackError } from './unpack.ts';

export type BatchOptions = Batch['options'];

/** Options that decide what a grade means: a resumed batch must keep them. */
const FIXED: (keyof BatchOptions)[] = ['hidden', 'secret_digest', 'sandbox', 'tasks', 'grade_args'];

function newBatch(project: Project, submissionsDir: string, options: BatchOptions): Batch {
  return {
    schema: 'mlsys.batch/1',
    id: randomBytes(4).toString('hex'),
    project: project.id,
    project_title: project.title,
    submissions_dir: path.resolve(submissionsDir),
    created_at: new Date().toISOString(),
    options,
    entries: [],
    jobs: [],
    cancelled: false,
    halted: null,
    held_package: null,
  };
}

function checkResumable(prev: Batch, project: Project, options: BatchOptions, store: BatchStore): void {
  if (prev.project !== project.id) throw new UsageError(`${store.outDir} holds a batch of ${prev.project}, not ${project.id}`);
  const diff = FIXED.filter((k) => JSON.stringify(prev.options[k]) !== JSON.stringify(options[k]));
  if (diff.length)
    throw new UsageError(
      `--resume: ${diff.join(', ')} ${diff.length > 1 ? 'differ' : 'differs'} from the batch in ${store.outDir} (${diff.map((k) => `${k}: was ${JSON.stringify(prev.options[k])}`).join('; ')}); resume with the same options, or use another --out`,
    );
  if (prev.options.scheduler !== options.scheduler) {
    const running = store.allStates().filter((s) => s.status === 'running');
    if (running.length)
      throw new UsageError(`--resume: ${running.length} submission(s) are still running under ${prev.options.scheduler}; collect them (--collect) or --cancel first`);
  }
}

/** Copies or unpacks an entry's code into its result folder; returns the folder to grade. */
async function stageCode(entry: Entry, store: BatchStore, project: Project): Promise<string> {
  const dest = path.join(store.subDir(entry.key), 'submission');
  rmSync(dest, { recursive: true, force: true });
  if (entry.kind === 'folder') {
    checkFolder(entry.source);
    cpSync(entry.source, dest, { recursive: true, verbatimSymlinks: true, filter: (src) => !['node_modules', '.git'].includes(path.basename(src)) });
  } else await unpackArchive(entry.source, dest);
  return codeRoot(dest, project.entries);
}

function freshState(entry: Entry, index: number): SubmissionState {
  return {
    schema: 'mlsys.batch-submission/1',
    key: entry.key,
    index,
    name: entry.name,
    source: entry.source,
    kind: entry.kind,
    hash: entry.hash,
    code_dir: null,
    students: entry.students,
    submitted_at: entry.submittedAt,
    time_source: entry.timeSource,
    status: 'queued',
    job: null,
    attempts: [],
    score: null,
    leaderboard: [],
    message: '',
    flags: [],
    updated_at: new Date().toISOString(),
  };
}

/**
 * With the `latest` policy, only each student's newest entry in the folder is graded; the others
 * are marked superseded (an entry is superseded when every one of its students has a newer one).
 */
export function supersededKeys(states: SubmissionState[]): Set<string> {
  const order = (s: SubmissionState) => [s.submitted_at ? Date.parse(s.submitted_at) : -Infinity, s.name] as const;
  const newer = (a: SubmissionState, b: SubmissionState) => {
    const [ta, na] = order(a);
    const [tb, nb] = order(b);
    return ta !== tb ? ta > tb : na > nb;
  };
  const out = new Set<string>();
  for (const s of states) {
    const others = states.filter((o) => o !== s);
    if (s.students.every((st) => others.some((o) => o.students.some((x) => x.id === st.id) && newer(o, s)))) out.add(s.key);
  }
  return out;
}

export interface Prepared {
  batch: Batch;
  states: SubmissionState[];
}

export async function prepareBatch(
  store: BatchStore,
  project: Project,
  submissionsDir: string,
  entries: Entry[],
  options: BatchOptions,
  resume: boolean,
  say: (line: string) => void,
): Promise<Prepared> {
  let batch: Batch;
  let wasHalted = false;
  if (store.exists()) {
    if (!resume) throw new UsageError(`${store.outDir} already holds a batch: pass --resume to continue it, --collect to collect it, or choose another --out`);
    const prev = store.readBatch();
    if (prev.options.hidden && prev.options.secret_digest === null) {
      // Written before batches kept the secret's digest: there is nothing to check against.
      say(`--resume: ${store.outDir} does not record which grader secret it was started with; make sure this is the same one (its digest is kept from now on)`);
      prev.options.secret_digest = options.secret_digest;
    }
    checkResumable(prev, project, options, store);
    wasHalted = prev.halted !== null;
    // What the halted run left running is judged under the halt (zeros like the held ones held
    // too), which a resume ends: it is collected first.
    const stillRunning = wasHalted && prev.options.scheduler === 'slurm' ? store.allStates().filter((s) => s.status === 'running').length : 0;
    if (stillRunning)
      throw new UsageError(
        `--resume: the batch halted, and ${stillRunning} of its gradings are still running on Slurm: collect them first (mlsys batch --collect --out ${store.outDir}), then resume`,
      );
    batch = { ...prev, options: { ...options }, submissions_dir: path.resolve(submissionsDir), cancelled: false, halted: null, held_package: null };
  } else {
    if (existsSync(store.outDir) && resume) say(`--resume: no batch in ${store.outDir} yet; starting one`);
    batch = newBatch(project, submissionsDir, options);
  }

  const byKey = new Map(batch.entries.map((e) => [e.key, e]));
  for (const e of batch.entries) e.current = false;
  for (const entry of entries) {
    const known = byKey.get(entry.key);
    if (known) known.current = true;
    else {
      const row = { index: batch.entries.length, key: entry.key, name: entry.name, current: true };
      batch.entries.push(row);
      byKey.set(entry.key, row);
    }
  }
  store.writeBatch(batch);

  const states: SubmissionState[] = [];
  for (const entry of entries) {
    const row = byKey.get(entry.key)!;
    let s = store.readState(entry.key);
    if (!s) s = freshState(entry, row.index);
    else {
      // What the folder says now about who and when (a corrected timestamps CSV, say).
      s.students = entry.students;
      s.submitted_at = entry.submittedAt;
      s.time_source = entry.timeSource;
      s.source = entry.source;
      s.name = entry.name;
    }
    if (s.status === 'queued' && wasHalted && resume) {
      // Held by a halt: the attempts it used met the fault that halted the batch (a broken node,
      // say), not anything of its own. It starts again with a fresh set.
      s.attempts = s.attempts.map((a) => ({ ...a, counted: false }));
      s.message = '';
    }
    if (s.status === 'not_gradable' && resume) {
      // A new run gives a not-gradable submission a fresh set of attempts; the old ones stay on record.
      s.attempts = s.attempts.map((a) => ({ ...a, counted: false }));
      s.status = 'queued';
      s.message = '';
    }
    if (!s.code_dir && !isFinal(s.status)) {
      try {
        s.code_dir = await stageCode(entry, store, project);
      } catch (e) {
        if (!(e instanceof UnpackError)) throw e;
        s.status = 'rejected';
        s.message = `the submission was refused: ${e.message}`;
        s.flags = ['refused when unpacking: check it by hand'];
        s.score = null;
      }
    }
    states.push(s);
  }

  const superseded = options.regrade === 'latest' ? supersededKeys(states) : new Set<string>();
  for (const s of states) {
    if (superseded.has(s.key) && s.status === 'queued') {
      s.status = 'superseded';
      s.message = 'a newer submission by the same student(s) is graded instead (--regrade latest)';
    } else if (!superseded.has(s.key) && s.status === 'superseded') {
      s.status = 'queued';
      s.message = '';
    }
    store.writeState(s);
  }

  // The manifest lists every entry ever seen, so that indices never change under a running job.
  const all = new Map(store.allStates().map((s) => [s.key, s]));
  store.writeManifest(batch.entries.map((e) => ({ index: e.index, key: e.key, codeDir: all.get(e.key)?.code_dir ?? null })));
  writeJobScript(batch, store.outDir, store.jobScript);
  return { batch, states };
}
