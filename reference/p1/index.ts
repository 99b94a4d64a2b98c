// Project 1 reference solution: ring collectives (bandwidth-optimal), data parallelism with a
// gradient all-reduce, ZeRO stages 1-3, Megatron tensor parallelism, GPipe and 1F1B pipelines.
import type {
  Comm,
  DataParallelJob,
  Optimizer,
  PipelineJob,
  Saved,
  TpAttentionWeights,
  TpBlock,
  TpMlpWeights,
  ZeroJob,
  ZeroTrainer,
} from '../../projects/p1/api.ts';

function shardRange(length: number, size: number, rank: number): { start: number; length: number } {
  const base = Math.floor(length / size);
  const extra = length % size;
  return { start: rank * base + Math.min(rank, extra), length: base + (rank < extra ? 1 : 0) };
}

const mod = (a: number, n: number) => ((a % n) + n) % n;

/** Chunk k of a vector of `length` split over n ranks, as a view of `a`. */
function chunk(a: Float32Array, n: number, k: number): Float32Array {
  const s = shardRange(a.length, n, k);
  return a.subarray(s.start, s.start + s.length);
}

// ---- 1. collectives: rings ---------------------------------------------------------------------

/**
 * Ring all-reduce: a reduce-scatter (N−1 steps, each rank sends one chunk to the next and adds
 * the one it gets from the previous) then an all-gather (N−1 steps). Each rank sends
 * 2(N−1)/N of the buffer.
 */
export async function allReduce(comm: Comm, buf: Float32Array): Promise<void> {
  const n = comm.size;
  const r = comm.rank;
  if (n === 1) return;
  const right = (r + 1) % n;
  const left = (r - 1 + n) % n;
  for (let s = 0; s < n - 1; s++)
    await Promise.all([comm.send(right, chunk(buf, n, mod(r - s, n))), comm.recvReduce(left, chunk(buf, n, mod(r - s - 1, n)))]);
  for (let s = 0; s < n - 1; s++)
    await Promise.all([comm.send(right, chunk(buf, n, mod(r + 1 - s, n))), comm.recv(left, chunk(buf, n, mod(r - s, n)))]);
}

/** Ring reduce-scatter into `output`, leaving `input` as it was: partial sums travel in two buffers. */
export async function reduceScatter(comm: Comm, input: Float32Array, output: Float32Array): Promise<void> {
  const n = comm.size;
  const r = comm.rank;
  if (n === 1) {
    output.set(input);
    return;
  }
  const right = (r + 1) % n;
  const left = (r - 1 + n) % n;
  const most = shardRange(input.length, n, 0).length;
  const bufs = [comm.alloc(most), comm.alloc(most)];
  // Step s: send the partial sum of chunk r−s−1 (at s = 0: this rank's own input), receive that of
  // chunk r−s−2 and add this rank's input to it. After N−1 steps, chunk r is complete here.
  let sending = chunk(input, n, mod(r - 1, n));
  for (let s = 0; s < n - 1; s++) {
    const k = mod(r - s - 2, n);
    const last = s === n - 2;
    const into = last ? output : bufs[s % 2]!.subarray(0, shardRange(input.length, n, k).length);
    into.set(chunk(input, n, k));
    await Promise.all([comm.send(right, sending), comm.recvReduce(left, into)]);
    sending = into;
  }
  comm.free(bufs[0]!);
  comm.free(bufs[1]!);
}

/** Ring all-gather: this rank's shard goes into place, then N−1 steps pass chunks to the right. */
export async function allGather(comm: Comm, input: Float32Array, output: Float32Array): Promise<void> {
  const n = comm.size;
  const r = comm.rank;
  chunk(output, n, r).set(input);
  if (n === 1) return;
  const right = (r + 1) % n;
  const left = (r - 1 + n) % n;
  for (let s = 0; s < n - 1; s++)
    await Promise.all([comm.send(right, chunk(output, n, mod(r - s, n))), comm.recv(left, chunk(output, n, mod(r - s - 1, n)))]);
}

const BCAST_PIECE = 1 << 16; // floats per piece of the pipelined chain (256 KiB)

/**
 * Pipelined chain broadcast: ranks in order from the root; each receives a piece from the one
 * before it while passing the previous piece on. Each rank sends the buffer at most once.
 */
export async function broadcast(comm: Comm, buf: Float32Array, root: number): Promise<void> {
  const n = comm.size;
  if (n === 1) return;
  const pos = mod(comm.rank - root, n);
  const prev = (comm.rank - 1 + n) % n;
  const next = (comm.rank + 1) % n;
  const pieces = Math.max(1, Math.ceil(buf.length / BCAST_PIECE));
  const piece = (k: number) => buf.subarray(k * BCAST_PIECE, Math.min(buf.length, (k + 1) * BCAST_PIECE));
  if (pos > 0) await comm.recv(prev, piece(0));
  for (let k = 0; k < pieces; k++) {
    const ops: Promise<void>[] = [];
    if (pos < n - 1) ops.push(comm.send(next, piece(k)));
    if (pos > 0 && k + 1 < pieces) ops.push(comm.recv(prev, piece(k + 1)));
    await Promise.all(ops);
  }
}

// ---- optimizer ---------------------------------------------------------------------------------

/** One update of p from g (Adam: moments m, v; step t from 1). */
function update(opt: Optimizer, p: Float32Array, g: Float32Array, m: Float32Array | null, v: Float32Array | null, t: number): void {
  if (opt.kind === 'sgd') {
    for (let i = 0; i < p.length; i++) p[i] -= opt.lr * g[i]!;
    return;
  }
  const c1 = 1 - Math.pow(opt.beta1, t);
  const c2 = 1 - Math.pow(opt.beta2, t);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]!;
    const mi = (m![i] = opt.beta1 * m![i]! + (1 - opt.beta1) * gi);
    const vi = (v![i] = opt.beta2 * v![i]! + (1 - opt.beta2) * gi * gi);
    p[i] -= (opt.lr * (mi / c1)) / (Math.sqrt(vi / c2) + opt.eps);
  }
}

function scale(a: Float32Array, f: number): void {
  for (let i = 0; i < a.length; i++) a[i] *= f;
}

// ---- 2. data parallel --------------------------------------------------------------------------

export async function dataParallelTrain(comm: Comm, job: DataParallelJob): Promise<Float32Array> {
  const Psi = job.model.numParams;
  const p = comm.alloc(Psi, 'float32', 'params');
  p.set(job.params);
  const g = comm.alloc(Psi, 'float32', 'grads');
  const adam = job.optimizer.kind === 'adam';
  const m = adam ? comm.alloc(Psi, 'float32', 'adam.m') : null;
  const v = adam ? comm.alloc(Psi, 'float32', 'adam.v') : null;
  for (let s = 0; s < job.steps; s++) {
    job.model.lossAndGrad(p, job.x[s]!, job.y[s]!, job.rows, g);
    // Each rank's sum over its examples / B: the all-reduced sum is the mean over all B.
    scale(g, 1 / job.globalBatch);
    await allReduce(comm, g);
    update(job.optimizer, p, g, m, v, s + 1);
  }
  return p;
}

// ---- 3. ZeRO -----------------------------------------------------------------------------------

export async function createZero(comm: Comm, job: ZeroJob): Promise<ZeroTrainer> {
  if (job.stage === 3) return zero3(comm, job);
  return zero12(comm, job);
}

/**
 * Stages 1 and 2: parameters replicated; Adam's moments (and for stage 2 the gradients) kept
 * for this rank's shard of the flat vector only. Each step: gradients, reduce-scatter (this
 * rank's shard of the mean gradient), Adam on the shard, all-gather of the parameters.
 */
function zero12(comm: Comm, job: ZeroJob): ZeroTrainer {
  const { model, stage, optimizer } = job;
  const Psi = model.numParams;
  const my = shardRange(Psi, comm.size, comm.rank);
  const params = comm.alloc(Psi, 'float32', 'params');
  params.set(job.params);
  const fullGrad = stage === 1 ? comm.alloc(Psi, 'float32', 'grads') : null;
  const gradShard = stage === 2 ? comm.alloc(my.length, 'float32', 'grads (shard)') : null;
  const m = comm.alloc(my.length, 'float32', 'adam.m (shard)');
  const v = comm.alloc(my.length, 'float32', 'adam.v (shard)');
  let t = 0;
  return {
    async step(x, y, rows) {
      t++;
      const g = fullGrad ?? comm.alloc(Psi, 'float32', 'grads (transient)');
      model.lossAndGrad(params, x, y, rows, g);
      scale(g, 1 / job.globalBatch);
      const shard = gradShard ?? comm.alloc(my.length, 'float32', 'grad shard (transient)');
      await reduceScatter(comm, g, shard);
      if (!fullGrad) comm.free(g);
      update(optimizer, params.subarray(my.start, my.start + my.length), shard, m, v, t);
      if (!gradShard) comm.free(shard);
      const mine = comm.alloc(my.length, 'float32', 'param shard (transient)');
      mine.set(params.subarray(my.start, my.start + my.length));
      await allGather(comm, mine, params);
      comm.free(mine);
    },
    async gatherParams() {
      return params;
    },
  };
}

/**
 * Stage 3: every layer's block sharded (shardRange of the layer's size); a layer's parameters
 * are all-gathered just before its forward and again before its backward, and freed after; its
 * gradient is reduce-scattered into this rank's shard as soon as it is computed.
 */
function zero3(comm: Comm, job: ZeroJob): ZeroTrainer {
  const { model, optimizer } = job;
  const n = comm.size;
  const shards = model.layers.map((L) => shardRange(L.size, n, comm.rank));
  const p = model.layers.map((L, l) => {
    const a = comm.alloc(shards[l]!.length, 'float32', 'params (shard)');
    a.set(job.params.subarray(L.offset + shards[l]!.start, L.offset + shards[l]!.start + shards[l]!.length));
    return a;
  });
  const g = shards.map((s) => comm.alloc(s.length, 'float32', 'grads (shard)'));
  const m = shards.map((s) => comm.alloc(s.length, 'float32', 'adam.m (shard)'));
  const v = shards.map((s) => comm.alloc(s.length, 'float32', 'adam.v (shard)'));
  let t = 0;
  const gather = async (l: number) => {
    const full = comm.alloc(model.layers[l]!.size, 'float32', 'layer params (transient)');
    await allGather(comm, p[l]!, full);
    return full;
  };
  return {
    async step(x, y, rows) {
      t++;
      const acts: Float32Array[] = [x];
      for (let l = 0; l < model.layers.length; l++) {
        const w = await gather(l);
        acts.push(model.forwardLayer(l, w, acts[l]!, rows));
        comm.free(w);
      }
      let d = model.lossGrad(acts[acts.length - 1]!, y, rows).dOut;
      for (let l = model.layers.length - 1; l >= 0; l--) {
        const w = await gather(l);
        const gl = comm.alloc(model.layers[l]!.size, 'float32', 'layer grads (transient)');
        d = model.backwardLayer(l, w, acts[l]!, acts[l + 1]!, d, rows, gl);
        comm.free(w);
        scale(gl, 1 / job.globalBatch);
        await reduceScatter(comm, gl, g[l]!);
        comm.free(gl);
      }
      for (let l = 0; l < model.layers.length; l++) update(optimizer, p[l]!, g[l]!, m[l]!, v[l]!, t);
    },
    async gatherParams() {
      const out = new Float32Array(model.numParams);
      for (let l = 0; l < model.layers.length; l++) {
        const w = await gather(l);
        out.set(w, model.layers[l]!.offset);
        comm.free(w);
      }
      return out;
    },
  };
}

// ---- 4. tensor parallel ------------------------------------------------------------------------

/** C [n, m] = A [n, k] · B [k, m], row-major, with optional transposes. */
function matmul(A: Float32Array, B: Float32Array, n: number, k: number, m: number, tA = false, tB = false, C = new Float32Array(n * m)): Float32Array {
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += (tA ? A[q * n + i]! : A[i * k + q]!) * (tB ? B[j * k + q]! : B[q * m + j]!);
      C[i * m + j] = s;
    }
  return C;
}

/** Columns [start, start + n) of a [rows, width] matrix, into a new [rows, n] one. */
function columns(comm: Comm, a: Float32Array, rows: number, width: number, start: number, n: number, tag: string): Float32Array {
  const out = comm.alloc(rows * n, 'float32', tag);
  for (let i = 0; i < rows; i++) out.set(a.subarray(i * width + start, i * width + start + n), i * n);
  return out;
}

function copyOf(comm: Comm, a: Float32Array, tag: string): Float32Array {
  const out = comm.alloc(a.length, 'float32', tag);
  out.set(a);
  return out;
}

const GELU_C = Math.sqrt(2 / Math.PI);
const gelu = (z: number) => 0.5 * z * (1 + Math.tanh(GELU_C * (z + 0.044715 * z * z * z)));
function geluGrad(z: number): number {
  const t = Math.tanh(GELU_C * (z + 0.044715 * z * z * z));
  return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * z * z);
}

/** Sums an array over ranks through a buffer of this rank's memory (sends from it cost one copy). */
async function allReduceOut(comm: Comm, partial: Float32Array): Promise<Float32Array> {
  const buf = comm.alloc(partial.length, 'float32', 'all-reduce (transient)');
  buf.set(partial);
  await allReduce(comm, buf);
  const out = Float32Array.from(buf);
  comm.free(buf);
  return out;
}

/**
 * Megatron's MLP: W1 split by columns (each rank computes its slice of the hidden layer, no
 * communication), W2 by rows (each rank's partial output); one all-reduce of the output in
 * forward, one of the input gradient in backward. b2 is replicated and added after the sum.
 */
export async function createTpMlp(comm: Comm, w: TpMlpWeights): Promise<TpBlock> {
  const { d, hidden } = w;
  const s = shardRange(hidden, comm.size, comm.rank);
  const n = s.length;
  const w1 = columns(comm, w.w1, d, hidden, s.start, n, 'w1 (shard)');
  const b1 = copyOf(comm, w.b1.subarray(s.start, s.start + n), 'b1 (shard)');
  const w2 = copyOf(comm, w.w2.subarray(s.start * d, (s.start + n) * d), 'w2 (shard)');
  const b2 = copyOf(comm, w.b2, 'b2');
  let saved: { x: Float32Array; z: Float32Array; u: Float32Array; T: number } | null = null;
  let grads: Record<string, Float32Array> = {};
  return {
    async forward(x, T) {
      const z = matmul(x, w1, T, d, n);
      for (let t = 0; t < T; t++) for (let j = 0; j < n; j++) z[t * n + j] += b1[j]!;
      const u = z.map(gelu);
      const y = await allReduceOut(comm, matmul(u, w2, T, n, d));
      for (let t = 0; t < T; t++) for (let j = 0; j < d; j++) y[t * d + j] += b2[j]!;
      saved = { x, z, u, T };
      return y;
    },
    async backward(dy) {
      const { x, z, u, T } = saved!;
      const gb2 = new Float32Array(d);
      for (let t = 0; t < T; t++) for (let j = 0; j < d; j++) gb2[j] += dy[t * d + j]!;
      const gw2 = matmul(u, dy, n, T, d, true);
      const dz = matmul(dy, w2, T, d, n, false, true);
      for (let k = 0; k < dz.length; k++) dz[k] *= geluGrad(z[k]!);
      const gw1 = matmul(x, dz, d, T, n, true);
      const gb1 = new Float32Array(n);
      for (let t = 0; t < T; t++) for (let j = 0; j < n; j++) gb1[j] += dz[t * n + j]!;
      grads = { w1: gw1, b1: gb1, w2: gw2, b2: gb2 };
      return allReduceOut(comm, matmul(dz, w1, T, n, d, false, true));
    },
    grads: () => grads,
  };
}

/**
 * Megatron's attention: this rank's heads (columns of Wq, Wk, Wv; rows of Wo) are computed
 * locally; one all-reduce of the output in forward, one of the input gradient in backward.
 */
export async function createTpAttention(comm: Comm, w: TpAttentionWeights): Promise<TpBlock> {
  const { d, heads, headDim: e } = w;
  const He = heads * e;
  const hs = shardRange(heads, comm.size, comm.rank);
  const n = hs.length * e;
  const a = hs.start * e;
  const wq = columns(comm, w.wq, d, He, a, n, 'wq (shard)');
  const wk = columns(comm, w.wk, d, He, a, n, 'wk (shard)');
  const wv = columns(comm, w.wv, d, He, a, n, 'wv (shard)');
  const wo = copyOf(comm, w.wo.subarray(a * d, (a + n) * d), 'wo (shard)');
  const scaleQK = 1 / Math.sqrt(e);
  const H = hs.length;
  let saved: { x: Float32Array; q: Float32Array; k: Float32Array; v: Float32Array; P: Float32Array; o: Float32Array; T: number } | null = null;
  let grads: Record<string, Float32Array> = {};
  return {
    async forward(x, T) {
      const q = matmul(x, wq, T, d, n);
      const k = matmul(x, wk, T, d, n);
      const v = matmul(x, wv, T, d, n);
      const P = new Float32Array(H * T * T);
      const o = new Float32Array(T * n);
      for (let h = 0; h < H; h++)
        for (let i = 0; i < T; i++) {
          const row = (h * T + i) * T;
          let mx = -Infinity;
          for (let j = 0; j <= i; j++) {
            let s = 0;
            for (let c = 0; c < e; c++) s += q[i * n + h * e + c]! * k[j * n + h * e + c]!;
            P[row + j] = s * scaleQK;
            mx = Math.max(mx, P[row + j]!);
          }
          let sum = 0;
          for (let j = 0; j <= i; j++) sum += P[row + j] = Math.exp(P[row + j]! - mx);
          for (let j = 0; j <= i; j++) P[row + j] /= sum;
          for (let c = 0; c < e; c++) {
            let s = 0;
            for (let j = 0; j <= i; j++) s += P[row + j]! * v[j * n + h * e + c]!;
            o[i * n + h * e + c] = s;
          }
        }
      saved = { x, q, k, v, P, o, T };
      return allReduceOut(comm, matmul(o, wo, T, n, d));
    },
    async backward(dy) {
      const { x, q, k, v, P, o, T } = saved!;
      const gwo = matmul(o, dy, n, T, d, true);
      const dout = matmul(dy, wo, T, d, n, false, true);
      const dq = new Float32Array(T * n);
      const dk = new Float32Array(T * n);
      const dv = new Float32Array(T * n);
      for (let h = 0; h < H; h++)
        for (let i = 0; i < T; i++) {
          const row = (h * T + i) * T;
          const dP = new Float32Array(i + 1);
          let dot = 0;
          for (let j = 0; j <= i; j++) {
            let s = 0;
            for (let c = 0; c < e; c++) s += dout[i * n + h * e + c]! * v[j * n + h * e + c]!;
            dP[j] = s;
            dot += s * P[row + j]!;
          }
          for (let j = 0; j <= i; j++) {
            const p = P[row + j]!;
            const dS = p * (dP[j]! - dot) * scaleQK;
            for (let c = 0; c < e; c++) {
              dq[i * n + h * e + c] += dS * k[j * n + h * e + c]!;
              dk[j * n + h * e + c] += dS * q[i * n + h * e + c]!;
              dv[j * n + h * e + c] += p * dout[i * n + h * e + c]!;
            }
          }
        }
      grads = { wq: matmul(x, dq, d, T, n, true), wk: matmul(x, dk, d, T, n, true), wv: matmul(x, dv, d, T, n, true), wo: gwo };
      const dx = matmul(dq, wq, T, n, d, false, true);
      const dxk = matmul(dk, wk, T, n, d, false, true);
      const dxv = matmul(dv, wv, T, n, d, false, true);
      for (let i = 0; i < dx.length; i++) dx[i] += dxk[i]! + dxv[i]!;
      return allReduceOut(comm, dx);
    },
    grads: () => grads,
  };
}

// ---- 5. pipeline parallel ----------------------------------------------------------------------

/**
 * GPipe: all forwards, then all backwards. 1F1B: stage s runs p − s − 1 forwards (warm-up),
 * then alternates one forward and one backward, then the remaining backwards; it never holds
 * more than p − s microbatches' activations. Sends are not awaited until the end (a stage
 * starts its next microbatch as soon as its input has arrived).
 */
export async function pipelineStep(comm: Comm, job: PipelineJob): Promise<void> {
  const { stage, microbatches: m, rows } = job;
  const s = stage.index;
  const p = stage.stages;
  const stash = new Map<number, Saved>();
  const lastDy = new Map<number, Float32Array>();
  const sends: Promise<void>[] = [];
  const forward = async (mb: number) => {
    let x: Float32Array;
    if (s === 0) x = job.inputs![mb]!;
    else {
      x = new Float32Array(rows[mb]! * stage.inputWidth);
      await comm.recv(s - 1, x);
    }
    const { y, saved } = stage.forward(mb, x);
    stash.set(mb, saved);
    if (s < p - 1) sends.push(comm.send(s + 1, y));
    else lastDy.set(mb, stage.loss(mb, y));
  };
  const backward = async (mb: number) => {
    let dy: Float32Array;
    if (s === p - 1) dy = lastDy.get(mb)!;
    else {
      dy = new Float32Array(rows[mb]! * stage.outputWidth);
      await comm.recv(s + 1, dy);
    }
    const dx = stage.backward(stash.get(mb)!, dy);
    stash.delete(mb);
    if (s > 0) sends.push(comm.send(s - 1, dx));
  };
  if (job.schedule === 'gpipe') {
    for (let mb = 0; mb < m; mb++) await forward(mb);
    for (let mb = 0; mb < m; mb++) await backward(mb);
  } else {
    const warm = Math.min(p - s - 1, m);
    for (let mb = 0; mb < warm; mb++) await forward(mb);
    for (let i = 0; i < m - warm; i++) {
      await forward(warm + i);
      await backward(i);
    }
    for (let mb = m - warm; mb < m; mb++) await backward(mb);
  }
  await Promise.all(sends);
}
