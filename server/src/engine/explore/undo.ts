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
import { join64 } from '../u64';

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
  return fmix(Math.imul(id, 0x9e3779b1) ^ Math.imul(i + 1, 0x27d4eb2f) ^ Math.imul(lo ^ (lo >>> 15), 0x85ebca77) ^ Math.imul(hi + 0x3c6ef372, 0x165667b1));
}

function z2(id: number, i: number, lo: number, hi: number): number {
  return fmix(Math.imul(id + 0x51ed27, 0x85ebca77) ^ Math.imul(i + 7, 0xc2b2ae3d) ^ Math.imul(hi ^ (hi >>> 13), 0x27d4eb2f) ^ Math.imul(lo + 0x6a09e667, 0x9e3779b1));
}

/**
 * The undo log of one exploration. Install it with `attach`, remove it with `detach`. Records
 * live in parallel arrays that never shrink (`size` is the log's length), so that taking steps
 * back allocates nothing.
 */
export class Journal implements UndoLog {
  private size = 0;
  private readonly kind: number[] = [];
  private readonly tab: (TablePage | undefined)[] = [];
  private readonly idx: number[] = [];
  private readonly oldLo: number[] = [];
  private readonly oldHi: number[] = [];
  private readonly obj: (TableFields | (() => void) | undefined)[] = [];
  /** Positions of the FIELDS records, ascending. */
  private readonly fieldRecords: number[] = [];
  /** Hash of the entries written since the block began (relative to their values then). */
  h1 = 0;
  h2 = 0;

  get length(): number {
    return this.size;
  }

  entry(table: TablePage, i: number, oldLo: number, oldHi: number): void {
    const lo = table.e[2 * i] ?? 0;
    const hi = table.e[2 * i + 1] ?? 0;
    if (lo === oldLo && hi === oldHi) return;
    const id = table.id;
    this.h1 ^= z1(id, i, oldLo, oldHi) ^ z1(id, i, lo, hi);
    this.h2 ^= z2(id, i, oldLo, oldHi) ^ z2(id, i, lo, hi);
    const k = this.size++;
    this.kind[k] = ENTRY;
    this.tab[k] = table;
    this.idx[k] = i;
    this.oldLo[k] = oldLo;
    this.oldHi[k] = oldHi;
    this.obj[k] = undefined;
  }

  table(table: TablePage): void {
    this.fieldRecords.push(this.size);
    this.record(FIELDS, table, table.capture());
  }

  push(revert: () => void): void {
    this.record(REVERT, undefined, revert);
  }

  private record(kind: number, table: TablePage | undefined, obj: TableFields | (() => void)): void {
    const k = this.size++;
    this.kind[k] = kind;
    this.tab[k] = table;
    this.obj[k] = obj;
  }

  /** Takes every change after `mark` back, newest first. */
  undo(mark: number): void {
    for (let k = this.size - 1; k >= mark; k--) {
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
      // Drop references so that discarded tables and closures can be collected.
      this.tab[k] = undefined;
      this.obj[k] = undefined;
    }
    if (mark < this.size) {
      const fields = this.fieldRecords;
      while (fields.length > 0 && (fields[fields.length - 1] as number) >= mark) fields.pop();
      this.size = mark;
    }
  }

  /** Calls `f` for every entry write recorded in [from, to), oldest first. */
  forEntries(from: number, to: number, f: (table: TablePage, i: number, oldLo: number, oldHi: number) => void): void {
    for (let k = from; k < to; k++) {
      if (this.kind[k] === ENTRY) f(this.tab[k] as TablePage, this.idx[k] ?? 0, this.oldLo[k] ?? 0, this.oldHi[k] ?? 0);
    }
  }

  /** How many times table fields were saved; `savedTable(n)` and `savedFields(n)` are the n-th, oldest first. */
  get savedCount(): number {
    return this.fieldRecords.length;
  }

  savedTable(n: number): TablePage {
    return this.tab[this.fieldRecords[n] as number] as TablePage;
  }

  savedFields(n: number): TableFields {
    return this.obj[this.fieldRecords[n] as number] as TableFields;
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

/**
 * Ids for machine contents. Equal contents get equal ids; different contents get different ids
 * unless their 64-bit fingerprints collide (see the file comment). With `MachineKeys.verify` on
 * (the tests), every id is also checked against the exact content.
 */
export class MachineKeys {
  /** Test hook: check every fingerprint against the exact content, and throw on a collision. */
  static verify = false;
  private readonly ids = new Map<number, Map<number, number>>();
  private readonly exact = new Map<number, string>();
  private next = 0;
  private readonly startTables: number;
  private readonly startNames: Map<string, Binding>;
  private readonly startBindings: number;
  private readonly lanes = new HashLanes();
  /**
   * Tables already counted in this call of `current`, by ledger id: an id is counted when its
   * stamp is the call's. (A Set cleared per call cost a sixth of `current`: clear() allocates.)
   */
  private readonly counted: Int32Array;
  private stamp = 0;

  constructor(
    private readonly journal: Journal,
    private readonly machine: Machine,
    private readonly ctx: ExecContext,
  ) {
    this.startTables = machine.tables.length;
    this.startNames = new Map(ctx.names);
    this.startBindings = ctx.bindingLog.length;
    this.counted = new Int32Array(this.startTables + 1);
  }

  /** How many distinct machine contents were seen. */
  get count(): number {
    return this.next;
  }

  /**
   * The id of the machine's content now. Called for every state the search stores or looks up,
   * so it makes no closure, set or array per call: the hash lanes and the stamps of the tables
   * counted are reused.
   */
  current(): number {
    const h = this.lanes;
    h.a = this.journal.h1;
    h.b = this.journal.h2;
    const m = this.machine;
    const c = m.counters;
    h.add(c.tlbFlushes);
    h.add(c.barriers);
    h.add(c.directMapSplits);
    h.add(m.liveTables);
    h.add(m.tables.length);
    h.add(m.linearMaps.length);
    m.phys.addSignature(h);
    for (const space of m.spaces.values()) h.add(space.pgtablesBytes);
    // Order-free parts: sums of per-item hashes. The ledger part: each table that existed when
    // the block began and whose fields this path saved, compared with its first saved fields.
    let ledger = 0;
    const journal = this.journal;
    const counted = this.counted;
    const stamp = (this.stamp = (this.stamp + 1) | 0);
    for (let n = 0; n < journal.savedCount; n++) {
      const table = journal.savedTable(n);
      if (table.id > this.startTables || counted[table.id] === stamp) continue;
      counted[table.id] = stamp;
      const now = flagHash(table);
      if (now !== flagHash(journal.savedFields(n))) ledger = (ledger + fmix(now ^ Math.imul(table.id, 0x27d4eb2f))) | 0;
    }
    h.add(ledger);
    for (let k = this.startTables; k < m.tables.length; k++) {
      const t = m.tables[k] as TablePage;
      h.add(t.id);
      h.add(t.depth);
      h.add(t.pa);
      h.add(flagHash(t));
    }
    let areas = 0;
    for (const area of m.vmAreas.values()) areas = (areas + fmix(textHash(area.name) ^ Math.imul(bigHash(area.start), 31) ^ bigHash(area.size))) | 0;
    h.add(areas);
    let names = 0;
    // Names are bound only through ctx.bind, which logs them, and a step taken back truncates
    // the log: with the log as long as when the block began, every name is as it was then.
    if (this.ctx.bindingLog.length !== this.startBindings) {
      for (const [name, binding] of this.ctx.names) {
        if (this.startNames.get(name) === binding) continue;
        const value = binding.kind === 'value' ? bigHash(binding.value) : binding.kind === 'table' ? binding.table.id * 3 + 1 : binding.pa * 3 + 2;
        names = (names + fmix(textHash(name) ^ Math.imul(value, 0x165667b1))) | 0;
      }
    }
    h.add(names);
    const a = h.a;
    const b = h.b;
    let inner = this.ids.get(a);
    if (!inner) this.ids.set(a, (inner = new Map()));
    let id = inner.get(b);
    if (id === undefined) {
      id = this.next++;
      inner.set(b, id);
    }
    if (MachineKeys.verify) this.check(id);
    return id;
  }

  /** The test hook: the content behind an id never changes. */
  private check(id: number): void {
    const text = this.exactText();
    const known = this.exact.get(id);
    if (known === undefined) this.exact.set(id, text);
    else if (known !== text) throw new Error(`explorer: two machine contents share fingerprint ${id}:\n${known}\n${text}`);
  }

  /** Every entry that differs from its value when the block began, and the rest of the state. */
  private exactText(): string {
    const first = new Map<number, [TablePage, number, number, number]>();
    this.journal.forEntries(0, this.journal.length, (table, i, lo, hi) => {
      const key = slotKey(table.id, i);
      if (!first.has(key)) first.set(key, [table, i, lo, hi]);
    });
    const parts: string[] = [];
    for (const key of [...first.keys()].sort((x, y) => x - y)) {
      const [table, i, lo, hi] = first.get(key) as [TablePage, number, number, number];
      const v = table.value(i);
      if (v !== join64(lo, hi)) parts.push(`${table.id}.${i}=${v}`);
    }
    const m = this.machine;
    parts.push(`|${m.counters.tlbFlushes},${m.counters.barriers},${m.counters.directMapSplits},${m.liveTables},${m.tables.length},${m.linearMaps.length}|${m.phys.signature().join(',')}`);
    for (const t of [m.kernel.root, ...m.tables]) parts.push(`${t.id}:${t.depth}:${t.pa}:${flagHash(t)}`);
    for (const area of [...m.vmAreas.values()].sort((x, y) => (x.name < y.name ? -1 : 1))) parts.push(`${area.name}@${area.start}+${area.size}`);
    for (const space of m.spaces.values()) parts.push(`${space.name}:${space.pgtablesBytes}`);
    for (const [name, binding] of [...this.ctx.names.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
      parts.push(`${name}=${binding.kind === 'value' ? binding.value : binding.kind === 'table' ? `t${binding.table.id}` : `p${binding.pa}`}`);
    }
    return parts.join(' ');
  }
}

/** Two 32-bit hash lanes fed one number at a time (integers and doubles below 2^53). */
class HashLanes {
  a = 0;
  b = 0;

  add(x: number): void {
    this.a = fmix(this.a ^ Math.imul(x | 0, 0x9e3779b1) ^ (x / 0x100000000) | 0);
    this.b = fmix(this.b + Math.imul((x | 0) ^ 0x7f4a7c15, 0x85ebca6b) + ((x / 0x100000000) | 0));
  }
}

function flagHash(t: Pick<TablePage, 'freed' | 'constructed' | 'destructed' | 'parent' | 'parentIndex' | 'name'>): number {
  const bits = (t.freed ? 1 : 0) | (t.constructed ? 2 : 0) | (t.destructed ? 4 : 0);
  return fmix(bits ^ Math.imul((t.parent?.id ?? -1) + 2, 0x9e3779b1) ^ Math.imul(t.parentIndex + 2, 0x85ebca6b) ^ (t.name === undefined ? 0 : textHash(t.name)));
}

function textHash(text: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < text.length; k++) h = Math.imul(h ^ text.charCodeAt(k), 0x01000193);
  return h | 0;
}

function bigHash(value: bigint): number {
  return fmix(Number(value & 0xffffffffn) ^ Math.imul(Number((value >> 32n) & 0xffffffffn), 0x27d4eb2f));
}
