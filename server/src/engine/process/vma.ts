// VMAs: the mm's sorted list of vm_area_structs with the kernel's split and merge rules
// (mm/vma.c: vma_merge_new_range, vma_merge_existing_range, vma_modify, __split_vma) and the
// top-down search for a free range (mm/mmap.c: unmapped_area_topdown).
//
// A VMA carries what merging compares: vm_flags, vm_file, vm_pgoff and the anon_vma. The maple
// tree is a sorted array here; every lookup is a binary search.

import type { Span } from '../program';
import type { MappedFile } from './memory';

// vm_flags bits under the kernel's names (include/linux/mm.h). The values are the model's own,
// kept below bit 31 so that plain bitwise operators work on them.
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_LOCKED = 0x10;
export const VM_LOCKONFAULT = 0x20;
/** VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP: no statement creates such a mapping. */
export const VM_SPECIAL = 0x40;
export const VM_DONTCOPY = 0x80;
export const VM_WIPEONFORK = 0x100;
export const VM_ACCOUNT = 0x200;
export const VM_HUGEPAGE = 0x400;
export const VM_NOHUGEPAGE = 0x800;
/** VM_MAYBE_GUARD (7.x): the VMA may have had guard markers installed; never cleared. */
export const VM_MAYBE_GUARD = 0x1000;
export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
/**
 * VM_STICKY: flags a merge keeps when any merged VMA has them, and ignores when deciding
 * whether VMAs may merge (VM_IGNORE_MERGE). VM_SOFTDIRTY is not modelled.
 */
export const VM_STICKY = VM_MAYBE_GUARD;

export interface Vma {
  start: bigint;
  /** Exclusive. */
  end: bigint;
  /** vm_flags; a number, since the model's highest bit is below 2^53. */
  flags: number;
  /** vm_file: a regular file or the shmem object of an anonymous shared mapping. */
  file: MappedFile | undefined;
  /** vm_pgoff, in pages. */
  pgoff: bigint;
  /** The anon_vma (0 = none yet: nothing anonymous was ever faulted in). */
  anonVma: number;
  /**
   * The anon_vma_chain has more than one entry (a VMA forked from a parent that had one), so
   * a VMA without anon_vma may not merge with it (is_mergeable_anon_vma's list_is_singular).
   */
  anonChained: boolean;
  /** The protection word of the mmap that made it, for the wx quick fix. */
  protSpan?: Span;
}

/** vma_is_anonymous(): no vm_ops, i.e. no file behind it. */
export function isAnonymous(vma: Vma): boolean {
  return vma.file === undefined;
}

export function pages(bytes: bigint, pageShift: bigint): bigint {
  return bytes >> pageShift;
}

/** What a new or modified range would become: the fields merging compares. */
export interface VmaProposal {
  start: bigint;
  end: bigint;
  flags: number;
  file: MappedFile | undefined;
  pgoff: bigint;
  anonVma: number;
}

export class VmaTree {
  readonly list: Vma[] = [];

  constructor(private readonly pageShift: bigint) {}

  get count(): number {
    return this.list.length;
  }

  /** Index of the first VMA with end > addr (find_vma), or list.length. */
  firstEndingAfter(addr: bigint): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.list[mid] as Vma).end > addr) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** The VMA containing addr (vma_lookup). */
  lookup(addr: bigint): Vma | undefined {
    const vma = this.list[this.firstEndingAfter(addr)];
    return vma && vma.start <= addr ? vma : undefined;
  }

  indexOf(vma: Vma): number {
    const i = this.firstEndingAfter(vma.start);
    return this.list[i] === vma ? i : -1;
  }

  /** VMAs overlapping [start, end), in order. */
  overlapping(start: bigint, end: bigint): Vma[] {
    const out: Vma[] = [];
    for (let i = this.firstEndingAfter(start); i < this.list.length; i++) {
      const vma = this.list[i] as Vma;
      if (vma.start >= end) break;
      out.push(vma);
    }
    return out;
  }

  insert(vma: Vma): void {
    this.list.splice(this.firstEndingAfter(vma.start), 0, vma);
  }

  remove(vma: Vma): void {
    const i = this.indexOf(vma);
    if (i >= 0) this.list.splice(i, 1);
  }

  prevOf(vma: Vma): Vma | undefined {
    const i = this.indexOf(vma);
    return i > 0 ? this.list[i - 1] : undefined;
  }

  nextOf(vma: Vma): Vma | undefined {
    const i = this.indexOf(vma);
    return i >= 0 ? this.list[i + 1] : undefined;
  }

  /**
   * __split_vma: cuts `vma` at `addr`; the new VMA takes the part below (newBelow) or above.
   * Both halves share the anon_vma (anon_vma_clone). Returns the new VMA.
   */
  split(vma: Vma, addr: bigint, newBelow: boolean): Vma {
    const offset = pages(addr - vma.start, this.pageShift);
    const created: Vma = { ...vma };
    if (newBelow) {
      created.end = addr;
      vma.start = addr;
      vma.pgoff += offset;
    } else {
      created.start = addr;
      created.pgoff = vma.pgoff + offset;
      vma.end = addr;
    }
    this.insert(created);
    return created;
  }

  // -------------------------------------------------------------------------------------------
  // Merging (mm/vma.c)

  /** is_mergeable_vma(): same flags (but the ones merge ignores), same file. */
  private mergeableVma(vma: Vma, p: VmaProposal): boolean {
    return ((vma.flags ^ p.flags) & ~VM_STICKY) === 0 && vma.file === p.file;
  }

  /** is_mergeable_anon_vma(). `owner` is the VMA whose anon_vma_chain must be singular. */
  private mergeableAnon(a1: number, a2: number, owner: Vma | undefined): boolean {
    if ((a1 === 0 || a2 === 0) && (!owner || !owner.anonChained)) return true;
    return a1 === a2;
  }

  /** can_vma_merge_before(): `p` may go in front of `next`. */
  private canMergeBefore(p: VmaProposal, next: Vma): boolean {
    return this.mergeableVma(next, p) && this.mergeableAnon(p.anonVma, next.anonVma, next) && next.pgoff === p.pgoff + pages(p.end - p.start, this.pageShift);
  }

  /** can_vma_merge_after(): `p` may follow `prev`. */
  private canMergeAfter(prev: Vma, p: VmaProposal): boolean {
    return this.mergeableVma(prev, p) && this.mergeableAnon(p.anonVma, prev.anonVma, prev) && prev.pgoff + pages(prev.end - prev.start, this.pageShift) === p.pgoff;
  }

  private anonCompatible(a: Vma, b: Vma): boolean {
    return this.mergeableAnon(a.anonVma, b.anonVma, undefined);
  }

  /**
   * vma_merge_new_range() then, when nothing merges, a new VMA: the mmap path and copy_vma.
   * Returns the VMA that now covers [p.start, p.end).
   */
  addRange(p: VmaProposal, protSpan?: Span): Vma {
    const i = this.firstEndingAfter(p.start);
    const prev = i > 0 ? this.list[i - 1] : undefined;
    const next = this.list[i];
    const special = (p.flags & VM_SPECIAL) !== 0;
    const left = !special && prev !== undefined && prev.end === p.start && this.canMergeAfter(prev, p);
    let right = !special && next !== undefined && next.start === p.end && this.canMergeBefore(p, next);
    if (left && right && prev && next && !this.anonCompatible(prev, next)) right = false;
    if (left && prev) {
      prev.flags |= p.flags & VM_STICKY;
      if (prev.anonVma === 0) prev.anonVma = p.anonVma;
      if (right && next) {
        prev.end = next.end;
        if (prev.anonVma === 0) prev.anonVma = next.anonVma;
        prev.flags |= next.flags & VM_STICKY;
        this.list.splice(i, 1);
      } else {
        prev.end = p.end;
      }
      return prev;
    }
    if (right && next) {
      next.start = p.start;
      next.pgoff = p.pgoff;
      if (next.anonVma === 0) next.anonVma = p.anonVma;
      next.flags |= p.flags & VM_STICKY;
      return next;
    }
    const vma: Vma = { start: p.start, end: p.end, flags: p.flags, file: p.file, pgoff: p.pgoff, anonVma: p.anonVma, anonChained: false };
    if (protSpan) vma.protSpan = protSpan;
    this.list.splice(i, 0, vma);
    return vma;
  }

  /**
   * vma_modify(): gives [start, end) of `vma` the flags `newFlags`, merging with the VMA
   * before or after when the kernel would (vma_merge_existing_range), else splitting off the
   * parts outside the range. Returns the VMA that covers the range afterwards, and the
   * addresses where new VMA boundaries appeared (for splitting huge PMDs that straddle them).
   */
  modify(vma: Vma, start: bigint, end: bigint, newFlags: number, cuts: bigint[]): Vma {
    const leftSide = start === vma.start;
    const rightSide = end === vma.end;
    const i = this.indexOf(vma);
    const prev = i > 0 ? this.list[i - 1] : undefined;
    const next = this.list[i + 1];
    const flags = newFlags;
    const proposal: VmaProposal = {
      start,
      end,
      flags,
      file: vma.file,
      pgoff: vma.pgoff + pages(start - vma.start, this.pageShift),
      anonVma: vma.anonVma,
    };
    if ((flags & VM_SPECIAL) === 0 && (leftSide || rightSide)) {
      const mergeLeft = leftSide && prev !== undefined && prev.end === start && this.canMergeAfter(prev, proposal);
      let mergeRight = rightSide && next !== undefined && next.start === end && this.canMergeBefore(proposal, next);
      if (mergeLeft && mergeRight && prev && next && !this.anonCompatible(prev, next)) mergeRight = false;
      const sticky = (flags | (mergeLeft && prev ? prev.flags : 0) | (mergeRight && next ? next.flags : 0)) & VM_STICKY;
      if (mergeLeft && prev) {
        if (prev.anonVma === 0) prev.anonVma = mergeRight && next && next.anonVma !== 0 ? next.anonVma : vma.anonVma;
        prev.flags = flags | sticky;
        if (mergeRight && next) {
          prev.end = next.end;
          this.list.splice(i, 2);
        } else if (rightSide) {
          prev.end = end;
          this.list.splice(i, 1);
        } else {
          prev.end = end;
          vma.pgoff += pages(end - vma.start, this.pageShift);
          vma.start = end;
          cuts.push(end);
        }
        return prev;
      }
      if (mergeRight && next) {
        if (next.anonVma === 0) next.anonVma = vma.anonVma;
        next.flags = flags | sticky;
        next.pgoff = proposal.pgoff;
        next.start = start;
        if (leftSide) this.list.splice(i, 1);
        else {
          vma.end = start;
          cuts.push(start);
        }
        return next;
      }
    }
    if (vma.start < start) {
      this.split(vma, start, true);
      cuts.push(start);
    }
    if (vma.end > end) {
      this.split(vma, end, false);
      cuts.push(end);
    }
    vma.flags = flags;
    return vma;
  }

  /**
   * unmapped_area_topdown(): the highest range of `length` bytes in [low, high) that no VMA
   * overlaps, or undefined. No VMA of the model grows down (there is no stack VMA), so
   * vm_start_gap() is vm_start and the stack guard gap never applies.
   */
  topdownGap(length: bigint, low: bigint, high: bigint): bigint | undefined {
    let i = this.firstEndingAfter(high);
    let gapEnd = high;
    const straddling = this.list[i];
    if (straddling && straddling.start < gapEnd) gapEnd = straddling.start;
    for (i = i - 1; ; i--) {
      const vma = i >= 0 ? this.list[i] : undefined;
      const gapStart = vma && vma.end > low ? vma.end : low;
      if (gapEnd > gapStart && gapEnd - gapStart >= length) return gapEnd - length;
      if (!vma || vma.start <= low) return undefined;
      gapEnd = vma.start;
    }
  }
}
