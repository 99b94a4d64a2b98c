// Project 4 end to end and its parts: the oracle and ground-truth cache, the recall–QPS frontier,
// the reference (full marks, hidden cases and speed included), the starter (nothing), the failure
// messages, and bench with the hnswlib-node baseline. Synthetic data only (Fashion-MNIST is
// bench-only and opt-in).
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MEASURE } from '../../harness/measure/interleaved.ts';
import { Rng } from '../../harness/rng.ts';
import { loadHiddenCases } from '../../harness/staff.ts';
import { blobs, cachedGroundTruth, dataset, fashionPermutation } from '../../projects/p4/datasets.ts';
import { exactKnn, recallCount } from '../../projects/p4/oracle.ts';
import { paretoFrontier, qpsAtRecall } from '../../projects/p4/project.ts';
import { FIXTURES, HAVE_SANDBOX, ROOT, run } from '../helpers/run.ts';

const REF = path.join(ROOT, 'reference', 'p4');
const STARTER = path.join(ROOT, 'projects', 'p4', 'starter');
const SECRET = 'test-secret-not-for-grading';

function naiveKnn(base: Float32Array, d: number, q: Float32Array, k: number): { id: number; d: number }[] {
  const n = base.length / d;
  const all = Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (base[i * d + j]! - q[j]!) ** 2;
    return { id: i, d: s };
  });
  return all.sort((a, b) => a.d - b.d || a.id - b.id).slice(0, k);
}

describe('p4 oracle and data', () => {
  const saved = process.env.MLSYS_P4_CACHE;
  afterEach(() => {
    if (saved === undefined) delete process.env.MLSYS_P4_CACHE;
    else process.env.MLSYS_P4_CACHE = saved;
  });

  it('exact kNN (inline and on worker threads) matches a naive search, with eligibility masks and short results', () => {
    const rng = new Rng(7);
    const d = 12;
    const base = blobs(rng, 700, d, 5);
    const qs = blobs(rng, 9, d, 5);
    const r = exactKnn(base, d, qs, 10, 'l2');
    for (let q = 0; q < 9; q++) {
      const want = naiveKnn(base, d, qs.subarray(q * d, q * d + d), 10);
      expect(Array.from(r.ids.subarray(q * 10, q * 10 + 10))).toEqual(want.map((x) => x.id));
      want.forEach((x, j) => expect(r.dists[q * 10 + j]).toBeCloseTo(x.d, 9));
    }
    // Only rows 0..4 eligible: five results, then -1 / Infinity.
    const mask = new Uint8Array(700);
    mask.fill(1, 0, 5);
    const few = exactKnn(base, d, qs, 10, 'l2', mask);
    expect(Array.from(few.ids.subarray(0, 10)).filter((x) => x >= 0).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(few.ids[5]).toBe(-1);
    expect(few.dists[9]).toBe(Infinity);
    // Large enough to go to the worker threads (when there are cores for them): same answer.
    const big = blobs(rng, 6000, 64, 10);
    const bq = blobs(rng, 1100, 64, 10);
    const par = exactKnn(big, 64, bq, 5, 'l2');
    const one = naiveKnn(big, 64, bq.subarray(1099 * 64), 5);
    expect(Array.from(par.ids.subarray(1099 * 5))).toEqual(one.map((x) => x.id));
  });

  it('recall counts a neighbour when its distance is within the true k-th distance + 1e-3 (Euclidean for l2)', () => {
    // True 10th squared distance 4 (Euclidean 2): 2.0005² counts, 2.01² does not.
    expect(recallCount('l2', [1, 4, 2.0005 ** 2, 2.01 ** 2], 4)).toBe(3);
    expect(recallCount('cosine', [0.1, 0.2005, 0.21], 0.2)).toBe(2);
  });

  it('ground truth is cached on disk with a checksum; a corrupted file is recomputed', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mlsys-p4-cache-'));
    process.env.MLSYS_P4_CACHE = dir;
    const rng = new Rng(3);
    const base = blobs(rng, 300, 8, 4);
    const qs = blobs(rng, 20, 8, 4);
    const a = cachedGroundTruth('unit', base, qs, 8, 10, 'l2');
    const files = readdirSync(dir).filter((f) => f.endsWith('.gt'));
    expect(files).toHaveLength(1);
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toMatch(/^\*$/m);
    const b = cachedGroundTruth('unit', base, qs, 8, 10, 'l2');
    expect(Array.from(b.ids)).toEqual(Array.from(a.ids));
    // Corrupt one byte of the payload: the checksum no longer matches, the value is recomputed.
    const f = path.join(dir, files[0]!);
    const buf = readFileSync(f);
    buf[buf.length - 3]! ^= 0xff;
    writeFileSync(f, buf);
    const c = cachedGroundTruth('unit', base, qs, 8, 10, 'l2');
    expect(Array.from(c.dists)).toEqual(Array.from(a.dists));
    expect(readFileSync(f).equals(buf)).toBe(false);
  });

  it('named data sets are deterministic; the Fashion-MNIST split is a fixed permutation', () => {
    const ds = dataset('random-xs-20');
    expect([ds.n, ds.nq, ds.d]).toEqual([10000, 1000, 20]);
    expect(ds.hash).toBe(dataset('random-xs-20').hash);
    const q = naiveKnn(ds.base, 20, ds.queries.subarray(0, 20), 10);
    expect(Array.from(ds.gt.ids.subarray(0, 10))).toEqual(q.map((x) => x.id));
    const p = fashionPermutation();
    expect(p.length).toBe(70000);
    expect(new Set(p).size).toBe(70000);
    expect(Array.from(p.subarray(0, 5))).toEqual(Array.from(fashionPermutation().subarray(0, 5)));
  });

  it('the Fashion-MNIST task is bench-only and opt-in', async () => {
    const { default: project } = await import('../../projects/p4/project.ts');
    const fm = project.tasks.find((t) => t.id === 'hnsw_fashion_mnist')!;
    const hidden = await loadHiddenCases(project);
    expect([fm.points, fm.public.length, hidden.get(fm.id)?.length ?? 0]).toEqual([0, 0, 0]);
    expect(fm.bench).toEqual(process.env.MLSYS_P4_DATASET === 'fashion-mnist' ? expect.any(Array) : []);
    expect(project.tasks.reduce((a, t) => a + t.points, 0)).toBe(11);
  });

  it('QPS at recall 0.9 is interpolated on the Pareto frontier', () => {
    const pts = [
      { recall: 0.8, qps: 1000, label: 'a' },
      { recall: 0.95, qps: 500, label: 'b' },
      { recall: 0.85, qps: 300, label: 'dominated' },
      { recall: 0.99, qps: 100, label: 'c' },
    ];
    expect(paretoFrontier(pts).map((x) => x.label)).toEqual(['a', 'b', 'c']);
    // Between (0.8, 1000) and (0.95, 500): 1000 + (500 − 1000)·(0.9 − 0.8)/(0.95 − 0.8).
    expect(qpsAtRecall(pts, 0.9)).toBeCloseTo(1000 - (500 * 0.1) / 0.15, 6);
    expect(qpsAtRecall(pts, 0.5)).toBe(1000);
    expect(qpsAtRecall(pts, 0.995)).toBeNull();
  });
});

describe('p4 reference solution', () => {
  it('scores full marks with hidden cases and speed measured against itself', async () => {
    const grade = (budgetMs: number) => run('p4', REF, { mode: 'grade', hidden: true, secret: SECRET, sandbox: HAVE_SANDBOX, measure: { ...DEFAULT_MEASURE, budgetMs } });
    let o = await grade(1000);
    // The reference against itself has a true speedup of 1; a burst of load from other test
    // files on 2 cores can push one measurement under the target. It is measured once more, with
    // three times the budget, as in p2's and p3's tests (correctness must be full both times).
    // (A reference timing that failed twice under that load makes the run not gradable, exit 4.)
    if (o.exitCode !== 0 || o.run.score!.total < 11) {
      expect(o.run.cases.every((c) => c.status === 'passed')).toBe(true);
      o = await grade(3000);
    }
    expect(o.exitCode).toBe(0);
    const failed = o.run.cases.filter((c) => c.status !== 'passed');
    expect(failed.map((c) => `${c.id}: ${c.message}`)).toEqual([]);
    expect(o.run.cases.some((c) => c.visibility === 'hidden')).toBe(true);
    expect(o.run.score!.max).toBe(11);
    expect(o.run.score!.tasks.map((t) => `${t.task} ${t.performance}/${t.performance_max} ${t.note}`)).toEqual(
      o.run.score!.tasks.map((t) => `${t.task} ${t.performance_max}/${t.performance_max} ${t.note}`),
    );
    expect(o.run.score!.total).toBe(11);
    // Every approximate task is graded on QPS at recall 0.9 over its sweep; recall is measured.
    const perf = o.run.perf_tasks.map((p) => `${p.task}: ${p.basis.split(':')[0]}`);
    expect(perf).toEqual([
      "flat: time on 'random-xs-20, 300 queries', paired rounds",
      'ivf: QPS (median) at recall@10 0.9',
      'hnsw: QPS (median) at recall@10 0.9',
      'pq: QPS (median) at recall@10 0.9',
      'updates: QPS (median) at recall@10 0.9',
    ]);
    const hnsw = o.run.perf.filter((p) => p.task === 'hnsw');
    expect(hnsw.length).toBe(5);
    const recalls = hnsw.map((p) => p.impls[0]!.metrics['recall@10']!);
    expect(Math.min(...recalls)).toBeLessThan(0.9); // the sweep straddles the target recall
    expect(Math.max(...recalls)).toBeGreaterThan(0.95);
    for (const p of o.run.perf)
      for (const i of p.impls) {
        expect(i.ok).toBe(true);
        for (const m of ['qps', 'qps_median', 'p50_ms', 'p99_ms', 'build_s', 'index_bytes', 'recall@10', 'recall@10_ids']) expect(i.metrics[m], `${p.label} ${m}`).toBeGreaterThan(0);
      }
    const pq = o.run.cases.filter((c) => c.task === 'pq');
    for (const c of pq) expect(Number(c.details!.index_bytes)).toBeGreaterThan(0);
  });
});

describe('p4 starter', () => {
  it('earns no more than 10% of the points, and every case says what is missing', async () => {
    const o = await run('p4', STARTER);
    expect(o.exitCode).toBe(0);
    expect(o.run.score!.total).toBeLessThanOrEqual(0.1 * o.run.score!.max);
    for (const c of o.run.cases) {
      expect(c.status).toBe('failed');
      expect(c.message).toMatch(/not implemented yet/);
    }
  });
});

describe('p4 failure messages', () => {
  it('duplicate ids, too few results, ids never added, filters and memory each fail with their own message', async () => {
    const o = await run('p4', path.join(FIXTURES, 'p4-faulty'));
    const by = (id: string) => o.run.cases.find((c) => c.id === id)!;
    expect(by('flat/0').message).toMatch(/^query 0: id \d+ is returned twice \(results 0 and 1\)/);
    expect(by('ivf/0').message).toMatch(/^query 0: 7 results returned, expected 10 \(k = 10; at least 10 vectors are eligible\)/);
    // Positions instead of ids: said so, whether the position is an id or not.
    expect(by('hnsw/0').message).toMatch(/^query 0, result 0: id (\d+) was never added to the index \(its distance is that of the vector added at position \1: return the ids given to add\(\)/);
    const positional = o.run.cases.filter((c) => c.task === 'hnsw' && /position/.test(c.message));
    expect(positional.length).toBe(2);
    for (const c of positional) expect(c.message).toMatch(/return the ids given to add\(\) with the vectors, not (their )?positions/);
    expect(by('hnsw/2').message).toMatch(/HNSWIndex has no static load\(path\) method/);
    expect(by('pq/0').message).toMatch(/^bytes\(\) reports 204000 bytes for 3000 vectors, over the budget of \d+/);
    expect(by('updates/2').message).toMatch(/does not satisfy the query's filter|was never added/);
    for (const t of o.run.score!.tasks) expect(t.performance).toBe(0);
  });

  it('a method that never returns runs out of time, and the message names it', async () => {
    // 30 s x 0.1: the case's limit is 3 s.
    const o = await run('p4', path.join(FIXTURES, 'p4-stuck'), { tasks: ['ivf'], caseId: 'ivf/0', timeoutScale: 0.1 });
    expect(o.run.cases[0]).toMatchObject({ status: 'failed', kind: 'timeout' });
    expect(o.run.cases[0]!.message).toMatch(/^timed out: no answer within 3\.0 s \(the process was killed\)\nwhen the time ran out, the call was in: IVFFlatIndex\.train\(vectors\)$/);
  });

  it('a method that runs out of memory is named too', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mlsys-p4-oom-'));
    const stuck = readFileSync(path.join(FIXTURES, 'p4-stuck', 'index.ts'), 'utf8');
    // 1 TiB at once: refused by the allocator at once, on any machine.
    writeFileSync(path.join(dir, 'index.ts'), stuck.replace(/train\(v: Float32Array\): void \{[^]*?\n  \}\n/, 'train(v: Float32Array): void {\n    void v;\n    new ArrayBuffer(2 ** 40);\n  }\n'));
    const o = await run('p4', dir, { tasks: ['ivf'], caseId: 'ivf/0' });
    expect(o.run.cases[0]).toMatchObject({ status: 'failed', kind: 'out_of_memory' });
    expect(o.run.cases[0]!.message).toMatch(/^ran out of memory: RangeError: Array buffer allocation failed\nwhen the memory ran out, the call was in: IVFFlatIndex\.train\(vectors\)\n\s+at IVFFlatIndex\.train \(index\.ts:\d+:\d+\)/);
  });

  it('an index that returns positions instead of the ids it was given is told so, also where a position happens to be an id', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mlsys-p4-rows-'));
    const faulty = readFileSync(path.join(FIXTURES, 'p4-faulty', 'index.ts'), 'utf8');
    writeFileSync(path.join(dir, 'index.ts'), faulty.replace('if (r.length > 1) r[1] = r[0]!;\n    return { ids: r.map((x) => x.id)', 'return { ids: r.map((x) => x.row)'));
    const o = await run('p4', dir, { tasks: ['flat'] });
    const messages = o.run.cases.map((c) => c.message);
    expect(messages.some((m) => /is returned with the distance of the vector added at position \d+ \(whose id is \d+\): return the ids given to add\(\)/.test(m))).toBe(true);
    for (const m of messages) expect(m).toMatch(/not (their )?positions/);
  });
});

describe('p4 bench', () => {
  it('times the submission, the reference and hnswlib-node, and writes each frontier with QPS at recall 0.9', async () => {
    // The updates task (inserts, deletes, filters): hnswlib-node supports all three.
    const o = await run('p4', REF, { mode: 'bench', tasks: ['updates'], measure: { ...DEFAULT_MEASURE, budgetMs: 300, minSamples: 3 } });
    const recs = o.bench!;
    expect(new Set(recs.map((r) => r.impl))).toEqual(new Set(['submission', 'reference', 'hnswlib-node']));
    const points = recs.filter((r) => r.impl === 'hnswlib-node' && !r.label.includes('frontier'));
    expect(points.length).toBe(4);
    for (const r of points) {
      expect(r.metrics['recall@10']).toBeGreaterThan(0.5);
      expect(r.metrics.qps).toBeGreaterThan(0);
      expect(r.metrics.build_s).toBeGreaterThan(0);
    }
    const fronts = recs.filter((r) => r.label.endsWith('recall–QPS frontier'));
    expect(fronts.map((r) => r.impl).sort()).toEqual(['hnswlib-node', 'reference', 'submission']);
    for (const f of fronts) {
      expect(f.metrics['qps_at_recall_0.9']).toBeGreaterThan(0);
      expect((f.params as { frontier: unknown[] }).frontier.length).toBeGreaterThan(0);
    }
  });

  it('leaves hnswlib-node out of a task it does not implement (ivf), with one note, not a failed row per case', async () => {
    const o = await run('p4', REF, { mode: 'bench', tasks: ['ivf'], measure: { ...DEFAULT_MEASURE, budgetMs: 200, minSamples: 3 } });
    const perf = o.run.perf.filter((p) => p.task === 'ivf');
    expect(perf.length).toBeGreaterThan(3);
    for (const p of perf) expect(p.impls.map((i) => i.impl).sort()).toEqual(['reference', 'submission']);
    const notes = perf.flatMap((p) => p.flags).filter((f) => f.includes('hnswlib-node'));
    expect(notes).toEqual(['hnswlib-node is not timed on ivf: it does not implement it (a baseline is timed on the tasks whose exports it has)']);
  });
});
