// The class leaderboard: each student's counted submission's leaderboard entries (Gradescope's
// format: name, value, order), under a pseudonym. A pseudonym is a keyed hash of the student's id
// (HMAC-SHA256 with a key kept in the batch folder, readable by its owner only): stable across
// runs of the batch, and not reversible without the key.
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeAtomic } from '../report/write.ts';
import { byStudent, chooseSubmission } from './choose.ts';
import type { Batch, SubmissionState } from './state.ts';

const ADJECTIVES = ['amber', 'brisk', 'calm', 'deft', 'eager', 'fleet', 'gentle', 'hardy', 'ivory', 'jolly', 'keen', 'lucid', 'mellow', 'nimble', 'opal', 'plucky', 'quiet', 'rapid', 'sly', 'tidy', 'umber', 'vivid', 'wry', 'zesty'];
const ANIMALS = ['auk', 'bison', 'crane', 'dingo', 'egret', 'ferret', 'gecko', 'heron', 'ibex', 'jackal', 'koala', 'lynx', 'marten', 'newt', 'otter', 'puffin', 'quail', 'raven', 'stoat', 'tapir', 'urial', 'vole', 'wombat', 'yak'];

export function pseudonym(key: string, studentId: string): string {
  const h = createHmac('sha256', key).update(studentId).digest();
  return `${ADJECTIVES[h[0] % ADJECTIVES.length]}-${ANIMALS[h[1] % ANIMALS.length]}-${h.readUInt16BE(2).toString(16).padStart(4, '0')}`;
}

export function leaderboardKey(outDir: string): string {
  const f = path.join(outDir, 'leaderboard.key');
  if (!existsSync(f)) writeFileSync(f, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return readFileSync(f, 'utf8').trim();
}

export interface LeaderboardEntry {
  name: string;
  leaderboard: SubmissionState['leaderboard'];
}

export function buildLeaderboard(batch: Batch, states: SubmissionState[], key: string): LeaderboardEntry[] {
  const current = new Set(batch.entries.filter((e) => e.current).map((e) => e.key));
  const out: LeaderboardEntry[] = [];
  for (const [id, mine] of byStudent(states)) {
    const pick = chooseSubmission(mine, batch.options.regrade, current);
    if (pick?.status === 'graded' && pick.leaderboard.length) out.push({ name: pseudonym(key, id), leaderboard: pick.leaderboard });
  }
  // Ranked on the first figure, in its own order.
  const first = (e: LeaderboardEntry) => e.leaderboard[0];
  return out.sort((a, b) => (first(a).order === 'asc' ? first(a).value - first(b).value : first(b).value - first(a).value) || a.name.localeCompare(b.name));
}

export function writeLeaderboard(outDir: string, batch: Batch, states: SubmissionState[]): string {
  const entries = buildLeaderboard(batch, states, leaderboardKey(outDir));
  const f = path.join(outDir, 'leaderboard.json');
  writeAtomic(f, JSON.stringify({ project: batch.project, generated_at: new Date().toISOString(), entries }, null, 2) + '\n');
  return f;
}
