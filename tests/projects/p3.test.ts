// Project 3 end to end on WebGPU (Dawn). In CI and on machines without a GPU this runs on Mesa's
// CPU Vulkan driver (lavapipe), at small sizes: the reference earns full marks (hidden cases and
// speed included), the starter earns nothing, and each failure mode has its own message: a WGSL
// compile error with file:line:col, a validation error, outputs left unwritten (the NaN poison),
// a wrong result, a bad launch, an endless kernel (its case fails, the next runs on a fresh
// process), a library implementation outside a baseline.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { executeRun } from '../../harness/grade/run.ts';
import { DEFAULT_MEASURE } from '../../harness/measure/interleaved.ts';
import type { CaseSpec, Project, Task } from '../../harness/project.ts';
import { findProject } from '../../harness/projects.ts';
import { PlainLauncher } from '../../harness/runner/launcher.ts';
import { BubblewrapLauncher } from '../../harness/runner/sandbox.ts';
import { ShaderCache, shaderStoreFor } from '../../harness/runner/shader-cache.ts';
import type { KParams } from '../../projects/p3/project.ts';
import { familyOf, type Dims, type Family } from '../../projects/p3/spec.ts';
import { FIXTURES, HAVE_SANDBOX, ROOT, run, tmpOut, type TestRunOptions } from '../helpers/run.ts';
import { doctorWebgpu } from '../helpers/webgpu.ts';

const HAVE_WEBGPU = await doctorWebgpu();
const TITLE = HAVE_WEBGPU
  ? 'p3 kernels on WebGPU'
  : 'p3 kernels on WebGPU (skipped: this machine has no WebGPU adapter at all, neither a GPU Vulkan driver nor Mesa lavapipe; `mlsys doctor` says how to get one)';

const REF = path.join(ROOT, 'reference', 'p3');
const STARTER = path.join(ROOT, 'projects', 'p3', 'starter');
const SECRET = 'test-secret-not-for-grading';

/** Timed cases small enough for a CPU adapter (the real ones are sized for a GPU). */
const SMALL: Record<Family, Dims> = {
  matmul: { M: 200, N: 136, K: 72 },
  softmax: { rows: 64, cols: 1000 },
  layernorm: { rows: 64, cols: 1000, eps: 1e-5 },
  reduce_sum: { rows: 1, cols: 100003 },
  transpose: { rows: 300, cols: 257 },
  attention_fwd: { B: 1, H: 2, Sq: 64, Sk: 64, D: 64, causal: true },
};

const timed = (label: string, dims: Dims, extra: Partial<KParams> = {}): CaseSpec<KParams> => ({
  label,
  params: { dims, verify: 'sampled', probe: true, library: true, watchdogMs: 50_000, ...extra },
});

/** Project 3 with small timed cases and, optionally, a short kernel watchdog. */
async function p3(o: { watchdogMs?: number; bench?: (t: Task) => CaseSpec<KParams>[] } = {}): Promise<Project> {
  const p = await findProject('p3');
  return {
    ...p,
    tasks: p.tasks.map((t): Task => {
      const small = SMALL[familyOf(t.id)];
      const generate = o.watchdogMs ? (params: unknown, rng: never) => ({ ...t.generate(params, rng), watchdog_ms: o.watchdogMs! }) : t.generate;
      return {
        ...t,
        generate,
        ...(t.perf ? { perf: { ...t.perf, case: timed(`small ${JSON.stringify(small)}`, small) } } : {}),
        bench: o.bench ? o.bench(t) : [],
      };
    }),
  };
}

async function runP3(project: Project, dir: string, o: TestRunOptions = {}) {
  return executeRun({
    project,
    mode: 'test',
    referenceDir: REF,
    outDir: tmpOut(),
    hidden: false,
    backend: 'auto',
    launcher: o.sandbox ? new BubblewrapLauncher() : new PlainLauncher(),
    timeoutScale: 1,
    measure: { ...DEFAULT_MEASURE, budgetMs: 300, minSamples: 3, maxSamples: 10, roundMs: 10 },
    resume: false,
    progress: () => {},
    ...o,
    submissionDir: dir,
  });
}

describe.skipIf(!HAVE_WEBGPU)(TITLE, () => {
  it('the reference scores full marks (hidden cases, speed timed against itself) and records the adapter', async () => {
    const grade = async (tasks?: string[], budgetMs = 5000) =>
      runP3(await p3(), REF, {
        mode: 'grade',
        hidden: true,
        secret: SECRET,
        sandbox: HAVE_SANDBOX,
        tasks,
        measure: { ...DEFAULT_MEASURE, budgetMs, minSamples: 30, maxSamples: 400, roundMs: 10 },
      });
    let o = await grade();
    // A reference timing that failed twice under a burst of load makes the run not gradable
    // (exit 4): graded once more, as a TA's batch would.
    if (o.exitCode === 4) o = await grade();
    expect(o.exitCode).toBe(0);
    const failed = o.run.cases.filter((c) => c.status !== 'passed');
    expect(failed.map((c) => `${c.id}: ${c.message}`)).toEqual([]);
    expect(o.run.cases.some((c) => c.visibility === 'hidden')).toBe(true);
    expect(o.run.score!.max).toBe(18);
    for (const t of o.run.score!.tasks) expect(t.correctness).toBe(t.correctness_max);
    // The reference timed against itself: full speed credit (at 0.7x of itself). On a CPU adapter
    // a burst of load from other processes can cost one measurement that: it is measured again,
    // with three times the budget (a CI run once got 0.67x, then 0.58x, from 10-17 samples of a
    // 1-2 ms kernel whose times spread by 80-98% of their median on 2 cores).
    const short = o.run.score!.tasks.filter((t) => t.performance < t.performance_max).map((t) => t.task);
    if (short.length) {
      const again = await grade(short, 15000);
      expect(again.run.score!.tasks.filter((t) => t.performance < t.performance_max).map((t) => `${t.task}: ${t.note}`)).toEqual([]);
    } else {
      expect(o.run.score!.total).toBe(18);
    }
    // The adapter is recorded with the results.
    const dev = o.run.device.tensor_device as Record<string, unknown>;
    expect(dev.api).toBe('webgpu');
    expect(typeof dev.vendor).toBe('string');
    expect(typeof dev.fallback).toBe('boolean');
    expect(dev.description).toBeTruthy();
    // A CPU adapter's timings are said to be such where a TA reads, not only on the console.
    const said = o.run.warnings.some((w) => /timed on a CPU fallback adapter/.test(w));
    expect(said).toBe(dev.fallback);
    if (dev.fallback) expect(o.results!.output).toMatch(/timed on a CPU fallback adapter/);
    // Every task with speed credit was timed, with GPU-derived figures and the measured limits.
    expect(o.run.perf.map((p) => p.task).sort()).toEqual(['attention_fwd', 'layernorm', 'matmul', 'reduce_sum', 'softmax', 'transpose']);
    for (const p of o.run.perf) {
      expect(p.speedup_vs_reference).toBeGreaterThan(0);
      const sub = p.impls.find((i) => i.impl === 'submission')!;
      expect(sub.ok).toBe(true);
      expect(sub.metrics.gbps).toBeGreaterThan(0);
      expect(sub.metrics.copy_gbps).toBeGreaterThan(0);
      expect(sub.metrics.fma_gflops).toBeGreaterThan(0);
      expect(sub.metrics.roofline_fraction).toBeGreaterThan(0);
      if (p.task === 'matmul' || p.task === 'attention_fwd') expect(sub.metrics.gflops).toBeGreaterThan(0);
    }
  });

  it.skipIf(!HAVE_SANDBOX)('times a 4096 × 4096 case under the sandbox in a process of its own (its file-size limit once killed it with SIGBUS)', async () => {
    // Mesa's CPU driver backs device memory with one growing memory file, which the sandbox's
    // file-size limit covers: at 64 MiB the first timed input could not be allocated.
    // The project as it is (the other tests shrink its timed cases).
    const o = await runP3(await findProject('p3'), REF, { mode: 'grade', tasks: ['softmax'], sandbox: true, measure: { ...DEFAULT_MEASURE, budgetMs: 500, minSamples: 3, maxSamples: 20, roundMs: 10 } });
    expect(o.exitCode).toBe(0);
    const timed = o.run.perf.find((p) => p.task === 'softmax')!;
    expect(timed.params).toMatchObject({ dims: { rows: 4096, cols: 4096 } });
    expect(timed.impls.map((i) => [i.impl, i.ok, i.message])).toEqual([
      ['submission', true, expect.anything()],
      ['reference', true, expect.anything()],
    ]);
  });

  it('the starter earns no more than 10%, and every case says its output was not written', async () => {
    const o = await run('p3', STARTER);
    expect(o.exitCode).toBe(0);
    expect(o.run.score!.total).toBeLessThanOrEqual(0.1 * o.run.score!.max);
    for (const c of o.run.cases) {
      expect(c.status).toBe('failed');
      expect(c.message).toMatch(/output '\w+' was not written: all \d+ of its elements still hold the NaN/);
    }
  });

  it('a WGSL compile error fails its cases with file:line:col and the source line', async () => {
    const o = await run('p3', path.join(FIXTURES, 'p3-compile-error'), { tasks: ['softmax'] });
    expect(o.exitCode).toBe(0);
    for (const c of o.run.cases) {
      expect(c.status).toBe('failed');
      expect(c.message).toMatch(/WGSL compile error:\nsoftmax\.wgsl:64:\d+: error: .*'u32'/);
      expect(c.message).toContain('let inv: u32 = 1.0 / red_s[0];');
    }
  });

  it('unwritten outputs, wrong results, invalid pipelines and bad launches each fail with their own message', async () => {
    const o = await run('p3', path.join(FIXTURES, 'p3-faulty'), {
      tasks: ['matmul_naive', 'matmul_coalesced', 'matmul_tiled', 'matmul_vec4', 'matmul', 'softmax', 'layernorm', 'transpose', 'reduce_sum'],
    });
    const by = (id: string) => o.run.cases.find((c) => c.id === id)!;
    // The grid rounds down: zero workgroups is refused, a partial grid leaves the poison.
    expect(by('matmul_naive/0').message).toMatch(/workgroups\(\{"M":1,"N":1,"K":1\}\) returned \[0,1\]; expected .* integers from 1 to \d+/);
    expect(by('matmul_naive/1').status).toBe('passed');
    expect(by('matmul_naive/2').message).toMatch(/output 'c': 975 of 8255 elements were never written .* the first at index \[112, 0\]: check that the grid/);
    // Wrong arithmetic, against the float64 oracle.
    expect(by('matmul_coalesced/2').message).toMatch(/output 'c' differs from the oracle at \d+ of 8255 elements; worst at index \[\d+, \d+\]: expected .*, got .* > atol/);
    // Validation: the output declared read-only; an override the kernel does not declare.
    expect(by('matmul_tiled/0').message).toMatch(/matmul_tiled\.wgsl \(entry point 'main'.*\) is not a valid compute pipeline: .*ReadOnlyStorage.* not compatible/);
    expect(by('matmul/0').message).toMatch(/matmul_coalesced\.wgsl .* is not a valid compute pipeline: .*TILE/);
    // The stage's lesson is checked on the source.
    expect(by('matmul_vec4/0').message).toMatch(/no storage buffer is declared as array<vec4<f32>>/);
    // NaN computed by the kernel (no max subtraction) is told apart from NaN never written.
    expect(by('softmax/0').status).toBe('passed');
    expect(by('softmax/4').message).toMatch(/output 'y' has NaN at index \[\d+, \d+\] .* computed by the kernel/);
    // One-pass E[x²] − E[x]² loses the variance when the mean is 256.
    expect(by('layernorm/1').status).toBe('passed');
    expect(by('layernorm/4').message).toMatch(/differs from the oracle/);
    // A library implementation answers no graded case; too many workgroups in one dimension.
    expect(by('transpose/0').message).toMatch(/a library implementation \('tfjs-webgpu'\) is for the harness's baselines only/);
    expect(by('reduce_sum/2').message).toMatch(/returned \[1048583,1\].*maxComputeWorkgroupsPerDimension/);
    for (const t of o.run.score!.tasks) expect(t.performance).toBe(0);
  });

  it('stores past the end of an output fail their case with their own message', async () => {
    const o = await run('p3', path.join(FIXTURES, 'p3-past-end'), { tasks: ['reduce_sum', 'transpose'] });
    const by = (id: string) => o.run.cases.find((c) => c.id === id)!;
    // 1 row: threads 1-3 store into the padding (allowed), 4-63 past it.
    expect(by('reduce_sum/0').message).toMatch(/wrote past the end of output 'y' \[1\]: 60 elements after it, the first at flat index 4 \(the output has 1 element, padded to 4\)\. Guard every store/);
    // 1000 rows: threads 1000-1023.
    expect(by('reduce_sum/3').message).toMatch(/wrote past the end of output 'y' \[1000\]: 24 elements after it, the first at flat index 1000 \(the output has 1000 elements\)/);
    // An off-by-one bound on the rows of a 2-D output: where the row past the last would be.
    // (The first 3 land in the padding to a multiple of 4, which is allowed.)
    expect(by('transpose/2').message).toMatch(/wrote past the end of output 'y' \[65, 33\]: 30 elements after it, the first at flat index 2148, where \[65, 3\] would be if the output had more rows \(the output has 2145 elements, padded to 2148\)/);
    expect(o.run.cases.filter((c) => c.task === 'reduce_sum').every((c) => c.status === 'failed')).toBe(true);
  });

  it('an endless kernel fails its own case (watchdog, process ended) and the next case runs on a fresh process', async () => {
    const o = await runP3(await p3({ watchdogMs: 2000 }), path.join(FIXTURES, 'p3-endless'), { tasks: ['transpose'] });
    const [c0, c1, c2, c3] = o.run.cases;
    expect(c0!.status).toBe('passed');
    expect(c1!.status).toBe('failed');
    expect(c1!.kind).toBe('exception');
    expect(c1!.message).toMatch(/the GPU did not finish transpose \(transpose\.wgsl\) within 2\.0 s .* the next case starts on a fresh process and device/);
    // c2 is endless too, and its kernel's first run in its fresh process: on a CPU adapter that
    // first dispatch would include compiling, which is done beforehand (with no workgroups), so
    // the run has the usual watchdog, not the compile's four times as much.
    expect(c2!.status).toBe('failed');
    expect(c2!.message).toMatch(/the GPU did not finish transpose \(transpose\.wgsl\) within 2\.0 s/);
    expect(c3!.status).toBe('passed');
  });

  it("keeps the driver's compiled kernels across a submission's processes (in the sandbox too), and for its next unsandboxed `test` run", async () => {
    const saved = process.env.XDG_CACHE_HOME;
    const home = mkdtempSync(path.join(os.tmpdir(), 'mlsys-cache-home-'));
    process.env.XDG_CACHE_HOME = home;
    // What each cache holds when it is closed (the sandbox's is removed then).
    const seen: string[][] = [];
    const close = ShaderCache.prototype.close;
    const spy = vi.spyOn(ShaderCache.prototype, 'close').mockImplementation(function (this: ShaderCache) {
      seen.push(readdirSync(this.dir, { recursive: true }).map(String));
      close.call(this);
    });
    try {
      const plain = await runP3(await p3(), REF, { tasks: ['transpose'] });
      expect(plain.run.cases.every((c) => c.status === 'passed')).toBe(true);
      // Mesa's drivers keep a disk cache; a GPU's own driver has its own ways.
      if (String((plain.run.device.tensor_device as Record<string, unknown>).vendor).toLowerCase() !== 'mesa') return;
      const store = shaderStoreFor(REF);
      const files = readdirSync(store, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      expect(files.map((e) => e.name)).toContain('mesa_cache.db');
      expect(files.reduce((a, e) => a + statSync(path.join(e.parentPath, e.name)).size, 0)).toBeGreaterThan(1000);
      if (!HAVE_SANDBOX) return;
      seen.length = 0;
      rmSync(store, { recursive: true, force: true });
      const boxed = await runP3(await p3(), REF, { tasks: ['transpose'], sandbox: true });
      expect(boxed.run.cases.every((c) => c.status === 'passed')).toBe(true);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.some((f) => f.endsWith('mesa_cache.db'))).toBe(true);
      expect(existsSync(store)).toBe(false); // what a sandboxed process wrote is never kept
    } finally {
      spy.mockRestore();
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('bench times the reference, the submission and the tfjs-webgpu baseline, and does not time GPU-sized cases on a CPU adapter', async () => {
    const project = await p3({
      bench: (t) =>
        t.id === 'matmul'
          ? [timed('tiny 64x48x40', { M: 64, N: 48, K: 40 }), timed('gpu-sized 4096^3', { M: 4096, N: 4096, K: 4096 }, { gpuScale: true })]
          : [],
    });
    const o = await runP3(project, REF, { mode: 'bench', tasks: ['matmul'] });
    const recs = o.bench!;
    const impls = new Set(recs.filter((r) => r.label.startsWith('tiny')).map((r) => r.impl));
    expect([...impls].sort()).toEqual(['reference', 'submission', 'tfjs-webgpu']);
    for (const r of recs.filter((x) => x.label.startsWith('tiny'))) {
      expect(r.metrics.ms).toBeGreaterThan(0);
      expect(r.metrics.gflops).toBeGreaterThan(0);
      expect(r.metrics.roofline_fraction).toBeGreaterThan(0);
    }
    const gpu = o.run.perf.find((p) => p.label.startsWith('gpu-sized'))!;
    const fallback = (o.run.device.tensor_device as Record<string, unknown>).fallback;
    if (fallback) {
      // Not timed, and said why: not three failures.
      expect(gpu.impls).toEqual([]);
      expect(gpu.flags).toEqual([expect.stringMatching(/^not timed on this device: sized for a GPU .*a CPU adapter times the smaller cases/)]);
    }
  });
});
