// The per-statement W+X check behind the `wx-mapping` warning: did this statement leave kernel
// leaves writable and executable, by the architecture's own rule (descriptors.md §4)?

import { entrySize, type Depth } from '../arch/profile';
import type { Machine, StepRecord } from '../model/machine';
import type { TablePage } from '../model/table';
import { hex16 } from '../u64';
import { entryVa } from '../model/entry-va';

export interface WxLeft {
  pages: bigint;
  firstText: string;
  rule: string;
}

const RULES = {
  arm64: 'PTE_RDONLY and PTE_PXN both clear (the rule of arm64 note_prot_wx)',
  arm: 'PTE_RDONLY and PTE_PXN both clear',
  x86: '_PAGE_RW set and _PAGE_NX clear (the rule of x86 note_wx)',
  riscv: '_PAGE_WRITE and _PAGE_EXEC both set (the rule of riscv note_prot_wx)',
} as const;

/**
 * Per family: [writable lo mask, hi mask, writable when set?, executable lo mask, hi mask,
 * executable when set?] — each family's checker rule (RULES), as bit tests. In every
 * family these bits lie outside the output-address field (the tests check it for every
 * profile), so the leaves of a run written from one template are W+X exactly when the template
 * passes the test.
 */
type WxTest = readonly [number, number, boolean, number, number, boolean];

const WX_TESTS: Record<'arm64' | 'arm' | 'x86' | 'riscv', WxTest> = {
  // arm64: writable when PTE_RDONLY (bit 7) is clear, executable when PTE_PXN (bit 53) is clear.
  arm64: [0x80, 0, false, 0, 1 << (53 - 32), false],
  arm: [0x80, 0, false, 0, 1 << (53 - 32), false],
  // x86: _PAGE_RW (bit 1) set, _PAGE_NX (bit 63) clear.
  x86: [0x2, 0, true, 0, 0x80000000, false],
  // riscv: _PAGE_WRITE (bit 2) and _PAGE_EXEC (bit 3) set.
  riscv: [0x4, 0, true, 0x8, 0, true],
};

/**
 * Counts the kernel leaves this step wrote (compared with the state before it) that are W+X.
 * Undefined when there are none.
 */
export function wxLeftBy(machine: Machine, record: StepRecord): WxLeft | undefined {
  const profile = machine.profile;
  if (record.validWrites === 0) return undefined;
  let pages = 0n;
  let first: bigint | undefined;
  // W+X entries are rare, so the W and X bits are tested first with the family's masks (in a
  // small loop of its own over a fresh table, the common case of a big statement), and only the
  // entries that pass are classified and compared with the state before the step.
  const test = WX_TESTS[profile.family];
  for (const table of record.tablesWritten) {
    if (table.space !== 'kernel' || table.freed) continue;
    const depth = (profile.entryDepth[table.depth] ?? table.depth) as Depth;
    const perEntry = entrySize(profile, table.depth) / profile.pageSize;
    const e = table.e;
    // Without history every entry is looked at; with it, the ones the step's log names.
    const changes = machine.historyEnabled ? table.changesIn(record.index) : 'all';
    if (changes === undefined) continue;
    let seen: Set<number> | undefined;
    const consider = (i: number): void => {
      const lo = e[2 * i] ?? 0;
      const hi = e[2 * i + 1] ?? 0;
      // A logged index may repeat: count each entry once.
      seen ??= new Set<number>();
      if (seen.has(i)) return;
      seen.add(i);
      if (machine.historyEnabled) {
        const [blo, bhi] = table.entryAt(i, record.index - 1);
        if (blo === lo && bhi === hi && table.bornStep < record.index) return;
      }
      if (profile.codec.classify(depth, lo, hi, depth === 4) !== 'leaf') return;
      pages += perEntry;
      const va = entryVa(profile, table, i);
      if (first === undefined || va < first) first = va;
    };
    // A table this step allocated and wrote with leaf runs whose templates are not W+X, and a
    // few single entries, holds W+X entries only among those few.
    const fresh = table.bornStep === record.index ? freshWrites(table, test) : undefined;
    if (fresh !== undefined) {
      for (const i of fresh) if (scanWx(e, i, i + 1, test) === i) consider(i);
    } else if (changes === 'all') {
      for (let i = scanWx(e, 0, table.ptrs, test); i >= 0; i = scanWx(e, i + 1, table.ptrs, test)) consider(i);
    } else {
      const log = changes.log;
      for (let k = changes.from; k < changes.to; k += 3) {
        const i = log[k] as number;
        if (scanWx(e, i, i + 1, test) === i) consider(i);
      }
    }
  }
  if (pages === 0n || first === undefined) return undefined;
  return { pages, firstText: hex16(first), rule: RULES[profile.family] };
}

/**
 * The entries of a table allocated in this step that can be W+X, when its runs' templates are
 * not (their address fields cannot add W or X bits, see WX_TESTS): the ones written one at a
 * time. Undefined when every entry has to be looked at.
 */
function freshWrites(table: TablePage, test: WxTest): readonly number[] | undefined {
  const runs = table.freshRuns;
  if (runs === undefined) return undefined;
  for (let k = 0; k < runs.length; k += 2) if (passesWx(runs[k] ?? 0, runs[k + 1] ?? 0, test)) return undefined;
  return table.freshWrites ?? [];
}

/** Whether (lo, hi) has the family's W and X bits, whatever else it holds. */
function passesWx(lo: number, hi: number, test: WxTest): boolean {
  const [wLo, wHi, wSet, xLo, xHi, xSet] = test;
  return (((lo & wLo) | (hi & wHi)) !== 0) === wSet && (((lo & xLo) | (hi & xHi)) !== 0) === xSet;
}

/** Test hook: the family's W and X bits as (lo, hi) masks. */
export function wxBits(family: keyof typeof WX_TESTS): [number, number] {
  const [wLo, wHi, , xLo, xHi] = WX_TESTS[family];
  return [(wLo | xLo) >>> 0, (wHi | xHi) >>> 0];
}

/**
 * The first index in [from, to) whose entry is not none and passes the family's W and X bit
 * tests, or -1. int32 reads keep values with bit 31 set small integers in this hot loop, and the
 * test is passesWx's written out: calling it here made a 1 GiB map's statement a third slower.
 */
function scanWx(e: Uint32Array, from: number, to: number, test: WxTest): number {
  const [wLo, wHi, wSet, xLo, xHi, xSet] = test;
  for (let i = from; i < to; i++) {
    const lo = (e[2 * i] ?? 0) | 0;
    const hi = (e[2 * i + 1] ?? 0) | 0;
    if ((((lo & wLo) | (hi & wHi)) !== 0) !== wSet) continue;
    if ((((lo & xLo) | (hi & xHi)) !== 0) !== xSet) continue;
    if ((lo | hi) !== 0) return i;
  }
  return -1;
}
