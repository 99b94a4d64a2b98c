// One controller per batch folder: two would each take the other's tasks for lost ones and
// grade them twice. The lock is a file holding the owner's pid; a lock whose process is gone (the
// grader was killed) is stale and taken over.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../projects.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the batch folder's lock for this process, released when the process exits. */
export function lockBatch(outDir: string): void {
  const file = path.join(outDir, '.lock');
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      process.once('exit', () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
        } catch {
          // already gone
        }
      });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0 && pid !== process.pid && alive(pid))
        throw new UsageError(`another mlsys batch (pid ${pid}) is working on ${outDir}; stop it first (Ctrl-C: Slurm jobs keep running), or wait for it`);
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new UsageError(`could not lock ${outDir}`);
}
