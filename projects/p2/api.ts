// Project 2's student API: what index.ts must export. Tensors are tfjs tensors, float32,
// laid out [batch, heads, seq, headDim] unless said otherwise. See projects/p2/README.md.
import type * as tf from '@tensorflow/tfjs';

export interface AttentionOptions {
  causal: boolean;
  /** Multiplies q·k; usually 1/sqrt(headDim). */
  scale: number;
}

/**
 * Scaled dot-product attention. q: [B, H, Sq, D]; k, v: [B, H, Sk, D]; returns [B, H, Sq, D].
 * With causal, query i sees keys j <= i + (Sk - Sq): the queries are the last Sq positions.
 */
export type Attention = (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions) => tf.Tensor4D | Promise<tf.Tensor4D>;

export interface MhaWeights {
  /** [dModel, nHeads * headDim] */
  wq: tf.Tensor2D;
  /** [dModel, nKvHeads * headDim] */
  wk: tf.Tensor2D;
  /** [dModel, nKvHeads * headDim] */
  wv: tf.Tensor2D;
  /** [nHeads * headDim, dModel] */
  wo: tf.Tensor2D;
}

export interface MhaOptions {
  nHeads: number;
  /** < nHeads: grouped-query attention (query head h uses kv head floor(h / (nHeads / nKvHeads))); 1: multi-query. */
  nKvHeads: number;
  causal: boolean;
}

/** x: [B, S, dModel] -> [B, S, dModel]; headDim = wq.shape[1] / nHeads; scale 1/sqrt(headDim). */
export type MultiHeadAttention = (x: tf.Tensor3D, w: MhaWeights, opts: MhaOptions) => tf.Tensor3D | Promise<tf.Tensor3D>;

export interface FlashOptions {
  causal: boolean;
  blockQ: number;
  blockK: number;
  /** Defaults to 1/sqrt(D). */
  scale?: number;
}

/**
 * Tiled attention with an online softmax. Returns the output [B, H, Sq, D] and the natural-log
 * sum-exp of each row's scaled logits [B, H, Sq]. Peak tensor memory must stay O(S·D).
 */
export type FlashAttention = (
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  opts: FlashOptions,
) => { out: tf.Tensor4D; lse: tf.Tensor3D } | Promise<{ out: tf.Tensor4D; lse: tf.Tensor3D }>;

/** The small GPT-style decoder of this project (pre-LayerNorm, GELU MLP, learned positions). */
export interface DecoderConfig {
  vocab: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  dFF: number;
  maxSeq: number;
  lnEps: number;
}

export interface DecoderLayer {
  ln1G: tf.Tensor1D;
  ln1B: tf.Tensor1D;
  wq: tf.Tensor2D;
  wk: tf.Tensor2D;
  wv: tf.Tensor2D;
  wo: tf.Tensor2D;
  ln2G: tf.Tensor1D;
  ln2B: tf.Tensor1D;
  /** [dModel, dFF] */
  w1: tf.Tensor2D;
  b1: tf.Tensor1D;
  /** [dFF, dModel] */
  w2: tf.Tensor2D;
  b2: tf.Tensor1D;
}

export interface Decoder {
  config: DecoderConfig;
  /** [vocab, dModel] */
  tokEmb: tf.Tensor2D;
  /** [maxSeq, dModel] */
  posEmb: tf.Tensor2D;
  layers: DecoderLayer[];
  lnFG: tf.Tensor1D;
  lnFB: tf.Tensor1D;
  /** [dModel, vocab] */
  wOut: tf.Tensor2D;
}

export interface GenerateOptions {
  useCache: boolean;
  /** Call once per new token, as soon as it is chosen (the harness times TTFT and TPOT by it). */
  onToken: (token: number) => void;
}

export interface GenerateResult {
  /** The nNew greedily chosen tokens. */
  tokens: number[];
  /** [nNew, vocab]: the logits each new token was chosen from. */
  logits: tf.Tensor2D;
  /** With the cache: its size in bytes at the end, and how many tokens it holds. 0 without. */
  cacheBytes: number;
  cachedTokens: number;
}

export type Generate = (model: Decoder, prompt: number[], nNew: number, opts: GenerateOptions) => GenerateResult | Promise<GenerateResult>;

/** φ(x) = elu(x) + 1 linear attention; q, k, v: [B, H, S, D]; causal uses a running state. */
export type LinearAttention = (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: { causal: boolean }) => tf.Tensor4D | Promise<tf.Tensor4D>;

export interface P2Submission {
  attention: Attention;
  multiHeadAttention: MultiHeadAttention;
  flashAttention: FlashAttention;
  generate: Generate;
  linearAttention: LinearAttention;
}
