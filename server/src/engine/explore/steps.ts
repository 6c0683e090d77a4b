// One atomic step of one thread: what each instruction does, on the scenario's machine.
//
// The step semantics follow the kernel code they model (see README.md):
// - a ptdump walk loads one entry per step (READ_ONCE(*pXdp)); the first load from a table is
//   its dereference, and a load from a table that has been freed is a use-after-free;
// - pud_free_pmd_page / pmd_free_pte_page run the arm64 helpers of each variant step by step;
// - locks are rw-semaphores with a FIFO wait queue: a reader queues behind a waiting writer,
//   unlock hands the lock to the head of the queue (all queued readers together);
// - any other kernel statement runs its own handler as one step.
//
// Every change goes through Machine (writeEntry, unlinkTable, freeTable, flushTlb), so the
// ledger and counters see it; the undo log (undo.ts) records it for backtracking.

import { EvalError } from '../exec/context';
import type { Outcome } from '../exec/outcome';
import { execPgtableAlloc, execPgtableCtor, execPgtableFree, execPopulate } from '../exec/table-statements';
import type { Finding } from '../findings';
import { execSetDirectMap, execSetMemory, execSetMemoryValid } from '../kernel/pageattr';
import { execAllocPgtablePage, execFreePgtablePage } from '../kernel/pgtable-pages';
import { execCheckWx, execMap, execPtdump, execUnmap, execVfree, execVmalloc } from '../kernel/statements';
import type { TablePage } from '../model/table';
import type { Span } from '../program';
import { hex16, join64 } from '../u64';
import type { Instr, KernelStmtInThread, Thread } from './compile';
import { FREE, KEY_READ, KEY_WRITE, LOCK, MACHINE, READ, READ_NONE, WRITE, objectAccess, slotAccess, type Access } from './footprint';
import { entryUnits, frame, freeMicro, threadState, withMicro, type Frame, type LockState, type Micro, type Reg, type State, type ThreadState, type World } from './model';
import { truncate } from '../list';

export type RaceKind = 'use_after_free' | 'lost_update' | 'deadlock';

export const RACE_KINDS: readonly RaceKind[] = ['use_after_free', 'lost_update', 'deadlock'];

export interface Violation {
  kind: RaceKind;
  message: string;
  /** The statement where it happens. */
  span: Span;
}

/** An entry a step changed (only when a schedule is being shown). */
export interface Change {
  table: TablePage;
  index: number;
  before: bigint;
  after: bigint;
}

/** What a kernel statement step returned, for the canonical schedule's `=> RESULT`. */
export interface KernelRun {
  stmt: KernelStmtInThread;
  /** Undefined when an expression did not evaluate (its finding is in `fresh`). */
  outcome: Outcome | undefined;
  /** Findings the statement reported. */
  fresh: Finding[];
}

export interface StepOut {
  s: State;
  tid: number;
  span: Span;
  acc: Access[];
  /** Threads this step handed a lock to. */
  woke: number[];
  violation?: Violation;
  /** An unlock of a lock the thread does not hold. */
  misuse?: string;
  /** Tables the step read, wrote, freed or allocated. */
  tables: TablePage[];
  /** Whether the step changed the machine (else `s` holds whatever the machine is doing). */
  changed: boolean;
  /**
   * A walk load of an entry of a table the walk has loaded an entry of before, and will load
   * another entry of after (search.ts `alone`).
   */
  midTable: boolean;
  /** What the step did, in the kernel's words (only when asked for). */
  text: string;
  /** Entries changed, tables freed and allocated (only when asked for). */
  changes?: Change[];
  freed?: TablePage[];
  allocated?: TablePage[];
  kernel?: KernelRun;
}

// Phases of the table-freeing helpers.
const PH_TRY = 0;
const PH_LOADP = 1;
const PH_CLEARP = 2;
const PH_FLUSHP = 3;
const PH_KEY = 4;
const PH_LOCK = 5;
const PH_UNLOCK = 6;
const PH_SCAN = 7;
const PH_NCLEAR = 9;
const PH_NFLUSH = 10;
const PH_NFREE = 11;
const PH_FREE = 12;
const PH_TRYUNLOCK = 13;

type FreeInstr = Extract<Instr, { op: 'free' }>;
type FreeMicro = Extract<Micro, { kind: 'free' }>;

/** The state a thread starts in. */
export function startThread(thread: Thread): ThreadState {
  return settle(thread, 0, undefined);
}

/** The thread at `pc`, following jumps, done past its last instruction. */
function settle(thread: Thread, pc: number, regs: ThreadState['regs']): ThreadState {
  for (let guard = 0; guard < thread.instrs.length + 1; guard++) {
    const instr = thread.instrs[pc];
    if (instr?.op !== 'jump') break;
    pc = instr.to;
  }
  return threadState(pc, undefined, false, pc >= thread.instrs.length, regs);
}

function next(thread: Thread, ts: ThreadState, pc = ts.pc + 1, regs = ts.regs): ThreadState {
  return settle(thread, pc, regs);
}

const NO_LOCK: LockState = { writer: -1, readers: [], queue: [] };
/** The shared empty list of threads a step woke (most wake none). */
const NONE: number[] = [];
/** The shared empty list of tables a step touched, when nobody asks. */
const NO_TABLES: TablePage[] = [];

/** A step being built: copy-on-write views of the explorer state; the machine changes in place. */
class Tx {
  locks: LockState[] | undefined;
  keys: number;
  readonly threads: ThreadState[];
  readonly acc: Access[] = [];
  woke: number[] = NONE;
  /** Filled only when the schedule is being shown (see `touch`). */
  readonly tables: TablePage[];
  violation: Violation | undefined;
  misuse: string | undefined;
  text = '';
  kernel: KernelRun | undefined;
  midTable = false;
  private mutated = false;
  private depth = -1;
  private readonly start: number;
  private freedStart = 0;
  private allocStart = 0;

  constructor(
    readonly world: World,
    readonly all: readonly Thread[],
    readonly s: State,
    readonly tid: number,
    readonly span: Span,
    readonly verbose: boolean,
  ) {
    this.keys = s.keys;
    this.threads = s.threads.slice();
    this.tables = verbose ? [] : NO_TABLES;
    this.start = world.journal.length;
  }

  get ts(): ThreadState {
    return this.threads[this.tid] as ThreadState;
  }

  set ts(ts: ThreadState) {
    this.threads[this.tid] = ts;
  }

  get thread(): Thread {
    return this.all[this.tid] as Thread;
  }

  /**
   * Before the first change to the machine: saves what the undo log does not record itself
   * (Machine.capture: 0 for entry writes, 1 to free table pages, 2 for any statement).
   */
  mutate(depth: 0 | 1 | 2): void {
    if (depth <= this.depth) return;
    const machine = this.world.machine;
    this.world.journal.push(machine.capture(depth));
    this.depth = depth;
    this.begin();
    machine.span = this.span;
  }

  /** Notes that the step changes the machine, and where its record's lists stood. */
  private begin(): void {
    if (this.mutated) return;
    this.mutated = true;
    const record = this.world.machine.currentStep;
    this.freedStart = record?.tablesFreed.length ?? 0;
    this.allocStart = record?.tablesAllocated.length ?? 0;
  }

  /** Notes a table the step touched (only when the schedule is being shown). */
  touch(table: TablePage): void {
    if (this.verbose && !this.tables.includes(table)) this.tables.push(table);
  }

  private slot(k: typeof READ | typeof WRITE, table: TablePage, i: number): void {
    const [lo, hi] = this.world.entryRange(table, i);
    this.acc.push(slotAccess(k, 1 << table.depth, lo, hi));
    this.touch(table);
  }

  /** READ_ONCE of an entry: a dereference of its table. */
  read(table: TablePage, i: number, what: string): readonly [number, number] {
    this.slot(READ, table, i);
    if (table.freed) this.uaf(this.verbose ? `${what} reads entry ${i} of ${this.world.tableText(table)}, which has already been freed` : '');
    return [table.e[2 * i] ?? 0, table.e[2 * i + 1] ?? 0];
  }

  /** READ_ONCE of entries first..last of one table, as one access. */
  readRange(table: TablePage, first: number, last: number, what: string): void {
    const [lo] = this.world.entryRange(table, first);
    const [, hi] = this.world.entryRange(table, last);
    this.acc.push(slotAccess(READ, 1 << table.depth, lo, hi));
    this.touch(table);
    if (table.freed) this.uaf(this.verbose ? `${what} reads entry ${first} of ${this.world.tableText(table)}, which has already been freed` : '');
  }

  /** A store to an entry; storing none (or another table) into a table entry unlinks the old table. */
  write(table: TablePage, i: number, lo: number, hi: number, what: string): void {
    this.slot(WRITE, table, i);
    if (table.freed) {
      this.uaf(this.verbose ? `${what} writes entry ${i} of ${this.world.tableText(table)}, which has already been freed` : '');
      return;
    }
    this.mutate(0);
    const machine = this.world.machine;
    const linked = table.children?.[i];
    if (linked && !(this.world.classify(table, lo, hi) === 'table' && this.world.profile.codec.address(lo, hi) === linked.pa)) {
      machine.unlinkTable(table, i, false);
    }
    if (lo !== 0 || hi !== 0 || !linked) machine.writeEntry(table, i, lo >>> 0, hi >>> 0);
    this.clobber(table, i);
  }

  /** A store between another thread's read and write of the same entry is what its write loses. */
  clobber(table: TablePage, i: number): void {
    for (let u = 0; u < this.threads.length; u++) {
      const other = this.threads[u] as ThreadState;
      const m = other.m;
      if (u === this.tid || m?.kind !== 'rmw' || m.t !== table.id || m.i !== i || m.clobbered) continue;
      this.threads[u] = withMicro(other, { kind: 'rmw', t: m.t, i: m.i, lo: m.lo, hi: m.hi, clobbered: true, by: this.tid });
    }
  }

  freeTable(table: TablePage, what: string): void {
    const [lo, hi] = this.world.tableRange(table);
    this.acc.push(slotAccess(FREE, 1 << table.depth, lo, hi), objectAccess(MACHINE, 0));
    this.touch(table);
    if (table.freed) {
      this.uaf(this.verbose ? `${what} frees ${this.world.tableText(table)} a second time` : '');
      return;
    }
    this.mutate(1);
    this.world.machine.freeTable(table);
  }

  /** A TLB flush: only the flush counter changes, so only it is saved. */
  flush(): void {
    const counters = this.world.machine.counters;
    const flushes = counters.tlbFlushes;
    this.world.journal.push(() => {
      counters.tlbFlushes = flushes;
    });
    this.begin();
    this.world.machine.flushTlb();
  }

  /**
   * A use-after-free. Callers build the message only when the schedule is being shown (a
   * closure would not do: the variables it captures would be allocated on every step).
   */
  uaf(message: string): void {
    this.violation ??= { kind: 'use_after_free', message, span: this.span };
  }

  lockState(n: number): LockState {
    return (this.locks ?? this.s.locks)[n] ?? NO_LOCK;
  }

  setLock(n: number, l: LockState): void {
    this.locks ??= this.s.locks.slice();
    while (this.locks.length <= n) this.locks.push(NO_LOCK);
    this.locks[n] = l;
  }

  /** down_read / down_write. Returns whether the lock was taken; otherwise the thread waits. */
  acquire(n: number, write: boolean): boolean {
    this.acc.push(objectAccess(LOCK, n));
    const l = this.lockState(n);
    const readers = sum(l.readers);
    const free = l.writer < 0 && l.queue.length === 0 && (!write || readers === 0);
    if (free) {
      this.setLock(n, write ? { writer: this.tid, readers: l.readers, queue: l.queue } : { writer: l.writer, readers: bump(l.readers, this.tid, 1), queue: l.queue });
      return true;
    }
    this.setLock(n, { writer: l.writer, readers: l.readers, queue: [...l.queue, { tid: this.tid, write }] });
    return false;
  }

  /** down_read_trylock: fails while a writer holds the lock or anyone waits for it. */
  tryRead(n: number): boolean {
    this.acc.push(objectAccess(LOCK, n));
    const l = this.lockState(n);
    if (l.writer >= 0 || l.queue.length > 0) return false;
    this.setLock(n, { writer: l.writer, readers: bump(l.readers, this.tid, 1), queue: l.queue });
    return true;
  }

  /** up_read / up_write, then hand the lock to the head of the queue. */
  release(n: number, write: boolean): void {
    this.acc.push(objectAccess(LOCK, n));
    let l = this.lockState(n);
    const name = this.world.locks[n] ?? '?';
    if (write) {
      if (l.writer !== this.tid) {
        this.misuse = `${this.thread.name} does not hold ${name} for write (DEBUG_RWSEMS would warn); the unlock does nothing`;
        return;
      }
      l = { writer: -1, readers: l.readers, queue: l.queue };
    } else {
      if ((l.readers[this.tid] ?? 0) === 0) {
        this.misuse = `${this.thread.name} does not hold ${name} for read (DEBUG_RWSEMS would warn); the unlock does nothing`;
        return;
      }
      l = { writer: l.writer, readers: bump(l.readers, this.tid, -1), queue: l.queue };
    }
    this.setLock(n, this.wake(l));
  }

  /** rwsem_mark_wake: a writer at the head gets the lock alone; else every queued reader does. */
  private wake(l: LockState): LockState {
    if (l.writer >= 0 || l.queue.length === 0) return l;
    const head = l.queue[0];
    if (!head) return l;
    if (head.write) {
      if (sum(l.readers) > 0) return l;
      this.grant(head.tid);
      return { writer: head.tid, readers: l.readers, queue: l.queue.slice(1) };
    }
    let readers = l.readers;
    const rest: { tid: number; write: boolean }[] = [];
    for (const w of l.queue) {
      if (w.write) rest.push(w);
      else {
        readers = bump(readers, w.tid, 1);
        this.grant(w.tid);
      }
    }
    return { writer: l.writer, readers, queue: rest };
  }

  private grant(u: number): void {
    const ts = this.threads[u] as ThreadState;
    const thread = this.all[u] as Thread;
    if (this.woke === NONE) this.woke = [];
    this.woke.push(u);
    const m = ts.m;
    if (m?.kind === 'free' && m.ph === PH_LOCK) this.threads[u] = withMicro(ts, freeMicro(m, { ph: PH_UNLOCK }), false);
    else this.threads[u] = next(thread, ts);
  }

  finish(): StepOut {
    const threads = this.threads;
    const s: State = {
      mem: this.world.journal.length === this.start ? this.s.mem : undefined,
      depth: this.s.depth + 1,
      locks: this.locks ?? this.s.locks,
      keys: this.keys,
      threads,
    };
    let runnable = false;
    let unfinished = false;
    for (const t of threads) {
      if (!t.done) {
        unfinished = true;
        if (!t.blocked) runnable = true;
      }
    }
    if (!this.violation && !runnable && unfinished) {
      this.violation = { kind: 'deadlock', message: this.verbose ? deadlockText(this.world, this.all, s) : '', span: deadlockSpan(this.all, s, this.tid) };
    }
    const out: StepOut = { s, tid: this.tid, span: this.span, acc: this.acc, woke: this.woke, text: this.text, tables: this.tables, changed: this.mutated, midTable: this.midTable };
    if (this.violation) out.violation = this.violation;
    if (this.misuse) out.misuse = this.misuse;
    if (this.kernel) out.kernel = this.kernel;
    if (this.verbose) this.describeChanges(out);
    return out;
  }

  /** The entries this step changed and the tables it freed and allocated. */
  private describeChanges(out: StepOut): void {
    const journal = this.world.journal;
    const first = new Map<TablePage, Map<number, bigint>>();
    journal.forEntries(this.start, journal.length, (table, i, lo, hi) => {
      let m = first.get(table);
      if (!m) first.set(table, (m = new Map()));
      if (!m.has(i)) m.set(i, join64(lo, hi));
    });
    out.changes = [];
    for (const [table, m] of first) {
      for (const [index, before] of m) out.changes.push({ table, index, before, after: table.value(index) });
    }
    const record = this.world.machine.currentStep;
    out.freed = this.mutated ? (record?.tablesFreed.slice(this.freedStart) ?? []) : [];
    out.allocated = this.mutated ? (record?.tablesAllocated.slice(this.allocStart) ?? []) : [];
  }

  /** Tables freed and allocated by this step so far (kernel statements). */
  freedSoFar(): TablePage[] {
    return this.mutated ? (this.world.machine.currentStep?.tablesFreed.slice(this.freedStart) ?? []) : [];
  }

  allocatedSoFar(): TablePage[] {
    return this.mutated ? (this.world.machine.currentStep?.tablesAllocated.slice(this.allocStart) ?? []) : [];
  }
}

function sum(xs: readonly number[]): number {
  let n = 0;
  for (const x of xs) n += x ?? 0;
  return n;
}

function bump(xs: readonly number[], i: number, by: number): number[] {
  const out = xs.slice();
  while (out.length <= i) out.push(0);
  out[i] = (out[i] ?? 0) + by;
  return out;
}

/** The instruction a waiting thread is blocked in. */
function waitSpan(thread: Thread, ts: ThreadState): Span {
  return thread.instrs[ts.pc]?.span ?? { start: 0, end: 0 };
}

function deadlockSpan(all: readonly Thread[], s: State, last: number): Span {
  const mine = s.threads[last];
  if (mine && mine.blocked) return waitSpan(all[last] as Thread, mine);
  const u = s.threads.findIndex((t) => t.blocked && !t.done);
  return waitSpan(all[u] as Thread, s.threads[u] as ThreadState);
}

function deadlockText(world: World, all: readonly Thread[], s: State): string {
  const parts: string[] = [];
  s.locks.forEach((l, n) => {
    const name = world.locks[n] ?? '?';
    const holders: string[] = [];
    if (l.writer >= 0) holders.push(`${all[l.writer]?.name} (write)`);
    l.readers.forEach((c, u) => {
      if (c > 0) holders.push(`${all[u]?.name} (read${c > 1 ? ` ×${c}` : ''})`);
    });
    if (l.queue.length === 0) return;
    const waiters = l.queue.map((w) => `${all[w.tid]?.name} (${w.write ? 'write' : 'read'})`);
    parts.push(`${name} is held by ${holders.join(', ') || 'nobody'} and waited for by ${waiters.join(', ')}`);
  });
  return `no thread can run: ${parts.join('; ')}`;
}

/** Whether thread `tid` can take a step in `s`. */
export function runnable(s: State, tid: number): boolean {
  const ts = s.threads[tid];
  return ts !== undefined && !ts.done && !ts.blocked;
}

/**
 * Executes the next step of thread `tid` in state `s` on the machine (which must be in state
 * `s`), or returns undefined when the thread has finished or waits for a lock.
 */
export function exec(world: World, all: readonly Thread[], s: State, tid: number, verbose: boolean): StepOut | undefined {
  const ts = s.threads[tid];
  const thread = all[tid];
  if (!ts || !thread || ts.done || ts.blocked) return undefined;
  const instr = thread.instrs[ts.pc];
  if (!instr) return undefined;
  const tx = new Tx(world, all, s, tid, instr.span, verbose);
  switch (instr.op) {
    case 'lock': {
      const name = world.locks[instr.lock] ?? '?';
      const mode = instr.write ? 'write' : 'read';
      if (tx.acquire(instr.lock, instr.write)) {
        tx.ts = next(thread, ts);
        if (tx.verbose) tx.text = `down_${mode}(${name}): taken`;
      } else {
        tx.ts = withMicro(ts, ts.m, true);
        if (tx.verbose) tx.text = `down_${mode}(${name}): waits (${holdersText(all, tx.lockState(instr.lock), tid)})`;
      }
      break;
    }
    case 'unlock': {
      const name = world.locks[instr.lock] ?? '?';
      tx.release(instr.lock, instr.write);
      tx.ts = next(thread, tx.ts);
      if (tx.verbose) tx.text = `up_${instr.write ? 'write' : 'read'}(${name})${wokeText(all, tx.woke)}`;
      break;
    }
    case 'key': {
      tx.acc.push(objectAccess(KEY_WRITE, instr.key));
      tx.keys = instr.on ? tx.keys | (1 << instr.key) : tx.keys & ~(1 << instr.key);
      tx.ts = next(thread, ts);
      if (tx.verbose) tx.text = `static_branch_${instr.on ? 'enable' : 'disable'}(${world.keys[instr.key]}): the key is now ${instr.on ? 'on' : 'off'}`;
      break;
    }
    case 'branch': {
      tx.acc.push(objectAccess(KEY_READ, instr.key));
      const on = (tx.keys & (1 << instr.key)) !== 0;
      tx.ts = next(thread, ts, on ? ts.pc + 1 : instr.elseTo);
      if (tx.verbose) tx.text = `static_branch_unlikely(${world.keys[instr.key]}) is ${on ? 'on: takes the branch' : 'off: skips the branch'}`;
      break;
    }
    case 'jump':
      tx.ts = next(thread, ts);
      break;
    case 'walk':
      walkStep(tx, instr, ts);
      break;
    case 'free':
      freeStep(tx, instr, ts);
      break;
    case 'load':
    case 'clear':
    case 'rmw':
      entryStep(tx, instr, ts);
      break;
    case 'kernel':
      kernelStep(tx, instr, ts);
      break;
  }
  return tx.finish();
}

function holdersText(all: readonly Thread[], l: LockState, self: number): string {
  const parts: string[] = [];
  if (l.writer >= 0) parts.push(`${l.writer === self ? 'itself' : all[l.writer]?.name} holds it for write`);
  const readers = l.readers.map((c, u) => (c > 0 ? (u === self ? 'itself' : all[u]?.name) : undefined)).filter((x) => x !== undefined);
  if (readers.length > 0) parts.push(`${readers.join(', ')} hold${readers.length === 1 ? 's' : ''} it for read`);
  const ahead = l.queue.filter((w) => w.tid !== self).map((w) => `${all[w.tid]?.name} (${w.write ? 'write' : 'read'})`);
  if (ahead.length > 0) parts.push(`queued ahead: ${ahead.join(', ')}`);
  return parts.join('; ');
}

function wokeText(all: readonly Thread[], woke: number[]): string {
  return woke.length === 0 ? '' : `: hands the lock to ${woke.map((u) => all[u]?.name).join(', ')}`;
}

function describeEntry(world: World, table: TablePage, i: number, lo: number, hi: number): string {
  const cls = world.classify(table, lo, hi);
  if (cls === 'table') {
    const c = world.child(table, i, lo, hi);
    return c === undefined ? 'a table entry' : `points to ${world.tableText(c)}`;
  }
  if (cls === 'none') return 'none';
  if (cls === 'leaf') return `a leaf (${hex16(join64(lo, hi))})`;
  return `not present (${hex16(join64(lo, hi))})`;
}

function entryName(world: World, table: TablePage, i: number): string {
  const u = world.entryUnits(table, i);
  return `${world.levelName(table)}[${i}]${u === undefined ? '' : ` (${hex16(BigInt(u) << 12n)})`}`;
}

function pageOf(world: World, id: number): TablePage {
  const page = world.page(id);
  if (!page) throw new Error(`explorer: no table with id ${id} on this path`);
  return page;
}

// ---------------------------------------------------------------------------------------------
// walk kernel: ptdump_walk_pgd → walk_pgd_range, one READ_ONCE per step.

function walkStep(tx: Tx, instr: Extract<Instr, { op: 'walk' }>, ts: ThreadState): void {
  const world = tx.world;
  let frames: Frame[];
  if (ts.m?.kind === 'walk') frames = ts.m.frames.slice();
  else {
    const root = world.machine.kernel.root;
    const geo = world.geo(root);
    frames = [frame(0, instr.first, instr.last, instr.lo, instr.hi, geo?.base ?? 0, geo?.unit ?? 1, root.depth)];
  }
  const top = frames[frames.length - 1] as Frame;
  const table = pageOf(world, top.t);
  const i = top.i;
  const ea = top.t === 0 ? (world.entryUnits(table, i) ?? 0) : top.base + i * top.unit;
  const eend = ea + top.unit;
  const lo = table.e[2 * i] ?? 0;
  const hi = table.e[2 * i + 1] ?? 0;
  tx.acc.push(slotAccess(lo === 0 && hi === 0 ? READ_NONE : READ, 1 << table.depth, ea, eend));
  tx.touch(table);
  if (table.freed) tx.uaf(tx.verbose ? `the walk reads entry ${i} of ${world.tableText(table)}, which has already been freed` : '');
  tx.midTable = i < top.last && i > (top.t === 0 ? instr.first : Math.floor((top.lo - top.base) / top.unit));
  frames[frames.length - 1] = frame(top.t, i + 1, top.last, top.lo, top.hi, top.base, top.unit, top.depth);
  let child: TablePage | undefined;
  if (table.depth < 4 && (lo !== 0 || hi !== 0) && world.classify(table, lo, hi) === 'table') {
    child = world.child(table, i, lo, hi);
    if (child) {
      const geo = world.geo(child, ea);
      const unit = geo?.unit ?? 1;
      const base = geo?.base ?? ea;
      const clo = Math.max(top.lo, ea);
      const chi = Math.min(top.hi, eend);
      frames.push(frame(child.id, Math.floor((clo - base) / unit), Math.floor((chi - 1 - base) / unit), clo, chi, base, unit, child.depth));
    }
  }
  while (frames.length > 0) {
    const f = frames[frames.length - 1] as Frame;
    if (f.i <= f.last) break;
    frames.pop();
  }
  if (tx.verbose) tx.text = `load ${entryName(world, table, i)} from ${world.tableText(table)}: ${describeEntry(world, table, i, lo, hi)}`;
  tx.ts = frames.length === 0 ? next(tx.thread, ts) : withMicro(ts, { kind: 'walk', frames });
}

// ---------------------------------------------------------------------------------------------
// load / clear / rmw: hand-written walkers and updates.

/**
 * Finds the table holding the entry of real depth `depth` for an address (its index `ix` at
 * each depth, its 4 KiB unit `u`): from the deepest entry this thread loaded that covers it, or
 * else from swapper_pg_dir, descending through the tables as they are now (the pointer a caller
 * would have handed in). Returns the table, or a reason.
 */
function resolve(tx: Tx, depth: number, ix: readonly number[], u: number, regs: readonly (Reg | undefined)[] | undefined, what: string): TablePage | string {
  const world = tx.world;
  let t: TablePage = world.machine.kernel.root;
  for (let d = depth - 1; d >= 0 && regs; d--) {
    const r = regs[d];
    if (!r) continue;
    const page = pageOf(world, r.t);
    const [rlo, rhi] = world.entryRange(page, r.i);
    if (u < rlo || u >= rhi) continue;
    if (world.classify(page, r.lo, r.hi) !== 'table') return `the ${world.levelName(page).toUpperCase()} entry it loaded is not a table`;
    const c = r.c >= 0 ? world.page(r.c) : undefined;
    if (!c) return 'the table it points to is not known';
    world.geo(c, rlo);
    t = c;
    break;
  }
  for (let guard = 0; guard < 5; guard++) {
    if (t.depth >= depth) return t;
    const i = ix[t.depth] ?? 0;
    const [lo, hi] = tx.read(t, i, what);
    if (world.classify(t, lo, hi) !== 'table') return `the ${world.levelName(t).toUpperCase()} entry for ${hex16(BigInt(u) << 12n)} is ${describeEntry(world, t, i, lo, hi)}`;
    const c = world.child(t, i, lo, hi);
    if (c === undefined) return 'the table it points to is not known';
    world.geo(c, world.entryUnits(t, i));
    t = c;
  }
  return 'no table';
}

function entryStep(tx: Tx, instr: Extract<Instr, { op: 'load' | 'clear' | 'rmw' }>, ts: ThreadState): void {
  const world = tx.world;
  const thread = tx.thread;
  const m = ts.m;
  if (instr.op === 'rmw' && m?.kind === 'rmw') {
    // The write half: (value read & ~clear) | set, stored through the pointer it read from.
    const page = pageOf(world, m.t);
    const lo = ((m.lo & ~instr.clear[0]) | instr.set[0]) >>> 0;
    const hi = ((m.hi & ~instr.clear[1]) | instr.set[1]) >>> 0;
    const current = page.value(m.i);
    tx.write(page, m.i, lo, hi, `${thread.name}'s rmw`);
    if (m.clobbered && !tx.violation) {
      const by = tx.all[m.by]?.name ?? '?';
      tx.violation = {
        kind: 'lost_update',
        message: tx.verbose ? `${thread.name} writes back ${entryName(world, page, m.i)} from the value it read before ${by} stored to it: ${by}'s store (${hex16(current)}) is lost` : '',
        span: instr.span,
      };
    }
    if (tx.verbose) tx.text = `write ${entryName(world, page, m.i)} = ${hex16(join64(lo, hi))} (${instr.text})`;
    tx.ts = next(thread, ts);
    return;
  }
  const what = `${thread.name}'s ${instr.op}`;
  const found = resolve(tx, instr.depth, instr.ix, instr.u, ts.regs, what);
  if (typeof found === 'string') {
    if (tx.verbose) tx.text = `${instr.op} ${instr.level} ${hex16(instr.va)}: ${found}`;
    tx.ts = next(thread, ts);
    return;
  }
  const i = instr.ix[found.depth] ?? 0;
  if (instr.op === 'clear') {
    tx.write(found, i, 0, 0, what);
    if (tx.verbose) tx.text = `${instr.level}_clear ${entryName(world, found, i)} in ${world.tableText(found)}`;
    tx.ts = next(thread, ts);
    return;
  }
  const [lo, hi] = tx.read(found, i, what);
  const regs = (ts.regs ?? []).slice();
  const c = found.depth < 4 && world.classify(found, lo, hi) === 'table' ? world.child(found, i, lo, hi) : undefined;
  regs[found.depth] = { t: found.id, i, lo, hi, c: c?.id ?? -1 };
  if (instr.op === 'load') {
    if (tx.verbose) tx.text = `load ${entryName(world, found, i)} from ${world.tableText(found)}: ${describeEntry(world, found, i, lo, hi)}`;
    tx.ts = next(thread, ts, ts.pc + 1, regs);
    return;
  }
  if (tx.verbose) tx.text = `read ${entryName(world, found, i)} from ${world.tableText(found)}: ${hex16(join64(lo, hi))}`;
  tx.ts = threadState(ts.pc, { kind: 'rmw', t: found.id, i, lo, hi, clobbered: false, by: -1 }, ts.blocked, ts.done, regs);
}

// ---------------------------------------------------------------------------------------------
// Any other kernel statement: its handler, as one atomic step.

function runKernel(tx: Tx, stmt: KernelStmtInThread): Outcome {
  const ctx = tx.world.ctx;
  switch (stmt.kind) {
    case 'map':
      return execMap(ctx, stmt);
    case 'unmap':
      return execUnmap(ctx, stmt);
    case 'vmalloc':
      return execVmalloc(ctx, stmt);
    case 'vfree':
      return execVfree(ctx, stmt);
    case 'set_memory':
      return execSetMemory(ctx, stmt);
    case 'set_memory_valid':
      return execSetMemoryValid(ctx, stmt);
    case 'set_direct_map':
      return execSetDirectMap(ctx, stmt);
    case 'alloc_pgtable_page':
      return execAllocPgtablePage(ctx, stmt);
    case 'free_pgtable_page':
      return execFreePgtablePage(ctx, stmt);
    case 'ptdump':
      return execPtdump(ctx, stmt);
    case 'check_wx':
      return execCheckWx(ctx, stmt);
    case 'pgtable_alloc':
      return execPgtableAlloc(ctx, stmt);
    case 'pgtable_ctor':
    case 'pgtable_dtor':
      return execPgtableCtor(ctx, stmt);
    case 'pgtable_free':
      return execPgtableFree(ctx, stmt);
    case 'populate':
      return execPopulate(ctx, stmt);
  }
}

function kernelStep(tx: Tx, instr: Extract<Instr, { op: 'kernel' }>, ts: ThreadState): void {
  const world = tx.world;
  const machine = world.machine;
  const ctx = world.ctx;
  const journal = world.journal;
  tx.mutate(2);
  const names = new Map(ctx.names);
  const bindings = ctx.bindingLog.length;
  const space = ctx.space;
  journal.push(() => {
    ctx.names.clear();
    for (const [name, binding] of names) ctx.names.set(name, binding);
    truncate(ctx.bindingLog, bindings);
    ctx.space = space;
  });
  ctx.space = machine.kernel;
  const before = journal.length;
  const findings = machine.findings.length;
  const init = world.lockIndex('init_mm');
  let consulted = false;
  const trylock = machine.initMmReadTrylock;
  machine.initMmReadTrylock = () => {
    consulted = true;
    const l = tx.lockState(init);
    return l.writer < 0 && l.queue.length === 0;
  };
  let outcome: Outcome | undefined;
  try {
    outcome = runKernel(tx, instr.stmt);
  } catch (e) {
    if (!(e instanceof EvalError)) throw e;
    machine.report(e.finding.code, e.finding.severity ?? 'error', e.finding.message, { span: e.finding.span });
  } finally {
    machine.initMmReadTrylock = trylock;
  }
  // What the statement touched: reads as declared (its handler's reads are not recorded), the
  // entries it wrote (one range per table), the tables it freed and allocated.
  tx.acc.push(...instr.reads);
  if (instr.machine) tx.acc.push(objectAccess(MACHINE, 0));
  if (consulted) tx.acc.push(objectAccess(LOCK, init));
  const written = new Map<TablePage, [number, number]>();
  journal.forEntries(before, journal.length, (table, i) => {
    const range = written.get(table);
    if (!range) written.set(table, [i, i]);
    else {
      if (i < range[0]) range[0] = i;
      if (i > range[1]) range[1] = i;
    }
    tx.clobber(table, i);
  });
  for (const [table, [first, last]] of written) {
    const [lo] = world.entryRange(table, first);
    const [, hi] = world.entryRange(table, last);
    tx.acc.push(slotAccess(WRITE, 1 << table.depth, lo, hi));
    tx.touch(table);
  }
  for (const table of tx.freedSoFar()) {
    const [lo, hi] = world.tableRange(table);
    tx.acc.push(slotAccess(FREE, 1 << table.depth, lo, hi));
    tx.touch(table);
  }
  for (const table of tx.allocatedSoFar()) tx.touch(table);
  tx.kernel = { stmt: instr.stmt, outcome, fresh: machine.findings.slice(findings) };
  if (tx.verbose) {
    const summary = outcome === undefined ? 'not run' : outcome.kind === 'ok' ? outcome.summary : outcome.kind === 'errno' ? `${outcome.errno}: ${outcome.message}` : outcome.kind === 'segv' ? `segv: ${outcome.message}` : `value ${outcome.value}`;
    tx.text = `${instr.stmt.keyword.text}: ${summary}`;
  }
  tx.ts = next(tx.thread, ts);
}

// ---------------------------------------------------------------------------------------------
// pud_free_pmd_page / pmd_free_pte_page (arch/arm64/mm/mmu.c), per variant:
//
// unpatched (≤ 6.17) and trylock (7.3, inside vmap_try_huge_pXd's mmap_read_trylock guard):
//   pmd: READ_ONCE(*pmdp); pmd_clear; __flush_tlb_kernel_pgtable; pte_free_kernel
//   pud: READ_ONCE(*pudp); for each PMD entry: if pmd_present(READ_ONCE(*pmdp))
//        pmd_free_pte_page(); then pud_clear; flush; pmd_free
// static_key (6.18, seed 004):
//   pmd: READ_ONCE; pmd_clear; flush; if (static_branch_unlikely(&arm64_ptdump_lock_key))
//        { mmap_read_lock(&init_mm); mmap_read_unlock(&init_mm); } pte_free_kernel
//   pud: READ_ONCE; pud_clear; flush; the same key-guarded rendezvous; then each PTE table
//        through __pmd_free_pte_page(…, false) (no rendezvous); pmd_free

/** The helper's end: the trylock variant still drops init_mm's read lock. */
function freeEnd(instr: FreeInstr, m: FreeMicro): FreeMicro | undefined {
  return instr.variant === 'trylock' ? freeMicro(m, { ph: PH_TRYUNLOCK }) : undefined;
}

/** The PMD-table scan from entry `i`, or what comes after it. */
function scanFrom(world: World, instr: FreeInstr, from: FreeMicro, i: number): FreeMicro | undefined {
  if (i < (world.page(from.c)?.ptrs ?? 0)) return freeMicro(from, { ph: PH_SCAN, i });
  return instr.variant === 'static_key' ? freeMicro(from, { ph: PH_FREE }) : freeMicro(from, { ph: PH_CLEARP });
}

/** After the static-key rendezvous: the PUD helper scans for PTE tables, the PMD helper frees. */
function afterRendezvous(world: World, instr: FreeInstr, m: FreeMicro): FreeMicro | undefined {
  return instr.level === 'pud' ? scanFrom(world, instr, m, 0) : freeMicro(m, { ph: PH_FREE });
}

function freeStep(tx: Tx, instr: FreeInstr, ts: ThreadState): void {
  const world = tx.world;
  const thread = tx.thread;
  const init = world.lockIndex('init_mm');
  const m: FreeMicro =
    ts.m?.kind === 'free' ? ts.m : { kind: 'free', ph: instr.variant === 'trylock' ? PH_TRY : PH_LOADP, pt: -1, pi: -1, c: -1, g: -1, i: 0 };
  const pud = instr.level === 'pud';
  const childName = pud ? 'PMD' : 'PTE';
  const what = pud ? 'pud_free_pmd_page' : 'pmd_free_pte_page';
  let nextM: FreeMicro | undefined;
  switch (m.ph) {
    case PH_TRY: {
      if (tx.tryRead(init)) {
        if (tx.verbose) tx.text = 'mmap_read_trylock(&init_mm) succeeds';
        nextM = freeMicro(m, { ph: PH_LOADP });
      } else {
        if (tx.verbose) tx.text = `mmap_read_trylock(&init_mm) fails: vmap keeps small pages and frees nothing`;
        nextM = undefined;
      }
      break;
    }
    case PH_LOADP: {
      const found = resolve(tx, instr.parentDepth, instr.ix, instr.u, undefined, what);
      if (typeof found === 'string') {
        if (tx.verbose) tx.text = `${what}(${hex16(instr.va)}): ${found}; nothing to free`;
        nextM = freeEnd(instr, m);
        break;
      }
      const i = instr.ix[found.depth] ?? 0;
      const [lo, hi] = tx.read(found, i, what);
      const c = world.classify(found, lo, hi) === 'table' ? world.child(found, i, lo, hi) : undefined;
      if (c) world.geo(c, world.entryUnits(found, i));
      if (tx.verbose) tx.text = `READ_ONCE(*${instr.level}p): ${entryName(world, found, i)} ${describeEntry(world, found, i, lo, hi)}`;
      if (c === undefined) {
        nextM = freeEnd(instr, m);
        break;
      }
      const base: FreeMicro = freeMicro(m, { pt: found.id, pi: i, c: c.id });
      // 6.17 and 7.3 free the child PTE tables before pud_clear; the seed-004 fix isolates first.
      nextM = pud && instr.variant !== 'static_key' ? scanFrom(world, instr, base, 0) : freeMicro(base, { ph: PH_CLEARP });
      break;
    }
    case PH_CLEARP: {
      const parent = pageOf(world, m.pt);
      tx.write(parent, m.pi, 0, 0, what);
      if (tx.verbose) tx.text = `${instr.level}_clear(${instr.level}p): ${entryName(world, parent, m.pi)} is now none`;
      nextM = freeMicro(m, { ph: PH_FLUSHP });
      break;
    }
    case PH_FLUSHP:
      tx.flush();
      if (tx.verbose) tx.text = `__flush_tlb_kernel_pgtable(${hex16(instr.va)})`;
      nextM = freeMicro(m, { ph: instr.variant === 'static_key' ? PH_KEY : PH_FREE });
      break;
    case PH_KEY: {
      const key = world.keyIndex('ptdump_lock');
      tx.acc.push(objectAccess(KEY_READ, key));
      const on = (tx.keys & (1 << key)) !== 0;
      if (tx.verbose) tx.text = `static_branch_unlikely(&arm64_ptdump_lock_key) is ${on ? 'on' : 'off'}`;
      nextM = on ? freeMicro(m, { ph: PH_LOCK }) : afterRendezvous(world, instr, m);
      break;
    }
    case PH_LOCK:
      if (tx.acquire(init, false)) {
        if (tx.verbose) tx.text = 'mmap_read_lock(&init_mm): taken';
        nextM = freeMicro(m, { ph: PH_UNLOCK });
      } else {
        if (tx.verbose) tx.text = `mmap_read_lock(&init_mm): waits (${holdersText(tx.all, tx.lockState(init), tx.tid)})`;
        tx.ts = withMicro(ts, m, true);
        return;
      }
      break;
    case PH_UNLOCK:
      tx.release(init, false);
      if (tx.verbose) tx.text = `mmap_read_unlock(&init_mm)${wokeText(tx.all, tx.woke)}`;
      nextM = afterRendezvous(world, instr, m);
      break;
    case PH_SCAN: {
      // One step scans the PMD table up to its next present entry (pmd_present(READ_ONCE(*pmdp)))
      // and re-reads it in pmd_free_pte_page(); entries nobody else writes need no step each.
      const table = pageOf(world, m.c);
      const ptrs = table.ptrs;
      // `used` counts the entries that are not none: none left means nothing to scan.
      let j = table.used === 0 ? ptrs : m.i;
      let lo = 0;
      let hi = 0;
      for (; j < ptrs; j++) {
        lo = table.e[2 * j] ?? 0;
        hi = table.e[2 * j + 1] ?? 0;
        if (lo === 0 && hi === 0) continue;
        const cls = world.classify(table, lo, hi);
        if (cls === 'table' || cls === 'leaf') break;
      }
      tx.readRange(table, m.i, Math.min(j, ptrs - 1), what);
      if (j >= ptrs) {
        if (tx.verbose) tx.text = `pmd_present(READ_ONCE(*pmdp)) for ${world.levelName(table)}[${m.i}…${ptrs - 1}] of ${world.tableText(table)}: no present entry left`;
        nextM = scanFrom(world, instr, m, ptrs);
        break;
      }
      const g = world.classify(table, lo, hi) === 'table' ? world.child(table, j, lo, hi) : undefined;
      if (g) world.geo(g, world.entryUnits(table, j));
      const skippedText = j > m.i ? ` (entries ${m.i}…${j - 1} are none)` : '';
      if (tx.verbose) tx.text = `pmd_free_pte_page: READ_ONCE(*pmdp) ${entryName(world, table, j)} ${describeEntry(world, table, j, lo, hi)}${skippedText}${g === undefined ? ' (VM_WARN_ON: not a table)' : ''}`;
      nextM = g === undefined ? scanFrom(world, instr, m, j + 1) : freeMicro(m, { ph: PH_NCLEAR, g: g.id, i: j });
      break;
    }
    case PH_NCLEAR: {
      const table = pageOf(world, m.c);
      tx.write(table, m.i, 0, 0, what);
      if (tx.verbose) tx.text = `pmd_clear(pmdp): ${entryName(world, table, m.i)} is now none`;
      nextM = freeMicro(m, { ph: PH_NFLUSH });
      break;
    }
    case PH_NFLUSH: {
      const table = pageOf(world, m.c);
      tx.flush();
      if (tx.verbose) tx.text = `__flush_tlb_kernel_pgtable(${entryName(world, table, m.i)})`;
      nextM = freeMicro(m, { ph: PH_NFREE });
      break;
    }
    case PH_NFREE: {
      const table = pageOf(world, m.g);
      tx.freeTable(table, what);
      if (tx.verbose) tx.text = `pte_free_kernel: frees ${world.tableText(table)}`;
      nextM = scanFrom(world, instr, m, m.i + 1);
      break;
    }
    case PH_FREE: {
      const table = pageOf(world, m.c);
      tx.freeTable(table, what);
      if (tx.verbose) tx.text = `${pud ? 'pmd_free' : 'pte_free_kernel'}: frees ${world.tableText(table)} (the ${childName} table)`;
      nextM = freeEnd(instr, m);
      break;
    }
    case PH_TRYUNLOCK:
      tx.release(init, false);
      if (tx.verbose) tx.text = `mmap_read_unlock(&init_mm)${wokeText(tx.all, tx.woke)}`;
      nextM = undefined;
      break;
  }
  tx.ts = nextM ? withMicro(tx.ts, nextM) : next(thread, tx.ts);
}

/** First 4 KiB unit of the entry a frame will load next. */
export function frameUnits(world: World, f: Frame): number {
  if (f.t !== 0) return f.base + f.i * f.unit;
  const root = world.geo(world.machine.kernel.root);
  return root ? entryUnits(root, f.i) : 0;
}
