// Project 1 starter: implement each function. The types (and what the harness hands you) are in
// projects/p1/api.ts; the oracles your results are checked against are in projects/p1/oracle.ts
// and projects/p1/model.ts. Every function runs on every rank at once, each with its own comm.
// Run: npx mlsys test p1 <this folder>     (check-in: npx mlsys test p1 <this folder> --milestone checkin)
import type {
  Comm,
  DataParallelJob,
  PipelineJob,
  TpAttentionWeights,
  TpBlock,
  TpMlpWeights,
  ZeroJob,
  ZeroTrainer,
} from '../api.ts';

/** Rank r's part of a vector of `length` elements over `size` ranks (the project's convention). */
export function shardRange(length: number, size: number, rank: number): { start: number; length: number } {
  const base = Math.floor(length / size);
  const extra = length % size;
  return { start: rank * base + Math.min(rank, extra), length: base + (rank < extra ? 1 : 0) };
}

// ---- 1. collectives (the check-in) -----------------------------------------------------------

export async function allReduce(comm: Comm, buf: Float32Array): Promise<void> {
  throw new Error('allReduce: not implemented yet');
}

export async function reduceScatter(comm: Comm, input: Float32Array, output: Float32Array): Promise<void> {
  throw new Error('reduceScatter: not implemented yet');
}

export async function allGather(comm: Comm, input: Float32Array, output: Float32Array): Promise<void> {
  throw new Error('allGather: not implemented yet');
}

export async function broadcast(comm: Comm, buf: Float32Array, root: number): Promise<void> {
  throw new Error('broadcast: not implemented yet');
}

// ---- 2. data parallel --------------------------------------------------------------------------

export async function dataParallelTrain(comm: Comm, job: DataParallelJob): Promise<Float32Array> {
  throw new Error('dataParallelTrain: not implemented yet');
}

// ---- 3. ZeRO -----------------------------------------------------------------------------------

export async function createZero(comm: Comm, job: ZeroJob): Promise<ZeroTrainer> {
  throw new Error('createZero: not implemented yet');
}

// ---- 4. tensor parallel ------------------------------------------------------------------------

export async function createTpMlp(comm: Comm, w: TpMlpWeights): Promise<TpBlock> {
  throw new Error('createTpMlp: not implemented yet');
}

export async function createTpAttention(comm: Comm, w: TpAttentionWeights): Promise<TpBlock> {
  throw new Error('createTpAttention: not implemented yet');
}

// ---- 5. pipeline parallel ----------------------------------------------------------------------

export async function pipelineStep(comm: Comm, job: PipelineJob): Promise<void> {
  throw new Error('pipelineStep: not implemented yet');
}
