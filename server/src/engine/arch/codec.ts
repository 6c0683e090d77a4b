// Descriptor codecs: the real bit layouts of page-table entries per architecture family
// (kernel-notes/descriptors.md). Entries are handled as two 32-bit halves in hot paths.
//
// A codec classifies an entry (none, table, leaf, non-present), builds table and leaf entries
// from a physical address and a protection, and names its bits for hovers and `rmw`.

import type { Depth } from './profile';
import { split64 } from '../u64';

/** The protection a statement asks for: `r`, `rw`, `rx`, `rwx` or `none`. */
export interface Prot {
  r: boolean;
  w: boolean;
  x: boolean;
}

export function parseProt(text: string): Prot | undefined {
  if (text === 'none') return { r: false, w: false, x: false };
  const m = /^(r?)(w?)(x?)$/.exec(text);
  if (!m || text.length === 0) return undefined;
  return { r: m[1] === 'r', w: m[2] === 'w', x: m[3] === 'x' };
}

export function protText(prot: Prot): string {
  const text = (prot.r ? 'r' : '') + (prot.w ? 'w' : '') + (prot.x ? 'x' : '');
  return text === '' ? 'none' : text;
}

/** A named descriptor bit (or field) as the kernel spells it. */
export interface BitName {
  name: string;
  /** Lowest bit of the field. */
  bit: number;
  /** Width in bits (1 for flags). */
  width: number;
  /** Short meaning for hovers. */
  meaning: string;
}

export type EntryClass = 'none' | 'table' | 'leaf' | 'nonpresent';

/** What a leaf means to the MMU and to Linux, decoded. */
export interface LeafProt {
  /** HW valid/present. */
  valid: boolean;
  /** Linux pte_present(): valid, or PROT_NONE-style present-but-invalid. */
  present: boolean;
  read: boolean;
  /** Writable by the CPU now (arm64: RDONLY clear; x86: RW; riscv: W). */
  write: boolean;
  /** Linux's logical write permission (arm64 PTE_WRITE/DBM; x86/riscv: same as write). */
  logicalWrite: boolean;
  /** Kernel (privileged) execute allowed. */
  kexec: boolean;
  /** User execute allowed. */
  uexec: boolean;
  user: boolean;
  cont: boolean;
  dirty: boolean;
  young: boolean;
}

export interface LeafOptions {
  /** A kernel (init_mm) mapping rather than a user one. */
  kernel: boolean;
  /** The entry holds a block (PMD/PUD leaf), not a last-level page. */
  block: boolean;
  /** Set the contiguous hint. */
  cont: boolean;
  /** User mappings: the page has been written (set dirty). */
  dirty?: boolean;
}

/** The PTE-marker kinds the kernel installs (include/linux/swapops.h). */
export type MarkerKind = 'guard';

export interface DescriptorCodec {
  family: 'x86' | 'arm64' | 'riscv';
  /** Classifies an entry held in a table at `depth` (the entry's deepest aliased level). */
  classify(depth: Depth, lo: number, hi: number, lastLevel: boolean): EntryClass;
  /** Physical address of the table or leaf an entry points to. */
  address(lo: number, hi: number): number;
  /** A table entry pointing at a table page at physical address `pa`. */
  tableEntry(pa: number, kernel: boolean, out: Uint32Array): void;
  /** A leaf template for `prot` with no address; OR in `addressBits(pa)` per entry. */
  leafTemplate(prot: Prot, options: LeafOptions, out: Uint32Array): void;
  /** The descriptor bits that encode physical address `pa`, written into `out`. */
  addressBits(pa: number, out: Uint32Array): void;
  /**
   * The same bits as one Number (below 2^53): linear in `pa` for page-aligned addresses, so a
   * run of leaves mapping consecutive pages adds `addressField(pageBytes)` per entry
   * (TablePage.setLeafRun).
   */
  addressField(pa: number): number;
  leafProt(lo: number, hi: number): LeafProt;
  /** Entry value of a PTE marker (a non-present swap-format entry). */
  markerEntry(kind: MarkerKind): bigint;
  isMarker(lo: number, hi: number, kind: MarkerKind): boolean;
  /** The contiguous-hint bit as (lo, hi) masks, zero when the family has none. */
  contMask: readonly [number, number];
  bits: readonly BitName[];
}

const POW32 = 4294967296;

/** Address field bits [lowBit, highBit] of a descriptor holding pa >> shiftDown << lowBit. */
function addressOf(lo: number, hi: number, fieldLo: number, fieldHi: number, paShift: number): number {
  // Extract bits [fieldLo, fieldHi] of the 64-bit value, then place them at paShift.
  const value = hi * POW32 + (lo >>> 0);
  const width = fieldHi - fieldLo + 1;
  const field = Math.floor(value / 2 ** fieldLo) % 2 ** width;
  return field * 2 ** paShift;
}

function bit(n: number): [number, number] {
  return n < 32 ? [(1 << n) >>> 0, 0] : [0, (1 << (n - 32)) >>> 0];
}

function has(lo: number, hi: number, n: number): boolean {
  return n < 32 ? (lo & (1 << n)) !== 0 : (hi & (1 << (n - 32))) !== 0;
}

/** Sets bits in a (lo, hi) pair; no pair per bit, since table entries are built thousands of times a run. */
function orBits(out: Uint32Array, ...bits: number[]): void {
  for (const n of bits) {
    if (n < 32) out[0] = ((out[0] ?? 0) | (1 << n)) >>> 0;
    else out[1] = ((out[1] ?? 0) | (1 << (n - 32))) >>> 0;
  }
}

// ---------------------------------------------------------------------------------------------
// arm64 (descriptors.md §1). Also used for ARM LPAE, whose long descriptors share these bits.

const A = {
  VALID: 0,
  TYPE: 1,
  ATTRINDX: 2,
  USER: 6,
  RDONLY: 7,
  SHARED: 8,
  AF: 10,
  NG: 11,
  GP: 50,
  WRITE: 51,
  CONT: 52,
  PXN: 53,
  UXN: 54,
  DIRTY: 55,
  SPECIAL: 56,
  TABLE_AF: 10,
  TABLE_PXN: 59,
  TABLE_UXN: 60,
} as const;

// Swap entries (arch/arm64/include/asm/pgtable.h since 6.9): __SWP_TYPE_SHIFT 6 (5 bits),
// __SWP_OFFSET_SHIFT 12; bit 11 (PTE_PRESENT_INVALID) stays clear. A PTE marker is
// swp_entry(SWP_PTE_MARKER = 31, PTE_MARKER_GUARD = BIT(2)).
const ARM64_GUARD = (31n << 6n) | (4n << 12n);

export const arm64Codec: DescriptorCodec = {
  family: 'arm64',
  classify(_depth, lo, hi, lastLevel) {
    if (lo === 0 && hi === 0) return 'none';
    const type = lo & 3;
    if (lastLevel) return type === 3 ? 'leaf' : presentInvalid(lo) ? 'leaf' : 'nonpresent';
    if (type === 3) return 'table';
    if (type === 1) return 'leaf';
    // pmd_leaf() = pmd_present() && !pmd_table(): an invalidated block is still a leaf.
    return presentInvalid(lo) ? 'leaf' : 'nonpresent';
  },
  address(lo, hi) {
    return addressOf(lo, hi, 12, 47, 12);
  },
  tableEntry(pa, kernel, out) {
    this.addressBits(pa, out);
    // __pmd_populate: PMD_TYPE_TABLE | PMD_TABLE_AF, plus TABLE_UXN for init_mm, TABLE_PXN for users.
    orBits(out, A.VALID, A.TYPE, A.TABLE_AF, kernel ? A.TABLE_UXN : A.TABLE_PXN);
  },
  leafTemplate(prot, options, out) {
    out[0] = 0;
    out[1] = 0;
    if (prot.r || prot.w || prot.x) orBits(out, A.VALID);
    else orBits(out, A.NG); // PAGE_NONE: present-invalid, PTE_PRESENT_INVALID aliases nG.
    if (!options.block) orBits(out, A.TYPE);
    // _PROT_DEFAULT: AF and SH; ATTRINDX(MT_NORMAL) is 0.
    orBits(out, A.AF, A.SHARED, A.SHARED + 1);
    if (options.kernel) {
      // PROT_NORMAL: PXN|UXN|WRITE; _PAGE_KERNEL* add PTE_DIRTY; RO sets RDONLY, clears WRITE.
      orBits(out, A.UXN, A.DIRTY);
      if (!prot.x) orBits(out, A.PXN);
      if (prot.w) orBits(out, A.WRITE);
      else orBits(out, A.RDONLY);
      if (!prot.r && !prot.w && !prot.x) orBits(out, A.RDONLY, A.PXN, A.UXN);
    } else {
      // _PAGE_SHARED etc.: USER|RDONLY|NG|PXN(|UXN)(|WRITE); dirty clears RDONLY on writable pages.
      orBits(out, A.NG, A.PXN);
      if (prot.r || prot.w) orBits(out, A.USER);
      if (!prot.x) orBits(out, A.UXN);
      if (prot.w) orBits(out, A.WRITE);
      if (prot.w && options.dirty) orBits(out, A.DIRTY);
      else orBits(out, A.RDONLY);
    }
    if (options.cont) orBits(out, A.CONT);
  },
  addressBits(pa, out) {
    out[0] = pa >>> 0; // ToUint32 is the value modulo 2^32, without a floating-point fmod
    out[1] = Math.floor(pa / POW32) >>> 0;
  },
  addressField(pa) {
    return pa;
  },
  leafProt(lo, hi) {
    const valid = has(lo, hi, A.VALID);
    const present = valid || presentInvalid(lo);
    const rdonly = has(lo, hi, A.RDONLY);
    const user = has(lo, hi, A.USER);
    return {
      valid,
      present,
      read: valid,
      write: valid && !rdonly,
      logicalWrite: has(lo, hi, A.WRITE),
      kexec: valid && !has(lo, hi, A.PXN),
      uexec: valid && !has(lo, hi, A.UXN),
      user,
      cont: has(lo, hi, A.CONT),
      dirty: has(lo, hi, A.DIRTY) || (has(lo, hi, A.WRITE) && !rdonly),
      young: has(lo, hi, A.AF),
    };
  },
  markerEntry() {
    return ARM64_GUARD;
  },
  isMarker(lo, hi) {
    const [l, h] = split64(ARM64_GUARD);
    return lo === l && hi === h;
  },
  contMask: bit(A.CONT),
  bits: [
    { name: 'PTE_VALID', bit: 0, width: 1, meaning: 'valid' },
    { name: 'PTE_TABLE_BIT', bit: 1, width: 1, meaning: 'table (upper levels) or page (last level); clear in a block' },
    { name: 'PTE_ATTRINDX', bit: 2, width: 3, meaning: 'MAIR index (0 = MT_NORMAL)' },
    { name: 'PTE_USER', bit: 6, width: 1, meaning: 'AP[1]: EL0 accessible' },
    { name: 'PTE_RDONLY', bit: 7, width: 1, meaning: 'AP[2]: read-only' },
    { name: 'PTE_SHARED', bit: 8, width: 2, meaning: 'SH[1:0]: inner shareable' },
    { name: 'PTE_AF', bit: 10, width: 1, meaning: 'access flag' },
    { name: 'PTE_NG', bit: 11, width: 1, meaning: 'not global (PTE_PRESENT_INVALID when not valid)' },
    { name: 'PTE_GP', bit: 50, width: 1, meaning: 'BTI guarded page' },
    { name: 'PTE_WRITE', bit: 51, width: 1, meaning: 'DBM: Linux write permission' },
    { name: 'PTE_CONT', bit: 52, width: 1, meaning: 'contiguous hint' },
    { name: 'PTE_PXN', bit: 53, width: 1, meaning: 'privileged execute-never' },
    { name: 'PTE_UXN', bit: 54, width: 1, meaning: 'user execute-never' },
    { name: 'PTE_DIRTY', bit: 55, width: 1, meaning: 'software dirty' },
    { name: 'PTE_SPECIAL', bit: 56, width: 1, meaning: 'special mapping' },
    { name: 'PMD_TABLE_PXN', bit: 59, width: 1, meaning: 'table: hierarchical PXN' },
    { name: 'PMD_TABLE_UXN', bit: 60, width: 1, meaning: 'table: hierarchical UXN' },
    { name: 'PMD_SECT_CONT', bit: 52, width: 1, meaning: 'contiguous hint (block)' },
    { name: 'PMD_SECT_RDONLY', bit: 7, width: 1, meaning: 'read-only (block)' },
    { name: 'PMD_SECT_PXN', bit: 53, width: 1, meaning: 'privileged execute-never (block)' },
    { name: 'PMD_SECT_UXN', bit: 54, width: 1, meaning: 'user execute-never (block)' },
    { name: 'PMD_SECT_AF', bit: 10, width: 1, meaning: 'access flag (block)' },
    { name: 'PTE_PRESENT_INVALID', bit: 11, width: 1, meaning: 'present but invalid (aliases nG)' },
  ],
};

// 32-bit ARM with LPAE shares the long-descriptor bits of arm64 but has its own swap-entry
// layout (arch/arm/include/asm/pgtable.h: __SWP_TYPE_SHIFT 2, 5 type bits, offset from bit 7).
const ARM_LPAE_GUARD = (31n << 2n) | (4n << 7n);

export const armLpaeCodec: DescriptorCodec = {
  ...arm64Codec,
  markerEntry() {
    return ARM_LPAE_GUARD;
  },
  isMarker(lo, hi) {
    const [l, h] = split64(ARM_LPAE_GUARD);
    return lo === l && hi === h;
  },
};

/** arm64 pte_present_invalid(): PTE_PRESENT_INVALID set with PTE_VALID clear. */
function presentInvalid(lo: number): boolean {
  return (lo & 1) === 0 && (lo & (1 << A.NG)) !== 0;
}

// ---------------------------------------------------------------------------------------------
// x86 (descriptors.md §2)

const X = { P: 0, RW: 1, USER: 2, PWT: 3, PCD: 4, A: 5, D: 6, PSE: 7, G: 8, PAT_LARGE: 12, NX: 63 } as const;

// __swp_entry(type, offset) = (~offset << SWP_OFFSET_SHIFT >> SWP_TYPE_BITS) | type << 59, with
// SWP_TYPE_BITS 5 and SWP_OFFSET_SHIFT 14 (pgtable_64.h); the offset is inverted for L1TF.
const X86_GUARD = ((((~4n & ((1n << 64n) - 1n)) << 14n) & ((1n << 64n) - 1n)) >> 5n) | (31n << 59n);

export const x86Codec: DescriptorCodec = {
  family: 'x86',
  classify(_depth, lo, hi, lastLevel) {
    if (lo === 0 && hi === 0) return 'none';
    // pte_present(): _PAGE_PRESENT or _PAGE_PROTNONE (G when not present).
    const present = (lo & 1) !== 0 || (lo & (1 << X.G)) !== 0;
    if (!present) return 'nonpresent';
    if (lastLevel) return 'leaf';
    return (lo & (1 << X.PSE)) !== 0 || (lo & 1) === 0 ? 'leaf' : 'table';
  },
  address(lo, hi) {
    return addressOf(lo, hi, 12, 51, 12);
  },
  tableEntry(pa, kernel, out) {
    this.addressBits(pa, out);
    // _KERNPG_TABLE for init_mm, _PAGE_TABLE (adds USER) for user mms.
    orBits(out, X.P, X.RW, X.A, X.D);
    if (!kernel) orBits(out, X.USER);
  },
  leafTemplate(prot, options, out) {
    out[0] = 0;
    out[1] = 0;
    const any = prot.r || prot.w || prot.x;
    if (options.kernel) {
      // __PAGE_KERNEL(_RO/_ROX/_EXEC): P, A, G, RW+D when writable, NX unless executable.
      if (any) orBits(out, X.P, X.A, X.G);
      else orBits(out, X.A, X.G); // PAGE_NONE: A|G, G doubling as PROTNONE.
      if (prot.w) orBits(out, X.RW, X.D);
      if (!prot.x && any) orBits(out, X.NX);
      if (options.block && any) orBits(out, X.PSE);
    } else {
      // PAGE_SHARED family: P, USR, A, RW when writable, NX unless executable; D once written.
      if (any) orBits(out, X.P, X.USER, X.A);
      else orBits(out, X.A, X.G);
      if (prot.w) orBits(out, X.RW);
      if (prot.w && options.dirty) orBits(out, X.D);
      if (!prot.x) orBits(out, X.NX);
      if (options.block && any) orBits(out, X.PSE);
    }
  },
  addressBits(pa, out) {
    out[0] = pa >>> 0; // ToUint32 is the value modulo 2^32, without a floating-point fmod
    out[1] = Math.floor(pa / POW32) >>> 0;
  },
  addressField(pa) {
    return pa;
  },
  leafProt(lo, hi) {
    const valid = (lo & 1) !== 0;
    const protnone = !valid && (lo & (1 << X.G)) !== 0;
    const nx = has(lo, hi, X.NX);
    return {
      valid,
      present: valid || protnone,
      read: valid,
      write: valid && has(lo, hi, X.RW),
      logicalWrite: has(lo, hi, X.RW),
      kexec: valid && !nx,
      uexec: valid && !nx && has(lo, hi, X.USER),
      user: has(lo, hi, X.USER),
      cont: false,
      dirty: has(lo, hi, X.D),
      young: has(lo, hi, X.A),
    };
  },
  markerEntry() {
    return X86_GUARD;
  },
  isMarker(lo, hi) {
    const [l, h] = split64(X86_GUARD);
    return lo === l && hi === h;
  },
  contMask: [0, 0],
  bits: [
    { name: '_PAGE_PRESENT', bit: 0, width: 1, meaning: 'present' },
    { name: '_PAGE_RW', bit: 1, width: 1, meaning: 'writable' },
    { name: '_PAGE_USER', bit: 2, width: 1, meaning: 'user accessible' },
    { name: '_PAGE_PWT', bit: 3, width: 1, meaning: 'write-through' },
    { name: '_PAGE_PCD', bit: 4, width: 1, meaning: 'cache disable' },
    { name: '_PAGE_ACCESSED', bit: 5, width: 1, meaning: 'accessed' },
    { name: '_PAGE_DIRTY', bit: 6, width: 1, meaning: 'dirty' },
    { name: '_PAGE_PSE', bit: 7, width: 1, meaning: 'large page (PMD/PUD); PAT in a 4K PTE' },
    { name: '_PAGE_GLOBAL', bit: 8, width: 1, meaning: 'global (PROTNONE when not present)' },
    { name: '_PAGE_SPECIAL', bit: 9, width: 1, meaning: 'software: special' },
    { name: '_PAGE_UFFD', bit: 10, width: 1, meaning: 'software: userfaultfd' },
    { name: '_PAGE_SOFT_DIRTY', bit: 11, width: 1, meaning: 'software: soft dirty / _PAGE_KERNEL_4K' },
    { name: '_PAGE_PAT_LARGE', bit: 12, width: 1, meaning: 'PAT in 2M/1G leaves' },
    { name: '_PAGE_NX', bit: 63, width: 1, meaning: 'no-execute' },
  ],
};

// ---------------------------------------------------------------------------------------------
// riscv (descriptors.md §3)

const R = { V: 0, R: 1, W: 2, X: 3, U: 4, G: 5, A: 6, D: 7, NAPOT: 63 } as const;

// __swp_entry: type at bit 7 (5 bits), offset from bit 12 (arch/riscv/include/asm/pgtable.h).
const RISCV_GUARD = (31n << 7n) | (4n << 12n);

export const riscvCodec: DescriptorCodec = {
  family: 'riscv',
  classify(_depth, lo, _hi, lastLevel) {
    if (lo === 0 && _hi === 0) return 'none';
    const valid = (lo & 1) !== 0;
    // _PAGE_PROT_NONE is _PAGE_GLOBAL on a non-present entry.
    if (!valid) return (lo & (1 << R.G)) !== 0 ? 'leaf' : 'nonpresent';
    if (lastLevel) return 'leaf';
    // _PAGE_LEAF = R|W|X: a valid entry with none of them points to the next table.
    return (lo & 0b1110) !== 0 ? 'leaf' : 'table';
  },
  address(lo, hi) {
    return addressOf(lo, hi, 10, 53, 12);
  },
  tableEntry(pa, _kernel, out) {
    this.addressBits(pa, out);
    orBits(out, R.V);
  },
  leafTemplate(prot, options, out) {
    out[0] = 0;
    out[1] = 0;
    const any = prot.r || prot.w || prot.x;
    if (any) orBits(out, R.V, R.A);
    else orBits(out, R.G);
    // W without R is reserved; the kernel's protection maps always add R with W.
    if (prot.r || prot.w) orBits(out, R.R);
    if (prot.w) orBits(out, R.W);
    if (prot.x) orBits(out, R.X);
    if (options.kernel) {
      if (any) orBits(out, R.G, R.D);
    } else {
      if (any) orBits(out, R.U);
      if (prot.w && options.dirty) orBits(out, R.D);
    }
    if (options.cont) orBits(out, R.NAPOT);
  },
  addressBits(pa, out) {
    const field = this.addressField(pa);
    out[0] = field >>> 0;
    out[1] = Math.floor(field / POW32) >>> 0;
  },
  addressField(pa) {
    // The PPN starts at bit 10.
    return Math.floor(pa / 4096) * 1024;
  },
  leafProt(lo, hi) {
    const valid = (lo & 1) !== 0;
    return {
      valid,
      present: valid || (lo & (1 << R.G)) !== 0,
      read: valid && has(lo, hi, R.R),
      write: valid && has(lo, hi, R.W),
      logicalWrite: has(lo, hi, R.W),
      kexec: valid && has(lo, hi, R.X),
      uexec: valid && has(lo, hi, R.X) && has(lo, hi, R.U),
      user: has(lo, hi, R.U),
      cont: has(lo, hi, R.NAPOT),
      dirty: has(lo, hi, R.D),
      young: has(lo, hi, R.A),
    };
  },
  markerEntry() {
    return RISCV_GUARD;
  },
  isMarker(lo, hi) {
    const [l, h] = split64(RISCV_GUARD);
    return lo === l && hi === h;
  },
  contMask: bit(R.NAPOT),
  bits: [
    { name: '_PAGE_PRESENT', bit: 0, width: 1, meaning: 'V: valid' },
    { name: '_PAGE_READ', bit: 1, width: 1, meaning: 'R: readable' },
    { name: '_PAGE_WRITE', bit: 2, width: 1, meaning: 'W: writable' },
    { name: '_PAGE_EXEC', bit: 3, width: 1, meaning: 'X: executable' },
    { name: '_PAGE_USER', bit: 4, width: 1, meaning: 'U: user accessible' },
    { name: '_PAGE_GLOBAL', bit: 5, width: 1, meaning: 'G: global (PROT_NONE when not valid)' },
    { name: '_PAGE_ACCESSED', bit: 6, width: 1, meaning: 'A: accessed' },
    { name: '_PAGE_DIRTY', bit: 7, width: 1, meaning: 'D: dirty' },
    { name: '_PAGE_SOFT', bit: 8, width: 2, meaning: 'RSW: software bits' },
    { name: '_PAGE_PFN', bit: 10, width: 44, meaning: 'PPN' },
    { name: '_PAGE_NOCACHE_SVPBMT', bit: 61, width: 1, meaning: 'Svpbmt NC' },
    { name: '_PAGE_IO_SVPBMT', bit: 62, width: 1, meaning: 'Svpbmt IO' },
    { name: '_PAGE_NAPOT', bit: 63, width: 1, meaning: 'Svnapot contiguous' },
  ],
};

/** Looks a bit name up in a codec (case-sensitive, as the kernel spells it). */
export function findBit(codec: DescriptorCodec, name: string): BitName | undefined {
  return codec.bits.find((b) => b.name === name);
}

/** The mask of a named field as a bigint. */
export function bitMask(b: BitName): bigint {
  return ((1n << BigInt(b.width)) - 1n) << BigInt(b.bit);
}

/** Decodes every named field of a descriptor that is set, for hovers and the inspector. */
export function decodeBits(codec: DescriptorCodec, value: bigint): { name: string; value: bigint; meaning: string }[] {
  const seen = new Set<string>();
  const fields: { name: string; value: bigint; meaning: string }[] = [];
  for (const b of codec.bits) {
    const v = (value >> BigInt(b.bit)) & ((1n << BigInt(b.width)) - 1n);
    const key = `${b.bit}:${b.width}`;
    if (v === 0n || seen.has(key)) continue;
    seen.add(key);
    fields.push({ name: b.name, value: v, meaning: b.meaning });
  }
  return fields;
}
