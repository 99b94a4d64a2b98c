// Once per test run: removes the cache folder vitest.config.ts made for this run.
import { rmSync } from 'node:fs';

export function teardown(): void {
  const home = process.env.MLSYS_TEST_CACHE_HOME;
  if (home) rmSync(home, { recursive: true, force: true });
}
