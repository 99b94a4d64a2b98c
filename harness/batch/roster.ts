// The class list, from Canvas's gradebook export (Student, ID, SIS User ID, SIS Login ID,
// Section): it gives every student a row (even those who handed nothing in) and the ids Canvas
// needs to import grades back.
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { UsageError } from '../projects.ts';
import type { Student } from './discover.ts';

export interface RosterRow {
  name: string;
  canvasId: string;
  sisUserId: string;
  sisLoginId: string;
  section: string;
}

export function readRoster(file: string): RosterRow[] {
  if (!existsSync(file)) throw new UsageError(`roster file not found: ${file}`);
  let rows: Record<string, string>[];
  try {
    rows = parse(readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true, trim: true, bom: true, relax_column_count: true });
  } catch (e) {
    throw new UsageError(`${file}: not a readable CSV (${(e as Error).message})`);
  }
  const cols = Object.keys(rows[0] ?? {});
  for (const c of ['Student', 'ID', 'SIS User ID', 'SIS Login ID'])
    if (!cols.includes(c)) throw new UsageError(`${file}: not a Canvas gradebook export (no '${c}' column; found ${cols.join(', ') || 'nothing'})`);
  return rows
    .filter((r) => r.Student && !/Points Possible/i.test(r.Student) && r.Student !== 'Test Student')
    .map((r) => ({ name: r.Student, canvasId: r.ID ?? '', sisUserId: r['SIS User ID'] ?? '', sisLoginId: r['SIS Login ID'] ?? '', section: r.Section ?? '' }));
}

/** The roster row of a student known from submissions: by SIS user id, login or email. */
export function matchRoster(roster: RosterRow[], s: Student): RosterRow | undefined {
  const local = s.email?.split('@')[0] ?? null;
  return roster.find(
    (r) =>
      (s.sid && r.sisUserId === s.sid) ||
      (s.email && (r.sisLoginId === s.email || r.sisLoginId === local)) ||
      r.sisLoginId === s.id ||
      r.sisUserId === s.id ||
      (r.canvasId && r.canvasId === s.id),
  );
}

/** A student for a roster row nobody's submission names. */
export function rosterStudent(r: RosterRow): Student {
  return { id: r.sisUserId || r.sisLoginId || r.canvasId, name: r.name, email: r.sisLoginId.includes('@') ? r.sisLoginId : null, sid: r.sisUserId || null };
}
