// Shared-memory accesses of explorer steps, and when two of them conflict.
//
// The reduction (search.ts) and the trimming of counterexamples both ask one question: can two
// steps of different threads be swapped without changing anything either of them sees? They can
// unless their accesses conflict. Entry slots are named by (table depth, virtual address), not by
// table identity, so that a stale pointer into a freed table and the live table that replaced it
// still alias: the answer errs towards "conflict", which keeps the reduction sound.
//
// Addresses are in 4 KiB units (VA >> 12) held in plain numbers: 2^52 units cover the 64-bit
// space exactly, and the hot paths stay free of bigint arithmetic.

/** A read of entry slots. */
export const READ = 0;
/** A read of an entry slot that held none (a walk's load: see CLEAR). */
export const READ_NONE = 1;
/** A write of entry slots. */
export const WRITE = 2;
/** The freeing of table pages (every slot in them). */
export const FREE = 3;
/**
 * A clear of those of the slots whose entries are not none, and of no other: what a freeing
 * helper may still do (it clears the entry it was given, and the PMD entries it finds present).
 * Only in what a thread may still do, never in a step taken.
 */
export const CLEAR = 4;
/** An operation on a lock (lock, unlock, trylock): all of them conflict with each other. */
export const LOCK = 5;
/** A test of a static key. */
export const KEY_READ = 6;
/** static_branch_enable / static_branch_disable. */
export const KEY_WRITE = 7;
/**
 * A change to machine state that is not an entry: the physical allocator, the ledger, vmalloc
 * areas, names. Kernel statements and table frees make it; any two of them conflict.
 */
export const MACHINE = 8;

export type AccessKind = typeof READ | typeof READ_NONE | typeof WRITE | typeof FREE | typeof CLEAR | typeof LOCK | typeof KEY_READ | typeof KEY_WRITE | typeof MACHINE;

/** Depth mask with every level set. */
export const ALL_DEPTHS = 0b11111;

/** The unit of `Access.lo` / `Access.hi`: 4 KiB. */
export const UNIT_SHIFT = 12n;
/** One past the last unit of the 64-bit address space. */
export const TOP_UNITS = 2 ** 52;

/**
 * One access. Slot kinds (READ, WRITE, FREE) cover the slots of the tables at the depths in
 * `depths` (a bit per real table depth) whose entries overlap [lo, hi) (4 KiB units). Lock and
 * key kinds name their object by index in `n`.
 */
export interface Access {
  k: AccessKind;
  depths: number;
  lo: number;
  hi: number;
  n: number;
}

export type SlotKind = typeof READ | typeof READ_NONE | typeof WRITE | typeof FREE | typeof CLEAR;

export function slotAccess(k: SlotKind, depths: number, lo: number, hi: number): Access {
  return { k, depths, lo, hi, n: -1 };
}

export function objectAccess(k: typeof LOCK | typeof KEY_READ | typeof KEY_WRITE | typeof MACHINE, n: number): Access {
  return { k, depths: 0, lo: 0, hi: 0, n };
}

/** [lo, hi) of a byte range in 4 KiB units, rounded outwards. */
export function units(lo: bigint, hi: bigint): [number, number] {
  const a = Number(lo >> UNIT_SHIFT);
  const b = Number((hi + (1n << UNIT_SHIFT) - 1n) >> UNIT_SHIFT);
  return [a, Math.min(Math.max(b, a + 1), TOP_UNITS)];
}

/** Every slot of every depth: what a statement whose reach is not known may touch. */
export function everywhere(k: typeof READ | typeof WRITE | typeof FREE): Access {
  return slotAccess(k, ALL_DEPTHS, 0, TOP_UNITS);
}

/** Whether an access only reads entry slots. */
export function isRead(a: Access): boolean {
  return a.k <= READ_NONE;
}

/** Whether two accesses made by different threads conflict (do not commute). */
export function conflicts(a: Access, b: Access): boolean {
  if (a.k >= LOCK || b.k >= LOCK) {
    if (a.k !== b.k) {
      // A key test and a key change of the same key; everything else of different kinds commutes.
      return a.k >= KEY_READ && a.k <= KEY_WRITE && b.k >= KEY_READ && b.k <= KEY_WRITE && a.n === b.n;
    }
    if (a.k === KEY_READ) return false;
    return a.n === b.n;
  }
  if (a.k <= READ_NONE && b.k <= READ_NONE) return false;
  // An entry that is none stays none until a write that conflicts anyway: a clear of the
  // entries that are not none leaves it alone.
  if ((a.k === READ_NONE && b.k === CLEAR) || (a.k === CLEAR && b.k === READ_NONE)) return false;
  return (a.depths & b.depths) !== 0 && a.lo < b.hi && b.lo < a.hi;
}

export function anyConflict(as: readonly Access[], bs: readonly Access[]): boolean {
  for (const a of as) for (const b of bs) if (conflicts(a, b)) return true;
  return false;
}

/** `anyConflict`, except that a read and a free of the same slots do not count. */
export function anyConflictButFree(as: readonly Access[], bs: readonly Access[]): boolean {
  for (const a of as) for (const b of bs) if (conflicts(a, b) && !((a.k <= READ_NONE && b.k === FREE) || (a.k === FREE && b.k <= READ_NONE))) return true;
  return false;
}
