// What this machine offers, and what is missing with the command that installs it.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BACKENDS, startTensorRuntime } from './child/tensor-runtime.ts';
import { RUNTIME_NOISE } from './report/console.ts';
import { HARNESS_ROOT } from './runner/launcher.ts';
import { sandboxProblem } from './runner/sandbox.ts';

export interface DoctorReport {
  node: string;
  cpu: string;
  cores: number;
  backends: Record<string, { ok: boolean; device?: Record<string, unknown>; error?: string }>;
  webgpu: { ok: boolean; adapter?: Record<string, unknown>; features?: string[]; error?: string };
  sandbox: { ok: boolean; problem?: string };
  nvcc: { ok: boolean; version?: string };
  slurm: { ok: boolean; version?: string; problem?: string };
  nvidia_smi: { ok: boolean; gpus?: string };
  missing: { what: string; install: string }[];
}

async function version(cmd: string, args: string[]): Promise<string | null> {
  try {
    const r = await execa(cmd, args, { timeout: 10000 });
    return (r.stdout || r.stderr).trim().split('\n').slice(-1)[0] ?? '';
  } catch {
    return null;
  }
}

/** Whether a command is on PATH (it may be there and still fail to run: sbatch without slurm.conf). */
function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, cmd)));
}

async function webgpuAdapter(): Promise<DoctorReport['webgpu']> {
  try {
    const webgpu = (await import('webgpu')) as unknown as { create(f: string[]): GPU; globals: object };
    Object.assign(globalThis, webgpu.globals);
    const gpu = webgpu.create([]);
    (globalThis as { __mlsysGpu?: unknown }).__mlsysGpu = gpu; // keep Dawn's instance alive
    const a = await gpu.requestAdapter();
    if (!a) return { ok: false, error: process.platform === 'linux' ? 'no adapter (no Vulkan driver)' : 'no adapter' };
    const info = a.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    return {
      ok: true,
      adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, fallback: Boolean(info.isFallbackAdapter) },
      features: [...a.features].sort(),
    };
  } catch (e) {
    return { ok: false, error: String(e) };
  }
}

/** How to get a WebGPU adapter: Dawn runs on Vulkan on Linux, Metal on macOS, D3D12 on Windows. */
const ADAPTER_ADVICE: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'Debian 12: enable bookworm-backports, then apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1 (Ubuntu: apt-get install mesa-vulkan-drivers libvulkan1)',
  darwin: 'Dawn uses Metal, which every supported Mac has: update macOS; on a Mac without a GPU Metal supports, there is none',
  win32: 'Dawn uses Direct3D 12: update the graphics driver (or Windows)',
};

/** The probes that load the tensor runtimes and Dawn, in this process (`mlsys doctor --probe`). */
export async function probeRuntimes(): Promise<Pick<DoctorReport, 'backends' | 'webgpu'>> {
  process.env.XDG_RUNTIME_DIR ??= os.tmpdir();
  const backends: DoctorReport['backends'] = {};
  for (const b of BACKENDS) {
    try {
      const rt = await startTensorRuntime(b);
      backends[b] = { ok: true, device: rt.device };
    } catch (e) {
      backends[b] = { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }
  return { backends, webgpu: await webgpuAdapter() };
}

/**
 * The probes in a process of their own: Dawn prints warnings of its own from native code
 * ("...artificially reduced..."), which only a child's output can be filtered of; its other
 * output is passed on.
 */
async function probeInChild(): Promise<Pick<DoctorReport, 'backends' | 'webgpu'>> {
  const r = await execa(process.execPath, [path.join(HARNESS_ROOT, 'bin', 'mlsys.js'), 'doctor', '--probe'], { reject: false, timeout: 120_000 });
  const said = r.stderr.split('\n').filter((l) => l.trim() && !RUNTIME_NOISE.test(l));
  if (said.length) process.stderr.write(said.join('\n') + '\n');
  try {
    // The last line: a runtime could print a line of its own before it.
    return JSON.parse(r.stdout.trimEnd().split('\n').at(-1) ?? '') as Pick<DoctorReport, 'backends' | 'webgpu'>;
  } catch {
    const why = `the probe of the tensor runtimes and WebGPU failed (${r.failed && r.timedOut ? 'timed out' : `exit ${r.exitCode}`})`;
    return { backends: Object.fromEntries(BACKENDS.map((b) => [b, { ok: false, error: why }])), webgpu: { ok: false, error: why } };
  }
}

export async function doctor(): Promise<DoctorReport> {
  const { backends, webgpu } = await probeInChild();
  const problem = sandboxProblem();
  const nvcc = await version('nvcc', ['--version']);
  const slurm = await version('sbatch', ['--version']);
  const smi = await version('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader']);
  const missing: DoctorReport['missing'] = [];
  if (!backends.tensorflow?.ok) missing.push({ what: 'tfjs-node-gpu (native TensorFlow)', install: 'npm install @tensorflow/tfjs-node-gpu (downloads libtensorflow; needs network)' });
  if (!webgpu.ok) missing.push({ what: 'a WebGPU adapter', install: ADAPTER_ADVICE[process.platform] ?? ADAPTER_ADVICE.linux! });
  if (problem)
    missing.push({
      what: 'the sandbox',
      install: process.platform === 'linux' ? 'apt-get install bubblewrap util-linux' : 'Linux only: here, --sandbox auto runs your code unsandboxed (grading is sandboxed on the course\'s Linux machines)',
    });
  if (!nvcc) missing.push({ what: 'nvcc (CUDA kernels)', install: 'the CUDA toolkit (nvidia-cuda-toolkit)' });
  const slurmProblem = slurm ? undefined : onPath('sbatch') ? 'sbatch is installed but does not run: no Slurm configuration (slurm.conf, or SLURM_CONF)' : 'not found';
  if (!slurm)
    missing.push({
      what: 'Slurm (cluster dispatch)',
      install: onPath('sbatch') ? "point SLURM_CONF at the cluster's slurm.conf (or install it as /etc/slurm/slurm.conf)" : 'apt-get install slurm-client',
    });
  return {
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    backends,
    webgpu,
    sandbox: problem ? { ok: false, problem } : { ok: true },
    nvcc: nvcc ? { ok: true, version: nvcc } : { ok: false },
    slurm: slurm ? { ok: true, version: slurm } : { ok: false, problem: slurmProblem },
    nvidia_smi: smi ? { ok: true, gpus: smi } : { ok: false },
    missing,
  };
}

export function printDoctor(r: DoctorReport): void {
  const line = (ok: boolean, what: string, detail: string) => process.stdout.write(`${ok ? ' ok ' : ' -- '} ${what.padEnd(18)} ${detail}\n`);
  process.stdout.write(`node ${r.node} on ${r.cpu} (${r.cores} cores)\n`);
  for (const [b, s] of Object.entries(r.backends)) line(s.ok, `backend ${b}`, s.ok ? JSON.stringify(s.device) : (s.error ?? ''));
  line(r.webgpu.ok, 'WebGPU adapter', r.webgpu.ok ? `${JSON.stringify(r.webgpu.adapter)} features: ${r.webgpu.features?.join(', ')}` : (r.webgpu.error ?? ''));
  line(r.sandbox.ok, 'sandbox', r.sandbox.ok ? 'bubblewrap works' : (r.sandbox.problem ?? ''));
  line(r.nvcc.ok, 'nvcc', r.nvcc.version ?? 'not found');
  line(r.slurm.ok, 'slurm', r.slurm.version ?? r.slurm.problem ?? 'not found');
  line(r.nvidia_smi.ok, 'nvidia-smi', r.nvidia_smi.gpus ?? 'not found');
  if (r.missing.length) {
    process.stdout.write('\nMissing:\n');
    for (const m of r.missing) process.stdout.write(`  ${m.what}: ${m.install}\n`);
  }
}
