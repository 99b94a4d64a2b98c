// WGSL to compute pipelines, with errors a student can act on: compile errors as
// `file:line:col: error: message` with the source line and a caret, validation errors (a wrong
// binding type, an unknown override, a missing entry point) with the file and entry point.
import type { GpuHandle } from './device.ts';

/** A kernel that does not compile or does not validate: the submission's fault, for its case. */
export class KernelError extends Error {
  override name = 'KernelError';
}

function sourceLine(code: string, line: number, col: number, length: number): string {
  const text = code.split('\n')[line - 1];
  if (text === undefined) return '';
  const caret = ' '.repeat(Math.max(0, col - 1)) + '^'.repeat(Math.max(1, Math.min(length || 1, Math.max(1, text.length - col + 1))));
  return `\n    ${text}\n    ${caret}`;
}

/** Dawn's message without the call trace it appends (" - While calling ..."). */
export function shortGpuMessage(message: string): string {
  return message
    .split('\n')
    .filter((l) => !/^\s*- While /.test(l))
    .join('\n')
    .trim();
}

export interface CompiledModule {
  module: GPUShaderModule;
  warnings: string[];
}

/** Compiles one WGSL file; throws KernelError listing every error with file:line:col. */
export async function compileWgsl(h: GpuHandle, code: string, file: string): Promise<CompiledModule> {
  const { device } = h;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code, label: file });
  const info = await module.getCompilationInfo();
  const scoped = await device.popErrorScope();
  const fmt = (m: GPUCompilationMessage) =>
    m.lineNum > 0
      ? `${file}:${m.lineNum}:${m.linePos}: ${m.type}: ${m.message}${sourceLine(code, m.lineNum, m.linePos, m.length)}`
      : `${file}: ${m.type}: ${m.message}`;
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) throw new KernelError(`WGSL compile error${errors.length > 1 ? 's' : ''}:\n${errors.map(fmt).join('\n')}`);
  if (scoped) throw new KernelError(`${file}: ${shortGpuMessage(scoped.message)}`);
  return { module, warnings: info.messages.filter((m) => m.type === 'warning').map(fmt) };
}

export interface PipelineSpec {
  module: GPUShaderModule;
  file: string;
  entryPoint: string;
  /** WGSL `override` constants by name. */
  constants?: Record<string, number>;
  layout: GPUPipelineLayout | 'auto';
}

/** A compute pipeline; throws KernelError naming the file and entry point when it does not validate. */
export async function computePipeline(h: GpuHandle, s: PipelineSpec): Promise<GPUComputePipeline> {
  const { device } = h;
  device.pushErrorScope('validation');
  device.pushErrorScope('internal');
  let pipeline: GPUComputePipeline | null = null;
  let thrown: unknown = null;
  try {
    pipeline = device.createComputePipeline({
      label: `${s.file}:${s.entryPoint}`,
      layout: s.layout,
      compute: { module: s.module, entryPoint: s.entryPoint, constants: s.constants ?? {} },
    });
  } catch (e) {
    thrown = e;
  }
  const internal = await device.popErrorScope();
  const validation = await device.popErrorScope();
  const err = validation ?? internal;
  const where = `${s.file} (entry point '${s.entryPoint}'${s.constants && Object.keys(s.constants).length ? `, overrides ${JSON.stringify(s.constants)}` : ''})`;
  if (err) throw new KernelError(`${where} is not a valid compute pipeline: ${shortGpuMessage(err.message)}`);
  if (thrown || !pipeline) throw new KernelError(`${where} could not be created: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  return pipeline;
}

/** Pipelines by source, entry point, overrides and layout: each is compiled once per process. */
export class PipelineCache {
  private modules = new Map<string, Promise<CompiledModule>>();
  private pipelines = new Map<string, Promise<GPUComputePipeline>>();

  constructor(private readonly h: GpuHandle) {}

  async get(code: string, file: string, entryPoint: string, constants: Record<string, number>, layout: GPUPipelineLayout | 'auto', layoutKey: string): Promise<GPUComputePipeline> {
    const mkey = `${file}\u0000${code}`;
    let m = this.modules.get(mkey);
    if (!m) {
      m = compileWgsl(this.h, code, file);
      this.modules.set(mkey, m);
      m.catch(() => this.modules.delete(mkey));
    }
    const { module } = await m;
    const key = `${mkey}\u0000${entryPoint}\u0000${JSON.stringify(Object.entries(constants).sort())}\u0000${layoutKey}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = computePipeline(this.h, { module, file, entryPoint, constants, layout });
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
    }
    return p;
  }
}
