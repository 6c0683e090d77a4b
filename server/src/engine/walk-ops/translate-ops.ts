// Address translation as a walk: finds the entry that maps one address, or why none does.
//
// Serves the address queries (`leaf`, `prot`, `guard`, `value`), hovers, faults and the kernel
// statements that need to know what is mapped where.

import type { Depth, LevelGeometry } from '../arch/profile';
import type { LeafProt } from '../arch/codec';
import type { AddressSpace, Machine } from '../model/machine';
import type { TablePage } from '../model/table';
import { walkRange, type Walk, type WalkOps } from '../walk';

export type Translation =
  /** A leaf (page or block) maps the address. */
  | { kind: 'leaf'; depth: Depth; table: TablePage; index: number; value: bigint; pa: number; prot: LeafProt; cont: boolean }
  /** A non-present entry that is not none: a swap entry or PTE marker. */
  | { kind: 'nonpresent'; depth: Depth; table: TablePage; index: number; value: bigint }
  /** A none entry at `depth` (a hole in the table at that level). */
  | { kind: 'none'; depth: Depth; table: TablePage | undefined; index: number };

interface TranslateState {
  result: Translation | undefined;
  va: bigint;
}

function leafOf(walk: Walk<TranslateState>, table: TablePage, index: number, depth: Depth): Translation {
  const codec = walk.machine.profile.codec;
  const lo = table.lo(index);
  const hi = table.hi(index);
  const prot = codec.leafProt(lo, hi);
  const blockBase = codec.address(lo, hi);
  // The offset of the address inside the leaf, added to the leaf's output address.
  const offset = Number(walk.state.va & (walk.machine.profile.levels[depth] as LevelGeometry).offsetMask);
  return { kind: 'leaf', depth, table, index, value: table.value(index), pa: blockBase + offset, prot, cont: prot.cont };
}

function onUpper(depth: Depth) {
  return (walk: Walk<TranslateState>, table: TablePage, index: number): number => {
    if (!walk.isLeaf(table, index, depth)) {
      const profile = walk.machine.profile;
      if (profile.entryDepth[table.depth] !== depth) return 0;
      const kind = profile.codec.classify(depth, table.lo(index), table.hi(index), false);
      if (kind === 'nonpresent') {
        walk.state.result = { kind: 'nonpresent', depth, table, index, value: table.value(index) };
        return 1;
      }
      return 0;
    }
    walk.state.result = leafOf(walk, table, index, depth);
    return 1;
  };
}

const translateOps: WalkOps<TranslateState> = {
  pgd_entry: onUpper(0),
  p4d_entry: onUpper(1),
  pud_entry: onUpper(2),
  pmd_entry: onUpper(3),
  pte_entry: (walk, table, index) => {
    const codec = walk.machine.profile.codec;
    const kind = codec.classify(4, table.lo(index), table.hi(index), true);
    if (kind === 'none') walk.state.result = { kind: 'none', depth: 4, table, index };
    else if (kind === 'nonpresent') walk.state.result = { kind: 'nonpresent', depth: 4, table, index, value: table.value(index) };
    else walk.state.result = leafOf(walk, table, index, 4);
    return 1;
  },
  pte_hole: (walk, _start, _end, depth) => {
    walk.state.result = { kind: 'none', depth, table: undefined, index: -1 };
    return 1;
  },
};

/** What maps `va` in `space` now. */
export function translate(machine: Machine, space: AddressSpace, va: bigint): Translation {
  const state: TranslateState = { result: undefined, va };
  walkRange(machine, space, va, va + 1n, translateOps, state, { mode: 'kernel' });
  return state.result ?? { kind: 'none', depth: 0, table: undefined, index: -1 };
}

/** The leaf kind `leaf(ADDR)` reports: none pte cont_pte pmd cont_pmd pud (and p4d on Sv57). */
export function leafKind(machine: Machine, t: Translation): string {
  if (t.kind !== 'leaf' || !t.prot.present) return 'none';
  const name = machine.profile.levels[t.depth]?.name ?? 'pte';
  if (t.cont && (name === 'pte' || name === 'pmd')) return `cont_${name}`;
  return name;
}
