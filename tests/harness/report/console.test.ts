// What a person reads at the end of a run: a load error once, the graded case of a bench series
// marked, the large-spread notes gathered, and the speed credit bench's figure would earn.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { findProject } from '../../../harness/projects.ts';
import type { RunOutcome } from '../../../harness/grade/run.ts';
import { printRun } from '../../../harness/report/console.ts';
import type { RunRecord } from '../../../harness/report/schema.ts';

const base = {
  mode: 'test',
  submission: { path: '/tmp/sub', entry: 'index.ts' },
  device: { backend: 'cpu' },
  options: { hidden: false, sandbox: 'none', timeout_scale: 1, backend: 'auto' },
  cases: [],
  perf: [],
  perf_tasks: [],
  score: null,
  warnings: [],
  output: { stdout: '', stderr: '' },
  status: 'complete',
};

describe('the console report', () => {
  let printed = '';
  beforeEach(() => {
    printed = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      printed += String(s);
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it('says a load error once, not once per case, and that only public cases ran', async () => {
    const project = await findProject('p2');
    const failed = (id: string) => ({ id, task: 'attention', index: 0, label: id, visibility: 'public', seed: 1, status: 'failed', kind: 'load_error', message: "Cannot find module './Utils'" });
    const run = { ...base, status: 'load_failed', cases: [failed('attention/0'), failed('attention/1'), failed('attention/2')], score: { total: 0, max: 18, tasks: [] } };
    run.cases.forEach((c) => (c.message = `your code could not be loaded: ${c.message}`));
    printRun(project, { run: run as unknown as RunRecord, exitCode: 3 } as RunOutcome, '/tmp/out', false);
    expect(printed).toContain('Your code could not be loaded, so all 3 cases fail:');
    expect(printed.match(/Cannot find module/g)).toHaveLength(1);
    expect(printed).not.toMatch(/loaded, so all 3 cases fail:\n  your code could not be loaded/);
    expect(printed).not.toContain('re-run just this case');
    expect(printed).toContain('(public cases only');
  });

  it('bench: marks the graded case, gathers the spread notes, and puts the graded figure on the credit curve', async () => {
    const project = await findProject('p2');
    const spec = project.tasks.find((t) => t.id === 'generate')!;
    const impl = (name: string, ms: number) => ({ impl: name, ok: true, message: '', summary: { median: ms, iqr: ms / 4, n: 9 }, samples_ms: [], metrics: { ms } });
    const perf = (label: string, graded: boolean) => ({
      task: 'generate',
      label,
      params: {},
      graded,
      impls: [impl('submission', 20), impl('reference', 10)],
      speedup_vs_reference: 0.5,
      flags: ['submission: large spread: IQR/median = 25% over 9 samples', 'reference: large spread: IQR/median = 31% over 9 samples', 'submission: printed 75 B during its timed calls: printing is slow'],
    });
    const run = {
      ...base,
      mode: 'bench',
      // bench records are never `graded` (that is grade's); the graded case is known by its label.
      perf: [perf('cached, context 16', false), perf(spec.perf!.case.label, false)],
      perf_tasks: [{ task: 'generate', speedup_vs_reference: 0.5, basis: 'paired rounds' }],
    };
    printRun(project, { run: run as unknown as RunRecord, exitCode: 0, bench: [] } as RunOutcome, '/tmp/out', true);
    expect(printed).toContain(`${spec.perf!.case.label} (graded)`);
    expect(printed).not.toContain('context 16 (graded)');
    expect(printed).toContain('4 timings have a large spread (IQR/median 25–31%, over 10%)');
    expect(printed).toContain('note: submission printed during its timed calls in 2 cases: printing is slow');
    expect(printed).not.toContain('75 B');
    const max = spec.perf!.share * spec.points;
    const earned = ((0.5 - spec.perf!.floor) / (spec.perf!.target - spec.perf!.floor)) * max;
    expect(printed).toContain(`graded speed: 0.50x (paired rounds): ${Math.round(earned * 100) / 100} of ${Math.round(max * 100) / 100} speed points`);
  });

  it("test: the total says that speed was not timed and which cases it covers; a load error of one case is said in the singular", async () => {
    const project = await findProject('p2');
    const task = (id: string, perfMax: number) => ({ task: id, title: id, correctness: 3, correctness_max: 3, performance: 0, performance_max: perfMax, note: '1/1 cases passed; speed not measured in this run' });
    const run = { ...base, options: { ...base.options, case: 'attention/1', tasks: null }, score: { total: 3, max: 4, tasks: [task('attention', 1)] } };
    printRun(project, { run: run as unknown as RunRecord, exitCode: 0 } as RunOutcome, '/tmp/out', true);
    expect(printed).toContain('(test does not time your code, so the 1 speed point above counts as 0 here; `npx mlsys bench p2 /tmp/sub` shows the speed figures grading uses)');
    expect(printed).toContain('(only --case attention/1 ran: the total is of that case alone, not of its task)');
    printed = '';
    const one = { id: 'attention/0', task: 'attention', index: 0, label: 'x', visibility: 'public', seed: 1, status: 'failed', kind: 'load_error', message: 'your code could not be loaded: SyntaxError' };
    printRun(project, { run: { ...run, status: 'load_failed', cases: [one] } as unknown as RunRecord, exitCode: 3 } as RunOutcome, '/tmp/out', true);
    expect(printed).toContain('Your code could not be loaded, so its one case fails:');
  });

  it('printed output: a tail cut below its case label says which case it continues', async () => {
    const project = await findProject('p2');
    const lines = ['--- case attention/0 ---', 'a', '--- case attention/1 ---', ...Array.from({ length: 30 }, (_, i) => `line ${i}`)];
    const run = { ...base, output: { stdout: lines.join('\n') + '\n', stderr: '' } };
    printRun(project, { run: run as unknown as RunRecord, exitCode: 0 } as RunOutcome, '/tmp/out', true);
    expect(printed).toContain('stdout (last 20 of 33 lines kept):\n    | --- case attention/1 (continued) ---\n    | line 10\n');
    printed = '';
    const flood = ['--- case attention/0 ---', 'x', '', '[... 6291456 bytes of output dropped ...]', '--- case attention/0 (continued) ---', ...Array.from({ length: 25 }, () => 'x')];
    printRun(project, { run: { ...run, output: { stdout: flood.join('\n'), stderr: '' } } as unknown as RunRecord, exitCode: 0 } as RunOutcome, '/tmp/out', true);
    expect(printed).toContain('stdout (last 20 of 29 lines kept; 6.0 MiB more were printed and dropped):\n    | --- case attention/0 (continued) ---\n    | x\n');
  });

  it("printed output: what the failing cases printed, the last lines of each, a flood's continuation joined to its case", async () => {
    const project = await findProject('p2');
    const c = (id: string, status: string) => ({ id, task: 'attention', index: 0, label: id, visibility: 'public', seed: 1, status, kind: status === 'failed' ? 'exception' : null, message: 'x' });
    const lines = [
      '--- case attention/0 ---',
      'passing case line',
      '--- case attention/1 ---',
      ...Array.from({ length: 5 }, (_, i) => `one ${i}`),
      '[... 100 bytes of output dropped ...]',
      '--- case attention/1 (continued) ---',
      ...Array.from({ length: 5 }, (_, i) => `one more ${i}`),
      '--- case attention/2 ---',
      'two',
    ];
    const run = { ...base, cases: [c('attention/0', 'passed'), c('attention/1', 'failed'), c('attention/2', 'failed'), c('attention/3', 'failed')], output: { stdout: lines.join('\n'), stderr: '' } };
    printRun(project, { run: run as unknown as RunRecord, exitCode: 0 } as RunOutcome, '/tmp/out', true);
    expect(printed).toContain(
      [
        '  stdout, in the failing cases (the last 8 lines of each of the 2 that printed; 100 B more were printed and dropped):',
        '    | --- case attention/1 (last 8 of 10 lines) ---',
        '    | one 2',
      ].join('\n'),
    );
    expect(printed).toContain('    | one more 4\n    | --- case attention/2 ---\n    | two\n');
    expect(printed).not.toContain('passing case line');
  });
});
