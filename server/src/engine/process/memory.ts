// The memory user mappings point at: anonymous pages, the shared zero pages, and the page cache
// of the files that `mmap … file` and `mmap … shared` create, with a reference count and the
// value last written per page.
//
// Pages come from PMD-sized blocks of a user-memory range and are handed out last freed first,
// the way a per-CPU page list feeds faults, and otherwise in order from the newest block; a
// transparent huge page takes a whole block.
// Metadata lives in typed arrays per block, so the bulk loops of munmap and exit touch no object
// per page.

import { RunStop, type Machine } from '../model/machine';

/** PageAnon: the page belongs to an anon_vma (anonymous or a private copy of a file page). */
export const PG_ANON = 1;
/** PageAnonExclusive: only this mm maps it, so a write may reuse it instead of copying. */
export const PG_EXCLUSIVE = 2;

/** Bytes of memory user pages may take in one run: 256 GiB. */
const USER_RAM = 256 * 2 ** 30;

interface PageBlock {
  base: number;
  /** Mappings (PTEs, or a PMD per subpage) plus one for the page cache. */
  refs: Int32Array;
  flags: Uint8Array;
}

/**
 * A file a mapping is backed by: a regular file (`mmap … file`) or a shmem object (an
 * anonymous `shared` mapping, as shmem_zero_setup makes one). Its page cache maps a page
 * offset to the physical page caching it; the values of the file live in those pages.
 */
export interface MappedFile {
  id: number;
  /** shmem: writes are never tracked for writeback, so shared mappings map pages writable. */
  shmem: boolean;
  pages: Map<number, number>;
}

export class UserMemory {
  readonly pageSize: number;
  /** Pages in a PMD-sized block (HPAGE_PMD_NR). */
  readonly hugePages: number;
  private readonly blockBytes: number;
  private readonly blockOrder: number;
  private readonly blocks = new Map<number, PageBlock>();
  /** The user-memory range's first address, set with its first block. */
  private userBase = 0;
  /**
   * Freed pages, last freed on top, as page numbers from userBase in an array that doubles and
   * never shrinks. A munmap of a populated GiB frees 262,144 pages: a JS array grown to that by
   * pushes was copied into fresh memory again and again, 2,189 first-touch page faults per such
   * munmap against 256 now.
   */
  private freed = new Int32Array(256);
  private freedCount = 0;
  /**
   * The newest block and its next page never handed out. Its pages go out in order once no freed
   * page is left, as an order-0 allocation that splits a fresh block hands out consecutive pages;
   * a populate no longer pushes and pops each page of each block.
   */
  private fresh: PageBlock | undefined;
  private freshNext = 0;
  /** Whole blocks freed by THPs, reused before the range grows. */
  private readonly spare: number[] = [];
  private nextBlock: number | undefined;
  private limit: number | undefined;
  private lastBlock: PageBlock | undefined;
  /** Values written to pages; pages not in the map read as 0. */
  readonly values = new Map<number, bigint>();
  private zeroPa: number | undefined;
  private hugeZeroPa: number | undefined;
  private nextFile = 1;
  /** anon_vma ids: each one stands for a struct anon_vma. */
  private nextAnonVma = 1;

  constructor(private readonly machine: Machine) {
    this.pageSize = Number(machine.profile.pageSize);
    this.hugePages = machine.profile.levels[4]?.ptrs ?? 512;
    this.blockBytes = this.pageSize * this.hugePages;
    this.blockOrder = Math.round(Math.log2(this.hugePages));
  }

  private block(pa: number): PageBlock | undefined {
    const last = this.lastBlock;
    if (last && pa >= last.base && pa < last.base + this.blockBytes) return last;
    const found = this.blocks.get(pa - (pa % this.blockBytes));
    if (found) this.lastBlock = found;
    return found;
  }

  /**
   * A fresh PMD-sized block from the user-memory range, which starts at the first GiB boundary
   * above the page allocator's RAM. Keeping user pages out of the page allocator's bookkeeping
   * makes a population of gigabytes cost one bump per 2 MiB; page-table pages still come from
   * the allocator's scattered frames.
   */
  private newBlock(): PageBlock {
    let base = this.spare.pop();
    if (base === undefined) {
      if (this.nextBlock === undefined) {
        const gib = 2 ** 30;
        this.nextBlock = Math.ceil(this.machine.phys.ramRange.end / gib) * gib;
        this.userBase = this.nextBlock;
        this.limit = this.nextBlock + USER_RAM;
      }
      if (this.nextBlock + this.blockBytes > (this.limit ?? 0)) throw outOfMemory();
      base = this.nextBlock;
      this.nextBlock += this.blockBytes;
    }
    const block: PageBlock = { base, refs: new Int32Array(this.hugePages), flags: new Uint8Array(this.hugePages) };
    this.blocks.set(base, block);
    return block;
  }

  /** A fresh page with one reference (alloc_page for a fault). */
  allocPage(flags: number): number {
    let pa: number;
    if (this.freedCount > 0) {
      pa = this.userBase + (this.freed[--this.freedCount] as number) * this.pageSize;
    } else if (this.fresh !== undefined && this.freshNext < this.hugePages) {
      pa = this.fresh.base + this.freshNext++ * this.pageSize;
    } else {
      this.fresh = this.newBlock();
      this.freshNext = 1;
      pa = this.fresh.base;
    }
    const block = this.block(pa) as PageBlock;
    const i = (pa - block.base) / this.pageSize;
    block.refs[i] = 1;
    block.flags[i] = flags;
    return pa;
  }

  /** A PMD-sized folio for a THP: every subpage gets one reference. */
  allocHuge(flags: number): number {
    const block = this.newBlock();
    block.refs.fill(1);
    block.flags.fill(flags);
    return block.base;
  }

  get(pa: number, n = 1): void {
    const block = this.block(pa);
    if (!block) return;
    const first = (pa - block.base) / this.pageSize;
    for (let i = first; i < first + n; i++) block.refs[i] = (block.refs[i] ?? 0) + 1;
  }

  /**
   * Drops a reference to each of `n` consecutive pages, exactly as `n` single puts in address
   * order would: a page whose count reaches 0 is freed onto the freed list. A zap hands over a
   * run of pages in one call: the page addresses of a populated range are past 2^31, and each
   * one passed on its own was boxed in a fresh HeapNumber (4 MiB of garbage to zap a GiB).
   */
  put(pa: number, n = 1): void {
    while (n > 0) {
      const block = this.block(pa);
      const first = block ? (pa - block.base) / this.pageSize : 0;
      const count = Math.min(n, this.hugePages - first);
      if (block) this.putIn(block, first, count, false);
      pa += count * this.pageSize;
      n -= count;
    }
  }

  /** folio_put of a PMD-sized folio (a THP): when every subpage goes, its block is reused whole. */
  putFolio(pa: number): void {
    const block = this.block(pa);
    if (block) this.putIn(block, (pa - block.base) / this.pageSize, this.hugePages, true);
  }

  private putIn(block: PageBlock, first: number, n: number, folio: boolean): void {
    const values = this.values.size > 0 ? this.values : undefined;
    let freed = 0;
    for (let i = first; i < first + n; i++) {
      const refs = (block.refs[i] ?? 0) - 1;
      block.refs[i] = refs;
      if (refs === 0) {
        block.flags[i] = 0;
        values?.delete(block.base + i * this.pageSize);
        freed++;
      }
    }
    if (freed === 0) return;
    if (folio && freed === this.hugePages) {
      // A whole THP went at once: its block is reused whole.
      this.blocks.delete(block.base);
      if (this.lastBlock === block) this.lastBlock = undefined;
      this.spare.push(block.base);
      return;
    }
    const base = (block.base - this.userBase) / this.pageSize;
    for (let i = first; i < first + n; i++) {
      if (block.refs[i] !== 0) continue;
      if (this.freedCount === this.freed.length) {
        const grown = new Int32Array(2 * this.freed.length);
        grown.set(this.freed);
        this.freed = grown;
      }
      this.freed[this.freedCount++] = base + i;
    }
  }

  refs(pa: number): number {
    const block = this.block(pa);
    return block ? (block.refs[(pa - block.base) / this.pageSize] ?? 0) : 0;
  }

  flags(pa: number): number {
    const block = this.block(pa);
    return block ? (block.flags[(pa - block.base) / this.pageSize] ?? 0) : 0;
  }

  setFlags(pa: number, flags: number, n = 1): void {
    const block = this.block(pa);
    if (!block) return;
    const first = (pa - block.base) / this.pageSize;
    block.flags.fill(flags, first, first + n);
  }

  value(pa: number): bigint {
    return this.values.get(pa) ?? 0n;
  }

  setValue(pa: number, value: bigint): void {
    if (value === 0n) this.values.delete(pa);
    else this.values.set(pa, value);
  }

  /** The shared zero page (ZERO_PAGE): never freed, never counted. */
  zeroPage(): number {
    if (this.zeroPa === undefined) this.zeroPa = this.machine.phys.allocPage();
    if (this.zeroPa === undefined) throw outOfMemory();
    return this.zeroPa;
  }

  /** The huge zero folio a read fault maps with a PMD leaf (mm_get_huge_zero_folio). */
  hugeZeroPage(): number {
    if (this.hugeZeroPa === undefined) this.hugeZeroPa = this.machine.phys.allocBlock(this.blockOrder);
    if (this.hugeZeroPa === undefined) throw outOfMemory();
    return this.hugeZeroPa;
  }

  /** The zero page's frame number (pa / pageSize), or -1 before any fault mapped it. */
  get zeroPfn(): number {
    return this.zeroPa === undefined ? -1 : this.zeroPa / this.pageSize;
  }

  isZeroPage(pa: number): boolean {
    return pa === this.zeroPa;
  }

  isHugeZero(pa: number): boolean {
    return pa === this.hugeZeroPa;
  }

  newFile(shmem: boolean): MappedFile {
    return { id: this.nextFile++, shmem, pages: new Map() };
  }

  /** The page caching `pgoff` of a file, read in (a fresh zero page of the file) on first use. */
  pageCache(file: MappedFile, pgoff: number): number {
    let pa = file.pages.get(pgoff);
    if (pa === undefined) {
      pa = this.allocPage(0);
      file.pages.set(pgoff, pa);
    }
    return pa;
  }

  newAnonVma(): number {
    return this.nextAnonVma++;
  }
}

/** RAM is exhausted: the run stops with resource-limit, as it does for table pages. */
function outOfMemory(): RunStop {
  return new RunStop('budget', 'physical memory for user pages is exhausted');
}

const memories = new WeakMap<Machine, UserMemory>();

/** The user memory of a run, created on first use. */
export function userMemory(machine: Machine): UserMemory {
  let memory = memories.get(machine);
  if (!memory) {
    memory = new UserMemory(machine);
    memories.set(machine, memory);
  }
  return memory;
}
