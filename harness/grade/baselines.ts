// The project's named baselines that this install can run. A baseline may wrap a library that is
// an optional dependency (a native addon that compiles on install and needs a C++ toolchain): a
// student's laptop without one still installs the harness, and `bench` times the others and
// says why that one is missing.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Project } from '../project.ts';
import { HARNESS_ROOT } from '../runner/launcher.ts';

type Baseline = NonNullable<Project['baselines']>[number];

/** Packages of `names` not installed beside the harness. */
export function missingPackages(names: string[], root = HARNESS_ROOT): string[] {
  return names.filter((n) => !existsSync(path.join(root, 'node_modules', n, 'package.json')));
}

/** The baselines whose packages are installed; a warning for each left out. */
export function usableBaselines(baselines: Baseline[], warn: (line: string) => void, root = HARNESS_ROOT): Baseline[] {
  return baselines.filter((b) => {
    const missing = missingPackages(b.requires ?? [], root);
    if (missing.length)
      warn(
        `the baseline ${b.name} is not timed: ${missing.join(', ')} is not installed (an optional dependency that builds native code on install; ` +
          `with a C++ toolchain, \`npm install ${missing.join(' ')}\` adds it)`,
      );
    return !missing.length;
  });
}
