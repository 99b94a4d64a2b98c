// The warm-up before every timed GPU pass lasts about 30 ms whatever the GPU and its clock:
// the next run's number of dispatches comes from the last warm-up's measured length.
import { describe, expect, it } from 'vitest';
import { warmDispatches } from '../../../../harness/child/gpu/launch.ts';

describe('warmDispatches', () => {
  it('aims at about 30 ms from the last warm-up', () => {
    expect(warmDispatches(1, 1.5)).toBe(20); // an H100 at full clock: 1.5 ms a dispatch
    expect(warmDispatches(1, 8.6)).toBe(4); // the same GPU at its idle clock
    expect(warmDispatches(20, 30)).toBe(20); // steady
    expect(warmDispatches(4, 6)).toBe(20); // the clock went up: more dispatches
  });

  it('stays within 1 to 64 dispatches', () => {
    expect(warmDispatches(1, 200)).toBe(1); // a slow GPU: one dispatch, however long
    expect(warmDispatches(64, 0.64)).toBe(64); // a very fast one: capped
  });

  it('keeps the count when the warm-up was not timed', () => {
    expect(warmDispatches(7, 0)).toBe(7);
    expect(warmDispatches(7, Number.NaN)).toBe(7);
  });
});
