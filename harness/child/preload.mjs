// Loaded with --import before the driver: TypeScript support for submissions (tsx), and a
// resolver that lets a submission folder outside this package import the packages the harness
// provides (@tensorflow/tfjs, ...), resolving them from the harness's own node_modules, and
// refuses the grader-only files (the oracle, the reference folder) the runner names in
// MLSYS_GRADER_ONLY.
import { register as registerTsx } from 'tsx/esm/api';
import { register } from 'node:module';

registerTsx();
register('./resolve-hook.mjs', import.meta.url, { data: { graderOnly: JSON.parse(process.env.MLSYS_GRADER_ONLY || '[]') } });
