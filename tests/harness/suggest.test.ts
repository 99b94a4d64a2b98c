// "Did you mean": a near name is suggested, a far one is not.
import { describe, expect, it } from 'vitest';
import { likelyMeant, missingExports } from '../../harness/suggest.ts';

describe('likelyMeant', () => {
  it('finds the name that differs by case or a typo or two', () => {
    expect(likelyMeant('allreduce/1', ['allReduce/0', 'allReduce/1', 'broadcast/1'])).toBe('allReduce/1');
    expect(likelyMeant('attenton', ['attention', 'generate'])).toBe('attention');
    expect(likelyMeant('flashAtention/2', ['flashAttention/2', 'attention/2'])).toBe('flashAttention/2');
  });
  it('suggests nothing when nothing is close, or there is nothing', () => {
    expect(likelyMeant('zero', ['attention', 'generate'])).toBeNull();
    expect(likelyMeant('x', [])).toBeNull();
  });
});

describe('missingExports', () => {
  it('names each missing export, with the near one the index does export', () => {
    expect(missingExports(['attention', 'generate'], ['attenton', 'helper'])).toBe("'attention' (your index exports 'attenton': a typo?), 'generate'");
    expect(missingExports(['generate'], [])).toBe("'generate'");
  });
  it('takes a shortened name for the one meant, but not a name that only begins alike', () => {
    expect(missingExports(['linearAttention'], ['linearAttn', 'attention'])).toBe("'linearAttention' (your index exports 'linearAttn': a typo?)");
    expect(missingExports(['multiHeadAttention'], ['multiply'])).toBe("'multiHeadAttention'");
  });
});
