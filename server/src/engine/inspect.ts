// Reading a finished run: its steps, the tables after any step, what changed in a step, and the
// descriptor an address resolves to. The language server and the inspector use only this.
//
// The state after step k is read from the table versions the machine kept (copy-on-write per
// statement); nothing is re-run. To reuse the walker-based readers (translation, ptdump) at an
// earlier step, the tables are viewed at that step for the duration of one read.

import { decodeBits } from './arch/codec';
import { levelIndices, type ArchProfile, type Depth } from './arch/profile';
import type { Exploration, ExploredTable } from './exec/modules';
import type { Binding } from './exec/context';
import { tablesAtStep } from './explore/index';
import { TableTree } from './inspect-tree';
import { ptdumpText } from './kernel/ptdump';
import { depthsIn, type AddressSpace, type Counters, type Machine } from './model/machine';
import type { LedgerEventKind, TablePage } from './model/table';
import { entryVa } from './model/entry-va';
import type { Span } from './program';
import { hex16, join64 } from './u64';
import { leafKind, translate } from './walk-ops/translate-ops';

export interface StepInfo {
  index: number;
  span: Span;
  space: string;
  helper: string;
  summary: string;
  result: string;
  tablesAllocated: number[];
  tablesFreed: number[];
  tablesWritten: number[];
  entriesWritten: number;
  levelsTouched: string[];
  counters: Counters;
}

export interface TableInfo {
  id: number;
  space: string;
  level: string;
  depth: Depth;
  pa: string;
  bytes: number;
  allocator: string;
  name?: string;
  entries: number;
  events: { kind: LedgerEventKind; step: number; span: Span; detail?: string }[];
}

export type EntryKind = 'none' | 'table' | 'leaf' | 'marker' | 'nonpresent';

export interface EntryInfo {
  index: number;
  /** First virtual address the entry maps. */
  va: string;
  /** Bytes it maps. */
  size: string;
  value: string;
  kind: EntryKind;
  /** Level the entry belongs to (the deepest alias of its table's level). */
  level: string;
  /** For a table entry: the child table's id. */
  child?: number;
  /** Decoded protections of a leaf: r/w/x, user, cont, valid. */
  prot?: { valid: boolean; read: boolean; write: boolean; kexec: boolean; uexec: boolean; user: boolean; cont: boolean; dirty: boolean };
  /** Named descriptor bits that are set. */
  bits: { name: string; value: string }[];
  /** Compared with the state before the step. */
  change?: 'added' | 'removed' | 'changed';
  /** Output physical address of a leaf or table entry. */
  pa?: string;
}

/** A name's binding as hovers show it. */
export type NameValue =
  | { kind: 'value'; value: bigint; span: Span; step: number }
  | { kind: 'table'; tableId: number; span: Span; step: number }
  | { kind: 'page'; pa: number; span: Span; step: number };

export interface AddressInfo {
  va: string;
  indices: { level: string; index: number; folded: boolean }[];
  region?: string;
  leaf: string;
  /** The entry it resolves to, if any. */
  entry?: EntryInfo & { tableId: number };
  /** Why nothing maps it. */
  reason?: string;
}

/** The finished state of a run, readable at every step. */
export class RunState {
  private released = false;

  constructor(
    private readonly finished: Machine,
    readonly explorations: Exploration[],
    private readonly bindingLog: readonly { name: string; step: number; binding: Binding }[] = [],
  ) {}

  /** The machine, while the run may be read. */
  private get machine(): Machine {
    if (this.released) throw new Error('this run was released: its tables now hold a later run\'s entries');
    return this.finished;
  }

  /**
   * Takes the run apart and gives its table memory to later runs at once (Machine.dismantle),
   * for an owner that drops the run (the language server). Reading the run afterwards throws
   * instead of showing another run's entries.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.finished.dismantle();
  }

  get isReleased(): boolean {
    return this.released;
  }

  /**
   * What each name was bound to after `step`: numbers as their value, table pages as their
   * ledger id, pages from alloc_pgtable_page as their physical address.
   */
  bindingsAt(step: number): Map<string, NameValue> {
    const out = new Map<string, NameValue>();
    for (const entry of this.bindingLog) {
      if (entry.step > step) break;
      const b = entry.binding;
      out.set(
        entry.name,
        b.kind === 'value'
          ? { kind: 'value', value: b.value, span: b.span, step: entry.step }
          : b.kind === 'table'
            ? { kind: 'table', tableId: b.table.id, span: b.span, step: entry.step }
            : { kind: 'page', pa: b.pa, span: b.span, step: entry.step },
      );
    }
    return out;
  }

  get profile(): ArchProfile {
    return this.machine.profile;
  }

  private tableTree: TableTree | undefined;

  /** The inspector's coalesced, cached reading of the tables (inspect-tree.ts). */
  get tree(): TableTree {
    return (this.tableTree ??= new TableTree(this.machine));
  }

  get stepCount(): number {
    return this.machine.steps.length;
  }

  steps(): StepInfo[] {
    return this.machine.steps.map((s) => ({
      index: s.index,
      span: s.span,
      space: s.space,
      helper: s.helper,
      summary: s.summary,
      result: s.result ?? '',
      tablesAllocated: s.tablesAllocated.map((t) => t.id),
      tablesFreed: s.tablesFreed.map((t) => t.id),
      tablesWritten: s.tablesWritten.map((t) => t.id),
      entriesWritten: s.entriesWritten,
      levelsTouched: depthsIn(s.levelsTouched).map((d) => this.profile.levels[d]?.name ?? ''),
      counters: s.counters,
    }));
  }

  /** The last step whose statement starts at or before `offset` (the cursor follows this). */
  stepAtOffset(offset: number): number {
    let found = -1;
    for (const s of this.machine.steps) if (s.span.start <= offset && s.span.end >= offset) found = s.index;
    if (found >= 0) return found;
    for (const s of this.machine.steps) if (s.span.start <= offset) found = s.index;
    return found;
  }

  /** Address spaces that exist after `step`, kernel first. */
  spacesAt(step: number): { name: string; kernel: boolean; root: number }[] {
    const out: { name: string; kernel: boolean; root: number }[] = [];
    for (const space of this.machine.spaces.values()) {
      if (!space.kernel && space.root.allocStep > step) continue;
      if (!space.kernel && space.root.freeStep <= step) continue;
      out.push({ name: space.name, kernel: space.kernel, root: space.root.id });
    }
    return out;
  }

  private tableById(id: number): TablePage | undefined {
    if (id === 0) return this.machine.kernel.root;
    return this.machine.tables.find((t) => t.id === id);
  }

  table(id: number): TableInfo | undefined {
    const t = this.tableById(id);
    if (!t) return undefined;
    const info: TableInfo = {
      id: t.id,
      space: t.space,
      level: this.profile.levels[t.depth]?.name ?? '',
      depth: t.depth,
      pa: '0x' + t.pa.toString(16),
      bytes: t.bytes,
      allocator: t.allocator,
      entries: t.ptrs,
      events: t.events.map((e) => {
        const detail = this.machine.eventDetail(t, e);
        return { kind: e.kind, step: e.step, span: e.span, ...(detail !== undefined ? { detail } : {}) };
      }),
    };
    if (t.name !== undefined) info.name = t.name;
    return info;
  }

  /** Every table page of the run with its life, for the ledger view. */
  ledger(): TableInfo[] {
    const all = [this.machine.kernel.root, ...this.machine.tables];
    return all.map((t) => this.table(t.id)).filter((t): t is TableInfo => t !== undefined);
  }

  /** Table ids live after `step` (allocated at or before it, not freed by it). */
  liveTablesAt(step: number): number[] {
    return this.machine.tables.filter((t) => t.allocStep <= step && t.freeStep > step).map((t) => t.id);
  }

  /**
   * Entries [from, from + count) of a table after `step`, each compared with the table before
   * that step. `onlyPresent` skips none entries that did not change.
   */
  entriesAt(tableId: number, step: number, from = 0, count = Infinity, onlyPresent = false): EntryInfo[] {
    const table = this.tableById(tableId);
    if (!table) return [];
    const now = table.contentAt(step);
    if (!now) return [];
    const before = table.contentAt(step - 1);
    const out: EntryInfo[] = [];
    for (let i = from; i < table.ptrs && out.length < count; i++) {
      const lo = now.e[2 * i] ?? 0;
      const hi = now.e[2 * i + 1] ?? 0;
      const blo = before?.e[2 * i] ?? 0;
      const bhi = before?.e[2 * i + 1] ?? 0;
      const change: EntryInfo['change'] =
        before === undefined && (lo !== 0 || hi !== 0)
          ? 'added'
          : blo === lo && bhi === hi
            ? undefined
            : blo === 0 && bhi === 0
              ? 'added'
              : lo === 0 && hi === 0
                ? 'removed'
                : 'changed';
      if (onlyPresent && lo === 0 && hi === 0 && change === undefined) continue;
      out.push(this.entryInfo(table, i, lo, hi, now.children?.[i], change));
    }
    return out;
  }

  private entryInfo(table: TablePage, i: number, lo: number, hi: number, child: TablePage | undefined, change: EntryInfo['change']): EntryInfo {
    const profile = this.profile;
    const codec = profile.codec;
    const depth = (profile.entryDepth[table.depth] ?? table.depth) as Depth;
    const shift = BigInt(profile.levels[table.depth]?.shift ?? 0);
    const va = entryVa(profile, table, i);
    const value = join64(lo, hi);
    const cls = codec.classify(depth, lo, hi, depth === 4);
    const kind: EntryKind = cls === 'nonpresent' && codec.isMarker(lo, hi, 'guard') ? 'marker' : cls;
    const info: EntryInfo = {
      index: i,
      va: hex16(va),
      size: (1n << shift).toString(),
      value: hex16(value),
      kind,
      level: profile.levels[depth]?.name ?? '',
      bits: decodeBits(codec, value).map((b) => ({ name: b.name, value: '0x' + b.value.toString(16) })),
    };
    if (change) info.change = change;
    if (child && kind === 'table') info.child = child.id;
    if (kind === 'leaf' || kind === 'table') info.pa = '0x' + codec.address(lo, hi).toString(16);
    if (kind === 'leaf') {
      const p = codec.leafProt(lo, hi);
      info.prot = { valid: p.valid, read: p.read, write: p.logicalWrite && p.present, kexec: p.kexec, uexec: p.uexec, user: p.user, cont: p.cont, dirty: p.dirty };
    }
    return info;
  }

  counters(step: number): Counters {
    const s = this.machine.steps[step];
    return s ? s.counters : { tlbFlushes: 0, barriers: 0, directMapSplits: 0 };
  }

  /** Runs `read` with every table showing its content after `step`. Read-only. */
  private viewAt<T>(step: number, read: () => T): T {
    const saved: [TablePage, Uint32Array, (TablePage | undefined)[] | undefined, number][] = [];
    for (const t of [this.machine.kernel.root, ...this.machine.tables]) {
      const v = t.contentAt(step);
      if (!v || v === t) continue;
      saved.push([t, t.e, t.children, t.used]);
      t.e = v.e;
      t.children = v.children;
      t.used = v.used;
    }
    try {
      return read();
    } finally {
      for (const [t, e, children, used] of saved) {
        t.e = e;
        t.children = children;
        t.used = used;
      }
    }
  }

  private space(name: string): AddressSpace | undefined {
    return this.machine.spaces.get(name);
  }

  /** Per-level indices of `va` and what it resolves to after `step` in `spaceName`. */
  describeAddress(va: bigint, step: number, spaceName = 'kernel'): AddressInfo {
    const profile = this.profile;
    const indices = levelIndices(profile, va).map((index, d) => ({
      level: profile.levels[d]?.name ?? '',
      index,
      folded: profile.levels[d]?.folded ?? false,
    }));
    const region = profile.regions.find((r) => va >= r.start && va < r.end)?.label;
    const space = this.space(spaceName);
    const info: AddressInfo = { va: hex16(va), indices, leaf: 'none', ...(region !== undefined ? { region } : {}) };
    if (!space) return { ...info, reason: `no address space \`${spaceName}\`` };
    return this.viewAt(step, () => {
      const t = translate(this.machine, space, va);
      info.leaf = leafKind(this.machine, t);
      if (t.kind === 'none') {
        info.reason = `no entry: the ${profile.levels[t.depth]?.name.toUpperCase()} entry is none`;
        return info;
      }
      const lo = t.table.lo(t.index);
      const hi = t.table.hi(t.index);
      const entry = this.entryInfo(t.table, t.index, lo, hi, undefined, undefined);
      info.entry = { ...entry, tableId: t.table.id };
      if (t.kind === 'nonpresent') info.reason = entry.kind === 'marker' ? 'a guard marker: any access faults with SIGSEGV' : 'a non-present entry (swap or marker)';
      return info;
    });
  }

  /**
   * The tables counterexample `cx` of exploration `exploration` touches, after its step `step`
   * (0 = as the block began, n = after the n-th step of the schedule).
   */
  counterexampleTables(exploration: number, cx: number, step: number): ExploredTable[] {
    const found = this.explorations[exploration]?.counterexamples?.[cx];
    return found ? tablesAtStep(found, step) : [];
  }

  /** The architecture's ptdump of init_mm after `step`. */
  ptdumpAt(step: number): string {
    if (this.profile.ptdumpFormat === 'none') return `ptdump is not modelled for ${this.profile.label}`;
    return this.viewAt(step, () => ptdumpText(this.machine));
  }
}
