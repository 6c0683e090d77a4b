// Table pages: the entries of one page-table page, with their life in the ledger and their
// versions over the run.
//
// Entries are kept as 32-bit halves in one Uint32Array (lo at 2i, hi at 2i+1) so hot loops never
// allocate. Upper-level tables also keep direct references to their child tables, which always
// agree with the address in the entry. When history is on, the first write to a table in a
// statement copies its arrays (copy-on-write), so the state after any earlier statement stays
// readable without re-running.

import type { Span } from '../program';
import type { Depth } from '../arch/profile';

export type LedgerEventKind = 'alloc' | 'ctor' | 'link' | 'unlink' | 'dtor' | 'free';

export interface LedgerEvent {
  kind: LedgerEventKind;
  /** The statement that caused it. */
  span: Span;
  /** Its step index. */
  step: number;
  /** Extra detail, e.g. "pmd_populate at 0xffff000000200000". */
  detail?: string;
}

/**
 * Receives every change the race explorer must be able to take back when it backtracks
 * (explore/undo.ts). Installed on each table and on the machine only while a `concurrent` block
 * is explored.
 */
export interface UndoLog {
  /** After `table.set(i, …)` replaced (oldLo, oldHi). */
  entry(table: TablePage, i: number, oldLo: number, oldHi: number): void;
  /** Before the table's ledger fields change (state, events, its own parent link). */
  table(table: TablePage): void;
  /** Any other change, with the function that takes it back. */
  push(revert: () => void): void;
}

/** The fields of a table `TablePage.capture` saves, with the function that restores them. */
export interface TableFields {
  freed: boolean;
  constructed: boolean;
  destructed: boolean;
  parent: TablePage | undefined;
  parentIndex: number;
  name: string | undefined;
  restore(): void;
}

/** One earlier content of a table, valid from `from` until the next version's `from`. */
interface Version {
  from: number;
  e: Uint32Array;
  children: (TablePage | undefined)[] | undefined;
  used: number;
}

export class TablePage {
  /** Contents: lo/hi pairs. */
  e: Uint32Array;
  /** Child tables of an upper-level table, by index. */
  children: (TablePage | undefined)[] | undefined;
  /** Entries that are not zero. */
  used = 0;
  /** Step from which the current arrays hold (copy-on-write generation); -1 = before the run. */
  from: number;
  /** The step that last wrote this table, so `Machine.touch` runs once per table per step. */
  touchedStep = -2;
  private past: Version[] = [];

  // Ledger state (model/ledger.ts keeps these consistent).
  readonly events: LedgerEvent[] = [];
  constructed = false;
  destructed = false;
  freed = false;
  /** Statement that freed it, for use-after-free reports. */
  freedAt?: Span;
  /** The parent table and index this page is linked into, if linked. */
  parent: TablePage | undefined;
  parentIndex = -1;
  /** Allocated by a low-level statement under this name, if any. */
  name?: string;
  /** Set while the race explorer records changes for backtracking. */
  undo: UndoLog | undefined = undefined;

  constructor(
    /** Ledger id, unique in the run. */
    readonly id: number,
    /** The real level of this table (0 = PGD … 4 = PTE). */
    readonly depth: Depth,
    /** Entries in the table. */
    readonly ptrs: number,
    /** Physical address of the page. */
    readonly pa: number,
    /** The address space it belongs to: 'kernel' or a process name. */
    readonly space: string,
    /** Bytes of memory the table occupies (PGDs may be partial or two pages). */
    readonly bytes: number,
    /** Allocated from the page allocator (ctor/dtor apply) or from a slab cache. */
    readonly allocator: 'page' | 'kmem_cache' | 'kmalloc' | 'static',
    step: number,
    lastLevel: boolean,
  ) {
    this.e = new Uint32Array(ptrs * 2);
    this.children = lastLevel ? undefined : new Array<TablePage | undefined>(ptrs);
    this.from = step;
  }

  lo(i: number): number {
    return this.e[2 * i] ?? 0;
  }

  hi(i: number): number {
    return this.e[2 * i + 1] ?? 0;
  }

  value(i: number): bigint {
    return (BigInt(this.hi(i)) << 32n) | BigInt(this.lo(i));
  }

  isNone(i: number): boolean {
    return this.e[2 * i] === 0 && this.e[2 * i + 1] === 0;
  }

  /**
   * Writes an entry. The caller must have made the table writable for this step
   * (`Machine.touch`); this only keeps the used count.
   */
  set(i: number, lo: number, hi: number): void {
    const oldLo = this.e[2 * i] ?? 0;
    const oldHi = this.e[2 * i + 1] ?? 0;
    this.revertEntry(i, lo, hi);
    if (this.undo !== undefined) this.undo.entry(this, i, oldLo, oldHi);
  }

  /** Writes an entry without telling the undo log (the log's own rollback). */
  revertEntry(i: number, lo: number, hi: number): void {
    const wasNone = this.e[2 * i] === 0 && this.e[2 * i + 1] === 0;
    const isNone = lo === 0 && hi === 0;
    this.e[2 * i] = lo;
    this.e[2 * i + 1] = hi;
    if (wasNone !== isNone) this.used += isNone ? -1 : 1;
  }

  /**
   * Saves the ledger fields a statement may change (entry values and child links are recorded
   * change by change; the history arrays only ever gain a copy of the content before the step).
   */
  capture(): TableFields {
    const { constructed, destructed, freed, freedAt, parent, parentIndex, name } = this;
    const events = this.events.length;
    return {
      freed,
      constructed,
      destructed,
      parent,
      parentIndex,
      name,
      restore: () => {
        // Plain assignments (no `delete`), so the object keeps its shape and its fast properties.
        this.constructed = constructed;
        this.destructed = destructed;
        this.freed = freed;
        this.freedAt = freedAt;
        this.parent = parent;
        this.parentIndex = parentIndex;
        this.name = name;
        if (this.events.length !== events) this.events.length = events;
      },
    };
  }

  /** Copies the arrays so that earlier steps keep the old content. */
  copyOnWrite(step: number): void {
    if (this.from >= step) return;
    this.past.push({ from: this.from, e: this.e, children: this.children, used: this.used });
    this.e = this.e.slice();
    this.children = this.children?.slice();
    this.from = step;
  }

  /** The entries as they were after step `step`, or undefined before the table existed. */
  contentAt(step: number): { e: Uint32Array; children: (TablePage | undefined)[] | undefined; used: number } | undefined {
    if (step >= this.from) return this;
    let lo = 0;
    let hi = this.past.length - 1;
    let found: Version | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.past[mid];
      if (v && v.from <= step) {
        found = v;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** The step at which this table was allocated. */
  get allocStep(): number {
    return this.events[0]?.step ?? 0;
  }

  /** The step at which it was freed, or Infinity while live. */
  get freeStep(): number {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const ev = this.events[i];
      if (ev?.kind === 'free') return ev.step;
    }
    return Infinity;
  }
}
