// What differs on students' laptops (macOS and Windows), checked here on Linux: names spelled with
// other capitals than on disk (which a file system that ignores case would accept, and the Linux
// grader would not), the re-run hint's quoting for Windows shells, and the sandbox's message off
// Linux.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseMessage, caseMismatch } from '../../harness/child/exact-case.mjs';
import { findEntry } from '../../harness/grade/run.ts';
import { sandboxProblem } from '../../harness/runner/sandbox.ts';
import { shellWord } from '../../harness/shell.ts';
import { ROOT, run } from '../helpers/run.ts';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'mlsys-case-'));

describe('names spelled with other capitals than on disk', () => {
  it('finds the first name on the way that differs', () => {
    const d = tmp();
    mkdirSync(path.join(d, 'lib'));
    writeFileSync(path.join(d, 'lib', 'attention.ts'), '');
    expect(caseMismatch(path.join(d, 'lib', 'attention.ts'), d)).toBeNull();
    expect(caseMismatch(path.join(d, 'Lib', 'attention.ts'), d)).toEqual({ wrote: 'Lib', onDisk: 'lib' });
    expect(caseMismatch(path.join(d, 'lib', 'Attention.ts'), d)).toEqual({ wrote: 'Attention.ts', onDisk: 'attention.ts' });
    // From a sub-folder, up and back down.
    expect(caseMismatch(path.join(d, 'lib', 'Attention.ts'), path.join(d, 'lib', 'x', '..'))).toEqual({ wrote: 'Attention.ts', onDisk: 'attention.ts' });
    expect(caseMessage("import './Attention'", { wrote: 'Attention.ts', onDisk: 'attention.ts' })).toMatch(
      /^import '\.\/Attention': 'Attention\.ts' is spelled 'attention\.ts' on disk\. .* write 'attention\.ts'$/,
    );
  });

  it('takes the entry file only as spelled, and says so when a file differs by capitals only', async () => {
    const d = tmp();
    writeFileSync(path.join(d, 'Index.ts'), 'export {};\n');
    expect(findEntry(d, ['index.ts', 'index.js'])).toBeNull();
    const o = await run('p2', d, { tasks: ['attention'] });
    expect(o.exitCode).toBe(3);
    expect(o.run.cases[0]!.message).toMatch(/no index\.ts or index\.js in .*: 'Index\.ts' is not 'index\.ts' \(the Linux machines that grade your code tell capitals apart; rename it\)/);
  });
});

describe('a relative import that finds nothing', () => {
  const starterWith = (first: string) => {
    const d = tmp();
    cpSync(path.join(ROOT, 'projects', 'p2', 'starter'), d, { recursive: true });
    writeFileSync(path.join(d, 'helper.ts'), 'export const one = 1;\n');
    writeFileSync(path.join(d, 'index.ts'), `${first}\n${readFileSync(path.join(d, 'index.ts'), 'utf8')}`);
    return d;
  };

  it('names the file spelled with other capitals on disk (as the grader would fail it)', async () => {
    const o = await run('p2', starterWith("import { one } from './Helper';\nvoid one;"), { tasks: ['attention'] });
    expect(o.exitCode).toBe(3);
    expect(o.run.cases[0]!.message).toMatch(/import '\.\/Helper': 'Helper' is spelled 'helper' on disk\. .*write 'helper'/);
  });

  it('finds the folder spelled with other capitals on the way, too', async () => {
    const d = starterWith("import { two } from './Lib/math';\nvoid two;");
    mkdirSync(path.join(d, 'lib'));
    writeFileSync(path.join(d, 'lib', 'math.ts'), 'export const two = 2;\n');
    const o = await run('p2', d, { tasks: ['attention'] });
    expect(o.run.cases[0]!.message).toMatch(/import '\.\/Lib\/math': 'Lib' is spelled 'lib' on disk/);
  });

  it("a package the harness provides, asked for a path it does not have, gets that error (not 'no such package')", async () => {
    const o = await run('p2', starterWith("import '@tensorflow/tfjs/no-such-part';"), { tasks: ['attention'] });
    expect(o.run.cases[0]!.message).not.toMatch(/nor is it a package the harness provides/);
    expect(o.run.cases[0]!.message).toMatch(/no-such-part/);
  });

  it("says that a grader's file (the oracle) may not be imported, rather than only that it is not there", async () => {
    const o = await run('p2', starterWith("import { attention as a } from '../oracle.ts';\nvoid a;"), { tasks: ['attention'] });
    expect(o.run.cases[0]!.message).toMatch(/'oracle\.ts' is the name of a file of the grader's, which a submission may not import/);
  });
});

describe('the re-run hint on Windows', () => {
  it('quotes a path with spaces in double quotes, which cmd.exe and PowerShell both take', () => {
    expect(shellWord('C:\\Users\\ann\\my p2', 'win32')).toBe('"C:\\Users\\ann\\my p2"');
    expect(shellWord('C:\\Users\\ann\\p2', 'win32')).toBe('C:\\Users\\ann\\p2');
    expect(shellWord('/home/ann/my p2', 'linux')).toBe("'/home/ann/my p2'");
  });
});

describe('the sandbox off Linux', () => {
  it('says it runs on Linux only, instead of advising apt-get', () => {
    expect(sandboxProblem('darwin')).toBe('the sandbox (bubblewrap) runs on Linux only, and this is macOS');
    expect(sandboxProblem('win32')).toBe('the sandbox (bubblewrap) runs on Linux only, and this is Windows');
  });
});
