// ESM resolve hook of the submission's process.
// - A bare specifier ('@tensorflow/tfjs') that cannot be found from the submission's folder is
//   resolved again from the harness's folder. CommonJS requires get the same through NODE_PATH,
//   which the runner sets. Of those, a submission's own files may import only the packages its
//   project provides (packages.mjs).
// - A module that resolves to a grader-only file or folder (the project's oracle, the reference
//   solutions) is refused, whoever imports it: expected answers are not computed in this
//   process. The sandbox also hides those files (runner/sandbox.ts); this hook is what gives the
//   student a message saying why, and the refusal where there is no sandbox.
// - A relative import spelled with other capitals than the file on disk is refused, as the
//   grader's case-sensitive file system would (exact-case.mjs); only where the file system
//   ignores case can such an import resolve at all.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { caseMessage, caseMismatch, stem } from './exact-case.mjs';
import { graderOnlyCheck } from './grader-only.mjs';
import { packageCheck } from './packages.mjs';

const HARNESS_URL = new URL('../../package.json', import.meta.url).href;

let check = graderOnlyCheck([]);
let checkPackage = packageCheck(null);
/** The grader-only files' names (oracle.ts...), to explain a relative import of one that fails. */
let graderOnlyNames = [];

export function initialize(data) {
  check = graderOnlyCheck(data?.graderOnly);
  checkPackage = packageCheck(data?.packages ?? null);
  graderOnlyNames = (data?.graderOnly ?? []).map((p) => path.basename(p)).filter((n) => /\.\w+$/.test(n)); // files, not folders
}

/**
 * Why a relative import found nothing, when it can be told: a file of that name in other capitals
 * (which a file system that ignores case would have taken), or a grader-only file's name.
 */
function explainMissing(specifier, parentURL) {
  if (!parentURL?.startsWith('file:')) return '';
  const from = path.dirname(fileURLToPath(parentURL));
  const target = path.resolve(from, specifier);
  const m = caseMismatch(target, from);
  if (m) return `. ${caseMessage(`import '${specifier}'`, m)}`;
  const want = path.basename(target);
  if (graderOnlyNames.some((g) => stem(g) === stem(want)))
    return `. '${want}' is the name of a file of the grader's, which a submission may not import (and the copy of your folder it runs from has nothing around it): your code must compute its results itself`;
  return '';
}

function isBare(s) {
  return !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('file:') && !s.startsWith('node:') && !s.startsWith('data:');
}

async function resolveOnce(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && isBare(specifier) && context.parentURL !== HARNESS_URL) {
      try {
        return await next(specifier, { ...context, parentURL: HARNESS_URL });
      } catch (again) {
        // The harness has the package but not what was asked of it (a subpath): that error.
        if (!/Cannot find package/.test(String(again?.message))) throw again;
        // Not a package the harness provides either: the error that names the submission's file.
        err.message += ' (nor is it a package the harness provides)';
        throw err;
      }
    }
    // Named as the code spells it ('./heap'), not as the path it led to in the staged copy.
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && specifier.startsWith('.') && typeof err.message === 'string')
      err.message = err.message.replace(/^Cannot find module '[^']*'/, `Cannot find module '${specifier}'`);
    const why = err && err.code === 'ERR_MODULE_NOT_FOUND' && specifier.startsWith('.') ? explainMissing(specifier, context.parentURL) : '';
    if (why) {
      err.message += why;
      throw err;
    }
    // The commonest cause: a value import of the project's files from beside the starter
    // ('../api.ts'), which worked in an editor but not from the staged copy.
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && specifier.startsWith('../'))
      err.message +=
        ". Your code runs from a copy of its folder: it can import the files inside that folder and the packages the harness provides, nothing around it ('import type' from the project's api.ts is fine: types vanish at run time)";
    throw err;
  }
}

export async function resolve(specifier, context, next) {
  // Read first: a retry from the harness's folder (resolveOnce) leaves its parentURL in `context`.
  const parentURL = context.parentURL;
  const result = await resolveOnce(specifier, context, next);
  if (!result.url.startsWith('file:')) return result;
  const file = fileURLToPath(result.url);
  const parentFile = parentURL?.startsWith('file:') ? fileURLToPath(parentURL) : null;
  const err = check(file, specifier) ?? checkPackage(file, specifier, parentFile);
  if (err) throw err;
  // The submission's own imports (a package's are spelled by its authors, and many).
  if (specifier.startsWith('.') && parentFile && !parentURL.includes('/node_modules/')) {
    const m = caseMismatch(file, path.dirname(parentFile));
    if (m) throw Object.assign(new Error(caseMessage(`import '${specifier}'`, m)), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return result;
}
