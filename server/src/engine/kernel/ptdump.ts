// ptdump and check_wx: the architecture's kernel_page_tables dump and W+X checker
// (kernel-notes/ptdump-format.md, descriptors.md §4), as a walk with note_page coalescing.
//
// The walk reports every leaf at its level, every PTE (empty ones too) and every hole at its
// depth as a zero entry, exactly like mm/ptdump.c; note_page merges runs with the same masked
// protection and level and flushes a line at each change or marker crossing.

import type { Depth } from '../arch/profile';
import type { AddressSpace, Machine } from '../model/machine';
import type { TablePage } from '../model/table';
import { walkRange, type Walk, type WalkOps } from '../walk';
import { hex16 } from '../u64';

/** One coalesced run of the dump, with the masked protection of its entries. */
interface Run {
  start: bigint;
  level: number;
  /** Masked prot as lo/hi halves (what ptdump compares). */
  lo: number;
  hi: number;
  /** x86: effective (hierarchical) protection bits RW/USER/NX for line breaks and W+X. */
  eff: number;
  /** riscv prints the physical address of the first entry. */
  pa: number;
}

interface DumpState {
  lines: string[] | undefined;
  markerIndex: number;
  run: Run | undefined;
  /** x86 effective protection of the table entries above the current entry, per depth. */
  effAbove: number[];
  wxPages: bigint;
  uxnPages: bigint;
  /** Line count since the last marker, for x86 max_lines. */
  linesSinceMarker: number;
  skipped: number;
  /** The first W+X run's start, for the warning line. */
  firstWx?: bigint;
  firstUxn?: bigint;
}

// Masks of the bits each dump prints (the union of pte_bits[] masks), as lo/hi halves.
// arm64: VALID, type, ATTRINDX, USER, RDONLY, SHARED, AF, NG, GP, CONT, PXN, UXN.
const ARM64_MASK_LO = 0x1 | 0x2 | 0x1c | 0x40 | 0x80 | 0x300 | 0x400 | 0x800;
const ARM64_MASK_HI = (1 << (50 - 32)) | (1 << (52 - 32)) | (1 << (53 - 32)) | (1 << (54 - 32));
// x86: PTE_FLAGS_MASK, every non-PFN bit: bits 0-11 and 52-63.
const X86_MASK_LO = 0xfff;
const X86_MASK_HI = 0xfff00000;
// riscv: NAPOT, Svpbmt, RSW, D, A, G, U, X, W, R, V.
const RISCV_MASK_LO = 0x3ff;
const RISCV_MASK_HI = (1 << 31) | (1 << 30) | (1 << 29);

function masks(machine: Machine): [number, number] {
  switch (machine.profile.family) {
    case 'arm64':
    case 'arm':
      return [ARM64_MASK_LO, ARM64_MASK_HI];
    case 'x86':
      return [X86_MASK_LO, X86_MASK_HI >>> 0];
    case 'riscv':
      return [RISCV_MASK_LO, RISCV_MASK_HI >>> 0];
  }
}

const X86 = { P: 1, RW: 2, USER: 4 };
const MASK64 = (1n << 64n) - 1n;

/** note_page(): called for each leaf, PTE and hole; level -1 flushes at the end. */
function notePage(machine: Machine, st: DumpState, addr: bigint, level: number, lo: number, hi: number, eff: number, pa: number): void {
  const markers = machine.profile.markers;
  const [mlo, mhi] = masks(machine);
  const plo = (lo & mlo) >>> 0;
  const phi = (hi & mhi) >>> 0;
  const run = st.run;
  if (!run) {
    // First entry: print the marker we are in.
    while (st.markerIndex + 1 < markers.length && addr >= (markers[st.markerIndex + 1]?.address ?? 0n)) st.markerIndex++;
    st.lines?.push(`---[ ${markers[st.markerIndex]?.name ?? ''} ]---`);
    st.run = { start: addr, level, lo: plo, hi: phi, eff, pa };
    return;
  }
  const nextMarker = markers[st.markerIndex + 1]?.address;
  const crossing = nextMarker !== undefined && addr >= nextMarker;
  if (plo === run.lo && phi === run.hi && level === run.level && eff === run.eff && !crossing) return;
  flushRun(machine, st, addr);
  // x86 advances one marker per note_page() call; arm64 and riscv loop over every marker crossed.
  const once = machine.profile.family === 'x86';
  while (st.markerIndex + 1 < markers.length && addr >= (markers[st.markerIndex + 1]?.address ?? 0n)) {
    st.markerIndex++;
    if (st.skipped > 0) {
      st.lines?.push(`... ${st.skipped} entr${st.skipped === 1 ? 'y' : 'ies'} skipped ... `);
      st.skipped = 0;
    }
    st.lines?.push(`---[ ${markers[st.markerIndex]?.name ?? ''} ]---`);
    st.linesSinceMarker = 0;
    if (once) break;
  }
  st.run = { start: addr, level, lo: plo, hi: phi, eff, pa };
}

/** Prints the run that ends at `addr` and does its W+X accounting. */
function flushRun(machine: Machine, st: DumpState, addr: bigint): void {
  const run = st.run;
  if (!run) return;
  const profile = machine.profile;
  const pages = (addr - run.start) / profile.pageSize;
  const family = profile.family;
  if (family === 'x86') {
    // note_wx(): effective RW and no effective NX.
    if ((run.eff & X86.RW) !== 0 && (run.eff & 0x80000000) === 0) {
      st.wxPages += pages;
      st.firstWx ??= run.start;
    }
  } else if (family === 'riscv') {
    if ((run.lo & 0b0100) !== 0 && (run.lo & 0b1000) !== 0) {
      st.wxPages += pages;
      st.firstWx ??= run.start;
    }
  } else if (run.lo !== 0 || run.hi !== 0) {
    // arm64 note_prot_wx(): RDONLY clear and PXN clear; note_prot_uxn(): UXN clear.
    if ((run.lo & 0x80) === 0 && (run.hi & (1 << (53 - 32))) === 0) {
      st.wxPages += pages;
      st.firstWx ??= run.start;
    }
    if ((run.hi & (1 << (54 - 32))) === 0) {
      st.uxnPages += pages;
      st.firstUxn ??= run.start;
    }
  }
  if (!st.lines) return;
  const marker = profile.markers[st.markerIndex];
  if (family === 'x86' && marker?.maxLines !== undefined && st.linesSinceMarker >= marker.maxLines) {
    st.skipped++;
    return;
  }
  const line = formatLine(machine, run, addr);
  if (line !== undefined) {
    st.lines.push(line);
    st.linesSinceMarker++;
  }
}

function sizeField(bytes: bigint, units: string): string {
  let delta = bytes;
  let unit = 0;
  while (delta % 1024n === 0n && unit + 1 < units.length && delta !== 0n) {
    delta /= 1024n;
    unit++;
  }
  return `${delta.toString().padStart(9)}${units[unit] ?? ''}`;
}

function formatLine(machine: Machine, run: Run, end: bigint): string | undefined {
  const profile = machine.profile;
  const levelIndex = displayLevel(machine, run.level);
  const range = `${hex16(run.start)}-${hex16(end & MASK64)}   `;
  if (profile.ptdumpFormat === 'x86') {
    const width = profile.vaBits === 32 ? 8 : 16;
    const addrText = (v: bigint): string => '0x' + (v & MASK64).toString(16).padStart(width, '0');
    const head = `${addrText(run.start)}-${addrText(end)}   ${sizeField(end - run.start, 'BKMGTPE')} `;
    const name = ['pgd', 'p4d', 'pud', 'pmd', 'pte'][levelIndex] ?? '';
    if ((run.lo & X86.P) === 0) return `${head}${' '.repeat(30)}${name}`;
    const lo = run.lo;
    const nx = (run.hi & 0x80000000) !== 0;
    const pse = run.level <= 3 && (lo & 0x80) !== 0;
    const pat = run.level === 4 ? (lo & 0x80) !== 0 : run.level >= 2 && run.level <= 3 && (lo & 0x1000) !== 0;
    const fields =
      ((lo & X86.USER) !== 0 ? 'USR ' : '    ') +
      ((lo & X86.RW) !== 0 ? 'RW ' : 'ro ') +
      ((lo & 0x8) !== 0 ? 'PWT ' : '    ') +
      ((lo & 0x10) !== 0 ? 'PCD ' : '    ') +
      (pse ? 'PSE ' : '    ') +
      (pat ? 'PAT ' : '    ') +
      ((lo & 0x100) !== 0 ? 'GLB ' : '    ') +
      (nx ? 'NX ' : 'x  ');
    return `${head}${fields}${name}`;
  }
  if (profile.ptdumpFormat === 'riscv') {
    // Only runs with a non-zero prot are printed.
    if (run.lo === 0 && run.hi === 0) return undefined;
    const name = (['PGD', 'P4D', 'PUD', 'PMD', 'PTE'][levelIndex] ?? '');
    const lo = run.lo;
    const hi = run.hi;
    const fields = [
      (hi & (1 << 31)) !== 0 ? 'N' : '.',
      (hi & (3 << 29)) !== 0 ? `MT(${(hi & (1 << 29)) !== 0 ? 'NC' : 'IO'})` : '  ..  ',
      (lo & 0x300) !== 0 ? `RSW(${(lo & 0x300) >> 8})` : '  ..  ',
      (lo & 0x80) !== 0 ? 'D' : '.',
      (lo & 0x40) !== 0 ? 'A' : '.',
      (lo & 0x20) !== 0 ? 'G' : '.',
      (lo & 0x10) !== 0 ? 'U' : '.',
      (lo & 0x8) !== 0 ? 'X' : '.',
      (lo & 0x4) !== 0 ? 'W' : '.',
      (lo & 0x2) !== 0 ? 'R' : '.',
      (lo & 0x1) !== 0 ? 'V' : '.',
    ];
    return `${range} ${hex16(BigInt(run.pa))} ${sizeField((end - run.start) >> 10n, 'KMGTPE')} ${name}${fields.map((f) => ' ' + f).join('')}`;
  }
  // arm64
  const name = ['PGD', 'P4D', 'PUD', 'PMD', 'PTE'][levelIndex] ?? '';
  let line = `${range}${sizeField((end - run.start) >> 10n, 'KMGTPE')} ${name}`;
  if (run.lo === 0 && run.hi === 0) return line;
  const lo = run.lo;
  const hi = run.hi;
  const attr = (lo >> 2) & 7;
  const mem = ['MEM/NORMAL', 'MEM/NORMAL-TAGGED', 'MEM/NORMAL-NC', 'DEVICE/nGnRnE', 'DEVICE/nGnRE'][attr];
  const fields = [
    (lo & 1) !== 0 ? ' ' : 'F',
    (lo & 0x40) !== 0 ? 'USR' : '   ',
    (lo & 0x80) !== 0 ? 'ro' : 'RW',
    (hi & (1 << 21)) !== 0 ? 'NX' : 'x ',
    (lo & 0x300) !== 0 ? 'SHD' : '   ',
    (lo & 0x400) !== 0 ? 'AF' : '  ',
    (lo & 0x800) !== 0 ? 'NG' : '  ',
    (hi & (1 << 20)) !== 0 ? 'CON' : '   ',
    (lo & 3) === 1 ? 'BLK' : '   ',
    (hi & (1 << 22)) !== 0 ? 'UXN' : '   ',
    (hi & (1 << 18)) !== 0 ? 'GP' : '  ',
  ];
  line += fields.map((f) => ' ' + f).join('');
  if (mem !== undefined) line += ' ' + mem;
  return line;
}

/**
 * The level name ptdump prints: arm64's note_page() reports a folded P4D or PUD as level 0; x86
 * and riscv print the level the entry was found at.
 */
function displayLevel(machine: Machine, level: number): number {
  if (machine.profile.family !== 'arm64') return level;
  const levels = machine.profile.levels;
  if ((level === 1 || level === 2) && levels[level]?.folded) return 0;
  return level;
}

function entryPa(machine: Machine, table: TablePage, index: number): number {
  return machine.profile.codec.address(table.lo(index), table.hi(index));
}

/** x86 effective_prot(): RW and USER must hold at every level, NX at any level. */
function x86Effective(above: number, lo: number, hi: number): number {
  const nx = (hi & 0x80000000) !== 0 ? 0x80000000 : 0;
  return ((above & lo & (X86.RW | X86.USER)) | ((above | nx) & 0x80000000)) >>> 0;
}

function upper(depth: Depth) {
  return (walk: Walk<DumpState>, table: TablePage, index: number, start: bigint): number => {
    const machine = walk.machine;
    const profile = machine.profile;
    const lo = table.lo(index);
    const hi = table.hi(index);
    const realEntry = profile.entryDepth[table.depth] === depth;
    if (profile.family === 'x86' && depth === table.depth) {
      const above = depth === 0 ? (X86.RW | X86.USER) : (walk.state.effAbove[depth - 1] ?? 0);
      walk.state.effAbove[depth] = x86Effective(above, lo, hi);
    } else if (profile.family === 'x86') {
      walk.state.effAbove[depth] = walk.state.effAbove[depth - 1] ?? 0;
    }
    if (realEntry && walk.isLeaf(table, index, depth)) {
      const eff = profile.family === 'x86' ? (walk.state.effAbove[depth] ?? 0) : 0;
      notePage(machine, walk.state, start, depth, lo, hi, eff, entryPa(machine, table, index));
      walk.action = 1; // ACTION_CONTINUE: ptdump never descends below a leaf.
    }
    return 0;
  };
}

const dumpOps: WalkOps<DumpState> = {
  pgd_entry: upper(0),
  p4d_entry: upper(1),
  pud_entry: upper(2),
  pmd_entry: upper(3),
  pte_entry: (walk, table, index) => {
    const machine = walk.machine;
    const lo = table.lo(index);
    const hi = table.hi(index);
    const eff = machine.profile.family === 'x86' ? x86Effective(walk.state.effAbove[3] ?? walk.state.effAbove[2] ?? 0, lo, hi) : 0;
    notePage(machine, walk.state, walk.pteAddress(index), 4, lo, hi, lo === 0 && hi === 0 ? 0 : eff, entryPa(machine, table, index));
    return 0;
  },
  pte_hole: (walk, start, _end, depth) => {
    notePage(walk.machine, walk.state, start, depth, 0, 0, 0, 0);
    return 0;
  },
};

export interface DumpResult {
  text: string;
  wxPages: bigint;
  uxnPages: bigint;
  firstWx?: bigint;
  firstUxn?: bigint;
}

/**
 * Walks each of `ranges` of `space` in turn with one note_page state, the way ptdump_walk_pgd()
 * does, and returns the dump. The final flush ends the last run at address 0 (the kernel's
 * note_page_flush), which is where the 64-bit space wraps.
 */
export function dump(machine: Machine, space: AddressSpace, ranges: readonly (readonly [bigint, bigint])[], print: boolean): DumpResult {
  const state: DumpState = {
    lines: print ? [] : undefined,
    markerIndex: 0,
    run: undefined,
    effAbove: [],
    wxPages: 0n,
    uxnPages: 0n,
    linesSinceMarker: 0,
    skipped: 0,
  };
  for (const [start, end] of ranges) walkRange(machine, space, start, end, dumpOps, state, { mode: 'kernel' });
  const last = ranges[ranges.length - 1];
  if (last) flushRun(machine, state, last[1]);
  const result: DumpResult = { text: (state.lines ?? []).join('\n'), wxPages: state.wxPages, uxnPages: state.uxnPages };
  if (state.firstWx !== undefined) result.firstWx = state.firstWx;
  if (state.firstUxn !== undefined) result.firstUxn = state.firstUxn;
  return result;
}

const TOP = 1n << 64n;

/** The ranges the architecture's kernel_page_tables walk covers. */
export function dumpRanges(machine: Machine): [bigint, bigint][] {
  const profile = machine.profile;
  if (profile.vaBits === 32) return [[0n, 1n << 32n]];
  // x86_64 walks the user half and everything from the end of the hypervisor guard hole.
  if (profile.family === 'x86') return [[0n, 1n << BigInt(profile.vaBits - 1)], [profile.wxStart, TOP]];
  return [[profile.ptdumpStart, TOP]];
}

/** The kernel_page_tables dump of init_mm (or of [start, start + size) when given). */
export function ptdumpText(machine: Machine, start?: bigint, size?: bigint): string {
  const ranges =
    start !== undefined && size !== undefined
      ? dumpRanges(machine)
          .map(([a, b]): [bigint, bigint] => [a > start ? a : start, b < start + size ? b : start + size])
          .filter(([a, b]) => a < b)
      : dumpRanges(machine);
  return dump(machine, machine.kernel, ranges, true).text;
}

export interface WxReport {
  wxPages: bigint;
  uxnPages: bigint;
  /** The lines the kernel prints, warnings first. */
  text: string;
  passed: boolean;
}

/** ptdump_check_wx(): the architecture's own verdict with its counts. */
export function checkWx(machine: Machine): WxReport {
  const profile = machine.profile;
  const top = profile.vaBits === 32 ? 1n << 32n : TOP;
  const ranges: [bigint, bigint][] = profile.family === 'x86' ? dumpRanges(machine) : [[profile.wxStart, top]];
  const { wxPages: wx, uxnPages: uxn, firstWx, firstUxn } = dump(machine, machine.kernel, ranges, false);
  const lines: string[] = [];
  const family = profile.family;
  if (family === 'arm64' || family === 'arm') {
    if (wx > 0n && firstWx !== undefined) lines.push(`arm64/mm: Found insecure W+X mapping at address ${hex16(firstWx)}`);
    if (uxn > 0n && firstUxn !== undefined) lines.push(`arm64/mm: Found non-UXN mapping at address ${hex16(firstUxn)}`);
    lines.push(
      wx > 0n || uxn > 0n
        ? `Checked W+X mappings: FAILED, ${wx} W+X pages found, ${uxn} non-UXN pages found`
        : 'Checked W+X mappings: passed, no W+X pages found',
    );
    return { wxPages: wx, uxnPages: uxn, text: lines.join('\n'), passed: wx === 0n && uxn === 0n };
  }
  if (family === 'x86') {
    if (wx > 0n && firstWx !== undefined) lines.push(`x86/mm: Found insecure W+X mapping at address ${hex16(firstWx)}`);
    lines.push(wx > 0n ? `x86/mm: Checked W+X mappings: FAILED, ${wx} W+X pages found.` : 'x86/mm: Checked W+X mappings: passed, no W+X pages found.');
    return { wxPages: wx, uxnPages: 0n, text: lines.join('\n'), passed: wx === 0n };
  }
  if (wx > 0n && firstWx !== undefined) lines.push(`riscv/mm: Found insecure W+X mapping at address ${hex16(firstWx)}`);
  lines.push(wx > 0n ? `Checked W+X mappings: failed, ${wx} W+X pages found` : 'Checked W+X mappings: passed, no W+X pages found');
  return { wxPages: wx, uxnPages: 0n, text: lines.join('\n'), passed: wx === 0n };
}

