// ESM resolve hook: a bare specifier ('@tensorflow/tfjs') that cannot be found from the
// submission's folder is resolved again from the harness's folder. CommonJS requires get the
// same through NODE_PATH, which the runner sets.
const HARNESS_URL = new URL('../../package.json', import.meta.url).href;

function isBare(s) {
  return !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('file:') && !s.startsWith('node:') && !s.startsWith('data:');
}

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && isBare(specifier) && context.parentURL !== HARNESS_URL) {
      return next(specifier, { ...context, parentURL: HARNESS_URL });
    }
    throw err;
  }
}
