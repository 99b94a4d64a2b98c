import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

const cacheHome = mkdtempSync(path.join(os.tmpdir(), 'mlsys-test-cache-'));
process.env.MLSYS_TEST_CACHE_HOME = cacheHome;

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
    // The shader caches that `test` and `bench` keep between runs go to a folder of this run's
    // (removed at the end by the global setup), not to the user's own.
    env: { XDG_RUNTIME_DIR: '/tmp', XDG_CACHE_HOME: cacheHome },
    globalSetup: ['tests/helpers/global-setup.ts'],
    // As p1's submission processes run (projects/p1/project.ts, nodeFlags): pools of ranks that
    // tests open in their own process get WebAssembly arenas, as the graded ones do.
    execArgv: ['--disable-wasm-trap-handler'],
  },
});
