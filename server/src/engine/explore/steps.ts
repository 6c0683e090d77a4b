// One atomic step of one thread: what each instruction does to the explorer's state.
//
// The step semantics follow the kernel code they model (see docs in index.ts):
// - a ptdump walk loads one entry per step (READ_ONCE(*pXdp)); the first load from a table is
//   its dereference, and a load from a table that has been freed is a use-after-free;
// - pud_free_pmd_page / pmd_free_pte_page run the arm64 helpers of each variant step by step;
// - locks are rw-semaphores with a FIFO wait queue: a reader queues behind a waiting writer,
//   unlock hands the lock to the head of the queue (all queued readers together).

import type { Span } from '../program';
import { hex16 } from '../u64';
import type { Instr, Thread } from './compile';
import { FREE, KEY_READ, KEY_WRITE, LOCK, READ, WRITE, objectAccess, slotAccess, type Access } from './footprint';
import { SLOTS, isFreed, type Frame, type LockState, type Micro, type Reg, type State, type ThreadState, type World } from './model';

export type RaceKind = 'use_after_free' | 'lost_update' | 'deadlock';

export const RACE_KINDS: readonly RaceKind[] = ['use_after_free', 'lost_update', 'deadlock'];

/** A change a step made, for the canonical schedule and the inspector. */
export type Effect =
  | { k: 'write'; t: number; i: number; lo: number; hi: number; blo: number; bhi: number }
  | { k: 'free'; t: number }
  | { k: 'flush' };

export interface Violation {
  kind: RaceKind;
  message: string;
  /** The statement where it happens. */
  span: Span;
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
  /** Tables (explorer indices) the step read, wrote or freed. */
  tables: number[];
  /** What the step did, in the kernel's words (only when asked for). */
  text: string;
  effects: Effect[];
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
  return settle(thread, { pc: 0, m: undefined, blocked: false, done: false, regs: undefined });
}

/** Follows jumps, and marks the thread done past its last instruction. */
function settle(thread: Thread, ts: ThreadState): ThreadState {
  let pc = ts.pc;
  for (let guard = 0; guard < thread.instrs.length + 1; guard++) {
    const instr = thread.instrs[pc];
    if (instr?.op !== 'jump') break;
    pc = instr.to;
  }
  const done = pc >= thread.instrs.length;
  return { pc, m: undefined, blocked: false, done, regs: ts.regs };
}

function next(thread: Thread, ts: ThreadState, pc = ts.pc + 1): ThreadState {
  return settle(thread, { ...ts, pc });
}

/** A step being built: copy-on-write views of the state. */
class Tx {
  mem: Map<number, readonly [number, number]> | undefined;
  freed: number[] | undefined;
  locks: LockState[] | undefined;
  keys: number;
  readonly threads: ThreadState[];
  readonly acc: Access[] = [];
  readonly effects: Effect[] = [];
  readonly woke: number[] = [];
  /** Tables this step read, wrote or freed. */
  readonly tables: number[] = [];
  violation: Violation | undefined;
  misuse: string | undefined;
  text = '';

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

  isFreed(t: number): boolean {
    return (this.freed ?? this.s.freed).includes(t);
  }

  entryValue(t: number, i: number): readonly [number, number] {
    const written = (this.mem ?? this.s.mem).get(t * SLOTS + i);
    if (written) return written;
    const init = this.world.tables[t]?.init;
    return [init?.[2 * i] ?? 0, init?.[2 * i + 1] ?? 0];
  }

  private slot(k: typeof READ | typeof WRITE, t: number, i: number): void {
    const table = this.world.tables[t];
    if (!table) return;
    const lo = this.world.vaOf(t, i);
    this.acc.push(slotAccess(k, 1 << table.depth, lo, lo + this.world.entrySize(t)));
    if (!this.tables.includes(t)) this.tables.push(t);
  }

  /** READ_ONCE of an entry: a dereference of its table. */
  read(t: number, i: number, what: string): readonly [number, number] {
    this.slot(READ, t, i);
    if (this.isFreed(t)) this.uaf(t, `${what} reads entry ${i} of ${this.world.tableText(t)}, which has already been freed`);
    return this.entryValue(t, i);
  }

  /** READ_ONCE of entries first..last of one table, as one access. */
  readRange(t: number, first: number, last: number, what: string): void {
    const table = this.world.tables[t];
    if (!table) return;
    const lo = this.world.vaOf(t, first);
    this.acc.push(slotAccess(READ, 1 << table.depth, lo, this.world.vaOf(t, last) + this.world.entrySize(t)));
    if (!this.tables.includes(t)) this.tables.push(t);
    if (this.isFreed(t)) this.uaf(t, `${what} reads entry ${first} of ${this.world.tableText(t)}, which has already been freed`);
  }

  write(t: number, i: number, lo: number, hi: number, what: string): void {
    this.slot(WRITE, t, i);
    if (this.isFreed(t)) this.uaf(t, `${what} writes entry ${i} of ${this.world.tableText(t)}, which has already been freed`);
    const before = this.entryValue(t, i);
    this.mem ??= new Map(this.s.mem);
    this.mem.set(t * SLOTS + i, [lo >>> 0, hi >>> 0]);
    this.effects.push({ k: 'write', t, i, lo: lo >>> 0, hi: hi >>> 0, blo: before[0], bhi: before[1] });
    // A store between another thread's read and write of the same entry is what its write loses.
    this.threads.forEach((other, u) => {
      const m = other.m;
      if (u === this.tid || m?.kind !== 'rmw' || m.t !== t || m.i !== i || m.clobbered) return;
      this.threads[u] = { ...other, m: { ...m, clobbered: true, by: this.tid }, key: undefined, future: undefined };
    });
  }

  freeTable(t: number, what: string): void {
    const table = this.world.tables[t];
    if (!table) return;
    const lo = this.world.vaOf(t, 0);
    this.acc.push(slotAccess(FREE, 1 << table.depth, lo, lo + BigInt(table.ptrs) * this.world.entrySize(t)));
    if (!this.tables.includes(t)) this.tables.push(t);
    if (this.isFreed(t)) {
      this.uaf(t, `${what} frees ${this.world.tableText(t)} a second time`);
      return;
    }
    this.freed = [...(this.freed ?? this.s.freed), t].sort((a, b) => a - b);
    this.effects.push({ k: 'free', t });
  }

  uaf(t: number, message: string): void {
    this.violation ??= { kind: 'use_after_free', message, span: this.span };
    void t;
  }

  lockState(n: number): LockState {
    return ((this.locks ?? this.s.locks)[n] ?? { writer: -1, readers: [], queue: [] }) as LockState;
  }

  setLock(n: number, l: LockState): void {
    this.locks ??= this.s.locks.slice();
    while (this.locks.length <= n) this.locks.push({ writer: -1, readers: [], queue: [] });
    this.locks[n] = l;
  }

  /** down_read / down_write. Returns whether the lock was taken; otherwise the thread waits. */
  acquire(n: number, write: boolean): boolean {
    this.acc.push(objectAccess(LOCK, n));
    const l = this.lockState(n);
    const readers = sum(l.readers);
    const free = l.writer < 0 && l.queue.length === 0 && (!write || readers === 0);
    if (free) {
      this.setLock(n, write ? { ...l, writer: this.tid } : { ...l, readers: bump(l.readers, this.tid, 1) });
      return true;
    }
    this.setLock(n, { ...l, queue: [...l.queue, { tid: this.tid, write }] });
    return false;
  }

  /** down_read_trylock: fails while a writer holds the lock or anyone waits for it. */
  tryRead(n: number): boolean {
    this.acc.push(objectAccess(LOCK, n));
    const l = this.lockState(n);
    if (l.writer >= 0 || l.queue.length > 0) return false;
    this.setLock(n, { ...l, readers: bump(l.readers, this.tid, 1) });
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
      l = { ...l, writer: -1 };
    } else {
      if ((l.readers[this.tid] ?? 0) === 0) {
        this.misuse = `${this.thread.name} does not hold ${name} for read (DEBUG_RWSEMS would warn); the unlock does nothing`;
        return;
      }
      l = { ...l, readers: bump(l.readers, this.tid, -1) };
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
      return { ...l, writer: head.tid, queue: l.queue.slice(1) };
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
    return { ...l, readers, queue: rest };
  }

  private grant(u: number): void {
    const ts = this.threads[u] as ThreadState;
    const thread = this.all[u] as Thread;
    this.woke.push(u);
    const m = ts.m;
    if (m?.kind === 'free' && m.ph === PH_LOCK) this.threads[u] = { ...ts, blocked: false, m: { ...m, ph: PH_UNLOCK }, key: undefined, future: undefined };
    else this.threads[u] = next(thread, { ...ts, blocked: false });
  }

  /** Describes the step; the text is built only when a schedule is being shown. */
  say(text: () => string): void {
    if (this.verbose) this.text = text();
  }

  finish(): StepOut {
    const threads = this.threads;
    const s: State = {
      mem: this.mem ?? this.s.mem,
      freed: this.freed ?? this.s.freed,
      locks: this.locks ?? this.s.locks,
      keys: this.keys,
      threads,
    };
    if (!this.violation && !threads.some((t) => !t.done && !t.blocked) && threads.some((t) => !t.done)) {
      this.violation = { kind: 'deadlock', message: deadlockText(this.world, this.all, s), span: deadlockSpan(this.all, s, this.tid) };
    }
    const out: StepOut = { s, tid: this.tid, span: this.span, acc: this.acc, woke: this.woke, text: this.text, effects: this.effects, tables: this.tables };
    if (this.violation) out.violation = this.violation;
    if (this.misuse) out.misuse = this.misuse;
    return out;
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

/**
 * Executes the next step of thread `tid` in state `s`, or returns undefined when the thread has
 * finished or waits for a lock.
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
        tx.say(() => `down_${mode}(${name}): taken`);
      } else {
        tx.ts = { ...ts, blocked: true, key: undefined, future: undefined };
        tx.say(() => `down_${mode}(${name}): waits (${holdersText(world, all, tx.lockState(instr.lock), tid)})`);
      }
      break;
    }
    case 'unlock': {
      const name = world.locks[instr.lock] ?? '?';
      tx.release(instr.lock, instr.write);
      tx.ts = next(thread, tx.ts);
      tx.say(() => `up_${instr.write ? 'write' : 'read'}(${name})${wokeText(all, tx.woke)}`);
      break;
    }
    case 'key': {
      tx.acc.push(objectAccess(KEY_WRITE, instr.key));
      tx.keys = instr.on ? tx.keys | (1 << instr.key) : tx.keys & ~(1 << instr.key);
      tx.ts = next(thread, ts);
      tx.say(() => `static_branch_${instr.on ? 'enable' : 'disable'}(${world.keys[instr.key]}): the key is now ${instr.on ? 'on' : 'off'}`);
      break;
    }
    case 'branch': {
      tx.acc.push(objectAccess(KEY_READ, instr.key));
      const on = (tx.keys & (1 << instr.key)) !== 0;
      tx.ts = next(thread, ts, on ? ts.pc + 1 : instr.elseTo);
      tx.say(() => `static_branch_unlikely(${world.keys[instr.key]}) is ${on ? 'on: takes the branch' : 'off: skips the branch'}`);
      break;
    }
    case 'jump':
    case 'skip':
      tx.ts = next(thread, ts);
      tx.say(() => instr.op === 'skip' ? `${instr.text}: not explored inside threads (skipped)` : '');
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
  }
  return tx.finish();
}

function holdersText(world: World, all: readonly Thread[], l: LockState, self: number): string {
  const parts: string[] = [];
  if (l.writer >= 0) parts.push(`${l.writer === self ? 'itself' : all[l.writer]?.name} holds it for write`);
  const readers = l.readers.map((c, u) => (c > 0 ? (u === self ? 'itself' : all[u]?.name) : undefined)).filter((x) => x !== undefined);
  if (readers.length > 0) parts.push(`${readers.join(', ')} hold${readers.length === 1 ? 's' : ''} it for read`);
  const ahead = l.queue.filter((w) => w.tid !== self).map((w) => `${all[w.tid]?.name} (${w.write ? 'write' : 'read'})`);
  if (ahead.length > 0) parts.push(`queued ahead: ${ahead.join(', ')}`);
  void world;
  return parts.join('; ');
}

function wokeText(all: readonly Thread[], woke: number[]): string {
  return woke.length === 0 ? '' : `: hands the lock to ${woke.map((u) => all[u]?.name).join(', ')}`;
}

function describeEntry(world: World, t: number, lo: number, hi: number): string {
  const cls = world.classify(t, lo, hi);
  if (cls === 'table') {
    const c = world.child(lo, hi);
    return c === undefined ? 'a table entry' : `points to ${world.tableText(c)}`;
  }
  if (cls === 'none') return 'none';
  if (cls === 'leaf') return `a leaf (${hex16((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0))})`;
  return `not present (${hex16((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0))})`;
}

function entryName(world: World, t: number, i: number): string {
  return `${world.levelName(t)}[${i}] (${hex16(world.vaOf(t, i))})`;
}

// ---------------------------------------------------------------------------------------------
// walk kernel: ptdump_walk_pgd → walk_pgd_range, one READ_ONCE per step.

function walkStep(tx: Tx, instr: Extract<Instr, { op: 'walk' }>, ts: ThreadState): void {
  const world = tx.world;
  const frames: Frame[] = ts.m?.kind === 'walk' ? ts.m.frames.slice() : [{ t: 0, a: instr.lo, e: instr.hi }];
  const top = frames[frames.length - 1] as Frame;
  const i = world.indexOf(top.t, top.a);
  const entryLo = world.vaOf(top.t, i);
  const entryEnd = entryLo + world.entrySize(top.t) < top.e ? entryLo + world.entrySize(top.t) : top.e;
  const [lo, hi] = tx.read(top.t, i, 'the walk');
  frames[frames.length - 1] = { t: top.t, a: entryEnd, e: top.e };
  const table = world.tables[top.t];
  let child: number | undefined;
  if (table && table.depth < 4 && world.classify(top.t, lo, hi) === 'table') {
    child = world.child(lo, hi);
    if (child !== undefined) frames.push({ t: child, a: top.a, e: entryEnd });
  }
  while (frames.length > 0 && (frames[frames.length - 1] as Frame).a >= (frames[frames.length - 1] as Frame).e) frames.pop();
  tx.say(() => `load ${entryName(world, top.t, i)} from ${world.tableText(top.t)}: ${describeEntry(world, top.t, lo, hi)}`);
  tx.ts = frames.length === 0 ? next(tx.thread, ts) : { ...ts, m: { kind: 'walk', frames }, key: undefined, future: undefined };
}

// ---------------------------------------------------------------------------------------------
// load / clear / rmw: hand-written walkers and updates.

/**
 * Finds the table holding the entry of real depth `depth` for `va`: from the deepest entry this
 * thread loaded that covers `va`, or else from swapper_pg_dir, descending through the tables as
 * they are now (the pointer a caller would have handed in). Returns the table, or a reason.
 */
function resolve(tx: Tx, depth: number, va: bigint, regs: readonly (Reg | undefined)[] | undefined, what: string): number | string {
  const world = tx.world;
  let t = 0;
  for (let d = depth - 1; d >= 0 && regs; d--) {
    const r = regs[d];
    if (!r) continue;
    const rva = world.vaOf(r.t, r.i);
    if (va < rva || va >= rva + world.entrySize(r.t)) continue;
    if (world.classify(r.t, r.lo, r.hi) !== 'table') return `the ${world.levelName(r.t).toUpperCase()} entry it loaded is not a table`;
    const c = world.child(r.lo, r.hi);
    if (c === undefined) return 'the table it points to is not known';
    t = c;
    break;
  }
  for (let guard = 0; guard < 5; guard++) {
    const table = world.tables[t];
    if (!table) return 'no table';
    if (table.depth >= depth) return t;
    const i = world.indexOf(t, va);
    const [lo, hi] = tx.read(t, i, what);
    if (world.classify(t, lo, hi) !== 'table') return `the ${world.levelName(t).toUpperCase()} entry for ${hex16(va)} is ${describeEntry(world, t, lo, hi)}`;
    const c = world.child(lo, hi);
    if (c === undefined) return 'the table it points to is not known';
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
    const lo = ((m.lo & ~instr.clear[0]) | instr.set[0]) >>> 0;
    const hi = ((m.hi & ~instr.clear[1]) | instr.set[1]) >>> 0;
    const current = tx.entryValue(m.t, m.i);
    tx.write(m.t, m.i, lo, hi, `${thread.name}'s rmw`);
    if (m.clobbered && !tx.violation) {
      const by = tx.all[m.by]?.name ?? '?';
      tx.violation = {
        kind: 'lost_update',
        message: `${thread.name} writes back ${entryName(world, m.t, m.i)} from the value it read before ${by} stored to it: ${by}'s store (${hex16(pair(current))}) is lost`,
        span: instr.span,
      };
    }
    tx.say(() => `write ${entryName(world, m.t, m.i)} = ${hex16(pair([lo, hi]))} (${instr.text})`);
    tx.ts = next(thread, ts);
    return;
  }
  const what = `${thread.name}'s ${instr.op}`;
  const found = resolve(tx, instr.depth, instr.va, ts.regs, what);
  if (typeof found === 'string') {
    tx.say(() => `${instr.op} ${instr.level} ${hex16(instr.va)}: ${found}`);
    tx.ts = next(thread, ts);
    return;
  }
  const i = world.indexOf(found, instr.va);
  if (instr.op === 'clear') {
    tx.write(found, i, 0, 0, what);
    tx.say(() => `${instr.level}_clear ${entryName(world, found, i)} in ${world.tableText(found)}`);
    tx.ts = next(thread, ts);
    return;
  }
  const [lo, hi] = tx.read(found, i, what);
  const table = world.tables[found];
  const regs = (ts.regs ?? []).slice();
  if (table) regs[table.depth] = { t: found, i, lo, hi };
  if (instr.op === 'load') {
    tx.say(() => `load ${entryName(world, found, i)} from ${world.tableText(found)}: ${describeEntry(world, found, lo, hi)}`);
    tx.ts = next(thread, { ...ts, regs });
    return;
  }
  tx.say(() => `read ${entryName(world, found, i)} from ${world.tableText(found)}: ${hex16(pair([lo, hi]))}`);
  tx.ts = { ...ts, regs, m: { kind: 'rmw', t: found, i, lo, hi, clobbered: false, by: -1 }, key: undefined, future: undefined };
}

function pair(v: readonly [number, number]): bigint {
  return (BigInt(v[1] >>> 0) << 32n) | BigInt(v[0] >>> 0);
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

function freeStep(tx: Tx, instr: FreeInstr, ts: ThreadState): void {
  const world = tx.world;
  const thread = tx.thread;
  const init = world.lockIndex('init_mm');
  const m: FreeMicro =
    ts.m?.kind === 'free' ? ts.m : { kind: 'free', ph: instr.variant === 'trylock' ? PH_TRY : PH_LOADP, pt: -1, pi: -1, c: -1, g: -1, i: 0 };
  const pud = instr.level === 'pud';
  const child = pud ? 'PMD' : 'PTE';
  const what = `${instr.level}_free_${pud ? 'pmd' : 'pte'}_page`;
  const end = (): FreeMicro | undefined => (instr.variant === 'trylock' ? { ...m, ph: PH_TRYUNLOCK } : undefined);
  const scanFrom = (i: number, from: FreeMicro = m): FreeMicro | undefined => {
    if (i < (world.tables[from.c]?.ptrs ?? 0)) return { ...from, ph: PH_SCAN, i };
    return instr.variant === 'static_key' ? { ...from, ph: PH_FREE } : { ...from, ph: PH_CLEARP };
  };
  const afterRendezvous = (): FreeMicro | undefined => (pud ? scanFrom(0) : { ...m, ph: PH_FREE });
  let nextM: FreeMicro | undefined;
  switch (m.ph) {
    case PH_TRY: {
      if (tx.tryRead(init)) {
        tx.say(() => 'mmap_read_trylock(&init_mm) succeeds');
        nextM = { ...m, ph: PH_LOADP };
      } else {
        tx.say(() => `mmap_read_trylock(&init_mm) fails: vmap keeps small pages and frees nothing`);
        nextM = undefined;
      }
      break;
    }
    case PH_LOADP: {
      const found = resolve(tx, instr.parentDepth, instr.va, undefined, what);
      if (typeof found === 'string') {
        tx.say(() => `${what}(${hex16(instr.va)}): ${found}; nothing to free`);
        nextM = end();
        break;
      }
      const i = world.indexOf(found, instr.va);
      const [lo, hi] = tx.read(found, i, what);
      const c = world.classify(found, lo, hi) === 'table' ? world.child(lo, hi) : undefined;
      tx.say(() => `READ_ONCE(*${instr.level}p): ${entryName(world, found, i)} ${describeEntry(world, found, lo, hi)}`);
      if (c === undefined) {
        nextM = end();
        break;
      }
      const base: FreeMicro = { ...m, pt: found, pi: i, c };
      // 6.17 and 7.3 free the child PTE tables before pud_clear; the seed-004 fix isolates first.
      nextM = pud && instr.variant !== 'static_key' ? scanFrom(0, base) : { ...base, ph: PH_CLEARP };
      break;
    }
    case PH_CLEARP:
      tx.write(m.pt, m.pi, 0, 0, what);
      tx.say(() => `${instr.level}_clear(${instr.level}p): ${entryName(world, m.pt, m.pi)} is now none`);
      nextM = { ...m, ph: PH_FLUSHP };
      break;
    case PH_FLUSHP:
      tx.effects.push({ k: 'flush' });
      tx.say(() => `__flush_tlb_kernel_pgtable(${hex16(instr.va)})`);
      nextM = { ...m, ph: instr.variant === 'static_key' ? PH_KEY : PH_FREE };
      break;
    case PH_KEY: {
      const key = world.keyIndex('ptdump_lock');
      tx.acc.push(objectAccess(KEY_READ, key));
      const on = (tx.keys & (1 << key)) !== 0;
      tx.say(() => `static_branch_unlikely(&arm64_ptdump_lock_key) is ${on ? 'on' : 'off'}`);
      nextM = on ? { ...m, ph: PH_LOCK } : afterRendezvous();
      break;
    }
    case PH_LOCK:
      if (tx.acquire(init, false)) {
        tx.say(() => 'mmap_read_lock(&init_mm): taken');
        nextM = { ...m, ph: PH_UNLOCK };
      } else {
        tx.say(() => `mmap_read_lock(&init_mm): waits (${holdersText(world, tx.all, tx.lockState(init), tx.tid)})`);
        tx.ts = { ...ts, m, blocked: true, key: undefined, future: undefined };
        return;
      }
      break;
    case PH_UNLOCK:
      tx.release(init, false);
      tx.say(() => `mmap_read_unlock(&init_mm)${wokeText(tx.all, tx.woke)}`);
      nextM = afterRendezvous();
      break;
    case PH_SCAN: {
      // One step scans the PMD table up to its next present entry (pmd_present(READ_ONCE(*pmdp)))
      // and re-reads it in pmd_free_pte_page(); entries nobody else writes need no step each.
      const ptrs = world.tables[m.c]?.ptrs ?? 0;
      let j = m.i;
      let v: readonly [number, number] = [0, 0];
      for (; j < ptrs; j++) {
        v = tx.entryValue(m.c, j);
        const cls = world.classify(m.c, v[0], v[1]);
        if (cls === 'table' || cls === 'leaf') break;
      }
      tx.readRange(m.c, m.i, Math.min(j, ptrs - 1), what);
      if (j >= ptrs) {
        tx.say(() => `pmd_present(READ_ONCE(*pmdp)) for ${world.levelName(m.c)}[${m.i}…${ptrs - 1}] of ${world.tableText(m.c)}: no present entry left`);
        nextM = scanFrom(ptrs);
        break;
      }
      const [lo, hi] = v;
      const g = world.classify(m.c, lo, hi) === 'table' ? world.child(lo, hi) : undefined;
      const skippedText = j > m.i ? ` (entries ${m.i}…${j - 1} are none)` : '';
      tx.say(() => `pmd_free_pte_page: READ_ONCE(*pmdp) ${entryName(world, m.c, j)} ${describeEntry(world, m.c, lo, hi)}${skippedText}${g === undefined ? ' (VM_WARN_ON: not a table)' : ''}`);
      nextM = g === undefined ? scanFrom(j + 1) : { ...m, ph: PH_NCLEAR, g, i: j };
      break;
    }
    case PH_NCLEAR:
      tx.write(m.c, m.i, 0, 0, what);
      tx.say(() => `pmd_clear(pmdp): ${entryName(world, m.c, m.i)} is now none`);
      nextM = { ...m, ph: PH_NFLUSH };
      break;
    case PH_NFLUSH:
      tx.effects.push({ k: 'flush' });
      tx.say(() => `__flush_tlb_kernel_pgtable(${hex16(world.vaOf(m.c, m.i))})`);
      nextM = { ...m, ph: PH_NFREE };
      break;
    case PH_NFREE:
      tx.freeTable(m.g, what);
      tx.say(() => `pte_free_kernel: frees ${world.tableText(m.g)}`);
      nextM = scanFrom(m.i + 1);
      break;
    case PH_FREE:
      tx.freeTable(m.c, what);
      tx.say(() => `${pud ? 'pmd_free' : 'pte_free_kernel'}: frees ${world.tableText(m.c)} (the ${child} table)`);
      nextM = end();
      break;
    case PH_TRYUNLOCK:
      tx.release(init, false);
      tx.say(() => `mmap_read_unlock(&init_mm)${wokeText(tx.all, tx.woke)}`);
      nextM = undefined;
      break;
  }
  tx.ts = nextM ? { ...tx.ts, m: nextM, key: undefined, future: undefined } : next(thread, tx.ts);
}
