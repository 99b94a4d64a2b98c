import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Tests start real submission processes (and sandboxes): generous limits, few at a time.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // One test file at a time: tests that time a submission against the reference must not share
    // the two cores of a CI machine with another file's processes.
    maxWorkers: 1,
    fileParallelism: false,
    env: { XDG_RUNTIME_DIR: '/tmp' },
    // As p1's submission processes run (projects/p1/project.ts, nodeFlags): pools of ranks that
    // tests open in their own process get WebAssembly arenas, as the graded ones do.
    execArgv: ['--disable-wasm-trap-handler'],
  },
});
