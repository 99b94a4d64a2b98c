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

/** A module file's name without its extension. */
export const stem = (name) => name.replace(/\.(ts|mts|js|mjs)$/, '');

/**
 * The first name on the way from `fromDir` to `file` that is spelled with other capitals than on
 * disk: { wrote, onDisk }, or null when every name matches exactly (or one is not there in any
 * spelling). `file` may not exist as written: an import that found nothing, whose last name may
 * also leave out its extension (`./Helper` for helper.ts).
 */
export function caseMismatch(file, fromDir) {
  const segs = path.relative(fromDir, file).split(path.sep);
  let dir = fromDir;
  for (const [i, seg] of segs.entries()) {
    if (seg === '..' || seg === '.' || seg === '') {
      dir = path.resolve(dir, seg);
      continue;
    }
    const here = names(dir);
    if (here && !here.includes(seg)) {
      const bare = i === segs.length - 1 && !path.extname(seg);
      const onDisk = here.find((n) => n.toLowerCase() === seg.toLowerCase() || (bare && stem(n).toLowerCase() === seg.toLowerCase()));
      return onDisk ? { wrote: seg, onDisk: bare ? stem(onDisk) : onDisk } : null;
    }
    dir = path.join(dir, seg);
  }
  return null;
}

/** The message for a mismatch found in `what` (an import, the entry file). */
export function caseMessage(what, m) {
  return (
    `${what}: '${m.wrote}' is spelled '${m.onDisk}' on disk. The Linux machines that grade your code tell capitals apart ` +
    `(macOS and Windows may not): write '${m.onDisk}'`
  );
}
