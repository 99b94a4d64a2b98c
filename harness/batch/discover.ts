// What is in a submissions folder: one entry per sub-folder, .zip, .tar.gz or .tgz, who it
// belongs to and when it was handed in. Times come from Gradescope's submission_metadata.json
// or a timestamps CSV, never from when grading runs. Metadata is trusted only when it sits
// outside the student's code (a student could put any file inside their own archive):
//
//   NAME/submission_metadata.json + NAME/submission/ (or NAME/submission.zip): Gradescope's layout
//   NAME.zip + NAME.submission_metadata.json                                   : beside an archive
//   NAME/ or NAME.zip or NAME.tar.gz alone                                     : student = NAME up to "__"
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { UsageError } from '../projects.ts';
import { archiveKind, type ArchiveKind } from './unpack.ts';

export const studentSchema = z.object({
  /** The key of the student's gradebook row: Gradescope's sid, else the email, else the entry's name. */
  id: z.string(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  sid: z.string().nullable(),
});
export type Student = z.infer<typeof studentSchema>;

export interface Entry {
  /** The file or folder name in the submissions folder. */
  name: string;
  /** The code: a folder, or an archive to unpack. */
  source: string;
  kind: 'folder' | ArchiveKind;
  students: Student[];
  /** ISO 8601 with offset, or null when unknown. */
  submittedAt: string | null;
  timeSource: 'metadata' | 'timestamps' | null;
  /** sha256 of the code (an archive's bytes; a folder's paths and contents). */
  hash: string;
  /** The name of its result folder: stable for the same code, new for a resubmission. */
  key: string;
}

export interface Discovery {
  entries: Entry[];
  /** Things in the folder that are not submissions, or could not be read: shown, not fatal. */
  notes: string[];
}

const METADATA = 'submission_metadata.json';
const SIDE_METADATA = '.submission_metadata.json';

const metadataSchema = z
  .object({
    created_at: z.string().optional(),
    users: z.array(z.object({ name: z.string().nullish(), email: z.string().nullish(), sid: z.union([z.string(), z.number()]).nullish() }).loose()).optional(),
  })
  .loose();

export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 60) || 'submission';
}

function stem(name: string): string {
  return name.replace(/\.(zip|tar\.gz|tgz)$/i, '');
}

/** A student named by the entry itself: `alice`, or `alice__resubmitted` for a second try. */
function studentFromName(name: string): Student {
  const id = stem(name).split('__')[0] || stem(name);
  return { id, name: null, email: null, sid: null };
}

/** Reads a time as an instant: ISO 8601 (an offset, or the course's zone when it has none). */
export function parseTime(text: string, zone: string): DateTime | null {
  const t = text.trim();
  if (!t) return null;
  const iso = DateTime.fromISO(t.replace(' ', 'T'), { zone, setZone: true });
  if (iso.isValid) return iso;
  const sql = DateTime.fromSQL(t, { zone, setZone: true });
  return sql.isValid ? sql : null;
}

function readMetadata(file: string, zone: string, notes: string[]): { students: Student[]; at: string | null } | null {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    notes.push(`${file}: not valid JSON (${(e as Error).message}); ignored`);
    return null;
  }
  const r = metadataSchema.safeParse(raw);
  if (!r.success) {
    notes.push(`${file}: not in Gradescope's submission_metadata.json format; ignored`);
    return null;
  }
  const students = (r.data.users ?? []).map((u) => {
    const sid = u.sid == null || u.sid === '' ? null : String(u.sid);
    const email = u.email || null;
    return { id: sid ?? email ?? u.name ?? '', name: u.name || null, email, sid };
  });
  let at: string | null = null;
  if (r.data.created_at) {
    const t = parseTime(r.data.created_at, zone);
    if (t) at = t.toISO();
    else notes.push(`${file}: created_at '${r.data.created_at}' is not a time; treated as unknown`);
  }
  return { students: students.filter((s) => s.id), at };
}

export function hashSource(source: string): string {
  const h = createHash('sha256');
  if (statSync(source).isFile()) return h.update(readFileSync(source)).digest('hex');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name === 'node_modules' || name === '.git') continue;
      const p = path.join(d, name);
      const st = lstatSync(p);
      const rel = path.relative(source, p);
      if (st.isDirectory()) walk(p);
      else if (st.isSymbolicLink()) h.update(`L${rel}\0`);
      else if (st.isFile()) h.update(`F${rel}\0${st.size}\0`).update(readFileSync(p));
    }
  };
  walk(source);
  return h.digest('hex');
}

/** One row of a timestamps CSV: which entry or student, and when. */
export interface Stamp {
  entry: string | null;
  student: string | null;
  at: string;
}

const ENTRY_COLS = ['entry', 'submission', 'file', 'folder'];
const STUDENT_COLS = ['student', 'sid', 'email', 'id'];
const TIME_COLS = ['submitted_at', 'created_at', 'submission_time', 'time', 'timestamp'];

/** Reads a timestamps CSV (header row; an entry or student column and a time column). */
export function readTimestamps(file: string, zone: string): Stamp[] {
  if (!existsSync(file)) throw new UsageError(`timestamps file not found: ${file}`);
  let rows: Record<string, string>[];
  try {
    rows = parse(readFileSync(file, 'utf8'), { columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), skip_empty_lines: true, trim: true, bom: true });
  } catch (e) {
    throw new UsageError(`${file}: not a readable CSV (${(e as Error).message})`);
  }
  const cols = Object.keys(rows[0] ?? {});
  const pick = (names: string[]) => names.find((n) => cols.includes(n)) ?? null;
  const ec = pick(ENTRY_COLS);
  const sc = pick(STUDENT_COLS);
  const tc = pick(TIME_COLS);
  if (!tc || (!ec && !sc))
    throw new UsageError(`${file}: needs a time column (${TIME_COLS.join(' or ')}) and an entry (${ENTRY_COLS.join(' or ')}) or student (${STUDENT_COLS.join(' or ')}) column; found: ${cols.join(', ') || 'nothing'}`);
  return rows.map((r, i) => {
    const t = parseTime(r[tc] ?? '', zone);
    if (!t) throw new UsageError(`${file}, row ${i + 2}: '${r[tc]}' is not a time (use ISO 8601, e.g. 2026-10-16T18:30:00-04:00)`);
    return { entry: ec ? r[ec] || null : null, student: sc ? r[sc] || null : null, at: t.toISO()! };
  });
}

export interface DiscoverOptions {
  timeZone: string;
  stamps?: Stamp[];
}

/** Lists the entries of a submissions folder, in name order. */
export function discoverSubmissions(dir: string, opt: DiscoverOptions): Discovery {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`submissions folder not found: ${dir}`);
  const notes: string[] = [];
  const entries: Entry[] = [];
  const used = new Set<Stamp>();
  const names = readdirSync(dir).sort();
  for (const name of names) {
    if (name.startsWith('.') || name.endsWith(SIDE_METADATA)) continue;
    const full = path.join(dir, name);
    const st = statSync(full, { throwIfNoEntry: false });
    if (!st) continue;
    let source = full;
    let kind: Entry['kind'] | null = st.isDirectory() ? 'folder' : archiveKind(name);
    let meta: ReturnType<typeof readMetadata> = null;
    if (!kind) {
      notes.push(`${name}: not a folder, .zip, .tar.gz or .tgz; skipped`);
      continue;
    }
    if (kind === 'folder' && existsSync(path.join(full, METADATA))) {
      meta = readMetadata(path.join(full, METADATA), opt.timeZone, notes);
      const inner = ['submission', 'submission.zip', 'submission.tar.gz', 'submission.tgz'].map((n) => path.join(full, n)).find((p) => existsSync(p));
      if (!inner) {
        notes.push(`${name}: has ${METADATA} but no submission/ folder or submission.zip beside it; skipped`);
        continue;
      }
      source = inner;
      kind = statSync(inner).isDirectory() ? 'folder' : archiveKind(inner)!;
    } else if (kind !== 'folder') {
      const side = path.join(dir, stem(name) + SIDE_METADATA);
      if (existsSync(side)) meta = readMetadata(side, opt.timeZone, notes);
    }
    const students = meta?.students.length ? meta.students : [studentFromName(name)];
    let submittedAt = meta?.at ?? null;
    let timeSource: Entry['timeSource'] = submittedAt ? 'metadata' : null;
    // A timestamps CSV is the course staff's word (an extension, a correction): it wins.
    const stamp =
      opt.stamps?.find((s) => s.entry !== null && (s.entry === name || s.entry === stem(name))) ??
      opt.stamps?.find((s) => s.student !== null && students.some((x) => [x.id, x.sid, x.email].includes(s.student)));
    if (stamp) {
      submittedAt = stamp.at;
      timeSource = 'timestamps';
      used.add(stamp);
    }
    const hash = hashSource(source);
    entries.push({ name, source, kind, students, submittedAt, timeSource, hash, key: `${safeName(stem(name))}-${hash.slice(0, 10)}` });
  }
  // A row that names nothing here is most likely a typo: its submission would count as untimed.
  for (const s of opt.stamps ?? [])
    if (!used.has(s)) {
      const who = s.entry !== null ? `entry '${s.entry}'` : s.student !== null ? `student '${s.student}'` : 'a row with neither entry nor student';
      notes.push(`timestamps: ${who} (${s.at}) matches no submission here, or another row for it came first; ignored`);
    }
  const untimed = entries.filter((e) => !e.submittedAt);
  if (untimed.length)
    notes.push(
      `${untimed.length} of ${entries.length} submission(s) have no submission time (no metadata${opt.stamps ? ' and no row in --timestamps' : ', and no --timestamps given'}): their late hours cannot be counted, the gradebook flags them (${untimed.slice(0, 5).map((e) => e.name).join(', ')}${untimed.length > 5 ? ', ...' : ''})`,
    );
  return { entries, notes };
}
