// "Did you mean": the name a person most likely meant when the one they typed does not exist.
import { closest, distance } from 'fastest-levenshtein';

/** The candidate closest to `typed` (the same but for case, or a typo or two away), or null. */
export function likelyMeant(typed: string, candidates: string[]): string | null {
  if (!candidates.length) return null;
  const sameButCase = candidates.find((c) => c.toLowerCase() === typed.toLowerCase());
  if (sameButCase) return sameButCase;
  const best = closest(typed, candidates);
  return distance(typed, best) <= Math.max(1, Math.floor(typed.length / 4)) ? best : null;
}

/**
 * "'attention'", or "'attention' (your index exports 'attenton': a typo?)" when the submission
 * exports a name close to a missing one.
 */
export function missingExports(missing: string[], exported: string[]): string {
  return missing
    .map((m) => {
      const others = exported.filter((e) => !missing.includes(e));
      const meant = likelyMeant(m, others) ?? shortened(m, others);
      return meant ? `'${m}' (your index exports '${meant}': a typo?)` : `'${m}'`;
    })
    .join(', ');
}

/** A candidate that shares most of `name`'s beginning (an abbreviation: `maxPool` for `maxPooling`), or null. */
function shortened(name: string, candidates: string[]): string | null {
  const common = (a: string, b: string) => {
    let i = 0;
    while (i < a.length && i < b.length && a[i]!.toLowerCase() === b[i]!.toLowerCase()) i++;
    return i;
  };
  const best = candidates.map((c) => ({ c, n: common(name, c) })).sort((a, b) => b.n - a.n)[0];
  return best && best.n >= 5 && best.n >= 0.6 * name.length ? best.c : null;
}
