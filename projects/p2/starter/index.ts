// Project 2 starter: implement each function. The types are in projects/p2/api.ts; the
// oracle each is checked against is in projects/p2/oracle.ts. Run: npx mlsys test p2 <this folder>
// A value import (not `import type`): your code will call tf.tidy, tf.matMul, ... (the harness provides tfjs).
import * as tf from '@tensorflow/tfjs';
import type { AttentionOptions, Decoder, FlashOptions, GenerateOptions, GenerateResult, MhaOptions, MhaWeights } from '../api.ts';

export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions): tf.Tensor4D {
  throw new Error('attention: not implemented yet');
}

export function multiHeadAttention(x: tf.Tensor3D, w: MhaWeights, opts: MhaOptions): tf.Tensor3D {
  throw new Error('multiHeadAttention: not implemented yet');
}

export function flashAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: FlashOptions): { out: tf.Tensor4D; lse: tf.Tensor3D } {
  throw new Error('flashAttention: not implemented yet');
}

export function generate(model: Decoder, prompt: number[], nNew: number, opts: GenerateOptions): GenerateResult {
  throw new Error('generate: not implemented yet');
}

export function linearAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: { causal: boolean }): tf.Tensor4D {
  throw new Error('linearAttention: not implemented yet');
}
