// The GPU driver's shader cache of one implementation: kept across its processes, kept from run
// to run only when asked (a student's own checks), never reachable by another user of the machine
// when it has to be writable by the sandbox's user. (That the driver really uses it is shown in
// tests/projects/p3.test.ts.)
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ShaderCache, shaderCacheEnv, shaderStoreFor, shaderStoreRoot } from '../../../harness/runner/shader-cache.ts';

describe('shader cache', () => {
  const saved = process.env.XDG_CACHE_HOME;
  let impl: string;
  beforeEach(() => {
    process.env.XDG_CACHE_HOME = mkdtempSync(path.join(os.tmpdir(), 'mlsys-cache-home-'));
    impl = mkdtempSync(path.join(os.tmpdir(), 'mlsys-impl-'));
  });
  afterEach(() => {
    process.env.XDG_CACHE_HOME = saved;
  });

  it('keeps what a run cached for the next run of the same folder, when persisting', () => {
    const a = ShaderCache.create(impl, { persist: true, sandboxed: false });
    expect(shaderStoreRoot().startsWith(process.env.XDG_CACHE_HOME!)).toBe(true);
    writeFileSync(path.join(a.dir, 'entry'), 'compiled');
    a.close();
    expect(existsSync(a.root)).toBe(false);
    expect(readFileSync(path.join(shaderStoreFor(impl), 'entry'), 'utf8')).toBe('compiled');
    expect(statSync(shaderStoreRoot()).mode & 0o777).toBe(0o700);

    const b = ShaderCache.create(impl, { persist: true, sandboxed: false });
    expect(readFileSync(path.join(b.dir, 'entry'), 'utf8')).toBe('compiled');
    // Another folder has its own store.
    const other = ShaderCache.create(mkdtempSync(path.join(os.tmpdir(), 'mlsys-impl-')), { persist: true, sandboxed: false });
    expect(existsSync(path.join(other.dir, 'entry'))).toBe(false);
    b.close();
    other.close();
  });

  it('keeps nothing when not persisting (grading)', () => {
    const a = ShaderCache.create(impl, { persist: false, sandboxed: false });
    writeFileSync(path.join(a.dir, 'entry'), 'compiled');
    a.close();
    expect(existsSync(a.root)).toBe(false);
    expect(existsSync(shaderStoreFor(impl))).toBe(false);
  });

  it("for a sandbox: writable by anyone, inside a folder others cannot list, under a name they cannot guess; files brought back stay writable", () => {
    const a = ShaderCache.create(impl, { persist: true, sandboxed: true });
    expect(statSync(a.root).mode & 0o777).toBe(0o711);
    expect(statSync(a.dir).mode & 0o777).toBe(0o777);
    expect(path.dirname(a.dir)).toBe(a.root);
    expect(path.basename(a.dir)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    writeFileSync(path.join(a.dir, 'entry'), 'compiled');
    a.close();
    const b = ShaderCache.create(impl, { persist: true, sandboxed: true });
    expect(statSync(path.join(b.dir, 'entry')).mode & 0o777).toBe(0o666);
    b.close();
  });

  it("points the driver's cache at the folder", () => {
    expect(shaderCacheEnv('/cache')).toMatchObject({ MESA_SHADER_CACHE_DIR: '/cache' });
  });
});
