import type { Target } from '../../src/core/types.js';

/** A complete target for tests that build one by hand: the usual defaults, overridden by `extra`. */
export function testTarget(extra: Partial<Target> & Pick<Target, 'kind'>): Target {
  return {
    name: extra.kind,
    address: '',
    interval: 60,
    timeout: 2,
    failThreshold: 3,
    recoverThreshold: 1,
    tags: [],
    source: 'api',
    createdAt: 0,
    ...extra,
  };
}
