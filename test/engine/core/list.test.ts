// Arrays that the race explorer's optimized code indexes keep one elements kind, however the
// code building them happens to be compiled (see mapPacked in server/src/engine/list.ts).

import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { describe, it } from 'node:test';
import { mapPacked } from '../../../server/src/engine/list';

setFlagsFromString('--allow-natives-syntax');
const holey = new Function('a', 'return %HasHoleyElements(a)') as (a: unknown[]) => boolean;
/** Calls `f(...args)` once `f` is optimized by TurboFan, and returns what it returned. */
const optimized = new Function(
  'f',
  '...args',
  '%PrepareFunctionForOptimization(f); f(...args); f(...args); %OptimizeFunctionOnNextCall(f); return f(...args);',
) as <A extends unknown[], R>(f: (...args: A) => R, ...args: A) => R;

describe('mapPacked', () => {
  const xs = [{ n: 1 }, { n: 2 }, { n: 3 }];

  it('maps like Array.prototype.map', () => {
    assert.deepEqual(
      mapPacked(xs, (x, i) => x.n * 10 + i),
      xs.map((x, i) => x.n * 10 + i),
    );
    assert.deepEqual(mapPacked([], () => 1), []);
  });

  it('returns a packed array from interpreted and from optimized callers alike, where map does not', () => {
    const f = (x: { n: number }): object => ({ m: x.n });
    const viaMap = (): object[] => xs.map(f);
    assert.equal(holey(mapPacked(xs, f)), false);
    assert.equal(holey(optimized(mapPacked, xs, f)), false);
    // Why it exists: the builtin map's result is packed, an optimized caller's inlined map's holey.
    assert.equal(holey(viaMap()), false);
    assert.equal(holey(optimized(viaMap)), true);
  });
});
