// What every process statement shares: the system call's argument rules, the task a
// statement's faults run in, and the outcome of a range that crossed a hole.

import type { LevelGeometry } from '../arch/profile';
import type { ExecContext } from '../exec/context';
import { errno, type Outcome } from '../exec/outcome';
import type { Expr } from '../program';
import { hex16, numberToU64 } from '../u64';
import type { Task } from './fault';
import { Mm } from './mm';

/** A page-aligned range from a statement's address and size, or the errno the syscall returns. */
export type RangeArgs = { start: bigint; end: bigint; empty: boolean } | { error: Outcome };

const U64 = 1n << 64n;

/**
 * The argument rules of munmap, mprotect, madvise and mlock: an unaligned start is EINVAL, the
 * length is rounded up to whole pages (PAGE_ALIGN), and a range that wraps is EINVAL.
 */
export function rangeArgs(ctx: ExecContext, what: string, addr: Expr, size: Expr, advice?: string): RangeArgs {
  const page = ctx.machine.profile.levels[4] as LevelGeometry;
  // In Numbers while every value is exact (below 2^53): the BigInt path below makes seven BigInt
  // operations, each a runtime call or an allocation, and a small madvise is little more.
  const startN = ctx.exactNum(addr);
  const lenN = startN >= 0 ? ctx.exactNum(size) : -1;
  if (lenN >= 0) {
    const pageBytes = page.entryBytes;
    const lenRounded = Math.ceil(lenN / pageBytes) * pageBytes;
    if (startN % pageBytes === 0 && startN + lenRounded < 2 ** 53) {
      return { start: numberToU64(startN), end: numberToU64(startN + lenRounded), empty: lenRounded === 0 };
    }
  }
  const start = ctx.num(addr);
  const lenIn = ctx.num(size);
  const offset = page.offsetMask;
  if ((start & offset) !== 0n) return { error: errno('EINVAL', `${rangeLabel(what, advice)}: the start ${hex16(start)} is not page-aligned`) };
  // PAGE_ALIGN(len) as `x - (x & offset)`: `& ~offset` on BigInts works on a negative number,
  // and BigInt shifts are runtime calls (about 70 ns each) where `&` and `-` compile to machine
  // arithmetic (about 7 ns).
  const rounded = lenIn + offset;
  const len = rounded - (rounded & offset);
  const end = start + len;
  if (end >= U64) return { error: errno('EINVAL', `${rangeLabel(what, advice)}: the range wraps around the end of the address space`) };
  return { start, end, empty: len === 0n };
}

/** `madvise guard_install`: put together only for an error, not on every call. */
function rangeLabel(what: string, advice: string | undefined): string {
  return advice === undefined ? what : `${what} ${advice}`;
}

/** The task of a statement in the current process. */
export function taskOf(ctx: ExecContext): Task {
  const mm = ctx.space;
  if (!(mm instanceof Mm)) throw new Error('process statement outside a process');
  return { machine: ctx.machine, mm, memory: mm.memory, mappedWx: undefined };
}

/** vm.mmap_min_addr: Debian's CONFIG_DEFAULT_MMAP_MIN_ADDR (65536). */
export const MMAP_MIN_ADDR = 65536n;

export function sizeText(bytes: bigint, pageSize: bigint): string {
  const pages = bytes / pageSize;
  return `${pages} page${pages === 1n ? '' : 's'}`;
}
