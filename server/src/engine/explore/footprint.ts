// Shared-memory accesses of explorer steps, and when two of them conflict.
//
// The reduction (search.ts) and the trimming of counterexamples both ask one question: can two
// steps of different threads be swapped without changing anything either of them sees? They can
// unless their accesses conflict. Entry slots are named by (table depth, virtual address), not by
// table identity, so that a stale pointer into a freed table and the live table that replaced it
// still alias: the answer errs towards "conflict", which keeps the reduction sound.

/** A read of entry slots. */
export const READ = 0;
/** A write of entry slots. */
export const WRITE = 1;
/** The freeing of table pages (every slot in them). */
export const FREE = 2;
/** An operation on a lock (lock, unlock, trylock): all of them conflict with each other. */
export const LOCK = 3;
/** A test of a static key. */
export const KEY_READ = 4;
/** static_branch_enable / static_branch_disable. */
export const KEY_WRITE = 5;

export type AccessKind = typeof READ | typeof WRITE | typeof FREE | typeof LOCK | typeof KEY_READ | typeof KEY_WRITE;

/** Depth mask with every level set. */
export const ALL_DEPTHS = 0b11111;

/**
 * One access. Slot kinds (READ, WRITE, FREE) cover the slots of the tables at the depths in
 * `depths` (a bit per real table depth) whose entries start in [lo, hi). Lock and key kinds name
 * their object by index in `n`.
 */
export interface Access {
  k: AccessKind;
  depths: number;
  lo: bigint;
  hi: bigint;
  n: number;
}

export function slotAccess(k: typeof READ | typeof WRITE | typeof FREE, depths: number, lo: bigint, hi: bigint): Access {
  return { k, depths, lo, hi, n: -1 };
}

export function objectAccess(k: typeof LOCK | typeof KEY_READ | typeof KEY_WRITE, n: number): Access {
  return { k, depths: 0, lo: 0n, hi: 0n, n };
}

/** Whether two accesses made by different threads conflict (do not commute). */
export function conflicts(a: Access, b: Access): boolean {
  if (a.k === LOCK || b.k === LOCK) return a.k === b.k && a.n === b.n;
  if (a.k >= KEY_READ || b.k >= KEY_READ) {
    return a.k >= KEY_READ && b.k >= KEY_READ && a.n === b.n && (a.k === KEY_WRITE || b.k === KEY_WRITE);
  }
  if (a.k === READ && b.k === READ) return false;
  return (a.depths & b.depths) !== 0 && a.lo < b.hi && b.lo < a.hi;
}

export function anyConflict(as: readonly Access[], bs: readonly Access[]): boolean {
  for (const a of as) for (const b of bs) if (conflicts(a, b)) return true;
  return false;
}
