// The GPU driver's shader cache of one implementation (the submission, the reference), kept
// across its processes. Each process runs with a fresh HOME, so without this every process
// compiles every kernel again: on Mesa's CPU Vulkan driver that is 2-3 s a kernel, which a
// process after a failed case, and every timed process, pays again.
//
// The cache is shared between the processes of one implementation only, never between the
// submission and the reference (nor between two submissions): a process could otherwise plant
// compiled code that another one loads. With `persist`, what it holds is also kept for the next
// run of the same folder (`mlsys test` and `bench` on a student's machine: an unchanged kernel is
// not compiled again), in a store of the user's own (~/.cache/mlsys/shader-cache/, 0700).
import { createHash, randomUUID } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The most the driver keeps in one cache (Mesa's own limit; its default is 1 GB). */
const MAX_SIZE = '256M';

/** The environment that points the driver's cache at `dir`. */
export function shaderCacheEnv(dir: string): Record<string, string> {
  return { MESA_SHADER_CACHE_DIR: dir, MESA_SHADER_CACHE_MAX_SIZE: MAX_SIZE };
}

/** Where the caches of earlier runs are kept, by implementation folder. */
export function shaderStoreRoot(): string {
  const base = process.env.XDG_CACHE_HOME || (process.platform === 'win32' ? process.env.LOCALAPPDATA : undefined) || path.join(os.homedir(), '.cache');
  return path.join(base, 'mlsys', 'shader-cache');
}

/** The store of the implementation in `implDir`: by its real path, so a copy elsewhere has its own. */
export function shaderStoreFor(implDir: string): string {
  let real = path.resolve(implDir);
  try {
    real = realpathSync(real);
  } catch {
    /* a folder that is gone has nothing to keep */
  }
  return path.join(shaderStoreRoot(), createHash('sha256').update(real).digest('hex').slice(0, 16));
}

const RM = { recursive: true, force: true, maxRetries: 5 } as const;

export class ShaderCache {
  private constructor(
    /** The folder the processes write (bound into the sandbox). */
    readonly dir: string,
    /** What is removed at the end: `dir` or the private folder around it. */
    readonly root: string,
    private readonly store: string | null,
  ) {}

  /**
   * A new cache for the implementation in `implDir`, filled from the store when `persist`. For a
   * sandbox (whose user is not this one) the folder must be writable by anyone; it is then a
   * folder with an unguessable name inside one that others may pass through but not list, so
   * that no other user of the machine can reach it.
   */
  static create(implDir: string, o: { persist: boolean; sandboxed: boolean }): ShaderCache {
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'mlsys-cache-')));
    let dir = root;
    if (o.sandboxed) {
      chmodSync(root, 0o711);
      dir = path.join(root, randomUUID());
      mkdirSync(dir);
      chmodSync(dir, 0o777);
    }
    const store = o.persist ? shaderStoreFor(implDir) : null;
    if (store && existsSync(store)) {
      try {
        cpSync(store, dir, { recursive: true });
        if (o.sandboxed) chmodAll(dir);
      } catch {
        /* a cache is only ever a speed-up */
      }
    }
    return new ShaderCache(dir, root, store);
  }

  /** Keeps what the cache holds for the next run (when persisting), then removes it. */
  close(): void {
    if (this.store && existsSync(this.dir) && readdirSync(this.dir).length) {
      try {
        const tmp = `${this.store}.${process.pid}.tmp`;
        mkdirSync(path.dirname(this.store), { recursive: true, mode: 0o700 });
        rmSync(tmp, RM);
        cpSync(this.dir, tmp, { recursive: true });
        rmSync(this.store, RM);
        renameSync(tmp, this.store);
      } catch {
        /* a cache is only ever a speed-up */
      }
    }
    rmSync(this.root, RM);
  }
}

/** Files copied in are the harness's user's; the sandbox's user must be able to rewrite them. */
function chmodAll(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    chmodSync(p, e.isDirectory() ? 0o777 : 0o666);
    if (e.isDirectory()) chmodAll(p);
  }
}
