// Whether this machine has any WebGPU adapter (a real GPU or Mesa's CPU driver), checked in a
// child process so that Dawn never loads in the test runner itself.
import { execa } from 'execa';

export async function doctorWebgpu(): Promise<boolean> {
  const code = `const w = await import('webgpu'); const g = w.create([]); globalThis.k = g; const a = await g.requestAdapter(); process.exit(a ? 0 : 1);`;
  const r = await execa(process.execPath, ['--input-type=module', '-e', code], { reject: false, timeout: 30000 });
  return r.exitCode === 0;
}
