// File names as a case-sensitive file system sees them. macOS and Windows ignore case, so
// `import './Attention'` finds attention.ts there and a submission works on the student's
// laptop, then fails to load on the Linux machines that grade it. The harness looks names up
// exactly, everywhere, so the difference shows before the deadline.
import { readdirSync } from 'node:fs';
import path from 'node:path';

/** Names in `dir`, or null when it cannot be read. */
function names(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return null;
  }
}

/**
 * The first name on the way from `fromDir` to `file` (which exists) that is spelled with other
 * capitals than on disk: { wrote, onDisk }, or null when every name matches exactly.
 */
export function caseMismatch(file, fromDir) {
  let dir = fromDir;
  for (const seg of path.relative(fromDir, file).split(path.sep)) {
    if (seg === '..' || seg === '.' || seg === '') {
      dir = path.resolve(dir, seg);
      continue;
    }
    const here = names(dir);
    if (here && !here.includes(seg)) {
      const onDisk = here.find((n) => n.toLowerCase() === seg.toLowerCase());
      if (onDisk) return { wrote: seg, onDisk };
    }
    dir = path.join(dir, seg);
  }
  return null;
}

/** The message for a mismatch found in `what` (an import, the entry file). */
export function caseMessage(what, m) {
  return (
    `${what}: '${m.wrote}' is spelled '${m.onDisk}' on disk. Your file system ignores the difference; the Linux machines that ` +
    `grade your code do not, and would not find it: write '${m.onDisk}'`
  );
}
