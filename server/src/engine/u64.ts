// Exact unsigned 64-bit arithmetic helpers.
//
// Addresses and descriptors are 64-bit values that a JavaScript number cannot hold exactly, so
// they cross every API as bigint. Hot loops work on 32-bit halves instead (see model/table.ts).

export const U64_MAX = (1n << 64n) - 1n;
export const TWO_32 = 4294967296;

/**
 * One 64-bit cell seen as a BigInt and as two 32-bit halves. A store into a BigUint64Array and
 * two loads convert a BigInt to a Number in about 3 ns where `Number(b)` takes about 40, and the
 * other way in about 13 ns where `BigInt(n)` takes about 55: both are calls into the runtime
 * that the optimizing compiler does not inline, and a one-page walk converts its ends.
 */
const cell64 = new BigUint64Array(1);
const halves = new Uint32Array(cell64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;

/**
 * `Number(value)` of a value the caller knows lies in [0, 2^64]: a validated address, a range
 * end, a bound value. Exact below 2^53, else rounded as Number() rounds (the high half times
 * 2^32 is exact, so the one addition is the only rounding). There is no range check: its two
 * BigInt comparisons are runtime calls that cost three times the conversion, and a walk converts
 * its two ends on every small madvise. 2^64 itself (the end of a range reaching the top) stores
 * as 0, and one comparison, made only then, tells it from 0. A value outside the range would be
 * taken modulo 2^64.
 */
export function u64InRangeToNumber(value: bigint): number {
  cell64[0] = value;
  const n = (halves[HI] as number) * TWO_32 + (halves[LO] as number);
  return n === 0 && value !== 0n ? 2 ** 64 : n;
}

/** `BigInt(value)` for an integral Number (outside [0, 2^64) it takes BigInt()). */
export function numberToU64(value: number): bigint {
  if (!(value >= 0 && value < 2 ** 64)) return BigInt(value);
  halves[LO] = value >>> 0;
  halves[HI] = (value / TWO_32) >>> 0;
  return cell64[0] as bigint;
}

/**
 * Splits a 64-bit value into its low and high 32-bit halves (a value outside [0, 2^64) by its
 * low 64 bits, as a BigUint64Array stores it).
 */
export function split64(value: bigint): [lo: number, hi: number] {
  cell64[0] = value;
  return [halves[LO] as number, halves[HI] as number];
}

/** The 64-bit value of two 32-bit halves (each taken as ToUint32, as `>>> 0` would). */
export function join64(lo: number, hi: number): bigint {
  halves[LO] = lo;
  halves[HI] = hi;
  return cell64[0] as bigint;
}

export function isU64(value: bigint): boolean {
  return value >= 0n && value <= U64_MAX;
}

/** `0x` and 16 lower-case hex digits, the way the kernel prints `%016lx`. */
export function hex16(value: bigint): string {
  return '0x' + value.toString(16).padStart(16, '0');
}

/** `0x` and the shortest lower-case hex digits. */
export function hex(value: bigint): string {
  return '0x' + value.toString(16);
}

/** A hex literal grouped in fours with `_`, the way scenarios write addresses. */
export function hexGrouped(value: bigint): string {
  const digits = value.toString(16);
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 4) groups.unshift(digits.slice(Math.max(0, end - 4), end));
  return '0x' + groups.join('_');
}

export function alignDown(value: bigint, align: bigint): bigint {
  return value - (value % align);
}

export function alignUp(value: bigint, align: bigint): bigint {
  const rem = value % align;
  return rem === 0n ? value : value + (align - rem);
}

export function isAligned(value: bigint, align: bigint): boolean {
  return value % align === 0n;
}

/** Human size with binary units: 4K, 2M, 1G, 1.5G never (only exact units are used). */
export function sizeText(bytes: bigint): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P', 'E'];
  let unit = 0;
  let value = bytes;
  while (unit < units.length - 1 && value !== 0n && value % 1024n === 0n) {
    value /= 1024n;
    unit++;
  }
  return `${value}${units[unit] ?? ''}`;
}
