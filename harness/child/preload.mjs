// Loaded with --import before the driver: TypeScript support for submissions (tsx), and a
// resolver that lets a submission folder outside this package import the packages the harness
// provides (@tensorflow/tfjs, ...), resolving them from the harness's own node_modules, and
// refuses the grader-only files (the oracle, the reference folder) the runner names in
// MLSYS_GRADER_ONLY, and packages other than those named in MLSYS_PACKAGES (packages.mjs).
import { register as registerTsx } from 'tsx/esm/api';
import Module, { register } from 'node:module';
import { graderOnlyCheck } from './grader-only.mjs';
import { packageCheck } from './packages.mjs';

const graderOnly = JSON.parse(process.env.MLSYS_GRADER_ONLY || '[]');
/** The packages the submission may import (packages.mjs); unset for trusted code. */
const packages = process.env.MLSYS_PACKAGES ? JSON.parse(process.env.MLSYS_PACKAGES) : null;
registerTsx();
register('./resolve-hook.mjs', import.meta.url, { data: { graderOnly, packages } });

// require() does not go through the hooks above: the same refusals for CommonJS.
const check = graderOnlyCheck(graderOnly);
const checkPackage = packageCheck(packages);
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const file = resolveFilename.call(this, request, parent, ...rest);
  // Without a parent, Node's ESM loader is loading a CommonJS module the resolve hook already
  // checked (as its import's): only a require from a module is checked here.
  const err = check(file, request) ?? (parent?.filename ? checkPackage(file, request, parent.filename) : null);
  if (err) throw err;
  return file;
};
