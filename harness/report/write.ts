// Atomic writes: a reader (or a run killed half-way) sees the old file or the new one, never a
// torn one.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';

export function writeAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameWithRetry(tmp, file);
}

/**
 * On Windows a file another program has open for a moment (a virus scanner, the search indexer,
 * an editor showing run.json) cannot be replaced: the rename is tried again for up to a second.
 */
function renameWithRetry(from: string, to: string): void {
  for (let wait = 10; ; wait *= 2) {
    try {
      renameSync(from, to);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (process.platform !== 'win32' || !['EPERM', 'EACCES', 'EBUSY'].includes(code ?? '') || wait > 640) {
        rmSync(from, { force: true });
        throw e;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
    }
  }
}

/** Validates against the schema, then writes; a failed validation throws (a harness bug). */
export function writeJson<S extends z.ZodType>(file: string, schema: S, value: z.infer<S>): void {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`internal error: ${path.basename(file)} does not match its schema: ${r.error.message}`);
  writeAtomic(file, JSON.stringify(value, null, 2) + '\n');
}
