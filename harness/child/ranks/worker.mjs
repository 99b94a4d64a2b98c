// A rank's thread starts here: first the module hooks the submission's process uses (TypeScript
// through tsx, packages resolved from the harness's folder), registered for this thread (it is
// started without the process's --import flags), then the rank's main module.
//
// Address space: tsx instantiates a WebAssembly lexer wherever it loads (this thread and the
// thread its hooks run in), and each WebAssembly memory reserves ~10 GiB of address space for
// its guard regions. Under the sandbox's limit on address space, eight ranks would not start.
// tsx falls back to its JavaScript lexer where WebAssembly is absent: it is hidden from the hooks'
// thread for good (the first hook module registered removes it there) and from this thread
// while tsx loads, then given back to the submission.
import { register } from 'node:module';

// As in the driver: deep enough to reach the submission's own frames below a library's.
Error.stackTraceLimit = 64;

register('data:text/javascript,delete globalThis.WebAssembly;');
const wasm = globalThis.WebAssembly;
delete globalThis.WebAssembly;
try {
  await import('../preload.mjs');
} finally {
  globalThis.WebAssembly = wasm;
}
await import('./worker.ts');
