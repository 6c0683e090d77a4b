// Page-table plumbing of user mms: the allocation path of a fault (p4d_alloc … pte_alloc),
// user leaf entries built from a VMA's protection (vm_page_prot, mk_pte, maybe_mkwrite), and
// the huge-PMD helpers (deposit, withdraw, __split_huge_pmd).
//
// Leaf templates are computed once per protection and reused, so bulk loops only OR in the
// address bits of each page.

import { indexAt, type Depth, type LevelGeometry } from '../arch/profile';
import { findBit, type DescriptorCodec } from '../arch/codec';
import type { Machine } from '../model/machine';
import type { Walk, WalkOptions } from '../walk';
import type { TablePage } from '../model/table';
import { entryVa } from '../model/entry-va';
import { split64 } from '../u64';
import type { Mm } from './mm';
import { userMemory } from './memory';
import { VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, type Vma } from './vma';

/** The depth whose entries are PMDs (a PMD leaf is a THP). */
export const PMD: Depth = 3;
export const PTE: Depth = 4;

/** The bits the kernel's pte_young/pte_dirty/pte_write read, by name per family. */
const BIT_NAMES: Record<DescriptorCodec['family'], { young: string; dirty: string; hwWrite?: string; hwRdonly?: string }> = {
  x86: { young: '_PAGE_ACCESSED', dirty: '_PAGE_DIRTY' },
  // arm64 pte_dirty(): PTE_DIRTY (software) or PTE_WRITE with PTE_RDONLY clear (hardware DBM).
  arm64: { young: 'PTE_AF', dirty: 'PTE_DIRTY', hwWrite: 'PTE_WRITE', hwRdonly: 'PTE_RDONLY' },
  riscv: { young: '_PAGE_ACCESSED', dirty: '_PAGE_DIRTY' },
};

function maskOf(codec: DescriptorCodec, name: string | undefined): [number, number] {
  const b = name === undefined ? undefined : findBit(codec, name);
  if (!b) return [0, 0];
  return b.bit < 32 ? [(1 << b.bit) >>> 0, 0] : [0, (1 << (b.bit - 32)) >>> 0];
}

/** Per-run constants of user leaf entries: templates by protection and the masks loops need. */
export class LeafBits {
  private readonly templates = new Uint32Array(2 * 32);
  private readonly known = new Uint8Array(32);
  /** The address field of a leaf, as (lo, hi) masks. */
  readonly addrLo: number;
  readonly addrHi: number;
  /** Physical address = address field × paScale (1, or 4 where the PFN sits at bit 10). */
  readonly paScale: number;
  /** The accessed ("young") bit. */
  readonly youngLo: number;
  readonly youngHi: number;
  /** The dirty bit pte_modify keeps (arm64: the software PTE_DIRTY). */
  readonly dirtyLo: number;
  readonly dirtyHi: number;
  private readonly hwWriteLo: number;
  private readonly hwWriteHi: number;
  private readonly hwRdonlyLo: number;
  private readonly hwRdonlyHi: number;
  /** make_pte_marker(PTE_MARKER_GUARD) as (lo, hi). */
  readonly guardLo: number;
  readonly guardHi: number;
  private readonly scratch = new Uint32Array(2);

  constructor(private readonly codec: DescriptorCodec) {
    // The address field: the bits codec.address() reads, found one bit at a time so that no
    // value needs more than 53 bits of float precision.
    let addrLo = 0;
    let addrHi = 0;
    for (let bit = 0; bit < 64; bit++) {
      const lo = bit < 32 ? (1 << bit) >>> 0 : 0;
      const hi = bit < 32 ? 0 : (1 << (bit - 32)) >>> 0;
      if (codec.address(lo, hi) === 0) continue;
      addrLo = (addrLo | lo) >>> 0;
      addrHi = (addrHi | hi) >>> 0;
    }
    this.addrLo = addrLo;
    this.addrHi = addrHi;
    // Where a page's address lands in the field: riscv keeps the PFN from bit 10.
    codec.addressBits(4096, this.scratch);
    const pageField = (this.scratch[0] ?? 0) + (this.scratch[1] ?? 0) * 4294967296;
    this.paScale = 4096 / pageField;
    const names = BIT_NAMES[codec.family];
    [this.youngLo, this.youngHi] = maskOf(codec, names.young);
    [this.dirtyLo, this.dirtyHi] = maskOf(codec, names.dirty);
    [this.hwWriteLo, this.hwWriteHi] = maskOf(codec, names.hwWrite);
    [this.hwRdonlyLo, this.hwRdonlyHi] = maskOf(codec, names.hwRdonly);
    [this.guardLo, this.guardHi] = split64(codec.markerEntry('guard'));
  }

  /** The physical address a leaf maps (codec.address without its general bit extraction). */
  pa(lo: number, hi: number): number {
    return ((hi & this.addrHi) * 4294967296 + ((lo & this.addrLo) >>> 0)) * this.paScale;
  }

  /**
   * The frame number (pa / pageSize) of the page a leaf maps: a small integer for any frame below
   * 2^31, which a loop over many leaves compares and counts without boxing a physical address
   * past 2^31 per entry.
   */
  pfn(lo: number, hi: number, pageSize: number): number {
    return this.pa(lo, hi) / pageSize;
  }

  /** The low half of the address field for `pa`. */
  paLo(pa: number): number {
    return (pa / this.paScale) % 4294967296 >>> 0;
  }

  /** The high half of the address field for `pa`. */
  paHi(pa: number): number {
    return Math.floor(pa / this.paScale / 4294967296) >>> 0;
  }

  /** pte_dirty(). */
  isDirty(lo: number, hi: number): boolean {
    if ((lo & this.dirtyLo) !== 0 || (hi & this.dirtyHi) !== 0) return true;
    if (this.hwWriteLo === 0 && this.hwWriteHi === 0) return false;
    return ((lo & this.hwWriteLo) !== 0 || (hi & this.hwWriteHi) !== 0) && (lo & this.hwRdonlyLo) === 0 && (hi & this.hwRdonlyHi) === 0;
  }

  /** pte_young(). */
  isYoung(lo: number, hi: number): boolean {
    return (lo & this.youngLo) !== 0 || (hi & this.youngHi) !== 0;
  }

  /**
   * pte_modify(): the leaf `lo/hi` with new protection bits, keeping its address and its
   * dirty and young state unless `dirty` says otherwise (pte_mkdirty / pte_mkclean) or `old`
   * is set (pte_mkold). Writes the result to `out`.
   */
  modify(lo: number, hi: number, prot: number, block: boolean, out: Uint32Array, dirty?: boolean, old = false): void {
    dirty ??= this.isDirty(lo, hi);
    const key = this.template(prot, dirty, block);
    let nlo = (lo & this.addrLo) | this.lo(key);
    let nhi = (hi & this.addrHi) | this.hi(key);
    if (dirty) {
      nlo |= this.dirtyLo;
      nhi |= this.dirtyHi;
    }
    if (old || !this.isYoung(lo, hi)) {
      nlo &= ~this.youngLo;
      nhi &= ~this.youngHi;
    }
    out[0] = nlo >>> 0;
    out[1] = nhi >>> 0;
  }

  /**
   * The leaf template for user protection bits (VM_READ|VM_WRITE|VM_EXEC of the PTE, not of
   * the VMA), clean or dirty, page or block. Index 2k is lo, 2k+1 is hi.
   */
  template(prot: number, dirty: boolean, block: boolean): number {
    const key = (prot & 7) | (dirty ? 8 : 0) | (block ? 16 : 0);
    if (!this.known[key]) {
      this.codec.leafTemplate(
        { r: (prot & VM_READ) !== 0, w: (prot & VM_WRITE) !== 0, x: (prot & VM_EXEC) !== 0 },
        { kernel: false, block, cont: false, dirty },
        this.scratch,
      );
      this.templates[2 * key] = this.scratch[0] ?? 0;
      this.templates[2 * key + 1] = this.scratch[1] ?? 0;
      this.known[key] = 1;
    }
    return key;
  }

  lo(key: number): number {
    return this.templates[2 * key] ?? 0;
  }

  hi(key: number): number {
    return this.templates[2 * key + 1] ?? 0;
  }
}

const leafBitsByCodec = new WeakMap<DescriptorCodec, LeafBits>();
/** The codec asked about last and its constants: a run asks for one codec, many times a statement. */
let lastCodec: DescriptorCodec | undefined;
let lastBits: LeafBits | undefined;

export function leafBits(machine: Machine): LeafBits {
  const codec = machine.profile.codec;
  if (codec === lastCodec && lastBits !== undefined) return lastBits;
  let bits = leafBitsByCodec.get(codec);
  if (!bits) {
    bits = new LeafBits(codec);
    leafBitsByCodec.set(codec, bits);
  }
  lastCodec = codec;
  lastBits = bits;
  return bits;
}

/**
 * Whether the range a pmd_entry callback covers is its whole PMD (HPAGE_PMD_SIZE bytes,
 * aligned): it runs from the PMD's first PTE to its last. From the walker's PTE indices, so the
 * zap of every small madvise converts no BigInt.
 */
export function wholePmd<S>(walk: Walk<S>): boolean {
  return walk.firstPte === 0 && walk.lastPte === (walk.machine.profile.levels[PTE] as LevelGeometry).ptrs - 1;
}

/**
 * Whether shared writable mappings of this VMA start read-only so the first write can be
 * tracked (vma_wants_writenotify): regular files do, shmem does not.
 */
export function wantsWritenotify(vma: Vma): boolean {
  return (vma.flags & VM_SHARED) !== 0 && vma.file !== undefined && !vma.file.shmem;
}

/**
 * vm_page_prot as protection bits: a private mapping's PTEs start read-only (PAGE_COPY; a
 * write fault or a copy makes them writable), and so do shared file PTEs under writenotify.
 */
export function pageProt(vma: Vma): number {
  let prot = vma.flags & (VM_READ | VM_WRITE | VM_EXEC);
  if ((vma.flags & VM_SHARED) === 0 || wantsWritenotify(vma)) prot &= ~VM_WRITE;
  return prot;
}

const address = new Uint32Array(2);

/** Writes a user leaf mapping `pa` into table[index] (set_pte_at / set_pmd_at). */
export function setLeaf(machine: Machine, table: TablePage, index: number, pa: number, prot: number, dirty: boolean, block: boolean): void {
  const bits = leafBits(machine);
  const key = bits.template(prot, dirty, block);
  machine.profile.codec.addressBits(pa, address);
  machine.writeEntry(table, index, ((address[0] ?? 0) | bits.lo(key)) >>> 0, ((address[1] ?? 0) | bits.hi(key)) >>> 0);
}

export interface Slot {
  table: TablePage;
  index: number;
}

/**
 * The table holding the PMD entry of `va`: walks down from the PGD, allocating missing P4D,
 * PUD and PMD tables (p4d_alloc, pud_alloc, pmd_alloc; __pud_alloc and __pmd_alloc count them
 * in pgtables_bytes) when `alloc`, else returning undefined at the first hole.
 */
export function pmdSlot(machine: Machine, mm: Mm, va: bigint, alloc: boolean): Slot | undefined {
  const profile = machine.profile;
  let table = mm.root;
  for (;;) {
    const deepest = profile.entryDepth[table.depth] ?? table.depth;
    const index = indexAt(profile, table.depth, va);
    if (deepest >= PMD) return { table, index };
    let child = table.children?.[index];
    if (!child) {
      if (!alloc) return undefined;
      child = machine.allocTable(mm, (deepest + 1) as Depth);
      machine.linkTable(table, index, child, true);
    }
    table = child;
  }
}

/** The PTE table under a PMD entry, or undefined when the entry is none or a huge leaf. */
export function pteTable(slot: Slot): TablePage | undefined {
  return slot.table.children?.[slot.index];
}

/** pte_alloc: a PTE table under an empty PMD entry (pmd_install: mm_inc_nr_ptes). */
export function pteAlloc(machine: Machine, mm: Mm, slot: Slot): TablePage {
  const existing = slot.table.children?.[slot.index];
  if (existing) return existing;
  const table = machine.allocTable(mm, PTE);
  machine.linkTable(slot.table, slot.index, table, true);
  return table;
}

/** Whether the entry at a PMD slot is a leaf (a huge PMD: THP or huge zero page). */
export function isHugePmd(machine: Machine, slot: Slot): boolean {
  return isHugePmdEntry(machine, slot.table, slot.index);
}

/** isHugePmd for the entry `table[index]`, without a Slot (a zap asks once per PMD it visits). */
export function isHugePmdEntry(machine: Machine, table: TablePage, index: number): boolean {
  if (table.isNone(index)) return false;
  return machine.profile.codec.classify(PMD, table.lo(index), table.hi(index), false) === 'leaf';
}

/** pgtable_trans_huge_deposit: a PTE table kept for splitting this huge PMD later. */
export function deposit(machine: Machine, mm: Mm, pmdTable: TablePage, pte?: TablePage): void {
  // pte_alloc_one runs the ctor; mm_inc_nr_ptes counts the deposit in pgtables_bytes.
  const table = pte ?? machine.allocTable(mm, PTE);
  if (!pte) mm.pgtablesBytes += machine.profile.tableBytes(PTE);
  let list = mm.deposits.get(pmdTable);
  if (!list) {
    list = [];
    mm.deposits.set(pmdTable, list);
  }
  list.push(table);
}

/** pgtable_trans_huge_withdraw. */
export function withdraw(mm: Mm, pmdTable: TablePage): TablePage | undefined {
  const list = mm.deposits.get(pmdTable);
  const table = list?.pop();
  if (list && list.length === 0) mm.deposits.delete(pmdTable);
  return table;
}

/** Withdraws and frees the deposited table of a huge PMD being zapped (zap_deposited_table). */
export function zapDeposited(machine: Machine, mm: Mm, pmdTable: TablePage): void {
  const table = withdraw(mm, pmdTable);
  if (!table) return;
  machine.freeTable(table);
  mm.pgtablesBytes -= machine.profile.tableBytes(PTE);
}

/**
 * __split_huge_pmd: replaces the huge PMD at `slot` by its deposited PTE table, filled with one
 * PTE per subpage carrying the PMD's protection, dirtiness and address (the huge zero page
 * becomes PTEs of the small zero page). The deposit is already counted, so linking it does not
 * move pgtables_bytes.
 */
export function splitHugePmd(machine: Machine, mm: Mm, slot: Slot): TablePage {
  const { table, index } = slot;
  const codec = machine.profile.codec;
  const memory = userMemory(machine);
  const lo = table.lo(index);
  const hi = table.hi(index);
  const leaf = codec.leafProt(lo, hi);
  const base = codec.address(lo, hi);
  const prot = (leaf.read ? VM_READ : 0) | (leaf.logicalWrite ? VM_WRITE : 0) | (leaf.uexec ? VM_EXEC : 0);
  let pte = withdraw(mm, table);
  if (!pte) {
    // Every huge PMD of the model has its deposit; a missing one is allocated as pte_alloc would.
    pte = machine.allocTable(mm, PTE);
    mm.pgtablesBytes += machine.profile.tableBytes(PTE);
  }
  const bits = leafBits(machine);
  const key = bits.template(prot, leaf.dirty, false);
  const tlo = bits.lo(key);
  const thi = bits.hi(key);
  const zero = memory.isHugeZero(base);
  const pageSize = memory.pageSize;
  machine.touch(pte);
  for (let i = 0; i < pte.ptrs; i++) {
    codec.addressBits(zero ? memory.zeroPage() : base + i * pageSize, address);
    pte.set(i, ((address[0] ?? 0) | tlo) >>> 0, ((address[1] ?? 0) | thi) >>> 0);
  }
  machine.countWrites(pte, pte.ptrs, false);
  // pmdp_invalidate, then pmd_populate with the withdrawn table.
  machine.linkTable(table, index, pte, false);
  return pte;
}

/** Splits the huge PMD covering `va` if there is one (split_huge_pmd_address). */
export function splitHugePmdAt(machine: Machine, mm: Mm, va: bigint): void {
  const slot = pmdSlot(machine, mm, va, false);
  if (slot && isHugePmd(machine, slot)) splitHugePmd(machine, mm, slot);
}

/** The options of user walks over `mm`: split_huge_pmd before descending into a huge PMD. */
export function userWalk(machine: Machine, mm: Mm): WalkOptions {
  let options = mm.walkOptions;
  if (!options) {
    options = { mode: 'user', splitHuge: (_walk, table, index) => void splitHugePmd(machine, mm, { table, index }) };
    mm.walkOptions = options;
  }
  return options;
}

/** The first virtual address entry `index` of `table` maps. */
export function slotVa(machine: Machine, table: TablePage, index: number): bigint {
  return entryVa(machine.profile, table, index);
}
