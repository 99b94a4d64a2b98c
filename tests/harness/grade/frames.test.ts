// Which stack frames a student sees (Impl.clean): those in the submission's own files only.
import { describe, expect, it } from 'vitest';
import { ownFrame } from '../../../harness/grade/run.ts';

describe('ownFrame', () => {
  it("keeps frames whose location is a path in the submission's folder", () => {
    for (const l of ['    at attention (index.ts:7:13)', '    at <anonymous> (index.ts:9:22)', '    at lib/tiles.ts:3:1', '    at async Promise.all (kernels/a.ts:12:5)'])
      expect(ownFrame(l), l).toBe(true);
  });
  it("drops the harness's, Node's and the packages' frames, and those with no file", () => {
    for (const l of [
      '    at Engine.scopedRun (/work/main/tfjs-core/src/engine.ts:480:19)',
      '    at run (/home/ta/mlsys/harness/child/driver.ts:120:5)',
      '    at file:///home/ta/mlsys/node_modules/x/index.js:1:2',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      '    at Array.map (<anonymous>)',
      '    at async Promise.all (index 0)',
      '    at new Promise (<anonymous>)',
      '    at helper (../api.ts:3:9)',
    ])
      expect(ownFrame(l), l).toBe(false);
  });
});
