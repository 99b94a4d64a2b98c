// The folders that test, grade and bench runs leave under results/ (one per run, never removed
// behind the user's back): listing them, and removing the older ones when the user asks
// (`mlsys clean`). Only folders whose name the harness gave (<project>-<mode>-<time>) are
// touched; a folder chosen with --out, a batch's folder or anything else is left alone.
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../bytes.ts';

export type RunMode = 'test' | 'grade' | 'bench';

export interface RunFolder {
  name: string;
  dir: string;
  project: string;
  mode: RunMode;
  /** The time in its name (an ISO time with ':' and '.' as '-'), which sorts as the time does. */
  stamp: string;
  bytes: number;
  /** When a file in it was last written (a run writes run.json after every case). */
  mtimeMs: number;
}

const NAME = /^([a-z0-9][a-z0-9_-]*?)-(test|grade|bench)-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z)$/;

/** Bytes in a folder's plain files, and when the last was written (links are not followed). */
function sizeOf(dir: string): { bytes: number; mtimeMs: number } {
  const o = { bytes: 0, mtimeMs: lstatSync(dir).mtimeMs };
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const d = sizeOf(p);
      o.bytes += d.bytes;
      o.mtimeMs = Math.max(o.mtimeMs, d.mtimeMs);
    } else if (e.isFile()) {
      const st = lstatSync(p);
      o.bytes += st.size;
      o.mtimeMs = Math.max(o.mtimeMs, st.mtimeMs);
    }
  }
  return o;
}

/** The run folders in `results`, oldest first; none if it does not exist. */
export function listRuns(results: string): RunFolder[] {
  let entries;
  try {
    entries = readdirSync(results, { withFileTypes: true });
  } catch {
    return [];
  }
  const runs: RunFolder[] = [];
  for (const e of entries) {
    const m = NAME.exec(e.name);
    if (!m || !e.isDirectory()) continue;
    const dir = path.join(results, e.name);
    runs.push({ name: e.name, dir, project: m[1]!, mode: m[2] as RunMode, stamp: m[3]!, ...sizeOf(dir) });
  }
  return runs.sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : a.name.localeCompare(b.name)));
}

export interface CleanPlan {
  remove: RunFolder[];
  keep: RunFolder[];
}

/**
 * Which runs to remove: all but the newest `keep` of each project and mode. Grade runs are kept
 * unless `grades` is set (a grade run's results.json may be what someone hands in or resumes).
 */
/** A run folder written to this recently may belong to a run still going: it is never removed. */
export const BUSY_MS = 10 * 60 * 1000;

export function planClean(runs: RunFolder[], o: { keep: number; grades: boolean; now?: number }): CleanPlan {
  const groups = new Map<string, RunFolder[]>();
  for (const r of runs) {
    const k = `${r.project}-${r.mode}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const remove: RunFolder[] = [];
  for (const g of groups.values()) {
    if (g[0]!.mode === 'grade' && !o.grades) continue;
    remove.push(...g.slice(0, Math.max(0, g.length - o.keep)).filter((r) => (o.now ?? Date.now()) - r.mtimeMs > BUSY_MS));
  }
  const gone = new Set(remove);
  return { remove: runs.filter((r) => gone.has(r)), keep: runs.filter((r) => !gone.has(r)) };
}

export function removeRuns(plan: CleanPlan): void {
  for (const r of plan.remove) rmSync(r.dir, { recursive: true, force: true });
}

/** How many test and bench runs pile up before a run's report suggests `mlsys clean`. */
export const CLEAN_HINT_AT = 20;

/** A line for the end of a run's report when results/ holds many test and bench runs; null if not. */
export function cleanHint(results: string): string | null {
  let runs: RunFolder[];
  try {
    runs = listRuns(results).filter((r) => r.mode !== 'grade');
  } catch {
    return null; // an unreadable entry: a hint is not worth failing a finished run for
  }
  if (runs.length < CLEAN_HINT_AT) return null;
  const bytes = runs.reduce((s, r) => s + r.bytes, 0);
  return `${path.relative(process.cwd(), results) || results} holds ${runs.length} test and bench runs (${formatBytes(bytes)}): \`npx mlsys clean\` removes all but the newest ${DEFAULT_KEEP} of each project and command.`;
}

export const DEFAULT_KEEP = 3;
