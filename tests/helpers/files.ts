// Every file under a folder, recursively (absolute paths).
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
