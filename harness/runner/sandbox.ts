// The bubblewrap launcher: the submission's process runs as an unprivileged user (65534) with
// no network, a read-only system, its own folder read-only at /submission, a private writable
// scratch folder at /scratch, the harness's code and node_modules read-only at their own path
// (less the project's grader-only files: its oracle), and nothing else of this machine: no
// reference/, no results/, no other submission.
// prlimit bounds CPU seconds, address space, processes, file size and open files.
import { execaSync } from 'execa';
import { chmodSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { createCgroup } from './cgroup.ts';
import { giveToSandboxUser, SANDBOX_UID } from './sandbox-user.ts';
import { childEnv, driverArgs, HARNESS_ROOT, stageSubmission, vulkanEnv, type Command, type LaunchSpec, type Launcher } from './launcher.ts';

export interface SandboxLimits {
  cpuSeconds: number;
  addressSpaceBytes: number;
  processes: number;
  /** Memory the sandbox may use (its own memory cgroup, where the machine offers one). */
  memoryBytes: number;
  /** Processes and threads in one sandbox (its own pids cgroup, where offered). */
  pidsPerSandbox: number;
  fileSizeBytes: number;
  openFiles: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  cpuSeconds: 600,
  // Each WebAssembly instance reserves ~10 GiB of address space (guard regions) and the driver
  // has several (tsx, tfjs-wasm): the JS heap is bounded separately by --max-old-space-size.
  addressSpaceBytes: 64 * 2 ** 30,
  // Per user, all sandboxes together: the per-sandbox bound is the cgroup's `pids` below.
  processes: 4096,
  memoryBytes: 4 * 2 ** 30,
  pidsPerSandbox: 256,
  // Vulkan drivers may back device memory with memory files (Mesa's CPU driver does), and this
  // limit covers them: at 64 MiB, a 4096 × 4096 float buffer killed the process with SIGBUS. The
  // memory cgroup bounds such files anyway; this bounds one file on disk at the same size.
  fileSizeBytes: 4 * 2 ** 30,
  openFiles: 256,
};

const OS_NAMES: Partial<Record<NodeJS.Platform, string>> = { darwin: 'macOS', win32: 'Windows' };

/** Null when bubblewrap works here; otherwise why not. */
export function sandboxProblem(platform: NodeJS.Platform = process.platform): string | null {
  if (platform !== 'linux') return `the sandbox (bubblewrap) runs on Linux only, and this is ${OS_NAMES[platform] ?? platform}`;
  try {
    execaSync('bwrap', ['--ro-bind', '/', '/', '--unshare-net', '--new-session', 'true'], { timeout: 10000 });
  } catch (e) {
    const msg = String((e as { shortMessage?: string }).shortMessage ?? e);
    if (/ENOENT/.test(msg)) return 'bubblewrap (bwrap) is not installed: apt-get install bubblewrap';
    return `bubblewrap does not work here: ${msg.split('\n')[0]}`;
  }
  try {
    execaSync('setpriv', ['--version']);
    execaSync('prlimit', ['--version']);
  } catch {
    return 'setpriv/prlimit (util-linux) are missing: apt-get install util-linux';
  }
  return null;
}

/** The system paths a Node process needs, read-only. */
const SYSTEM_RO = ['/usr', '/etc/alternatives', '/etc/ssl', '/etc/ld.so.cache', '/etc/vulkan', '/usr/share/vulkan'];
const GPU_DEVICES = ['/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools', '/dev/nvidia0', '/dev/dri'];
const GPU_DRIVER_FILES = ['/usr/local/nvidia'];

/**
 * Hides the grader-only files and folders that sit in a folder bound into the sandbox (the
 * harness's, or a system folder the harness may be installed in): an empty folder, or /dev/null
 * (which the sandbox cannot open), in their place, so that reading them around the module hooks
 * gives nothing.
 */
export function masks(paths: string[], bound: string[]): string[] {
  const inside = (p: string) => bound.some((b) => p === b || p.startsWith(b.endsWith(path.sep) ? b : b + path.sep));
  return paths
    .filter((p) => existsSync(p) && inside(p))
    .flatMap((p) => (statSync(p).isDirectory() ? ['--tmpfs', p, '--remount-ro', p] : ['--ro-bind', '/dev/null', p]));
}

export class BubblewrapLauncher implements Launcher {
  readonly name = 'bubblewrap' as const;
  readonly sandboxed = true;

  constructor(private readonly limits: SandboxLimits = DEFAULT_LIMITS) {}

  get memoryBytes(): number {
    return this.limits.memoryBytes;
  }

  command(spec: LaunchSpec): Command {
    const L = this.limits;
    // The unprivileged user must be able to write its scratch folder (and read its own folder):
    // it is made that user's; where that cannot be done, anyone's.
    if (!giveToSandboxUser(spec.scratchDir)) chmodSync(spec.scratchDir, 0o777);
    // A copy of the submission, readable by that user whatever the original's permissions.
    const stage = stageSubmission(spec);
    execaSync('chmod', ['-R', 'a+rX', stage]);
    const ro = (p: string) => (existsSync(p) ? ['--ro-bind', p, p] : []);
    const cache = spec.gpu && spec.shaderCacheDir ? spec.shaderCacheDir : null;
    const env = childEnv(HARNESS_ROOT, { ...spec, scratchDir: '/scratch', ...(cache ? { shaderCacheDir: '/cache' } : {}) });
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]);
    // The GPU's device nodes, the driver's files, and the Vulkan driver manifests the parent's
    // environment names (they may live outside the bound system folders).
    const icds = Object.values(vulkanEnv()).flatMap((v) => v.split(':')).filter(Boolean);
    const gpu = spec.gpu
      ? [...GPU_DEVICES.flatMap((d) => (existsSync(d) ? ['--dev-bind', d, d] : [])), ...GPU_DRIVER_FILES.flatMap(ro), ...icds.flatMap(ro)]
      : [];
    const nodeDir = path.dirname(process.execPath);
    const harnessBound = ['harness', 'projects', 'node_modules', 'package.json'].map((p) => path.join(HARNESS_ROOT, p));
    const args = [
      `--reuid=${SANDBOX_UID}`, `--regid=${SANDBOX_UID}`, '--clear-groups', '--',
      'prlimit', `--cpu=${L.cpuSeconds}`, `--as=${L.addressSpaceBytes}`, `--nproc=${L.processes}`,
      `--fsize=${L.fileSizeBytes}`, `--nofile=${L.openFiles}`, '--core=0', '--',
      'bwrap', '--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--clearenv',
      ...envArgs, '--hostname', 'sandbox',
      ...SYSTEM_RO.flatMap(ro),
      '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/sbin', '/sbin',
      ...(nodeDir.startsWith('/usr/') ? [] : ro(nodeDir)),
      '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
      // The harness: only what the child needs, read-only.
      ...harnessBound.flatMap(ro),
      ...masks(spec.graderOnly ?? [], [...SYSTEM_RO, nodeDir, ...harnessBound]),
      '--ro-bind', stage, '/submission',
      '--bind', spec.scratchDir, '/scratch',
      ...(cache ? ['--bind', cache, '/cache'] : []),
      ...gpu,
      '--chdir', '/scratch',
      process.execPath, ...driverArgs(HARNESS_ROOT, spec.nodeFlags),
    ];
    const cg = createCgroup({ memoryBytes: L.memoryBytes, pids: L.pidsPerSandbox });
    if (!cg) return { file: 'setpriv', args, env: {}, cwd: spec.scratchDir };
    // Join the sandbox's own control groups first, then become the sandbox: everything it starts
    // stays in them.
    return {
      file: '/bin/sh',
      args: ['-c', 'echo $$ > "$1" && echo $$ > "$2" && shift 2 && exec /usr/bin/env -i "$@"', 'mlsys-sandbox', ...cg.procsFiles, 'setpriv', ...args],
      env: {},
      cwd: spec.scratchDir,
      cleanup: () => cg.remove(),
      oomKilled: () => cg.oomKilled(),
    };
  }

  entryInside(entry: string, submissionDir: string): string {
    return path.join('/submission', path.relative(path.resolve(submissionDir), path.resolve(entry)));
  }
}
