// The hidden cases of Project 3: staff-only (see harness/staff.ts). This file is not in the
// student bundle and not in a submission's sandbox; the public cases are in
// projects/p3/project.ts. Their seeds come from the grader's secret.
import type { HiddenCases } from '../../harness/staff.ts';
import { at, atChecked, checked, ln, mm, mmChecked, rc, rcChecked } from '../../projects/p3/project.ts';
import { MATMUL_STAGES } from '../../projects/p3/spec.ts';

// Every matmul stage and the best kernel are checked on the same sizes.
const matmul = [
  mmChecked(mm(3, 5, 7)),
  mmChecked(mm(129, 257, 63)),
  mmChecked(mm(200, 1, 300), 'one column'),
  mmChecked(mm(33, 47, 1000), 'long K'),
  mmChecked(mm(97, 131, 61), 'integers, exact', { a: { kind: 'int' }, b: { kind: 'int' } }),
];

const softmax = [
  rcChecked(rc(1, 32768), 'one 32k row'),
  rcChecked(rc(3, 12000), 'rows in registers, partly filled'),
  rcChecked(rc(33, 4097)),
  rcChecked(rc(2, 7)),
  rcChecked(rc(5, 333), 'logits up to ±1024', { x: { scale: 1024 } }),
  rcChecked(rc(100, 100), 'all logits near 100', { x: { scale: 0.0625, offset: 100 } }),
];

const layernorm = [
  checked('2x2', ln(2, 2)),
  checked('65x4097', ln(65, 4097)),
  checked('5x333, mean -512, eps 1e-3', ln(5, 333, 1e-3), { x: { offset: -512 } }),
  checked('1x32768', ln(1, 32768)),
];

const reduce_sum = [
  rcChecked(rc(3, 100003), 'by rows, long'),
  rcChecked(rc(1, 4194319), 'integers, exact', { x: { kind: 'int' } }),
  rcChecked(rc(4097, 3), 'many short rows'),
  rcChecked(rc(1, 65537)),
];

const transpose = [rcChecked(rc(1023, 1025)), rcChecked(rc(7, 1)), rcChecked(rc(64, 64)), rcChecked(rc(31, 2049))];

const attention_fwd = [
  atChecked(at(1, 2, 65, 65, 64, true), 'logits ~±50', { q: { scale: 4 }, k: { scale: 4 } }),
  atChecked(at(1, 3, 100, 100, 128, false)),
  atChecked(at(1, 1, 1, 129, 128, true), 'one query, a decode step'),
  atChecked(at(2, 1, 127, 127, 64, false)),
];

export default {
  ...Object.fromEntries(MATMUL_STAGES.map((id) => [id, matmul])),
  matmul,
  softmax,
  layernorm,
  reduce_sum,
  transpose,
  attention_fwd,
} satisfies HiddenCases;
