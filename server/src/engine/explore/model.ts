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
  /** Cached hash and future footprint. */
  h: number | undefined;
  future: Access[] | undefined;
}

/**
 * A thread state. States are made only here and by `withMicro`, with one field layout, so that
 * the hot paths stay monomorphic (object spread of varying shapes is slow).
 */
export function threadState(pc: number, m: Micro | undefined, blocked: boolean, done: boolean, regs: ThreadState['regs']): ThreadState {
  return { pc, m, blocked, done, regs, h: undefined, future: undefined };
}

export function withMicro(ts: ThreadState, m: Micro | undefined, blocked = ts.blocked): ThreadState {
  return threadState(ts.pc, m, blocked, ts.done, ts.regs);
}

export function frame(t: number, i: number, last: number, lo: number, hi: number, base: number, unit: number, depth: Depth): Frame {
  return { t, i, last, lo, hi, base, unit, depth };
}

type FreeFields = Omit<Extract<Micro, { kind: 'free' }>, 'kind'>;

/** A freeing helper's registers with some fields changed. */
export function freeMicro(m: FreeFields, changes: Partial<FreeFields>): Extract<Micro, { kind: 'free' }> {
  return {
    kind: 'free',
    ph: changes.ph ?? m.ph,
    pt: changes.pt ?? m.pt,
    pi: changes.pi ?? m.pi,
    c: changes.c ?? m.c,
    g: changes.g ?? m.g,
    i: changes.i ?? m.i,
  };
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
      // Unlinked on this path: where it was linked, from the first of its saved fields that has it.
      const journal = this.journal;
      for (let n = 0; !parent && n < journal.savedCount; n++) {
        if (journal.savedTable(n) !== table) continue;
        const fields = journal.savedFields(n);
        parent = fields.parent;
        index = fields.parentIndex;
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

function sameMicro(a: Micro | undefined, b: Micro | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.kind !== b.kind) return false;
  if (a.kind === 'walk') {
    const fa = a.frames;
    const fb = (b as typeof a).frames;
    if (fa.length !== fb.length) return false;
    for (let k = 0; k < fa.length; k++) {
      const x = fa[k] as Frame;
      const y = fb[k] as Frame;
      if (x.t !== y.t || x.i !== y.i) return false;
    }
    return true;
  }
  if (a.kind === 'free') {
    const y = b as typeof a;
    return a.ph === y.ph && a.pt === y.pt && a.pi === y.pi && a.c === y.c && a.g === y.g && a.i === y.i;
  }
  const y = b as typeof a;
  return a.t === y.t && a.i === y.i && a.lo === y.lo && a.hi === y.hi && a.clobbered === y.clobbered && (!a.clobbered || a.by === y.by);
}

function sameRegs(a: ThreadState['regs'], b: ThreadState['regs']): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) {
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (!x || !y || x.t !== y.t || x.i !== y.i || x.lo !== y.lo || x.hi !== y.hi || x.c !== y.c) return false;
  }
  return true;
}

/** Whether two thread states are the same (a walk frame is named by its table and position). */
export function sameThread(a: ThreadState, b: ThreadState): boolean {
  if (a === b) return true;
  if (a.done !== b.done) return false;
  if (a.done) return sameRegs(a.regs, b.regs);
  return a.pc === b.pc && a.blocked === b.blocked && sameMicro(a.m, b.m) && sameRegs(a.regs, b.regs);
}

function sameLock(a: LockState, b: LockState): boolean {
  if (a === b) return true;
  if (a.writer !== b.writer || a.readers.length !== b.readers.length || a.queue.length !== b.queue.length) return false;
  for (let k = 0; k < a.readers.length; k++) if (a.readers[k] !== b.readers[k]) return false;
  for (let k = 0; k < a.queue.length; k++) {
    const x = a.queue[k] as LockState['queue'][number];
    const y = b.queue[k] as LockState['queue'][number];
    if (x.tid !== y.tid || x.write !== y.write) return false;
  }
  return true;
}

/** Whether two lists of locks are in the same state. */
export function sameLocks(a: readonly LockState[], b: readonly LockState[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (!sameLock(a[k] as LockState, b[k] as LockState)) return false;
  return true;
}

/** Whether two states are the same: the same machine content and the same explorer state. */
export function sameState(a: State, b: State): boolean {
  if (a.mem !== b.mem || a.keys !== b.keys || a.threads.length !== b.threads.length || !sameLocks(a.locks, b.locks)) return false;
  for (let k = 0; k < a.threads.length; k++) if (!sameThread(a.threads[k] as ThreadState, b.threads[k] as ThreadState)) return false;
  return true;
}

function mix(h: number, x: number): number {
  h = Math.imul(h ^ x, 0x9e3779b1);
  return (h ^ (h >>> 15)) | 0;
}

/** A 32-bit hash of a thread state: equal states, equal hashes. */
export function threadHash(ts: ThreadState): number {
  if (ts.h !== undefined) return ts.h;
  let h = ts.done ? -1 : mix(ts.pc, ts.blocked ? 1 : 2);
  const m = ts.m;
  if (m && !ts.done) {
    if (m.kind === 'walk') for (const f of m.frames) h = mix(mix(h, f.t), f.i);
    else if (m.kind === 'free') h = mix(mix(mix(mix(mix(mix(h, 3), m.ph), m.pt), m.pi), m.c * 31 + m.g), m.i);
    else h = mix(mix(mix(mix(mix(h, 4), m.t), m.i), m.lo), m.hi ^ (m.clobbered ? m.by + 1 : 0));
  }
  if (ts.regs) for (const r of ts.regs) h = r ? mix(mix(mix(mix(h, r.t), r.i), r.lo ^ r.c), r.hi) : mix(h, 5);
  ts.h = h;
  return h;
}

function lockHash(h: number, l: LockState): number {
  h = mix(h, l.writer);
  for (const r of l.readers) h = mix(h, r);
  h = mix(h, -2);
  for (const q of l.queue) h = mix(h, q.tid * 2 + (q.write ? 1 : 0));
  return h;
}

/** The explorer part of a state's hash. */
function explorerHash(h: number, s: State): number {
  h = mix(h, s.keys);
  for (const l of s.locks) h = lockHash(h, l);
  for (const ts of s.threads) h = mix(h, threadHash(ts));
  return h;
}

/**
 * A cheap 32-bit hash of a state (the machine in state `s`), to rule out most lookups of states
 * that were never stored without computing their machine id. Equal states, equal hashes.
 */
export function quickHash(world: World, s: State): number {
  return explorerHash(world.journal.h1, s);
}

/** The machine id of `s`; the machine must be in state `s` when it is not known yet. */
export function memOf(world: World, s: State): number {
  if (s.mem === undefined) s.mem = world.memKeys.current();
  return s.mem;
}

/**
 * States with a value each, compared exactly (`sameState`) under a 32-bit hash. The machine must
 * be in the state looked up when its machine id is not known yet.
 */
export class StateMap<V> {
  private readonly buckets = new Map<number, { s: State; v: V }[]>();
  size = 0;

  constructor(private readonly world: World) {}

  private bucket(s: State): { s: State; v: V }[] | undefined {
    return this.buckets.get(explorerHash(memOf(this.world, s), s));
  }

  get(s: State): V | undefined {
    const bucket = this.bucket(s);
    if (bucket) for (const e of bucket) if (sameState(e.s, s)) return e.v;
    return undefined;
  }

  set(s: State, v: V): void {
    const h = explorerHash(memOf(this.world, s), s);
    let bucket = this.buckets.get(h);
    if (!bucket) this.buckets.set(h, (bucket = []));
    for (const e of bucket) {
      if (sameState(e.s, s)) {
        e.v = v;
        return;
      }
    }
    bucket.push({ s, v });
    this.size++;
  }
}

/** A stable text of a state, for tests that compare final states across searches. */
export function stateText(world: World, s: State): string {
  const frames = (m: Micro | undefined): string =>
    !m ? '' : m.kind === 'walk' ? m.frames.map((f) => `${f.t}.${f.i}`).join(',') : m.kind === 'free' ? `f${m.ph}.${m.pt}.${m.pi}.${m.c}.${m.g}.${m.i}` : `r${m.t}.${m.i}.${m.lo}.${m.hi}.${m.clobbered ? m.by : '-'}`;
  const regs = (r: ThreadState['regs']): string => (r ?? []).map((x) => (x ? `${x.t}.${x.i}.${x.lo}.${x.hi}.${x.c}` : '')).join(',');
  const threads = s.threads.map((ts) => (ts.done ? `D:${regs(ts.regs)}` : `${ts.pc}${ts.blocked ? 'b' : ''}:${frames(ts.m)}:${regs(ts.regs)}`));
  const locks = s.locks.map((l) => `${l.writer}/${l.readers.join('.')}/${l.queue.map((q) => `${q.tid}${q.write ? 'w' : 'r'}`).join('.')}`);
  return `${memOf(world, s)}|${s.keys}|${locks.join('|')}|${threads.join('|')}`;
}

/** A step's source: the statement a thread is executing. */
export interface Located {
  span: Span;
}
