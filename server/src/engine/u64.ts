// Exact unsigned 64-bit arithmetic helpers.
//
// Addresses and descriptors are 64-bit values that a JavaScript number cannot hold exactly, so
// they cross every API as bigint. Hot loops work on 32-bit halves instead (see model/table.ts).

export const U64_MAX = (1n << 64n) - 1n;
export const TWO_32 = 4294967296;

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

/** Splits a 64-bit value into its low and high 32-bit halves. */
export function split64(value: bigint): [lo: number, hi: number] {
  return [Number(value & 0xffffffffn), Number((value >> 32n) & 0xffffffffn)];
}

export function join64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
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
