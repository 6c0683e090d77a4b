// The BigInt ⇄ Number conversions hot paths use instead of Number() and BigInt() (u64.ts): they
// must give exactly what Number() and BigInt() give, at every edge of the 32-, 53- and 64-bit
// ranges, and numberToU64 takes the slow conversion outside [0, 2^64).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join64, numberToU64, split64, u64InRangeToNumber } from '../../../server/src/engine/u64';

const EDGES: bigint[] = [
  0n,
  1n,
  4095n,
  4096n,
  (1n << 31n) - 1n,
  1n << 31n,
  (1n << 32n) - 1n,
  1n << 32n,
  (1n << 32n) + 1n,
  0x7f00_1234_5000n,
  (1n << 53n) - 1n,
  1n << 53n,
  (1n << 53n) + 1n, // rounds to even: 2^53
  (1n << 53n) + 3n, // rounds to even: 2^53 + 4
  0xffff_8880_0000_0000n,
  0xffff_ffff_ffff_f000n,
  (1n << 64n) - 1n, // rounds up to 2^64
];

describe('u64 conversions', () => {
  it('u64InRangeToNumber rounds half-way cases as Number() does', () => {
    // Past 2^53 a double has a gap of 2, 4, …: a value half-way between two doubles rounds to
    // the one with an even last bit.
    for (let k = 0n; k < 64n; k++) {
      const value = (1n << 60n) + (k << 6n) + 64n * 3n + k;
      assert.equal(u64InRangeToNumber(value), Number(value), `0x${value.toString(16)}`);
    }
  });

  it('u64InRangeToNumber equals Number() over [0, 2^64], 2^64 included', () => {
    for (const value of EDGES) assert.equal(u64InRangeToNumber(value), Number(value), `0x${value.toString(16)}`);
    assert.equal(u64InRangeToNumber(1n << 64n), 2 ** 64);
    assert.equal(u64InRangeToNumber(0n), 0);
  });

  it('numberToU64 equals BigInt() for integral doubles in [0, 2^64)', () => {
    for (const value of EDGES) {
      const n = Number(value);
      if (n >= 2 ** 64) continue;
      assert.equal(numberToU64(n), BigInt(n), String(n));
    }
    assert.equal(numberToU64(2 ** 63), 1n << 63n);
    assert.equal(numberToU64(2 ** 64 - 2048), (1n << 64n) - 2048n);
  });

  it('numberToU64 takes BigInt() outside [0, 2^64)', () => {
    assert.equal(numberToU64(-4096), -4096n);
    assert.equal(numberToU64(2 ** 64), 1n << 64n);
    assert.throws(() => numberToU64(Number.NaN), RangeError);
  });

  it('split64 gives the low 64 bits as two halves, for any BigInt', () => {
    for (const value of [...EDGES, -1n, -4096n, 1n << 64n, (1n << 70n) + 0x1234n]) {
      assert.deepEqual(split64(value), [Number(value & 0xffffffffn), Number((value >> 32n) & 0xffffffffn)], `0x${value.toString(16)}`);
    }
  });

  it('join64 puts two halves together, each taken as ToUint32', () => {
    for (const value of EDGES) {
      const [lo, hi] = split64(value);
      assert.equal(join64(lo, hi), value, `0x${value.toString(16)}`);
    }
    // Halves written as signed 32-bit values, as `|` and `<<` leave them.
    assert.equal(join64(-1, -1), (1n << 64n) - 1n);
    assert.equal(join64(0x80000000 | 0, 1), (1n << 32n) | 0x80000000n);
  });
});
