// Unpacking students' archives: real zip and tar.gz files, good and hostile.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFolder, codeRoot, DEFAULT_LIMITS, unpackArchive, UnpackError } from '../../harness/batch/unpack.ts';
import { rawTarGz, rawZip, tarGzFolder, zipFolder } from './helpers/archives.ts';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'mlsys-unpack-'));

function sample(): string {
  const d = tmp();
  mkdirSync(path.join(d, 'lib'));
  writeFileSync(path.join(d, 'index.ts'), 'export const x = 1;\n');
  writeFileSync(path.join(d, 'lib', 'util.ts'), 'export const y = 2;\n');
  return d;
}

async function refused(file: string, pattern: RegExp, limits = DEFAULT_LIMITS): Promise<void> {
  const dest = path.join(tmp(), 'out');
  const err = await unpackArchive(file, dest, limits).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(UnpackError);
  expect((err as Error).message).toMatch(pattern);
  expect(existsSync(dest)).toBe(false); // nothing half-unpacked is left
}

describe('unpacking a submission', () => {
  it('unpacks a zip made by a zip tool, and finds the code inside its top folder', async () => {
    const z = path.join(tmp(), 'alice.zip');
    await zipFolder(sample(), z, 'my-p2');
    const dest = path.join(tmp(), 'out');
    await unpackArchive(z, dest);
    expect(readFileSync(path.join(dest, 'my-p2', 'lib', 'util.ts'), 'utf8')).toMatch(/y = 2/);
    expect(codeRoot(dest, ['index.ts'])).toBe(path.join(dest, 'my-p2'));
  });

  it('unpacks a .tar.gz', async () => {
    const t = path.join(tmp(), 'bob.tar.gz');
    await tarGzFolder(sample(), t);
    const dest = path.join(tmp(), 'out');
    await unpackArchive(t, dest);
    expect(codeRoot(dest, ['index.ts'])).toBe(dest);
    expect(readFileSync(path.join(dest, 'index.ts'), 'utf8')).toMatch(/x = 1/);
  });

  it('refuses entries that lead out of the folder', async () => {
    const d = tmp();
    rawZip(path.join(d, 'a.zip'), [{ name: 'index.ts', data: 'x' }, { name: '../../evil.ts', data: 'pwned' }]);
    await refused(path.join(d, 'a.zip'), /'\.\.\/\.\.\/evil\.ts' leads out of the folder/);
    rawZip(path.join(d, 'b.zip'), [{ name: '/tmp/evil.ts', data: 'pwned' }]);
    await refused(path.join(d, 'b.zip'), /'\/tmp\/evil\.ts' is an absolute path/);
    rawTarGz(path.join(d, 'c.tar.gz'), [{ name: 'index.ts', data: 'x' }, { name: 'lib/../../evil.ts', data: 'pwned' }]);
    await refused(path.join(d, 'c.tar.gz'), /leads out of the folder/);
    expect(existsSync(path.join(d, 'evil.ts'))).toBe(false);
    expect(existsSync(path.join(os.tmpdir(), 'evil.ts'))).toBe(false);
  });

  it('refuses links that point out of the folder, and hard links; keeps links that stay inside', async () => {
    const d = tmp();
    rawZip(path.join(d, 'a.zip'), [{ name: 'index.ts', data: 'x' }, { name: 'secrets', data: '/etc', mode: 0o120777 }]);
    await refused(path.join(d, 'a.zip'), /'secrets' is a link to '\/etc', outside the submission/);
    rawTarGz(path.join(d, 'b.tar.gz'), [{ name: 'up', type: '2', link: '../..' }]);
    await refused(path.join(d, 'b.tar.gz'), /'up' is a link to '\.\.\/\.\.'/);
    rawTarGz(path.join(d, 'c.tar.gz'), [{ name: 'passwd', type: '1', link: '/etc/passwd' }]);
    await refused(path.join(d, 'c.tar.gz'), /'passwd' is a hard link/);
    rawZip(path.join(d, 'ok.zip'), [{ name: 'src/index.ts', data: 'x' }, { name: 'index.ts', data: 'src/index.ts', mode: 0o120777 }]);
    const dest = path.join(tmp(), 'out');
    await unpackArchive(path.join(d, 'ok.zip'), dest);
    expect(readlinkSync(path.join(dest, 'index.ts'))).toBe('src/index.ts');
  });

  it('enforces the caps on bytes, file size and entry count (counted as written)', async () => {
    const d = tmp();
    const big = path.join(d, 'big');
    mkdirSync(big);
    writeFileSync(path.join(big, 'index.ts'), 'x'.repeat(5000)); // compresses to almost nothing
    await zipFolder(big, path.join(d, 'big.zip'));
    await refused(path.join(d, 'big.zip'), /larger than|more than/, { ...DEFAULT_LIMITS, maxFileBytes: 4096, maxBytes: 1 << 20 });
    await refused(path.join(d, 'big.zip'), /unpacks to more than/, { ...DEFAULT_LIMITS, maxBytes: 4096 });
    rawZip(path.join(d, 'many.zip'), Array.from({ length: 20 }, (_, i) => ({ name: `f${i}.ts`, data: '' })));
    await refused(path.join(d, 'many.zip'), /more than 10 entries/, { ...DEFAULT_LIMITS, maxEntries: 10 });
  });

  it('refuses a damaged archive and an entry that appears twice', async () => {
    const d = tmp();
    writeFileSync(path.join(d, 'junk.zip'), 'this is not a zip file at all');
    await refused(path.join(d, 'junk.zip'), /not a readable zip file/);
    writeFileSync(path.join(d, 'junk.tar.gz'), 'this is not gzip');
    await refused(path.join(d, 'junk.tar.gz'), /damaged/);
    rawZip(path.join(d, 'twice.zip'), [{ name: 'index.ts', data: 'a' }, { name: 'index.ts', data: 'b' }]);
    await refused(path.join(d, 'twice.zip'), /'index\.ts' appears twice/);
  });

  it('checks a submission folder by the same rules', () => {
    const d = sample();
    expect(() => checkFolder(d)).not.toThrow();
    symlinkSync('/etc/passwd', path.join(d, 'passwd'));
    expect(() => checkFolder(d)).toThrow(/'passwd' is a link to '\/etc\/passwd'/);
  });
});
