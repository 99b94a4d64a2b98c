// A rank's thread starts here: first the module hooks the submission's process uses (TypeScript
// through tsx, packages resolved from the harness's folder), registered for this thread (the
// thread is started without the process's --import flags), then the rank's main module.
await import('../preload.mjs');
await import('./worker.ts');
