// The explorer's state model: the kernel tables a `concurrent` block can reach, and one small
// immutable state per point of a schedule.
//
// Table contents at the start of the block are shared by every state (they are the machine's
// own arrays, read only); a state holds only the entries written since, the tables freed since,
// the locks, the static keys and each thread's registers. States are compared by a string key,
// built once per state.

import type { ArchProfile, Depth } from '../arch/profile';
import { entryVa } from '../model/entry-va';
import type { Machine } from '../model/machine';
import type { TablePage } from '../model/table';
import type { Span } from '../program';
import type { Access } from './footprint';

/** One kernel table page as the explorer sees it. */
export interface XTable {
  /** Index in `World.tables`; 0 is swapper_pg_dir. */
  x: number;
  page: TablePage;
  /** Real depth of the table (0 = PGD … 4 = PTE). */
  depth: Depth;
  /** The deepest level its entries alias (entryDepth). */
  entryDepth: Depth;
  ptrs: number;
  shift: bigint;
  mask: bigint;
  /** Entries at the start of the block (lo/hi pairs). */
  init: Uint32Array;
  /** Virtual address of each entry, for the top table (sign extension differs per half). */
  rootVa?: bigint[];
  base: bigint;
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

/** A walk frame: the table being walked and the part of the range left in it. */
export interface Frame {
  t: number;
  a: bigint;
  e: bigint;
}

/** What a thread is in the middle of (statements that take more than one step). */
export type Micro =
  | { kind: 'walk'; frames: readonly Frame[] }
  | {
      kind: 'free';
      /** Phase, see steps.ts. */
      ph: number;
      /** Parent table and index of the entry being freed (pudp / pmdp). */
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
  /** Entries written since the block began, by slot key (table index * 16384 + entry index). */
  mem: ReadonlyMap<number, readonly [number, number]>;
  /** Table indices freed since the block began, ascending. */
  freed: readonly number[];
  locks: readonly LockState[];
  /** Bit per static key that is enabled. */
  keys: number;
  threads: readonly ThreadState[];
  key?: string;
}

export const SLOTS = 16384;

/** The tables and names of one block; shared by every state. */
export class World {
  readonly tables: XTable[] = [];
  readonly byPa = new Map<number, number>();
  readonly byPage = new Map<TablePage, number>();
  readonly locks: string[] = ['init_mm'];
  readonly keys: string[] = ['ptdump_lock'];

  constructor(
    readonly machine: Machine,
    readonly profile: ArchProfile,
  ) {
    this.add(machine.kernel.root);
  }

  private add(page: TablePage): number {
    const profile = this.profile;
    const geometry = profile.levels[page.depth];
    const x = this.tables.length;
    const table: XTable = {
      x,
      page,
      depth: page.depth,
      entryDepth: profile.entryDepth[page.depth] ?? page.depth,
      ptrs: page.ptrs,
      shift: BigInt(geometry?.shift ?? 0),
      mask: BigInt(page.ptrs - 1),
      init: page.e,
      base: entryVa(profile, page, 0),
    };
    if (!page.parent) {
      table.rootVa = [];
      for (let i = 0; i < page.ptrs; i++) table.rootVa.push(entryVa(profile, page, i));
    }
    this.tables.push(table);
    this.byPa.set(page.pa, x);
    this.byPage.set(page, x);
    page.children?.forEach((child) => {
      if (child && !child.freed) this.add(child);
    });
    return x;
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

  /** First virtual address of entry `i` of table `t`. */
  vaOf(t: number, i: number): bigint {
    const table = this.tables[t] as XTable;
    return table.rootVa ? (table.rootVa[i] ?? 0n) : table.base + (BigInt(i) << table.shift);
  }

  indexOf(t: number, va: bigint): number {
    const table = this.tables[t] as XTable;
    return Number((va >> table.shift) & table.mask);
  }

  entrySize(t: number): bigint {
    return 1n << (this.tables[t] as XTable).shift;
  }

  /** The entry of table `t` at `i` in state `s`. */
  entry(s: State, t: number, i: number): readonly [number, number] {
    const written = s.mem.get(t * SLOTS + i);
    if (written) return written;
    const init = (this.tables[t] as XTable).init;
    return [init[2 * i] ?? 0, init[2 * i + 1] ?? 0];
  }

  classify(t: number, lo: number, hi: number): 'none' | 'table' | 'leaf' | 'nonpresent' {
    const table = this.tables[t] as XTable;
    return this.profile.codec.classify(table.entryDepth, lo, hi, table.depth === 4);
  }

  /** The table a table entry points to, if the explorer knows it. */
  child(lo: number, hi: number): number | undefined {
    return this.byPa.get(this.profile.codec.address(lo, hi));
  }

  levelName(t: number): string {
    return this.profile.levels[(this.tables[t] as XTable).depth]?.name ?? "?";
  }

  /** "the PMD table at 0x80123000". */
  tableText(t: number): string {
    const table = this.tables[t] as XTable;
    const level = (this.profile.levels[table.depth]?.name ?? '?').toUpperCase();
    const name = table.page.name !== undefined ? ` \`${table.page.name}\`` : table.page.allocator === 'static' ? ' swapper_pg_dir' : '';
    return `the ${level} table${name} at 0x${table.page.pa.toString(16)}`;
  }
}

export function isFreed(s: State, t: number): boolean {
  return s.freed.includes(t);
}

export function threadKey(ts: ThreadState): string {
  if (ts.key !== undefined) return ts.key;
  let key = ts.done ? 'D' : `${ts.pc}${ts.blocked ? 'b' : ''}`;
  const m = ts.m;
  if (m) {
    if (m.kind === 'walk') key += ':w' + m.frames.map((f) => `${f.t}.${f.a.toString(36)}`).join(',');
    else if (m.kind === 'free') key += `:f${m.ph}.${m.pt}.${m.pi}.${m.c}.${m.g}.${m.i}`;
    else key += `:r${m.t}.${m.i}.${m.lo}.${m.hi}.${m.clobbered ? m.by : '-'}`;
  }
  if (ts.regs) key += ':' + ts.regs.map((r) => (r ? `${r.t}.${r.i}.${r.lo}.${r.hi}` : '')).join(',');
  ts.key = key;
  return key;
}

export function stateKey(s: State): string {
  if (s.key !== undefined) return s.key;
  const parts: string[] = [];
  for (const ts of s.threads) parts.push(threadKey(ts));
  parts.push('#');
  if (s.mem.size > 0) {
    const slots = [...s.mem.keys()].sort((a, b) => a - b);
    for (const slot of slots) {
      const v = s.mem.get(slot) as readonly [number, number];
      parts.push(`${slot}=${v[0]}.${v[1]}`);
    }
  }
  parts.push('#' + s.freed.join(','));
  for (const l of s.locks) parts.push(`${l.writer}/${l.readers.join('.')}/${l.queue.map((q) => `${q.tid}${q.write ? 'w' : 'r'}`).join('.')}`);
  parts.push(String(s.keys));
  s.key = parts.join('|');
  return s.key;
}

/** A step's source: the statement a thread is executing. */
export interface Located {
  span: Span;
}
