// The gradebook's files: gradebook.csv (everything, one row per student), gradebook.json (the
// same, with every note), and canvas.csv (Canvas's gradebook import format: one column per
// project, in points of its weight, and a "Points Possible" row).
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeAtomic } from '../report/write.ts';
import type { Gradebook } from './gradebook.ts';

const num = (x: number | null | undefined) => (x === null || x === undefined ? '' : String(x));

export function gradebookCsv(g: Gradebook): string {
  const header = ['student', 'name', 'email', 'sid'];
  for (const p of g.projects) {
    for (const t of p.tasks) header.push(`${p.id}/${t.id} (of ${t.max})`);
    header.push(`${p.id} score`, `${p.id} max`, `${p.id} status`, `${p.id} submitted at`, `${p.id} late hours`, `${p.id} points${p.weight === null ? '' : ` (of ${p.weight})`}`);
  }
  header.push('late hours used', 'late hours left', `course points (of ${g.course.total_weight})`, 'flags');
  const rows = g.rows.map((r) => {
    // What the submissions did not say, the roster does (its name, its SIS user id).
    const row = [r.student.id, r.student.name ?? r.roster?.name ?? '', r.student.email ?? '', r.student.sid ?? (r.roster?.sisUserId || '')];
    for (const p of g.projects) {
      const c = r.projects[p.id];
      for (const t of p.tasks) row.push(num(c.tasks[t.id]));
      row.push(num(c.score), num(c.max), c.status, c.submitted_at ?? '', num(c.late_hours), num(c.points));
    }
    row.push(num(r.late_hours_used), num(r.late_hours_left), num(r.course_points), r.flags.join(' | '));
    return row;
  });
  return stringify([header, ...rows]);
}

/**
 * Canvas matches rows on ID, SIS User ID or SIS Login ID; with a roster (Canvas's own export)
 * they are Canvas's, without one the student's sid and email stand in. Cells a person must
 * decide (over the late budget, not gradable) are left empty.
 */
export function canvasCsv(g: Gradebook): string {
  const cols = g.projects.filter((p) => p.weight !== null);
  const header = ['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section', ...cols.map((p) => `${p.title} (${p.id})`)];
  const possible = ['Points Possible', '', '', '', '', ...cols.map((p) => String(p.weight))];
  const rows = g.rows.map((r) => [
    r.roster?.name ?? r.student.name ?? r.student.id,
    r.roster?.canvasId ?? '',
    r.roster?.sisUserId ?? r.student.sid ?? '',
    r.roster?.sisLoginId ?? r.student.email ?? r.student.id,
    r.roster?.section ?? '',
    ...cols.map((p) => num(r.projects[p.id].points)),
  ]);
  return stringify([header, possible, ...rows]);
}

export function writeGradebook(g: Gradebook, dir: string): string[] {
  const files = {
    'gradebook.csv': gradebookCsv(g),
    'gradebook.json': JSON.stringify(g, null, 2) + '\n',
    'canvas.csv': canvasCsv(g),
  };
  for (const [name, text] of Object.entries(files)) writeAtomic(path.join(dir, name), text);
  return Object.keys(files).map((f) => path.join(dir, f));
}
