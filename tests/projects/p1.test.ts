// Project 1 end to end, and the multi-rank runtime it runs on: the reference earns full marks
// (hidden cases, N up to 8 in the sandbox, speed against itself), the starter nothing, naive
// collectives are right but earn less, a deadlock and a rank that throws end their case at once
// with a message that says what happened, and the check-in grades the collectives alone.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, HAVE_SANDBOX, ROOT, run, tmpOut } from '../helpers/run.ts';
import { DEFAULT_MEASURE } from '../../harness/measure/interleaved.ts';
import { closePools, copyBandwidth, getPool, RankFailure } from '../../harness/child/ranks/runtime.ts';
import { bubbleFraction, busFactor, optimalBytesPerRank, zeroHeldBytes, zeroSentBytes } from '../../projects/p1/project.ts';
import { idealBubble } from '../../projects/p1/oracle.ts';
import { shardRange } from '../../projects/p1/model.ts';
import { reduceValue } from '../fixtures/p1-runtime/sub.ts';

const REF = path.join(ROOT, 'reference', 'p1');
const STARTER = path.join(ROOT, 'projects', 'p1', 'starter');
const SECRET = 'test-secret-not-for-grading';
const COLLECTIVES = ['allReduce', 'reduceScatter', 'allGather', 'broadcast'];

describe('p1 reference solution', () => {
  it(`scores full marks with hidden cases and speed measured against itself${HAVE_SANDBOX ? ' (sandboxed: eight ranks start under its limits)' : ''}`, async () => {
    const grade = () => run('p1', REF, { mode: 'grade', hidden: true, secret: SECRET, sandbox: HAVE_SANDBOX, measure: { ...DEFAULT_MEASURE, budgetMs: 800 } });
    let o = await grade();
    // The reference against itself has a true speedup of 1; its ranks are threads on a busy
    // 2-core machine, and one measurement can still dip under a target (17.83 of 18 was seen).
    // It is measured once more in that case (correctness is not re-judged: it must be full both
    // times), and must then earn every point, as the p2, p3 and p4 tests do.
    if (o.exitCode !== 0 || o.run.score!.total < 18) {
      expect(o.run.cases.every((c) => c.status === 'passed')).toBe(true);
      o = await grade();
    }
    expect(o.exitCode).toBe(0);
    const failed = o.run.cases.filter((c) => c.status !== 'passed');
    expect(failed.map((c) => `${c.id}: ${c.message}`)).toEqual([]);
    expect(o.run.cases.some((c) => c.visibility === 'hidden')).toBe(true);
    expect(o.run.cases.filter((c) => (c.params as { N: number }).N === 8).length).toBeGreaterThanOrEqual(4);
    expect(o.run.score!.max).toBe(18);
    expect(o.run.score!.total).toBe(18);
    expect(o.run.perf.map((p) => p.task).sort()).toEqual(['allGather', 'allReduce', 'broadcast', 'dataParallel', 'pipeline', 'reduceScatter', 'tensorParallel', 'zero']);
    for (const p of o.run.perf) expect(p.speedup_vs_reference).toBeGreaterThan(0);
    // What the checks read: ring traffic, ZeRO's formulas, one all-reduce each way, ideal bubbles.
    const by = (id: string) => o.run.cases.find((c) => c.id === id)!.details!;
    expect(by('allReduce/6').bytes_sent_max).toBe(7000); // 2(N−1)/N · 4000 bytes, N = 8
    // p1's node flag reached the submission's process: eight ranks' arenas are WebAssembly memories (SIMD reductions).
    expect(by('allReduce/6').simd_reduce).toBe(1);
    const z3 = by('zero/3');
    expect(z3.bytes_held_formula_rank0).toBe(zeroHeldBytes(3, 247, 4, 0));
    expect(Number(z3.bytes_held_max)).toBeLessThanOrEqual(zeroHeldBytes(3, 247, 4, 0) + 512);
    expect(Number(z3.untracked_bytes_max)).toBeLessThan(16384);
    const tp = by('tensorParallel/6');
    expect(tp.fwd_bytes_total).toBe(tp.one_allreduce_bytes_total);
    expect(tp.bwd_bytes_total).toBe(tp.one_allreduce_bytes_total);
    const pp = by('pipeline/5');
    expect(pp.bubble_fraction).toBeCloseTo(idealBubble(4, 8), 12);
    expect(pp.peak_stash_max).toBe(4);
    const pipePerf = o.run.perf.find((p) => p.task === 'pipeline')!.impls.find((i) => i.impl === 'submission')!;
    expect(pipePerf.metrics.bubble_fraction).toBeCloseTo(idealBubble(4, 8), 12);
    const arPerf = o.run.perf.find((p) => p.task === 'allReduce')!.impls.find((i) => i.impl === 'submission')!;
    expect(arPerf.metrics.busbw_gbps).toBeCloseTo(arPerf.metrics.algbw_gbps! * 1.5, 9);
  });
});

describe('p1 starter', () => {
  it('earns no more than 10% of the points, and every case says what is missing', async () => {
    const o = await run('p1', STARTER);
    expect(o.exitCode).toBe(0);
    expect(o.run.score!.total).toBeLessThanOrEqual(0.1 * o.run.score!.max);
    for (const c of o.run.cases) {
      expect(c.status).toBe('failed');
      expect(c.message).toMatch(/^RankError: rank \d threw Error: \w+: not implemented yet/);
    }
  });
});

describe('naive collectives', () => {
  it('are right, but a gather-to-root all-reduce fails the traffic check from N = 3 on and earns less', async () => {
    const naive = await run('p1', path.join(FIXTURES, 'p1-naive'), { tasks: COLLECTIVES });
    const by = (id: string) => naive.run.cases.find((c) => c.id === id)!;
    expect(by('allReduce/0').status).toBe('passed'); // N = 1
    expect(by('allReduce/1').status).toBe('passed'); // N = 2: gather-to-root is optimal there
    const n3 = by('allReduce/2');
    expect(n3.status).toBe('failed');
    expect(n3.message).toMatch(/^the values are right, but rank 0 sent 8008 bytes; a bandwidth-optimal all-reduce sends at most 2\(N−1\)\/N · 4004 bytes = 5339 bytes from each rank/);
    // A ring that takes too many steps sends too much too: the count of chunks says so.
    expect(n3.message).toMatch(/Rank 0 sent about 6\.0 chunks of L\/N floats, where 2\(N−1\) = 4 suffice: if yours is a ring, it takes more steps than that/);
    expect(by('allReduce/6').message).toMatch(/rank 0 sent 28000 bytes/); // N = 8: (N−1) · B out of the root
    expect(by('broadcast/3').message).toMatch(/the values are right, but rank 1 sent 49188 bytes/);
    // No case failed on values: only traffic.
    for (const c of naive.run.cases) if (c.status === 'failed') expect(c.message).toMatch(/^the values are right/);
    expect(naive.run.score!.total).toBeGreaterThan(0);
    expect(naive.run.score!.total).toBeLessThan(0.5 * naive.run.score!.max);
  });
});

describe('wrong values', () => {
  it('are counted and spanned, and the remainder of L/N is named when it is what is missing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mlsys-p1-rem-'));
    const naive = readFileSync(path.join(FIXTURES, 'p1-naive', 'index.ts'), 'utf8');
    // Shards of ⌊L/N⌋: the last L mod N elements are never reduced (zeroed here).
    const floored = naive.replace(
      /(export async function allReduce\(comm: Comm, buf: Float32Array\): Promise<void> \{\n)/,
      '$1  await allReduceAll(comm, buf);\n  buf.fill(0, comm.size * Math.floor(buf.length / comm.size));\n}\n\nasync function allReduceAll(comm: Comm, buf: Float32Array): Promise<void> {\n',
    );
    writeFileSync(path.join(dir, 'index.ts'), floored);
    const o = await run('p1', dir, { caseId: 'allReduce/2' }); // N = 3, L = 1001
    expect(o.run.cases[0]!.message).toMatch(/^rank 0: buf\[999\] is 0, expected .*\. 2 of 1001 elements of buf are wrong: 999–1000 \(the last L mod N = 2: 3 shards of ⌊L\/N⌋ = 333 leave them out/);
  });
});

describe('an input changed by the collective', () => {
  it('fails the case although the values are right: it is the send buffer', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mlsys-p1-input-'));
    const ref = readFileSync(path.join(REF, 'index.ts'), 'utf8');
    // The reference's ring reduce-scatter, which then zeroes its input.
    const end = '  comm.free(bufs[0]!);\n  comm.free(bufs[1]!);\n}';
    expect(ref.split(end).length).toBeGreaterThan(1);
    writeFileSync(path.join(dir, 'index.ts'), ref.replace(end, `  input.fill(0);\n${end}`));
    const o = await run('p1', dir, { caseId: 'reduceScatter/2' });
    expect(o.run.cases[0]!.message).toMatch(/^the values are right, but rank \d changed its input: input\[0\] is 0 after the call\. input is the rank's send buffer, as in NCCL and MPI: leave it as it was/);
    // Left as it was, the same case passes.
    const ok = await run('p1', REF, { caseId: 'reduceScatter/2' });
    expect(ok.run.cases[0]!.status).toBe('passed');
  });
});

describe('a pipeline schedule with two faults', () => {
  it('says both at once (a bubble and a stash over 1F1B\'s bound)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mlsys-p1-pipe-'));
    const ref = readFileSync(path.join(REF, 'index.ts'), 'utf8');
    // GPipe's order for 1F1B too (every activation held), and every input received before the
    // first forward (a stage starts late: a bubble).
    const gpipe = "  if (job.schedule === 'gpipe') {";
    const recv = '      x = new Float32Array(rows[mb]! * stage.inputWidth);\n      await comm.recv(s - 1, x);';
    const prefetch =
      '      if (!pre.length)\n        for (let k = 0; k < m; k++) {\n          const b = new Float32Array(rows[k]! * stage.inputWidth);\n          await comm.recv(s - 1, b);\n          pre.push(b);\n        }\n      x = pre[mb]!;';
    const decl = '  const sends: Promise<void>[] = [];';
    expect(ref.includes(gpipe) && ref.includes(recv) && ref.includes(decl)).toBe(true);
    writeFileSync(path.join(dir, 'index.ts'), ref.replace(gpipe, '  if (job.schedule) {').replace(recv, prefetch).replace(decl, `${decl}\n  const pre: Float32Array[] = [];`));
    const o = await run('p1', dir, { caseId: 'pipeline/4' }); // 1F1B, p = 3, m = 6
    expect(o.run.cases[0]!.message).toMatch(/^the gradients are right, but the schedule's bubble fraction is [\d.]+; 1F1B with p = 3 stages .*\. Also, stage 0 held the activations of 6 microbatches at once; 1F1B holds at most p = 3/);
  });
});

describe("what the ranks print", () => {
  // On Linux a pipe is written synchronously and this holds even without the flush before each
  // reply (driver.ts, ranks/worker.ts), which is there for systems where it is not (macOS): the
  // test guards the labels of relayed rank output, not that flush.
  it("is shown under the case that printed it, even a line printed as a rank returns", async () => {
    const o = await run('p1', path.join(FIXTURES, 'p1-prints'), { tasks: ['allReduce'] });
    const sections = o.run.output.stdout.split(/^--- (.+) ---\n/m).slice(1);
    const printed = new Map<string, string[]>();
    for (let i = 0; i < sections.length; i += 2) printed.set(sections[i]!, sections[i + 1]!.trim().split('\n').sort());
    expect(o.run.cases.length).toBeGreaterThan(3);
    for (const c of o.run.cases) {
      const { N, L } = c.params as { N: number; L: number };
      const want = Array.from({ length: N }, (_, r) => `rank ${r} of ${N}: length ${L}`).sort();
      expect(printed.get(`case ${c.id}`), c.id).toEqual(want);
    }
  });
});

describe('a deadlock', () => {
  it('ends the case within seconds, not at the time limit, saying which ranks wait on which', async () => {
    const t0 = performance.now();
    const o = await run('p1', path.join(FIXTURES, 'p1-deadlock'), { tasks: ['allReduce', 'reduceScatter', 'broadcast'] });
    const wall = performance.now() - t0;
    const by = (id: string) => o.run.cases.find((c) => c.id === id)!;
    // Every rank receives before it sends: a cycle.
    const ring = by('allReduce/2');
    expect(ring.kind).toBe('exception');
    expect(ring.message).toMatch(/^Deadlock: every rank still running waits for another and no message can arrive \(3 ranks\): /);
    expect(ring.message).toMatch(/rank 1 waits to receive from rank 0/);
    expect(ring.message).toMatch(/rank 0 waits to receive from rank 2/);
    expect(ring.message).toMatch(/Wait-for cycle: 0 -> 2 -> 1 -> 0/);
    expect(by('allReduce/6').message).toMatch(/\(8 ranks\)/);
    // Rank 0 returned while the others wait for it.
    expect(by('reduceScatter/2').message).toMatch(/rank 1 waits to receive from rank 0 \(which has returned\); rank 2 waits to receive from rank 0 \(which has returned\); rank 0 has returned/);
    // Large sends awaited before any receive: each waits for its receiver.
    expect(by('broadcast/4').message).toMatch(/rank 0 waits for rank 1 to receive its message \(a send of more than 64 KiB completes when it is received\)/);
    // 11 deadlocked cases (of 17), each ended by the watchdog, not by the 60 s limit.
    expect(o.run.cases.filter((c) => c.message.startsWith('Deadlock:')).length).toBe(11);
    expect(wall).toBeLessThan(45000);
  });
});

describe('a collective that never finishes', () => {
  it("runs out of time, and the timeout says what each rank was doing", async () => {
    // 60 s x 0.1: the case's limit is 6 s.
    const o = await run('p1', path.join(FIXTURES, 'p1-stuck'), { tasks: ['allReduce'], caseId: 'allReduce/3', timeoutScale: 0.1 });
    const c = o.run.cases.find((x) => x.id === 'allReduce/3')!;
    expect(c).toMatchObject({ status: 'failed', kind: 'timeout' });
    expect(c.message).toMatch(/^timed out: no answer within 6\.0 s \(the process was killed\)\nwhat the ranks were doing when the time ran out: /);
    expect(c.message).toMatch(/rank 1 is computing: its code has not yielded to the event loop/);
    expect(c.message).toMatch(/rank 2 is not waiting in any send, receive or barrier, and its event loop is idle: it awaits something that never comes/);
    expect(c.message).toMatch(/rank 3 is not waiting in any send, receive or barrier, and its event loop is idle/);
    expect(c.message).toMatch(/rank 0 waits to receive from rank 1/);
  });
});

describe('a rank that fails', () => {
  it("ends the case at once with that rank's error and stack; an exit or a late error likewise", async () => {
    const o = await run('p1', path.join(FIXTURES, 'p1-throws'), { tasks: ['allReduce', 'allGather', 'broadcast', 'reduceScatter'] });
    const by = (id: string) => o.run.cases.find((c) => c.id === id)!;
    expect(by('allReduce/0').status).toBe('passed'); // N = 1: rank 1 does not exist
    const t = by('allReduce/3');
    expect(t).toMatchObject({ status: 'failed', kind: 'exception' });
    expect(t.message).toMatch(/^RankError: rank 1 threw Error: boom on rank 1\n\s+at allReduce \(index\.ts:\d+:\d+\)/);
    expect(t.message).not.toMatch(/harness\//);
    expect(by('broadcast/2').message).toMatch(/^RankExit: rank 2 exited \(code 3\) in the middle of the case: do not call process\.exit/);
    expect(by('allGather/1').message).toMatch(/^RankError: rank 0 failed outside its call \(an uncaught error, e\.g\. in a timer or an unawaited promise\): Error: late failure on rank 0/);
    // A message that does not fit its buffer: the error names the line of the rank's own await,
    // also for a receive that waited behind another on the same link.
    const fit = by('reduceScatter/1');
    expect(fit.message).toMatch(/^RankError: rank \d threw RangeError: rank \d recv from rank \d: the message holds 5 float32 element\(s\) \(20 bytes\) but the buffer holds 4/);
    expect(fit.message).toMatch(/\n\s+at async .*reduceScatter \(index\.ts:\d+:\d+\)/);
    // The process survives: later cases of the same run still run (and pass where they can).
    expect(by('broadcast/0').status).toBe('passed');
  });
});

describe('the check-in milestone', () => {
  it('grades the four collectives only (mlsys grade p1 <submission> --milestone checkin)', async () => {
    const out = tmpOut();
    const r = await execa(process.execPath, [path.join(ROOT, 'bin', 'mlsys.js'), 'grade', 'p1', STARTER, '--milestone', 'checkin', '--sandbox', 'off', '--json', '--out', out], {
      cwd: ROOT,
      reject: false,
      env: { XDG_RUNTIME_DIR: '/tmp' },
    });
    expect(r.exitCode).toBe(0);
    const results = JSON.parse(r.stdout) as { score: number; tests: { name: string; max_score: number }[] };
    const names = results.tests.map((x) => x.name).join('\n');
    for (const t of COLLECTIVES) expect(names).toContain(`p1/${t}:`);
    for (const t of ['dataParallel', 'zero', 'tensorParallel', 'pipeline']) expect(names).not.toContain(`p1/${t}:`);
    expect(results.tests.reduce((a, x) => a + x.max_score, 0)).toBeCloseTo(5, 6);
    expect(results.score).toBe(0);
  });
});

describe('bench', () => {
  it('records the bubble fraction, step time and traffic of the pipeline schedules', async () => {
    const o = await run('p1', REF, { mode: 'bench', tasks: ['pipeline'] });
    const recs = o.bench!;
    expect(new Set(recs.map((r) => r.label)).size).toBe(3);
    for (const r of recs) {
      expect(['submission', 'reference']).toContain(r.impl);
      expect(r.metrics.step_ms).toBeGreaterThan(0);
      expect(r.metrics.bubble_fraction).toBeCloseTo(r.metrics.ideal_bubble_fraction!, 12);
      expect(r.metrics.bytes_sent_per_rank).toBeGreaterThan(0);
    }
    const gpipe = recs.find((r) => r.label.startsWith('GPipe') && r.impl === 'submission')!;
    expect(gpipe.metrics.peak_stash).toBe(8); // m
    const f1b = recs.find((r) => r.label.startsWith('1F1B, p=4, m=16') && r.impl === 'submission')!;
    expect(f1b.metrics.peak_stash).toBe(4); // p
  });
});

describe('the formulas', () => {
  it('match the theory: ring traffic, bus bandwidth factors, ZeRO bytes, bubbles, shards', () => {
    expect(optimalBytesPerRank('allReduce', 4, 1000).ideal).toBe(6000);
    expect(optimalBytesPerRank('reduceScatter', 4, 1000).ideal).toBe(3000);
    expect(optimalBytesPerRank('allReduce', 1, 1000).allowed).toBe(0);
    expect(busFactor('allReduce', 8)).toBe(1.75);
    expect(busFactor('allGather', 4)).toBe(0.75);
    expect(busFactor('broadcast', 4)).toBe(1);
    const Psi = 1000;
    expect(zeroHeldBytes(0, Psi, 4, 0)).toBe(16 * Psi);
    expect(zeroHeldBytes(1, Psi, 4, 0)).toBe(8 * Psi + (8 * Psi) / 4);
    expect(zeroHeldBytes(2, Psi, 4, 0)).toBe(4 * Psi + (12 * Psi) / 4);
    expect(zeroHeldBytes(3, Psi, 4, 0)).toBe((16 * Psi) / 4);
    expect(zeroHeldBytes(3, 10, 3, 0)).toBe(16 * 4); // shards of 4, 3, 3
    expect(zeroSentBytes(2, Psi, 4)).toBe(2 * 0.75 * 4 * Psi);
    expect(zeroSentBytes(3, Psi, 4)).toBe(3 * 0.75 * 4 * Psi);
    expect(idealBubble(4, 8)).toBeCloseTo(3 / 11, 15);
    expect(bubbleFraction([33, 32, 31, 33], 8)).toBeCloseTo(1 - 24 / 33, 15);
    expect([0, 1, 2].map((r) => shardRange(10, 3, r))).toEqual([
      { start: 0, length: 4 },
      { start: 4, length: 3 },
      { start: 7, length: 3 },
    ]);
    expect(shardRange(2, 4, 3)).toEqual({ start: 2, length: 0 });
  });
});

describe('the multi-rank runtime (harness/child/ranks)', () => {
  const spec = (size: number) => ({ size, entry: path.join(FIXTURES, 'p1-runtime', 'sub.ts'), tasks: path.join(FIXTURES, 'p1-runtime', 'tasks.ts') });
  afterAll(() => closePools());

  it('counts bytes per link and per rank, memory by tag, ArrayBuffers held outside alloc, and carries the virtual clock', async () => {
    const pool = await getPool(spec(4));
    const n = 100000; // 400 KB: handed over in place from the sender's arena
    const r = await (await pool.prepare('probe', Array.from({ length: 4 }, () => ({ n })))).run<{
      out: number[];
      memory: { live: number; peak: number; byTag: Record<string, number> };
      untracked: number;
      vtime: number;
      traffic: { bytesSent: number; bytesReceived: number };
    }>();
    for (const o of r.outputs) expect(o.out).toEqual([0, n - 1]);
    expect(r.stats.links.bytes[0]).toEqual([0, 4 * n, 4 * n, 4 * n]);
    expect(r.stats.bytesSent).toEqual([12 * n, 0, 0, 0]);
    expect(r.stats.bytesReceived).toEqual([0, 4 * n, 4 * n, 4 * n]);
    expect(r.stats.messagesSent).toEqual([3, 0, 0, 0]);
    expect(r.stats.unreceived).toEqual([]);
    expect(r.stats.timeline.map((e) => `${e.src}->${e.dst}:${e.bytes}`).sort()).toEqual(['0->1:400000', '0->2:400000', '0->3:400000']);
    for (const o of r.outputs) {
      expect(o.memory).toEqual({ live: 4 * n, peak: 4 * n + 64, byTag: { buffer: 4 * n } });
      expect(o.vtime).toBe(5); // rank 0 advanced to 5 before sending; the receivers took its clock
    }
    expect(r.outputs[1]!.untracked).toBeGreaterThanOrEqual(8 << 20);
    expect(r.stats.spanMs).toBeGreaterThan(0);
    const bw = await copyBandwidth(pool, 1 << 20, 2);
    expect(bw.gbps).toBeGreaterThan(0);
  });

  it('fails a receive whose buffer does not match the message, keeps or replaces the pool after a failure, and reports messages left unreceived', async () => {
    const pool = await getPool(spec(2));
    const e = await (await pool.prepare('call', [{ fn: 'wrongLength' }, { fn: 'wrongLength' }])).run().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RankFailure);
    expect((e as RankFailure).kind).toBe('rank_error');
    expect((e as Error).message).toMatch(/rank 1 recv from rank 0: the message holds 10 float32 element\(s\) \(40 bytes\) but the buffer holds 12 float32 element\(s\) \(48 bytes\)/);
    // Every rank's call ended: the pool is kept.
    expect(await getPool(spec(2))).toBe(pool);
    const r = await (await pool.prepare('call', [{ fn: 'leaveUnreceived' }, { fn: 'leaveUnreceived' }])).run();
    expect(r.stats.unreceived).toEqual([{ src: 0, dst: 1, messages: 1 }]);
    // A rank that still waits when another threw: the pool's threads are ended, a fresh pool follows.
    const e2 = await (await pool.prepare('call', [{ fn: 'throwWhileOthersWait' }, { fn: 'throwWhileOthersWait' }])).run().catch((x: unknown) => x);
    expect((e2 as Error).message).toMatch(/^rank 1 threw Error: rank 1 gives up/);
    const fresh = await getPool(spec(2));
    expect(fresh).not.toBe(pool);
    expect(pool.usable).toBe(false);
  });

  it('adds a received message exactly as a JavaScript loop would, every way recvReduce can go (arena or plain array, in place or through the ring)', async () => {
    const pool = await getPool(spec(2));
    expect(pool.group.arenaMemories).not.toBeNull(); // this process has the address space for them
    // Odd lengths, past the ring (1 MiB) and the reduction's scratch piece (32 KiB).
    for (const [dtype, n] of [['float32', 300001], ['float64', 150007], ['int32', 70001]] as const) {
      const r = await (await pool.prepare('call', Array.from({ length: 2 }, () => ({ fn: 'reduceEveryWay', args: [n, dtype] })))).run<ArrayLike<number>[] | null>();
      const sums = r.outputs[0]!;
      const Ctor = { float32: Float32Array, float64: Float64Array, int32: Int32Array }[dtype];
      const want = new Ctor(n);
      for (let i = 0; i < n; i++) want[i] = reduceValue(dtype, 0, i);
      for (let i = 0; i < n; i++) want[i] = dtype === 'int32' ? (want[i]! + reduceValue(dtype, 1, i)) | 0 : want[i]! + new Ctor([reduceValue(dtype, 1, i)])[0]!;
      expect(sums).toHaveLength(4);
      for (const [k, got] of sums!.entries()) {
        const bad = Array.from({ length: n }, (_, i) => i).find((i) => !Object.is(got[i], want[i]));
        expect(bad === undefined ? 'all equal' : `${dtype} way ${k}: [${bad}] = ${got[bad]}, expected ${want[bad]}`).toBe('all equal');
      }
    }
  });

  it('never takes a rank that is computing for a deadlocked one', async () => {
    const pool = await getPool(spec(3));
    const r = await (await pool.prepare('call', Array.from({ length: 3 }, () => ({ fn: 'spin' })))).run();
    expect(r.stats.messagesSent).toEqual([2, 1, 0]);
    expect(r.stats.spanMs).toBeGreaterThanOrEqual(550);
  });
});
