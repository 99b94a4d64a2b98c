// Loaded with --import before the driver: TypeScript support for submissions (tsx), and a
// resolver that lets a submission folder outside this package import the packages the harness
// provides (@tensorflow/tfjs, ...), resolving them from the harness's own node_modules, and
// refuses the grader-only files (the oracle, the reference folder) the runner names in
// MLSYS_GRADER_ONLY.
import { register as registerTsx } from 'tsx/esm/api';
import Module, { register } from 'node:module';
import { graderOnlyCheck } from './grader-only.mjs';

const graderOnly = JSON.parse(process.env.MLSYS_GRADER_ONLY || '[]');
registerTsx();
register('./resolve-hook.mjs', import.meta.url, { data: { graderOnly } });

// require() does not go through the hooks above: the same refusal for CommonJS.
const check = graderOnlyCheck(graderOnly);
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const file = resolveFilename.call(this, request, ...rest);
  const err = check(file, request);
  if (err) throw err;
  return file;
};
