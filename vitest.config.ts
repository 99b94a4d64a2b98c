import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Tests start real submission processes (and sandboxes): generous limits, few at a time.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    maxWorkers: 2,
    env: { XDG_RUNTIME_DIR: '/tmp' },
  },
});
