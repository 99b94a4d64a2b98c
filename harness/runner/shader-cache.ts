// The GPU driver's shader cache of one implementation (the submission, the reference), kept
// across its processes. Each process runs with a fresh HOME, so without this every process
// compiles every kernel again: on Mesa's CPU Vulkan driver that is 2-3 s a kernel, which a
// process after a failed case, and every timed process, pays again.
//
// The cache is shared between the processes of one implementation only, never between the
// submission and the reference (nor between two submissions): a process could otherwise plant
// compiled code that another one loads. Under the sandbox it belongs to the sandbox's user alone
// (0700; the harness is root there, as setpriv requires), so that no other user of the machine
// can write into it, and it lasts for the run only: what a sandboxed process wrote is never kept.
// Without the sandbox (a student's own machine), `test` and `bench` keep it for the next run of
// the same folder in a store of the user's own (~/.cache/mlsys/shader-cache/, 0700): a kernel
// left unchanged is not compiled again. Only plain files and folders are kept, up to MAX_BYTES.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { giveToSandboxUser } from './sandbox-user.ts';

/** The most one cache may hold: the driver's own limit, and the most a store keeps. */
const MAX_BYTES = 256 * 1024 * 1024;

/** The environment that points the driver's cache at `dir`. */
export function shaderCacheEnv(dir: string): Record<string, string> {
  return { MESA_SHADER_CACHE_DIR: dir, MESA_SHADER_CACHE_MAX_SIZE: `${MAX_BYTES / (1024 * 1024)}M` };
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
    /** The folder the processes write (bound into the sandbox), removed at close. */
    readonly dir: string,
    private readonly store: string | null,
  ) {}

  /**
   * A new cache for the implementation in `implDir`, or null where the sandbox's user cannot be
   * given one (no cache then: only a speed-up is lost). `persist`: filled from the store, and
   * kept in it at close; only without the sandbox.
   */
  static create(implDir: string, o: { persist: boolean; sandboxed: boolean }): ShaderCache | null {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'mlsys-cache-'))); // 0700
    if (o.sandboxed) {
      if (giveToSandboxUser(dir)) return new ShaderCache(dir, null);
      rmSync(dir, RM);
      return null;
    }
    const store = o.persist ? shaderStoreFor(implDir) : null;
    if (store && existsSync(store)) copyPlain(store, dir);
    return new ShaderCache(dir, store);
  }

  /** Keeps what the cache holds for the next run (when persisting), then removes it. */
  close(): void {
    if (this.store && existsSync(this.dir) && readdirSync(this.dir).length) {
      const tmp = `${this.store}.${process.pid}.tmp`;
      try {
        mkdirSync(path.dirname(this.store), { recursive: true, mode: 0o700 });
        rmSync(tmp, RM);
        if (copyPlain(this.dir, tmp)) {
          rmSync(this.store, RM);
          renameSync(tmp, this.store);
        }
      } catch {
        /* a cache is only ever a speed-up */
      } finally {
        rmSync(tmp, RM);
      }
    }
    rmSync(this.dir, RM);
  }
}

/**
 * Copies the plain files and folders of `from` to `to` (links and anything else are left out).
 * False, and nothing copied, when they are over MAX_BYTES or cannot be read.
 */
function copyPlain(from: string, to: string): boolean {
  let bytes = 0;
  const walk = (d: string): boolean =>
    readdirSync(d).every((n) => {
      const s = lstatSync(path.join(d, n));
      if (s.isDirectory()) return walk(path.join(d, n));
      bytes += s.isFile() ? s.size : 0;
      return bytes <= MAX_BYTES;
    });
  try {
    if (!walk(from)) return false;
    cpSync(from, to, {
      recursive: true,
      filter: (src) => {
        const s = lstatSync(src);
        return s.isDirectory() || s.isFile();
      },
    });
    return true;
  } catch {
    return false; // what was copied is left to the caller
  }
}
