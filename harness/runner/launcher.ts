// How a submission's process is started. The plain launcher runs Node directly; the sandbox
// launcher (sandbox.ts) wraps the same command in bubblewrap and resource limits. The session
// code does not care which it gets.
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { shaderCacheEnv } from './shader-cache.ts';

export const HARNESS_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The submission's JavaScript heap limit (its typed arrays are bounded by the sandbox's limits). */
export const HEAP_LIMIT_MB = 4096;

export interface LaunchSpec {
  /** The submission's folder (read-only for it under the sandbox). */
  submissionDir: string;
  /** A private writable folder for the submission. */
  scratchDir: string;
  /** Extra environment for the child (never secrets). */
  env: Record<string, string>;
  /** Does the task need the GPU's device nodes inside the sandbox. */
  gpu: boolean;
  /** The project's extra flags for the child's node (Project.nodeFlags). */
  nodeFlags?: string[];
  /** Files and folders the child may not load, absolute (staff.ts graderOnlyPaths). */
  graderOnly?: string[];
  /** The packages the child's code may import (Project.packages); absent: any (trusted code). */
  packages?: string[];
  /** A writable folder kept across this implementation's processes: the GPU driver's shader cache (shader-cache.ts). */
  shaderCacheDir?: string;
}

export interface Command {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Called once the process has exited (frees what the launch made). */
  cleanup?: () => void;
  /** Whether a memory limit (not a bug of the harness) ended the process. */
  oomKilled?: () => boolean;
}

export interface Launcher {
  readonly name: 'none' | 'bubblewrap';
  readonly sandboxed: boolean;
  /** The memory a process may use, where the launcher sets a bound (for an out-of-memory message). */
  readonly memoryBytes?: number;
  command(spec: LaunchSpec): Command;
  /** The submission's entry file as the child will see it. */
  entryInside(entry: string, submissionDir: string, scratchDir: string): string;
}

/**
 * The node command line of the driver, with paths as the child will see them. `extra`: the
 * project's flags, less those this node does not know (a project works without them).
 */
export function driverArgs(root: string, extra: string[] = []): string[] {
  return [
    ...extra.filter((f) => process.allowedNodeEnvironmentFlags.has(f.split('=')[0]!)),
    '--no-warnings=ExperimentalWarning',
    `--max-old-space-size=${HEAP_LIMIT_MB}`,
    '--expose-gc',
    '--import',
    // A URL: --import takes a module specifier, and a Windows path (C:\...) would read as a URL scheme.
    pathToFileURL(path.join(root, 'harness/child/preload.mjs')).href,
    path.join(root, 'harness/child/driver.ts'),
  ];
}

/** Variables that tell the Vulkan loader where a GPU's driver is (e.g. on NVIDIA nodes). */
export const VULKAN_ENV = ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'VK_ADD_DRIVER_FILES'] as const;

/** The Vulkan variables of this process, for a child that may use the GPU. */
export function vulkanEnv(): Record<string, string> {
  return Object.fromEntries(VULKAN_ENV.filter((k) => process.env[k]).map((k) => [k, process.env[k]!]));
}

export function childEnv(root: string, spec: LaunchSpec): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: spec.scratchDir,
    TMPDIR: spec.scratchDir,
    XDG_RUNTIME_DIR: spec.scratchDir,
    NODE_PATH: path.join(root, 'node_modules'),
    ...(spec.gpu ? vulkanEnv() : {}),
    ...(spec.gpu && spec.shaderCacheDir ? shaderCacheEnv(spec.shaderCacheDir) : {}),
    // Read by the child's module hooks (preload.mjs); paths, not secrets.
    ...(spec.graderOnly?.length ? { MLSYS_GRADER_ONLY: JSON.stringify(spec.graderOnly) } : {}),
    ...(spec.packages ? { MLSYS_PACKAGES: JSON.stringify(spec.packages) } : {}),
    ...spec.env,
  };
}

/**
 * Copies the submission to `<scratch>.sub` (removed with the scratch folder): the child never
 * runs from the student's own folder, and a folder without a package.json is marked as ES
 * modules so that index.ts is loaded the same way everywhere.
 */
export function stageSubmission(spec: LaunchSpec): string {
  const stage = `${spec.scratchDir}.sub`;
  cpSync(spec.submissionDir, stage, { recursive: true, filter: (src) => path.basename(src) !== 'node_modules' && path.basename(src) !== '.git' });
  if (!existsSync(path.join(stage, 'package.json'))) writeFileSync(path.join(stage, 'package.json'), '{ "type": "module" }\n');
  return stage;
}

export class PlainLauncher implements Launcher {
  readonly name = 'none' as const;
  readonly sandboxed = false;
  command(spec: LaunchSpec): Command {
    stageSubmission(spec);
    return {
      file: process.execPath,
      args: driverArgs(HARNESS_ROOT, spec.nodeFlags),
      env: childEnv(HARNESS_ROOT, spec),
      cwd: spec.scratchDir,
    };
  }
  entryInside(entry: string, submissionDir: string, scratchDir: string): string {
    return path.join(`${scratchDir}.sub`, path.relative(path.resolve(submissionDir), path.resolve(entry)));
  }
}
