// The grader-only files and folders (the project's oracle, the reference solutions) that the
// submission's process may not load: one check, used by the ESM resolve hook (resolve-hook.mjs)
// and by the CommonJS resolver (preload.mjs). Without the sandbox this is best effort (code in
// the process can undo it); the sandbox also hides the files (runner/sandbox.ts).
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The harness's folder (two up from here), as the child sees it. */
export const HARNESS_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A function that, given a resolved file, returns the error refusing it, or null. */
export function graderOnlyCheck(paths) {
  const real = (p) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  const refused = (paths ?? []).map((p) => real(path.resolve(p)));
  return (file, specifier) => {
    if (!file || !refused.some((g) => file === g || file.startsWith(g + path.sep))) return null;
    const err = new Error(
      `'${specifier}' is ${path.relative(HARNESS_ROOT, file)}, which is the grader's: it computes the expected answers, ` +
        'so a submission may not import it. Your code must compute its results itself.',
    );
    err.code = 'ERR_MLSYS_GRADER_ONLY';
    return err;
  };
}
