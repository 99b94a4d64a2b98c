// Project 1's student API: what index.ts must export, and what the harness hands it. Every
// function runs on every rank at once (one thread per rank, in one process), each with its own
// `comm`. See projects/p1/README.md for the rules that are checked and the formulas.

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** One rank's communicator (provided by the harness; every byte sent through it is counted). */
export interface Comm {
  /** This rank, 0 ≤ rank < size. */
  readonly rank: number;
  /** Number of ranks. */
  readonly size: number;
  /**
   * Sends a copy of `data` to rank `dst`. Up to 64 KiB the message is buffered and the promise
   * resolves at once (while the link's 1 MiB buffer has room); a larger message resolves when
   * `dst` has received it, so start the
   * matching recv before awaiting (e.g. `await Promise.all([comm.send(...), comm.recv(...)])`).
   * Do not modify `data` until the promise resolves.
   */
  send(dst: number, data: TypedArray): Promise<void>;
  /**
   * Receives the next message from rank `src` into `out`. Messages on a link arrive in the
   * order they were sent; `out` must have the dtype and length of the message.
   */
  recv(src: number, out: TypedArray): Promise<void>;
  /** Like recv, but adds the message into `acc` element-wise (acc += message). */
  recvReduce(src: number, acc: Float32Array | Float64Array | Int32Array): Promise<void>;
  /** Resolves once every rank has called it. */
  barrier(): Promise<void>;
  /**
   * A zero-filled array of n elements in this rank's memory, counted in the bytes the rank
   * holds until `free`. Keep your state (parameters, gradients, optimizer moments, shards) in
   * these: memory per rank is checked from them. Sending from such an array costs one copy
   * instead of two. Valid until your function returns.
   */
  alloc(n: number, dtype?: 'float32', tag?: string): Float32Array;
  alloc(n: number, dtype: 'float64', tag?: string): Float64Array;
  alloc(n: number, dtype: 'int32', tag?: string): Int32Array;
  alloc(n: number, dtype: 'uint8', tag?: string): Uint8Array;
  /** Returns an array from alloc (pass the array alloc returned, not a subarray). */
  free(a: TypedArray): void;
}

/**
 * How every vector in this project is split across ranks: rank r holds elements
 * [start, start + length) with sizes differing by at most one, the first (length % size) ranks
 * holding one more. (Copy this into your code.)
 */
export function shardRange(length: number, size: number, rank: number): { start: number; length: number } {
  const base = Math.floor(length / size);
  const extra = length % size;
  return { start: rank * base + Math.min(rank, extra), length: base + (rank < extra ? 1 : 0) };
}

// ---- 1. collectives (the check-in) ----------------------------------------------------------

/** buf ← Σ over ranks of buf (in place). Every rank passes an array of the same length. */
export type AllReduce = (comm: Comm, buf: Float32Array) => Promise<void>;
/**
 * output ← this rank's shard (shardRange(input.length, size, rank)) of Σ over ranks of input.
 * output.length is that shard's length.
 */
export type ReduceScatter = (comm: Comm, input: Float32Array, output: Float32Array) => Promise<void>;
/** output ← the concatenation, in rank order, of every rank's input (rank r's is its shard of output). */
export type AllGather = (comm: Comm, input: Float32Array, output: Float32Array) => Promise<void>;
/** buf ← root's buf, on every rank. */
export type Broadcast = (comm: Comm, buf: Float32Array, root: number) => Promise<void>;

// ---- the model of tasks 2 and 3 -------------------------------------------------------------

/** One layer's block in the flat parameter vector: W [inputs, outputs] row-major, then b [outputs]. */
export interface Layer {
  offset: number;
  /** inputs · outputs + outputs */
  size: number;
  inputs: number;
  outputs: number;
}

/**
 * The MLP of tasks 2 and 3: h_{l+1} = tanh(h_l W_l + b_l), no tanh on the last layer; the loss
 * of a batch of B examples is (1/B) Σ_examples ½ ‖out − y‖². The helpers are the harness's
 * (float32); x and y hold `rows` examples, row-major.
 */
export interface Mlp {
  sizes: number[];
  layers: Layer[];
  /** Ψ, the number of parameters. */
  numParams: number;
  /** Σ over the rows of ½ ‖out − y‖², and its gradient w.r.t. all Ψ parameters into `grad` (overwritten). */
  lossAndGrad(params: Float32Array, x: Float32Array, y: Float32Array, rows: number, grad: Float32Array): number;
  /** Layer l's output for input x [rows, inputs]; p is the layer's block (length layers[l].size). */
  forwardLayer(l: number, p: Float32Array, x: Float32Array, rows: number): Float32Array;
  /** Layer l's backward: writes dL/dp into gradP (length layers[l].size, overwritten), returns dL/dx. */
  backwardLayer(l: number, p: Float32Array, x: Float32Array, out: Float32Array, dOut: Float32Array, rows: number, gradP: Float32Array): Float32Array;
  /** Σ over the rows of ½ ‖out − y‖², and dL/dout. */
  lossGrad(out: Float32Array, y: Float32Array, rows: number): { loss: number; dOut: Float32Array };
}

export interface AdamConfig {
  kind: 'adam';
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}
export type Optimizer = { kind: 'sgd'; lr: number } | AdamConfig;

// ---- 2. data parallel -----------------------------------------------------------------------

export interface DataParallelJob {
  model: Mlp;
  /** The initial parameters (the same on every rank). */
  params: Float32Array;
  steps: number;
  /** B: examples per step over all ranks. The loss is the mean over all B. */
  globalBatch: number;
  /** This rank's examples of each step (its shardRange of the B): x[s] [rows, sizes[0]], y[s] [rows, sizes.at(-1)]. */
  x: Float32Array[];
  y: Float32Array[];
  rows: number;
  optimizer: Optimizer;
}
/** Trains `steps` steps (each: gradients of the mean loss over all B examples, then one update); returns the final parameters. */
export type DataParallelTrain = (comm: Comm, job: DataParallelJob) => Promise<Float32Array>;

// ---- 3. ZeRO --------------------------------------------------------------------------------

export interface ZeroJob {
  model: Mlp;
  /** The initial parameters (all Ψ, on every rank). Overwritten by the harness once createZero returns: copy what you keep. */
  params: Float32Array;
  stage: 1 | 2 | 3;
  optimizer: AdamConfig;
  globalBatch: number;
}
export interface ZeroTrainer {
  /** One step on this rank's examples (its shardRange of the global batch). */
  step(x: Float32Array, y: Float32Array, rows: number): Promise<void>;
  /** All Ψ parameters, on every rank (after the steps). */
  gatherParams(): Promise<Float32Array>;
}
export type CreateZero = (comm: Comm, job: ZeroJob) => ZeroTrainer | Promise<ZeroTrainer>;

// ---- 4. tensor (Megatron) parallel -----------------------------------------------------------

/** y = gelu(x W1 + b1) W2 + b2, x [T, d]; GeLU in its tanh form. W1 is split by columns, W2 by rows. */
export interface TpMlpWeights {
  d: number;
  hidden: number;
  /** [d, hidden] */
  w1: Float32Array;
  /** [hidden] */
  b1: Float32Array;
  /** [hidden, d] */
  w2: Float32Array;
  /** [d] */
  b2: Float32Array;
}
/** Causal self-attention: heads split across ranks (shardRange(heads, size, rank)), no biases. */
export interface TpAttentionWeights {
  d: number;
  heads: number;
  headDim: number;
  /** [d, heads · headDim] each; head h is columns [h · headDim, (h + 1) · headDim). */
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  /** [heads · headDim, d] */
  wo: Float32Array;
}
export interface TpBlock {
  /** y [T, d] (full, on every rank) for x [T, d] (the same on every rank). */
  forward(x: Float32Array, tokens: number): Promise<Float32Array>;
  /** dL/dx [T, d] (full, on every rank) for dL/dy, after forward; keeps this rank's parameter gradients. */
  backward(dy: Float32Array): Promise<Float32Array>;
  /** This rank's gradient shards, by weight name (see README for each shape). */
  grads(): Record<string, Float32Array>;
}
/** The weights are overwritten by the harness once these return: keep your shard (through comm.alloc). */
export type CreateTpMlp = (comm: Comm, w: TpMlpWeights) => TpBlock | Promise<TpBlock>;
export type CreateTpAttention = (comm: Comm, w: TpAttentionWeights) => TpBlock | Promise<TpBlock>;

// ---- 5. pipeline parallel --------------------------------------------------------------------

/** The harness's saved activations of one microbatch on one stage (opaque). */
export interface Saved {
  readonly microbatch: number;
}
/** This rank's stage (rank = stage index). Forward costs 1 unit of the pipeline's clock, backward 2. */
export interface PipelineStage {
  readonly index: number;
  readonly stages: number;
  readonly inputWidth: number;
  readonly outputWidth: number;
  /** The stage's output for microbatch mb's input x [rows(mb), inputWidth], and what backward needs. */
  forward(mb: number, x: Float32Array): { y: Float32Array; saved: Saved };
  /** From dL/dy, accumulates the stage's gradients and returns dL/dx (frees `saved`). */
  backward(saved: Saved, dy: Float32Array): Float32Array;
  /** Last stage only: dL/dy of microbatch mb's output y (the targets are the harness's). */
  loss(mb: number, y: Float32Array): Float32Array;
}
export interface PipelineJob {
  schedule: 'gpipe' | '1f1b';
  microbatches: number;
  /** Rows of each microbatch. */
  rows: number[];
  stage: PipelineStage;
  /** Stage 0 only: each microbatch's input [rows[mb], inputWidth]; null elsewhere. */
  inputs: Float32Array[] | null;
}
/** One training step (forward and backward of every microbatch) with the given schedule. */
export type PipelineStep = (comm: Comm, job: PipelineJob) => Promise<void>;
