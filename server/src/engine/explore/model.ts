// The explorer's state model: the machine (shared, changed step by step and taken back by the
// undo log) and one small immutable explorer state per point of a schedule.
//
// A state is the machine's content, named by a MachineKeys id, plus what only the explorer
// knows: the locks, the static keys and each thread's registers. Tables are named by their
// ledger id: an id always means the same table page on the path being explored (the undo log
// restores the allocator, so a table allocated again along another path gets the same id).

import type { ArchProfile, Depth } from '../arch/profile';
import type { ExecContext } from '../exec/context';
import { entryVa } from '../model/entry-va';
import type { Machine } from '../model/machine';
import type { TablePage } from '../model/table';
import type { Span } from '../program';
import type { Access } from './footprint';
import { TOP_UNITS } from './footprint';
import { Journal, MachineKeys } from './undo';

/** Where a table's entries sit in the address space: entry i maps [base + i·unit, +unit) (4 KiB units). */
export interface Geo {
  base: number;
  unit: number;
  /** For the top table: each entry's address (the halves are sign-extended differently). */
  root?: number[];
  /** The parent link this was computed from. */
  parent: TablePage | undefined;
  parentIndex: number;
}

/** An rw-semaphore (kernel/locking/rwsem.c), as the explorer models it. */
export interface LockState {
  /** Thread holding it for write, or -1. */
  writer: number;
  /** Read holds per thread (a thread may hold it for read more than once). */
  readers: readonly number[];
  /** Waiters in arrival order. */
  queue: readonly { tid: number; write: boolean }[];
  key?: string;
}

/**
 * A walk frame: table `t` (ledger id), the next entry to load `i`, the last one `last`, the part
 * of the walk's range inside this table [lo, hi) and the table's geometry (4 KiB units).
 */
export interface Frame {
  t: number;
  i: number;
  last: number;
  lo: number;
  hi: number;
  base: number;
  unit: number;
  depth: Depth;
}

/** What a thread is in the middle of (statements that take more than one step). */
export type Micro =
  | { kind: 'walk'; frames: readonly Frame[] }
  | {
      kind: 'free';
      /** Phase, see steps.ts. */
      ph: number;
      /** Parent table (id) and index of the entry being freed (pudp / pmdp). */
      pt: number;
      pi: number;
      /** The child table (the PMD or PTE table) and, for pud_free_pmd_page, the PTE table being freed. */
      c: number;
      g: number;
      /** Index of the PMD entry pud_free_pmd_page is scanning. */
      i: number;
    }
  | { kind: 'rmw'; t: number; i: number; lo: number; hi: number; clobbered: boolean; by: number };

/** The last entry a thread loaded at a table depth: where `load` and `rmw` find lower tables. */
export interface Reg {
  t: number;
  i: number;
  lo: number;
  hi: number;
  /** The table the entry pointed to when loaded (its id), or -1. */
  c: number;
}

export interface ThreadState {
  pc: number;
  m: Micro | undefined;
  blocked: boolean;
  done: boolean;
  regs: readonly (Reg | undefined)[] | undefined;
  /** Cached hash key and future footprint. */
  key?: string;
  future?: Access[];
}

export interface State {
  /** MachineKeys id of the machine's content, once known (steps that only read keep it). */
  mem: number | undefined;
  /** Steps taken since the block began. */
  depth: number;
  locks: readonly LockState[];
  /** Bit per static key that is enabled. */
  keys: number;
  threads: readonly ThreadState[];
  key?: string;
}

/** The machine and names of one block; shared by every state. */
export class World {
  readonly locks: string[] = ['init_mm'];
  readonly keys: string[] = ['ptdump_lock'];
  readonly journal = new Journal();
  readonly memKeys: MachineKeys;
  readonly profile: ArchProfile;
  private readonly geos = new WeakMap<TablePage, Geo>();

  constructor(
    readonly machine: Machine,
    readonly ctx: ExecContext,
  ) {
    this.profile = machine.profile;
    this.memKeys = new MachineKeys(this.journal, machine, ctx);
  }

  lockIndex(name: string): number {
    let i = this.locks.indexOf(name);
    if (i < 0) i = this.locks.push(name) - 1;
    return i;
  }

  keyIndex(name: string): number {
    let i = this.keys.indexOf(name);
    if (i < 0) i = this.keys.push(name) - 1;
    return i;
  }

  /** The table with ledger id `id` on the current path (0 is swapper_pg_dir). */
  page(id: number): TablePage | undefined {
    if (id === 0) return this.machine.kernel.root;
    const t = this.machine.tables[id - 1];
    return t?.id === id ? t : this.machine.tables.find((x) => x.id === id);
  }

  /**
   * Where `table`'s entries sit: from its parent link, or from the link it had before a step of
   * this path unlinked it, or from `base` (the entry it was reached through) when given.
   */
  geo(table: TablePage, base?: number): Geo | undefined {
    const cached = this.geos.get(table);
    if (cached && (cached.parent === table.parent || !table.parent) && (cached.parentIndex === table.parentIndex || !table.parent)) return cached;
    const profile = this.profile;
    const unit = 2 ** ((profile.levels[table.depth]?.shift ?? 12) - 12);
    let geo: Geo | undefined;
    if (table === this.machine.kernel.root || table.allocator === 'static' || (table.depth === 0 && !table.parent)) {
      const root: number[] = [];
      for (let i = 0; i < table.ptrs; i++) root.push(Number(entryVa(profile, table, i) >> 12n));
      geo = { base: root[0] ?? 0, unit, root, parent: undefined, parentIndex: -1 };
    } else {
      let parent = table.parent;
      let index = table.parentIndex;
      if (!parent) {
        this.journal.forTables(0, this.journal.length, (t, fields) => {
          if (t === table && !parent && fields.parent) {
            parent = fields.parent;
            index = fields.parentIndex;
          }
        });
      }
      const pg = parent ? this.geo(parent) : undefined;
      if (parent && pg) geo = { base: entryUnits(pg, index), unit, parent, parentIndex: index };
      else if (base !== undefined) geo = { base, unit, parent: undefined, parentIndex: -1 };
    }
    if (geo) this.geos.set(table, geo);
    return geo;
  }

  /** First 4 KiB unit of entry `i` of `table`, or undefined when its place is not known. */
  entryUnits(table: TablePage, i: number): number | undefined {
    const g = this.geo(table);
    return g ? entryUnits(g, i) : undefined;
  }

  /** [lo, hi) of entry `i` of `table` in 4 KiB units (everything when its place is not known). */
  entryRange(table: TablePage, i: number): [number, number] {
    const g = this.geo(table);
    if (!g) return [0, TOP_UNITS];
    const lo = entryUnits(g, i);
    return [lo, lo + g.unit];
  }

  /** [lo, hi) of the whole table in 4 KiB units. */
  tableRange(table: TablePage): [number, number] {
    const g = this.geo(table);
    if (!g) return [0, TOP_UNITS];
    if (g.root) return [0, TOP_UNITS];
    return [g.base, g.base + g.unit * table.ptrs];
  }

  classify(table: TablePage, lo: number, hi: number): 'none' | 'table' | 'leaf' | 'nonpresent' {
    return this.profile.codec.classify(this.profile.entryDepth[table.depth] ?? table.depth, lo, hi, table.depth === 4);
  }

  /** The table a table entry of `table` at `i` points to. */
  child(table: TablePage, i: number, lo: number, hi: number): TablePage | undefined {
    const pa = this.profile.codec.address(lo, hi);
    const linked = table.children?.[i];
    if (linked && linked.pa === pa) return linked;
    // An entry whose link was not made through the ledger (an rmw that wrote a table entry):
    // the newest table page at that address.
    const tables = this.machine.tables;
    for (let k = tables.length - 1; k >= 0; k--) if (tables[k]?.pa === pa) return tables[k];
    return this.machine.kernel.root.pa === pa ? this.machine.kernel.root : undefined;
  }

  levelName(table: TablePage): string {
    return this.profile.levels[table.depth]?.name ?? '?';
  }

  /** "the PMD table at 0x80123000". */
  tableText(table: TablePage): string {
    const level = (this.profile.levels[table.depth]?.name ?? '?').toUpperCase();
    const name = table.name !== undefined && table.allocator !== 'static' ? ` \`${table.name}\`` : table.allocator === 'static' ? ' swapper_pg_dir' : '';
    return `the ${level} table${name} at 0x${table.pa.toString(16)}`;
  }
}

export function entryUnits(g: Geo, i: number): number {
  return g.root ? (g.root[i] ?? 0) : g.base + i * g.unit;
}

export function threadKey(ts: ThreadState): string {
  if (ts.key !== undefined) return ts.key;
  let key = ts.done ? 'D' : `${ts.pc}${ts.blocked ? 'b' : ''}`;
  const m = ts.m;
  if (m) {
    if (m.kind === 'walk') {
      key += ':w';
      for (const f of m.frames) key += `${f.t}.${f.i},`;
    } else if (m.kind === 'free') key += `:f${m.ph}.${m.pt}.${m.pi}.${m.c}.${m.g}.${m.i}`;
    else key += `:r${m.t}.${m.i}.${m.lo}.${m.hi}.${m.clobbered ? m.by : '-'}`;
  }
  if (ts.regs) {
    key += ':';
    for (const r of ts.regs) key += r ? `${r.t}.${r.i}.${r.lo}.${r.hi}.${r.c},` : ',';
  }
  ts.key = key;
  return key;
}

function lockKey(l: LockState): string {
  if (l.key !== undefined) return l.key;
  let key = `${l.writer}/${l.readers.join('.')}/`;
  for (const q of l.queue) key += `${q.tid}${q.write ? 'w' : 'r'}.`;
  l.key = key;
  return key;
}

/**
 * The key of a state: equal keys, equal states. The machine must be in state `s` when its
 * content id is not known yet (right after the step that reached it).
 */
export function stateKey(world: World, s: State): string {
  if (s.key !== undefined) return s.key;
  if (s.mem === undefined) s.mem = world.memKeys.current();
  let key = `${s.mem}|${s.keys}`;
  for (const l of s.locks) key += '|' + lockKey(l);
  for (const ts of s.threads) key += '|' + threadKey(ts);
  s.key = key;
  return key;
}

/** A step's source: the statement a thread is executing. */
export interface Located {
  span: Span;
}
