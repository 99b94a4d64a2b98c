// The GPU driver's shader cache of one implementation: kept across its processes; kept from run
// to run only without the sandbox and when asked (a student's own checks), plain files only; under
// the sandbox, the sandbox user's alone and gone with the run. (That the driver really uses it is
// shown in tests/projects/p3.test.ts.)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ShaderCache, shaderCacheEnv, shaderStoreFor, shaderStoreRoot } from '../../../harness/runner/shader-cache.ts';

const IS_ROOT = process.getuid?.() === 0;

describe('shader cache', () => {
  const saved = process.env.XDG_CACHE_HOME;
  const made: string[] = [];
  const tmp = (prefix: string) => {
    const d = mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(d);
    return d;
  };
  let impl: string;
  beforeEach(() => {
    process.env.XDG_CACHE_HOME = tmp('mlsys-cache-home-');
    impl = tmp('mlsys-impl-');
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('keeps what a run cached for the next run of the same folder, when persisting', () => {
    const a = ShaderCache.create(impl, { persist: true, sandboxed: false })!;
    expect(shaderStoreRoot().startsWith(process.env.XDG_CACHE_HOME!)).toBe(true);
    mkdirSync(path.join(a.dir, 'db'));
    writeFileSync(path.join(a.dir, 'db', 'entry'), 'compiled');
    a.close();
    expect(existsSync(a.dir)).toBe(false);
    expect(readFileSync(path.join(shaderStoreFor(impl), 'db', 'entry'), 'utf8')).toBe('compiled');
    expect(statSync(shaderStoreRoot()).mode & 0o777).toBe(0o700);

    const b = ShaderCache.create(impl, { persist: true, sandboxed: false })!;
    expect(readFileSync(path.join(b.dir, 'db', 'entry'), 'utf8')).toBe('compiled');
    // Another folder has its own store.
    const other = ShaderCache.create(tmp('mlsys-impl-'), { persist: true, sandboxed: false })!;
    expect(existsSync(path.join(other.dir, 'db'))).toBe(false);
    b.close();
    other.close();
  });

  it('keeps plain files and folders only: a link planted in the cache is not kept', () => {
    const target = path.join(tmp('mlsys-target-'), 'secret');
    writeFileSync(target, 'x');
    const a = ShaderCache.create(impl, { persist: true, sandboxed: false })!;
    writeFileSync(path.join(a.dir, 'entry'), 'compiled');
    symlinkSync(target, path.join(a.dir, 'link'));
    a.close();
    expect(existsSync(path.join(shaderStoreFor(impl), 'entry'))).toBe(true);
    expect(existsSync(path.join(shaderStoreFor(impl), 'link'))).toBe(false);
  });

  it('keeps nothing when not persisting (grading)', () => {
    const a = ShaderCache.create(impl, { persist: false, sandboxed: false })!;
    writeFileSync(path.join(a.dir, 'entry'), 'compiled');
    a.close();
    expect(existsSync(a.dir)).toBe(false);
    expect(existsSync(shaderStoreFor(impl))).toBe(false);
  });

  it.skipIf(!IS_ROOT)("under the sandbox: the sandbox user's alone (0700), never kept, even when asked", () => {
    const a = ShaderCache.create(impl, { persist: true, sandboxed: true })!;
    const s = statSync(a.dir);
    expect([s.uid, s.gid, s.mode & 0o777]).toEqual([65534, 65534, 0o700]);
    writeFileSync(path.join(a.dir, 'entry'), 'compiled');
    a.close();
    expect(existsSync(a.dir)).toBe(false);
    expect(existsSync(shaderStoreFor(impl))).toBe(false);
  });

  it("points the driver's cache at the folder", () => {
    expect(shaderCacheEnv('/cache')).toMatchObject({ MESA_SHADER_CACHE_DIR: '/cache' });
  });
});
