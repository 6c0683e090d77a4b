// Table pages: the entries of one page-table page, with their life in the ledger and their
// versions over the run.
//
// Entries are kept as 32-bit halves in one Uint32Array (lo at 2i, hi at 2i+1) so hot loops never
// allocate. Upper-level tables also keep direct references to their child tables, which always
// agree with the address in the entry. When history is on, each step logs the old value of every
// entry and child link it changes (or, once it has rewritten an eighth of the table, one copy of
// the table as it was before the step), so the state after any earlier statement can be rebuilt
// without re-running, at a cost proportional to what changed.

import type { Span } from '../program';
import type { Depth } from '../arch/profile';
import { truncate } from '../list';
import { join64 } from '../u64';

export type LedgerEventKind = 'alloc' | 'ctor' | 'link' | 'unlink' | 'dtor' | 'free';

export interface LedgerEvent {
  kind: LedgerEventKind;
  /** The statement that caused it. */
  span: Span;
  /** Its step index. */
  step: number;
  /** Extra detail given as text (a ctor's ptlock note). */
  detail?: string;
  /**
   * For `link`: the table linked into and the entry. Kept as facts, not text: a run links
   * thousands of tables, and only the inspector's ledger view reads the sentence
   * (Machine.eventDetail makes it).
   */
  parent?: TablePage;
  index?: number;
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

/**
 * What the steps that changed a table after its birth changed in it, so the table can be read
 * as it was before any of them: one log for the whole run, not an object and two arrays per
 * step. A statement that writes one PTE (a small madvise) made about 350 bytes of records and
 * garbage that way, a quarter of everything it allocated, and the young-generation collections
 * of a long scenario copy what it keeps.
 *
 * Step k's record is RECORD numbers from `records[RECORD * k]`: the step, where its old entries
 * start in `entries`, where its old links start in `links`, and the index of its copy in
 * `befores` (or -1). A record's part of a log ends where the next record's starts, the newest
 * one's at the end of the log, so a step's log needs no closing. Replaying a step's part newest
 * first restores the content before the step, even when the race explorer wrote and reverted
 * the same entries many times within it.
 */
class TableHistory {
  readonly records: number[] = [];
  /** Old entry values as [index, lo, hi] triples, in write order (`set` logs only a step's first write of an index). */
  readonly entries: number[] = [];
  /** Old child links as [index, child] pairs, in change order. */
  readonly links: (number | TablePage | undefined)[] = [];
  /** The whole content before a step that rewrote enough of the table to make a copy cheaper. */
  readonly befores: { e: Uint32Array; children: (TablePage | undefined)[] | undefined }[] = [];

  get count(): number {
    return this.records.length / RECORD;
  }

  step(k: number): number {
    return this.records[RECORD * k] as number;
  }

  entriesFrom(k: number): number {
    return this.records[RECORD * k + 1] as number;
  }

  entriesTo(k: number): number {
    return k + 1 < this.count ? this.entriesFrom(k + 1) : this.entries.length;
  }

  linksFrom(k: number): number {
    return this.records[RECORD * k + 2] as number;
  }

  linksTo(k: number): number {
    return k + 1 < this.count ? this.linksFrom(k + 1) : this.links.length;
  }

  before(k: number): { e: Uint32Array; children: (TablePage | undefined)[] | undefined } | undefined {
    const b = this.records[RECORD * k + 3] as number;
    return b < 0 ? undefined : this.befores[b];
  }
}

/** Numbers per step in TableHistory.records. */
const RECORD = 4;

/** The entries a step changed, as TablePage.changesIn gives them: [index, old lo, old hi] triples in `log` from `from` to `to`. */
export interface EntryChanges {
  log: readonly number[];
  from: number;
  to: number;
}

/** A table's entries as they were after some step. */
export interface TableContent {
  e: Uint32Array;
  children: (TablePage | undefined)[] | undefined;
  used: number;
}

const POW32 = 2 ** 32;

/** Leaf runs and single writes a fresh table remembers; one written in more pieces is checked entry by entry. */
const MAX_FRESH_RUNS = 8;
const MAX_FRESH_WRITES = 16;

/**
 * Where a run's entry arrays come from: 1 MiB slabs cut into tables. An ArrayBuffer per table
 * made table allocation a third of a big map statement, and V8 counts every buffer as external
 * memory and collects garbage after every few hundred of them.
 *
 * Each run (Machine) has its own arena, and every table cut from it holds it. Its slabs go to a
 * small pool for the next runs, zeroed when taken, either when its owner says nothing reads the
 * run any more (`release`: the language server, when it drops a run) or else once the arena is
 * collected (FinalizationRegistry). A language server that reruns a scenario on every edit then
 * reuses the same memory instead of handing V8 megabytes of fresh array buffers per run: V8
 * runs a young-generation collection whenever fresh buffers pass 32 MiB ("external memory
 * pressure"), and a collected arena comes back only after a full collection.
 */
export class EntryArena {
  private readonly slabs: ArrayBuffer[] = [];
  private slab: ArrayBuffer | undefined;
  private used = 0;
  private released = false;

  constructor() {
    collectedArenas.register(this, this.slabs, this);
  }

  /** A zeroed array of `length` words, never shared with another table. */
  entries(length: number): Uint32Array {
    if (this.released) throw new Error('EntryArena.entries: the arena was released');
    const bytes = length * 4;
    if (bytes > SLAB_BYTES / 8) return new Uint32Array(length);
    if (this.slab === undefined || this.used + bytes > SLAB_BYTES) {
      this.slab = takeSlab();
      this.slabs.push(this.slab);
      this.used = 0;
    }
    const e = new Uint32Array(this.slab, this.used, length);
    this.used += bytes;
    return e;
  }

  /**
   * Gives the slabs to the pool now instead of at collection. Every table cut from the arena
   * then shares its entries with the next run's tables: only for a run nothing reads any more.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    collectedArenas.unregister(this);
    poolSlabs(this.slabs);
    this.slabs.length = 0;
    this.slab = undefined;
  }
}

const SLAB_BYTES = 1 << 20;
/** Slabs kept for later runs: enough for a run of a few thousand tables, at most 32 MiB idle. */
const MAX_POOLED_SLABS = 32;
const pooledSlabs: ArrayBuffer[] = [];

function poolSlabs(slabs: readonly ArrayBuffer[]): void {
  for (const slab of slabs) {
    if (pooledSlabs.length >= MAX_POOLED_SLABS) break;
    pooledSlabs.push(slab);
  }
}

const collectedArenas = new FinalizationRegistry<ArrayBuffer[]>(poolSlabs);

function takeSlab(): ArrayBuffer {
  const slab = pooledSlabs.pop();
  if (slab === undefined) return new ArrayBuffer(SLAB_BYTES);
  new Uint32Array(slab).fill(0);
  return slab;
}

/** Slabs waiting in the pool (tests). */
export function pooledSlabCount(): number {
  return pooledSlabs.length;
}

/** The entries of a dismantled table: none. */
const NO_ENTRIES = new Uint32Array(0);

export class TablePage {
  /** Contents: lo/hi pairs. */
  e: Uint32Array;
  /** Child tables of an upper-level table, by index. */
  children: (TablePage | undefined)[] | undefined;
  /** Entries that are not zero. */
  used = 0;
  /** The step that allocated the table; -1 = before the run (swapper_pg_dir). */
  readonly bornStep: number;
  /** The step that last wrote this table, so `Machine.touch` runs once per table per step. */
  touchedStep = -2;
  /**
   * How the step that allocated the table wrote it, while that is a few pieces: the templates
   * (lo, hi pairs) of its leaf runs (`setLeafRun`), and the indices it wrote one at a time
   * (`set`). Undefined once there are more, or after that step. A check of what the allocating
   * step left in a fresh table can then test a few templates and entries instead of every entry
   * (kernel/wx.ts).
   */
  freshRuns: number[] | undefined = [];
  freshWrites: number[] | undefined = undefined;
  /** What the steps after the table's birth changed (history on), made by the first of them. */
  private history: TableHistory | undefined;
  /**
   * Whether this step's writes go to the history log: history is on, the table predates the
   * step, and the step has not yet taken a copy of the whole content instead.
   */
  private logging = false;

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
    /** The run's arena the entries are cut from; held so the arena outlives every table of it. */
    private readonly arena: EntryArena,
  ) {
    this.e = arena.entries(ptrs * 2);
    this.children = lastLevel ? undefined : new Array<TablePage | undefined>(ptrs);
    this.bornStep = step;
  }

  /**
   * Lets go of everything the table points to, for a run nobody reads any more (Machine.dismantle):
   * its entries (their slab goes back to the pool with the arena), its children and parent, its
   * history and ledger events. It then reads as empty.
   */
  dismantle(): void {
    this.e = NO_ENTRIES;
    this.children = undefined;
    this.parent = undefined;
    this.history = undefined;
    this.logging = false;
    this.events.length = 0;
    this.freshRuns = undefined;
    this.freshWrites = undefined;
  }

  lo(i: number): number {
    return this.e[2 * i] ?? 0;
  }

  hi(i: number): number {
    return this.e[2 * i + 1] ?? 0;
  }

  value(i: number): bigint {
    return join64(this.lo(i), this.hi(i));
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
    if (this.logging) this.logEntry(i, oldLo, oldHi);
    this.revertEntry(i, lo, hi);
    if (this.undo !== undefined) this.undo.entry(this, i, oldLo, oldHi);
  }

  /**
   * Writes `count` entries from index `first`, entry k being the template (tlo, thi) with the
   * address field `field + k * fieldStep` ORed in (DescriptorCodec.addressField): the leaves
   * of a run of consecutive pages, as a map or a split writes them. Same contract as `set`; one
   * loop here instead of a call per entry keeps the values unboxed (a quarter of mapping 1 GiB
   * in 4K pages was `set` calls).
   */
  setLeafRun(first: number, count: number, field: number, fieldStep: number, tlo: number, thi: number): void {
    if (this.logging && this.loggedThisStep() + 3 * count > (this.ptrs * 3) >> 3) this.copyBefore();
    const undo = this.undo;
    const e = this.e;
    const runs = this.freshRuns;
    if (runs !== undefined) {
      // The first run makes a list of exactly its two words: a push onto an empty array would
      // reserve room for sixteen, kept for the life of the table, and most tables get one run.
      if (runs.length === 0) this.freshRuns = [tlo, thi];
      else if (runs.length < 2 * MAX_FRESH_RUNS) runs.push(tlo, thi);
      else this.forgetFresh();
    }
    // The entries before the run, for whoever keeps them: the step's history log (only while
    // the step has no copy of the table yet), and the race explorer's journal, which is told of
    // each write once it is made (UndoLog.entry reads the new value). Most runs have neither (a
    // table the step made, such as a split's, or no exploration), and the write loop below then
    // carries no branch for them: a third faster per entry.
    if (this.logging) {
      const entries = (this.history as TableHistory).entries;
      for (let i = first; i < first + count; i++) entries.push(i, e[2 * i] as number, e[2 * i + 1] as number);
    }
    const before = undo !== undefined ? e.slice(2 * first, 2 * (first + count)) : undefined;
    // The address field as two 32-bit words, stepped with a carry. int32 arithmetic stays
    // unboxed, where V8 boxes a double carried from one iteration to the next (a 16-byte
    // allocation per entry, 14 MB of garbage per run of sample 34), and a division per entry
    // would cost as much as the rest of the loop. Bitwise ORs work on int32: the Uint32Array
    // stores them modulo 2^32, as uint32.
    let fieldLo = field | 0;
    let fieldHi = Math.floor(field / POW32) | 0;
    const stepLo = fieldStep | 0;
    const stepHi = Math.floor(fieldStep / POW32) | 0;
    let used = this.used;
    const end = 2 * (first + count);
    for (let j = 2 * first; j < end; j += 2) {
      const lo = fieldLo | tlo;
      const hi = fieldHi | thi;
      const nextLo = (fieldLo + stepLo) | 0;
      fieldHi = (fieldHi + stepHi + ((nextLo >>> 0) < (fieldLo >>> 0) ? 1 : 0)) | 0;
      fieldLo = nextLo;
      used += ((e[j] as number) | (e[j + 1] as number)) === 0 ? 1 : 0;
      used -= (lo | hi) === 0 ? 1 : 0;
      e[j] = lo;
      e[j + 1] = hi;
    }
    this.used = used;
    if (undo !== undefined && before !== undefined) {
      for (let k = 0; k < count; k++) undo.entry(this, first + k, before[2 * k] as number, before[2 * k + 1] as number);
    }
  }

  /** Changes a child link, logging the old one for history. */
  setChild(i: number, child: TablePage | undefined): void {
    const children = this.children;
    if (!children) return;
    if (this.logging) (this.history as TableHistory).links.push(i, children[i]);
    children[i] = child;
  }

  private noteFreshWrite(i: number): void {
    const writes = (this.freshWrites ??= []);
    if (writes.length < MAX_FRESH_WRITES) writes.push(i);
    else this.forgetFresh();
  }

  /** Drops what freshRuns and freshWrites say (the allocating step is over, or they say too little). */
  forgetFresh(): void {
    this.freshRuns = undefined;
    this.freshWrites = undefined;
  }

  /** Writes an entry without telling the undo log (the log's own rollback). */
  revertEntry(i: number, lo: number, hi: number): void {
    if (this.freshRuns !== undefined) this.noteFreshWrite(i);
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
        truncate(this.events, events);
      },
    };
  }

  /**
   * Starts logging this step's changes (history on). A table allocated in this step needs no
   * record: before the step it did not exist.
   */
  beginStep(step: number): void {
    if (step <= this.bornStep) {
      this.logging = false;
      return;
    }
    const history = (this.history ??= new TableHistory());
    history.records.push(step, history.entries.length, history.links.length, -1);
    this.logging = true;
  }

  /**
   * The step is about to write up to `count` entries of the table one by one (a zap of a PTE
   * table): past the log's limit, the copy of the content before the step is taken now instead
   * of after logging an eighth of the table into a log that grows as it goes.
   */
  prepareWrites(count: number): void {
    if (this.logging && this.loggedThisStep() + 3 * count > (this.ptrs * 3) >> 3) this.copyBefore();
  }

  /** Numbers the current step has logged in `entries`. */
  private loggedThisStep(): number {
    const history = this.history as TableHistory;
    return history.entries.length - history.entriesFrom(history.count - 1);
  }

  /**
   * Logs entry `i`'s value before this step, unless the step logged it already: undo needs only
   * the oldest value, and a step often writes one entry twice (a guard install zaps a PTE and
   * then writes its marker; the race explorer writes and reverts the same entries). Past an
   * eighth of the table, one copy of the content before the step is cheaper.
   */
  private logEntry(i: number, lo: number, hi: number): void {
    const history = this.history as TableHistory;
    const entries = history.entries;
    const from = history.entriesFrom(history.count - 1);
    for (let k = from; k < entries.length; k += 3) if (entries[k] === i) return;
    entries.push(i, lo, hi);
    if (entries.length - from > (this.ptrs * 3) >> 3) this.copyBefore();
  }

  /** Turns the current step's log into one copy of the content before the step. */
  private copyBefore(): void {
    const history = this.history as TableHistory;
    const k = history.count - 1;
    const e = this.e.slice();
    const children = this.children?.slice();
    undoInto(history, k, e, children);
    history.records[RECORD * k + 3] = history.befores.length;
    history.befores.push({ e, children });
    truncate(history.entries, history.entriesFrom(k));
    truncate(history.links, history.linksFrom(k));
    this.logging = false;
  }

  /**
   * The entries as they were after step `step`, or undefined before the table existed. The
   * current arrays themselves when nothing changed since; otherwise a copy rebuilt by taking back
   * the changes of later steps, newest first.
   */
  contentAt(step: number): TableContent | undefined {
    if (step < this.bornStep) return undefined;
    const history = this.history;
    if (history === undefined || history.step(history.count - 1) <= step) return this;
    const e = this.e.slice();
    const children = this.children?.slice();
    for (let k = history.count - 1; k >= 0; k--) {
      if (history.step(k) <= step) break;
      undoInto(history, k, e, children);
    }
    let used = 0;
    for (let i = 0; i < this.ptrs; i++) if (e[2 * i] !== 0 || e[2 * i + 1] !== 0) used++;
    return { e, children, used };
  }

  /**
   * The entries step `step` may have changed: 'all' for a table born in that step or rewritten
   * wholesale, else the step's part of the undo log as (index, old lo, old hi) triples, an index
   * possibly repeated; undefined when the step did not write the table. Callers loop over it
   * themselves, so hot checks over hundreds of thousands of entries stay inline.
   */
  changesIn(step: number): 'all' | EntryChanges | undefined {
    if (step === this.bornStep) return 'all';
    const history = this.history;
    if (history === undefined) return undefined;
    // The step asked about is almost always the newest one: search from the end.
    for (let k = history.count - 1; k >= 0; k--) {
      const s = history.step(k);
      if (s === step) return history.before(k) !== undefined ? 'all' : { log: history.entries, from: history.entriesFrom(k), to: history.entriesTo(k) };
      if (s < step) break;
    }
    return undefined;
  }

  /** The value entry `i` had after step `step` (lo, hi), rebuilt from the history. */
  entryAt(i: number, step: number): [number, number] {
    let lo = this.e[2 * i] ?? 0;
    let hi = this.e[2 * i + 1] ?? 0;
    const history = this.history;
    if (history === undefined) return [lo, hi];
    const entries = history.entries;
    for (let k = history.count - 1; k >= 0; k--) {
      if (history.step(k) <= step) break;
      const before = history.before(k);
      if (before) {
        lo = before.e[2 * i] ?? 0;
        hi = before.e[2 * i + 1] ?? 0;
        continue;
      }
      const from = history.entriesFrom(k);
      for (let j = history.entriesTo(k) - 3; j >= from; j -= 3) {
        if (entries[j] === i) {
          lo = entries[j + 1] as number;
          hi = entries[j + 2] as number;
        }
      }
    }
    return [lo, hi];
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

/** Applies step k's part of the history to a copy of a table's arrays, newest change first. */
function undoInto(history: TableHistory, k: number, e: Uint32Array, children: (TablePage | undefined)[] | undefined): void {
  const before = history.before(k);
  if (before) {
    e.set(before.e);
    if (children && before.children) for (let i = 0; i < children.length; i++) children[i] = before.children[i];
    return;
  }
  const entries = history.entries;
  const from = history.entriesFrom(k);
  for (let j = history.entriesTo(k) - 3; j >= from; j -= 3) {
    const i = entries[j] as number;
    e[2 * i] = entries[j + 1] as number;
    e[2 * i + 1] = entries[j + 2] as number;
  }
  const links = history.links;
  const linksFrom = history.linksFrom(k);
  if (children) for (let j = history.linksTo(k) - 2; j >= linksFrom; j -= 2) children[links[j] as number] = links[j + 1] as TablePage | undefined;
}
