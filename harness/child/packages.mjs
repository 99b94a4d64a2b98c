// The packages a submission may import: those its project declares (Project.packages) and Node's
// built-in modules. Others may well be installed beside the harness (a library a baseline wraps,
// a development tool's dependency), but a submission that uses one either does not do the work
// itself or fails to load where grading installs only what the harness needs. One check, used by
// the ESM resolve hook (resolve-hook.mjs) and by the CommonJS resolver (preload.mjs); it applies
// to imports made by the submission's own files, not to a package's imports of its dependencies.
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { HARNESS_ROOT } from './grader-only.mjs';

const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/** The package a file belongs to (its last node_modules folder), or null for a file of no package. */
export function packageOf(file) {
  const at = file.lastIndexOf(NODE_MODULES);
  if (at < 0) return null;
  const [first, second] = file.slice(at + NODE_MODULES.length).split(path.sep);
  return first?.startsWith('@') ? `${first}/${second}` : (first ?? null);
}

/** Whether a file is the submission's own code: not the harness's and not a package's. */
function isSubmissionFile(file) {
  return !file.includes(NODE_MODULES) && file !== HARNESS_ROOT && !file.startsWith(HARNESS_ROOT + path.sep);
}

/**
 * A function that, given a resolved file, what was asked for and the file that asked, returns
 * the error refusing it, or null. `allowed` null: no restriction (trusted code: the reference, a
 * baseline). An import without a file that asked (a data: module's, a require with no parent)
 * is taken as the submission's: the harness's own imports all come from its files.
 */
export function packageCheck(allowed) {
  return (file, specifier, parentFile) => {
    if (!allowed || !file || isBuiltin(specifier) || (parentFile && !isSubmissionFile(parentFile))) return null;
    const pkg = packageOf(file);
    if (pkg === null || allowed.includes(pkg)) return null;
    const err = new Error(
      `the import of '${specifier}' is refused: the harness does not provide the package '${pkg}' to submissions of this project ` +
        `(it provides ${allowed.length ? allowed.map((p) => `'${p}'`).join(', ') : 'no package'}; Node's built-in modules such as 'node:fs' are fine). ` +
        'It may be installed on this machine, but your code must do this work itself, in the files of your folder.',
    );
    err.code = 'ERR_MLSYS_PACKAGE';
    return err;
  };
}
