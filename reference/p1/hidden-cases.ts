// The hidden cases of Project 1: staff-only (see harness/staff.ts). This file is not in the
// student bundle and not in a submission's sandbox; the public cases and the helpers that build
// cases are in projects/p1/project.ts. Their seeds come from the grader's secret.
import type { CaseSpec } from '../../harness/project.ts';
import type { HiddenCases } from '../../harness/staff.ts';
import { ATT, c, MLP, PP, Z, ZBIG, ZS, type CollP, type PipeP, type TpP, type TrainP, type ZeroP } from '../../projects/p1/project.ts';

const allReduce: CaseSpec<CollP>[] = [
  c('N=5, 12345 floats', { N: 5, L: 12345 }),
  c('N=7, 100 floats', { N: 7, L: 100 }),
  c('N=6, 1 float', { N: 6, L: 1 }),
  c('N=8, 262147 floats', { N: 8, L: 262147 }),
];

// reduceScatter and allGather are each other's inverse: the same sizes test both.
const sharded: CaseSpec<CollP>[] = [c('N=5, 12345 floats', { N: 5, L: 12345 }), c('N=8, 1001 floats', { N: 8, L: 1001 })];

const broadcast: CaseSpec<CollP>[] = [c('N=5, 12345 floats, root 3', { N: 5, L: 12345, root: 3 }), c('N=8, 1001 floats, root 7', { N: 8, L: 1001, root: 7 })];

const dataParallel: CaseSpec<TrainP>[] = [
  c('N=5, Adam, batch 7', { N: 5, sizes: [8, 16, 4], B: 7, steps: 4, optimizer: 'adam' }),
  c('N=4, SGD, batch 3 (a rank with no examples)', { N: 4, sizes: [6, 10, 3], B: 3, steps: 3, optimizer: 'sgd' }),
  c('N=8, Adam, batch 13', { N: 8, sizes: [5, 7, 6, 3], B: 13, steps: 3, optimizer: 'adam' }),
];

const zero: CaseSpec<ZeroP>[] = [
  c('stage 1, N=5, batch 7', Z(5, 1, ZS, 7)),
  c('stage 3, N=3, batch 5', Z(3, 3, ZS, 5)),
  c('stage 2, N=4, 2 layers', Z(4, 2, [7, 9, 5], 10)),
  c('stage 3, N=8, batch 11', Z(8, 3, [5, 11, 6, 2], 11)),
  c('stage 1, N=3, Ψ=13256', Z(3, 1, ZBIG, 6, 2)),
];

const tensorParallel: CaseSpec<TpP>[] = [
  c('MLP, N=4, hidden 13', MLP(4, 3, 6, 13)),
  c('attention, N=4, 3 heads (a rank with none)', ATT(4, 4, 6, 3, 2)),
  c('MLP, N=8, hidden 16', MLP(8, 2, 6, 16)),
  c('attention, N=5, 6 heads, 1 token', ATT(5, 1, 8, 6, 2)),
];

const pipeline: CaseSpec<PipeP>[] = [
  c('1F1B, p=4, m=5, batch 11', PP(4, 5, '1f1b', 11)),
  c('GPipe, p=5, m=7', PP(5, 7, 'gpipe', 14)),
  c('1F1B, p=3, m=10, batch 13', PP(3, 10, '1f1b', 13)),
  c('1F1B, p=8, m=9', PP(8, 9, '1f1b', 18, 5)),
];

export default { allReduce, reduceScatter: sharded, allGather: sharded, broadcast, dataParallel, zero, tensorParallel, pipeline } satisfies HiddenCases;
