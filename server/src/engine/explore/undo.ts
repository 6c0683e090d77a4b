// The explorer's undo log and the machine part of its state keys.
//
// The search runs every step on the scenario's own Machine, so kernel statements inside threads
// run their real handlers. While a block is explored, every change is recorded here: entry
// writes one by one (TablePage.set), each table's own fields before they change, the physical
// allocator's changes, and the machine's counters and lists once per changing step
// (Machine.capture). `undo(mark)` takes the machine back to exactly what it was at the mark,
// which is how the depth-first search backtracks.
//
// The machine's content is identified by `MachineKeys`: an incremental 64-bit hash of the entry
// values written since the block began, a short text of everything else (freed tables, ledger
// flags, counters, allocator, vmalloc areas, names), and, because a hash can collide, an exact
// comparison of the written entries against the first content seen with that hash. Equal ids
// mean equal machines; steps that only read keep their state's id without any of this work.

import type { Binding, ExecContext } from '../exec/context';
import type { Machine } from '../model/machine';
import type { TableFields, TablePage, UndoLog } from '../model/table';

const ENTRY = 0;
const REVERT = 1;
const FIELDS = 2;

/** Slot key of entry `i` of table `id` (ids stay below 2^36, indices below 2^16). */
function slotKey(id: number, i: number): number {
  return id * 65536 + i;
}

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** Two independent 32-bit lanes of the hash of one entry value. */
function z1(id: number, i: number, lo: number, hi: number): number {
  return fmix(fmix(fmix(Math.imul(id, 0x9e3779b1) ^ Math.imul(i + 1, 0x27d4eb2f)) ^ lo) ^ hi);
}

function z2(id: number, i: number, lo: number, hi: number): number {
  return fmix(fmix(fmix(Math.imul(id + 0x51ed27, 0x165667b1) ^ Math.imul(i + 7, 0xd3a2646c)) ^ hi) ^ lo);
}

/** The undo log of one exploration. Install it with `attach`, remove it with `detach`. */
export class Journal implements UndoLog {
  private readonly kind: number[] = [];
  private readonly tab: (TablePage | undefined)[] = [];
  private readonly idx: number[] = [];
  private readonly oldLo: number[] = [];
  private readonly oldHi: number[] = [];
  private readonly obj: (TableFields | (() => void) | undefined)[] = [];
  /** Hash of the entries written since the block began (relative to their values then). */
  h1 = 0;
  h2 = 0;

  get length(): number {
    return this.kind.length;
  }

  entry(table: TablePage, i: number, oldLo: number, oldHi: number): void {
    const lo = table.e[2 * i] ?? 0;
    const hi = table.e[2 * i + 1] ?? 0;
    if (lo === oldLo && hi === oldHi) return;
    const id = table.id;
    this.h1 ^= z1(id, i, oldLo, oldHi) ^ z1(id, i, lo, hi);
    this.h2 ^= z2(id, i, oldLo, oldHi) ^ z2(id, i, lo, hi);
    this.kind.push(ENTRY);
    this.tab.push(table);
    this.idx.push(i);
    this.oldLo.push(oldLo);
    this.oldHi.push(oldHi);
    this.obj.push(undefined);
  }

  table(table: TablePage): void {
    this.record(FIELDS, table, table.capture());
  }

  push(revert: () => void): void {
    this.record(REVERT, undefined, revert);
  }

  private record(kind: number, table: TablePage | undefined, obj: TableFields | (() => void)): void {
    this.kind.push(kind);
    this.tab.push(table);
    this.idx.push(0);
    this.oldLo.push(0);
    this.oldHi.push(0);
    this.obj.push(obj);
  }

  /** Takes every change after `mark` back, newest first. */
  undo(mark: number): void {
    for (let k = this.kind.length - 1; k >= mark; k--) {
      const kind = this.kind[k];
      if (kind === ENTRY) {
        const table = this.tab[k] as TablePage;
        const i = this.idx[k] ?? 0;
        const lo = table.e[2 * i] ?? 0;
        const hi = table.e[2 * i + 1] ?? 0;
        const oldLo = this.oldLo[k] ?? 0;
        const oldHi = this.oldHi[k] ?? 0;
        const id = table.id;
        this.h1 ^= z1(id, i, lo, hi) ^ z1(id, i, oldLo, oldHi);
        this.h2 ^= z2(id, i, lo, hi) ^ z2(id, i, oldLo, oldHi);
        table.revertEntry(i, oldLo, oldHi);
      } else if (kind === REVERT) {
        (this.obj[k] as () => void)();
      } else {
        (this.obj[k] as TableFields).restore();
      }
    }
    if (mark < this.kind.length) {
      this.kind.length = mark;
      this.tab.length = mark;
      this.idx.length = mark;
      this.oldLo.length = mark;
      this.oldHi.length = mark;
      this.obj.length = mark;
    }
  }

  /** Calls `f` for every entry write recorded in [from, to), oldest first. */
  forEntries(from: number, to: number, f: (table: TablePage, i: number, oldLo: number, oldHi: number) => void): void {
    for (let k = from; k < to; k++) {
      if (this.kind[k] === ENTRY) f(this.tab[k] as TablePage, this.idx[k] ?? 0, this.oldLo[k] ?? 0, this.oldHi[k] ?? 0);
    }
  }

  /** Calls `f` for every table whose fields were saved in [from, to), oldest first. */
  forTables(from: number, to: number, f: (table: TablePage, fields: TableFields) => void): void {
    for (let k = from; k < to; k++) {
      if (this.kind[k] === FIELDS) f(this.tab[k] as TablePage, this.obj[k] as TableFields);
    }
  }

  /** Installs the log on the machine, every table it has, and its physical allocator. */
  attach(machine: Machine): void {
    machine.undo = this;
    machine.kernel.root.undo = this;
    for (const t of machine.tables) t.undo = this;
    for (const space of machine.spaces.values()) space.root.undo = this;
    machine.phys.undo = (revert) => this.push(revert);
  }

  detach(machine: Machine): void {
    machine.undo = undefined;
    machine.kernel.root.undo = undefined;
    for (const t of machine.tables) t.undo = undefined;
    for (const space of machine.spaces.values()) space.root.undo = undefined;
    machine.phys.undo = undefined;
  }
}

/** The exact content of the entries written since the block began: slot, lo, hi triples. */
type Diff = Float64Array;

/** Ids for machine contents: equal ids, equal machines (see the file comment). */
export class MachineKeys {
  private readonly byHash = new Map<string, { id: number; diff: Diff }[]>();
  private next = 0;
  private readonly startTables: number;
  private readonly startNames: Map<string, Binding>;

  constructor(
    private readonly journal: Journal,
    private readonly machine: Machine,
    private readonly ctx: ExecContext,
  ) {
    this.startTables = machine.tables.length;
    this.startNames = new Map(ctx.names);
  }

  /** How many distinct machine contents were seen. */
  get count(): number {
    return this.next;
  }

  /** The id of the machine's content now. */
  current(): number {
    const key = `${this.journal.h1}:${this.journal.h2}:${this.aux()}`;
    const diff = this.diff();
    let list = this.byHash.get(key);
    if (list) {
      for (const c of list) if (sameDiff(c.diff, diff)) return c.id;
    } else {
      list = [];
      this.byHash.set(key, list);
    }
    const id = this.next++;
    list.push({ id, diff });
    return id;
  }

  /** Every entry whose value differs from its value when the block began. */
  private diff(): Diff {
    const first = new Map<number, [TablePage, number, number, number]>();
    this.journal.forEntries(0, this.journal.length, (table, i, lo, hi) => {
      const key = slotKey(table.id, i);
      if (!first.has(key)) first.set(key, [table, i, lo, hi]);
    });
    const out: number[] = [];
    const keys = [...first.keys()].sort((a, b) => a - b);
    for (const key of keys) {
      const [table, i, lo, hi] = first.get(key) as [TablePage, number, number, number];
      const nlo = table.e[2 * i] ?? 0;
      const nhi = table.e[2 * i + 1] ?? 0;
      if (nlo !== lo || nhi !== hi) out.push(key, nlo, nhi);
    }
    return Float64Array.from(out);
  }

  /** Everything but entry values that the rest of a schedule or its outcome can depend on. */
  private aux(): string {
    const m = this.machine;
    const parts: string[] = [`${m.counters.tlbFlushes},${m.counters.barriers},${m.counters.directMapSplits},${m.liveTables},${m.tables.length}`, m.phys.signature()];
    // Ledger state of the tables the path changed, where it differs from the block's start.
    const changed = new Map<TablePage, TableFields>();
    this.journal.forTables(0, this.journal.length, (table, fields) => {
      if (table.id <= this.startTables && !changed.has(table)) changed.set(table, fields);
    });
    const ledger: string[] = [];
    for (const [table, was] of changed) {
      const now = flags(table);
      if (now !== flags(was)) ledger.push(`${table.id}:${now}`);
    }
    ledger.sort();
    parts.push(ledger.join(','));
    for (let k = this.startTables; k < m.tables.length; k++) {
      const t = m.tables[k] as TablePage;
      parts.push(`${t.id}:${t.depth}:${t.pa}:${t.space}:${flags(t)}`);
    }
    for (const area of m.vmAreas.values()) parts.push(`${area.name}@${area.start}+${area.size}`);
    parts.push(String(m.linearMaps.length));
    for (const space of m.spaces.values()) parts.push(String(space.pgtablesBytes));
    const names: string[] = [];
    for (const [name, binding] of this.ctx.names) {
      if (this.startNames.get(name) === binding) continue;
      names.push(`${name}=${binding.kind === 'value' ? binding.value : binding.kind === 'table' ? `t${binding.table.id}` : `p${binding.pa}`}`);
    }
    parts.push(names.sort().join(','));
    parts.push(fieldsText(m.pgtablePages));
    return parts.join('|');
  }
}

function flags(t: Pick<TablePage, 'freed' | 'constructed' | 'destructed' | 'parent' | 'parentIndex' | 'name'>): string {
  return `${t.freed ? 'F' : ''}${t.constructed ? 'C' : ''}${t.destructed ? 'D' : ''}${t.parent ? `${t.parent.id}.${t.parentIndex}` : ''}${t.name ?? ''}`;
}

/** Numbers, booleans and collection sizes of an object whose class this file does not know. */
function fieldsText(object: object): string {
  const parts: string[] = [];
  for (const value of Object.values(object)) {
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') parts.push(String(value));
    else if (value instanceof Set || value instanceof Map) parts.push(`#${value.size}`);
    else if (Array.isArray(value)) parts.push(`#${value.length}`);
  }
  return parts.join(',');
}

function sameDiff(a: Diff, b: Diff): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}
