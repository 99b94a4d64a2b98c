// The last check before a student bundle is written: no file in it may hold a line of the
// reference solution that appears nowhere else in the checkout (an import or a signature shared
// with the starter is fine; a line of the solution's body is not), nor the grader secret.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HARNESS_ROOT } from '../runner/launcher.ts';
import { listFiles } from './files.ts';

const TEXT = /\.(ts|js|mjs|cjs|json|md|wgsl|cu|py|txt|sh)$/;

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length >= 25 && !l.startsWith('//') && !l.startsWith('*') && !l.startsWith('/*') && !l.startsWith('import '));
}

/** Lines of the reference folder found in no other file of the checkout (outside tests/). */
export function referenceOnlyLines(referenceDir: string, root = HARNESS_ROOT): Set<string> {
  const ref = new Set(listFiles(referenceDir, root).filter((f) => TEXT.test(f)).flatMap((f) => lines(readFileSync(path.join(root, f), 'utf8'))));
  const others = ['bin', 'harness', 'projects', 'README.md', 'SECURITY.md'].flatMap((p) => listFiles(p, root)).filter((f) => TEXT.test(f));
  for (const f of others) for (const l of lines(readFileSync(path.join(root, f), 'utf8'))) ref.delete(l);
  return ref;
}

/** Problems found in a bundle's text files: a reference line, or the secret. */
export function leaks(files: { name: string; data: Buffer | string }[], refLines: Set<string>, secret: string | null): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (!TEXT.test(f.name)) continue;
    const text = f.data.toString();
    if (secret && secret.length >= 8 && text.includes(secret)) out.push(`${f.name} holds the grader secret`);
    const hit = lines(text).find((l) => refLines.has(l));
    if (hit) out.push(`${f.name} holds a line of the reference solution: ${hit.slice(0, 80)}`);
  }
  return out;
}
