// The hidden cases of Project 2: staff-only (see harness/staff.ts). This file is not in the
// student bundle and not in a submission's sandbox; the public cases are in
// projects/p2/project.ts. Their seeds come from the grader's secret.
import type { CaseSpec } from '../../harness/project.ts';
import type { HiddenCases } from '../../harness/staff.ts';
import { c, type AttnP, type FlashP, type GenP, type LinP, type MhaP } from '../../projects/p2/project.ts';

const attention: CaseSpec<AttnP>[] = [
  c('Sq1 Sk1', { B: 1, H: 1, Sq: 1, Sk: 1, D: 8, causal: true }),
  c('primes causal', { B: 1, H: 3, Sq: 17, Sk: 31, D: 8, causal: true }),
  c('logits ~1e3', { B: 1, H: 2, Sq: 19, Sk: 19, D: 16, causal: false, big: true }),
  c('logits ~1e3 causal', { B: 2, H: 1, Sq: 23, Sk: 29, D: 32, causal: true, big: true }),
];

const multiHeadAttention: CaseSpec<MhaP>[] = [
  c('GQA 6q/3kv S13', { B: 1, S: 13, dModel: 48, nHeads: 6, nKvHeads: 3, headDim: 8, causal: true }),
  c('S1', { B: 1, S: 1, dModel: 32, nHeads: 4, nKvHeads: 4, headDim: 8, causal: true }),
  c('MQA 8q S17', { B: 2, S: 17, dModel: 64, nHeads: 8, nKvHeads: 1, headDim: 8, causal: false }),
];

const flashAttention: CaseSpec<FlashP>[] = [
  c('causal S37 D32 blocks 16x16', { B: 1, H: 1, Sq: 37, Sk: 37, D: 32, causal: true, blockQ: 16, blockK: 16 }),
  c('Sq1 Sk29 blocks 4x8', { B: 1, H: 2, Sq: 1, Sk: 29, D: 16, causal: true, blockQ: 4, blockK: 8 }),
  c('logits ~1e3 blocks 5x7', { B: 1, H: 2, Sq: 23, Sk: 23, D: 16, causal: true, blockQ: 5, blockK: 7, big: true }),
  c('memory causal: S1024 blocks 32x64', { B: 1, H: 2, Sq: 1024, Sk: 1024, D: 16, causal: true, blockQ: 32, blockK: 64, memory: true }),
];

const generate: CaseSpec<GenP>[] = [
  c('prompt 37, 8 new', { prompt: 37, nNew: 8, mode: 'both' }),
  c('prompt 2, 16 new', { prompt: 2, nNew: 16, mode: 'both' }),
];

const linearAttention: CaseSpec<LinP>[] = [
  c('causal S1', { B: 1, H: 1, S: 1, D: 8, causal: true }),
  c('S61 D16', { B: 1, H: 3, S: 61, D: 16, causal: false }),
];

export default { attention, multiHeadAttention, flashAttention, generate, linearAttention } satisfies HiddenCases;
