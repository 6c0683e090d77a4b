// The simulated machine of one scenario run: the architecture profile, the address spaces, the
// ledger of table pages, physical memory, the kernel's counters, budgets and the per-statement
// history the inspector reads.
//
// Every table page is allocated, constructed, linked, unlinked, destructed and freed through the
// methods here, so the ledger sees every event and the ctor/dtor rules of kernel-notes/
// ctor-dtor.md hold in one place.

import type { ArchProfile, Depth } from '../arch/profile';
import type { Finding, FindingCode, Output, Related, Severity, FixData } from '../findings';
import type { Span } from '../program';
import type { Budget } from '../run-api';
import type { Exploration } from '../exec/modules';
import { PhysAllocator } from './phys';
import { EntryArena, TablePage, type LedgerEvent, type LedgerEventKind, type UndoLog } from './table';
import { truncate } from '../list';

export type Feature = 'bbml2' | 'pti' | 'no_block_mappings' | 'no_cont_mappings' | 'pte_mapped_cache' | 'write_protect_pgtables';
export type ThpMode = 'always' | 'madvise' | 'never';
export type AccountingMode = 'series' | 'legacy';

/** Entries written between two polls of Machine.shouldStop (a few milliseconds of writing). */
const STOP_POLL = 1 << 16;

/** Stops a run from deep inside a statement; caught only by the runner. */
export class RunStop extends Error {
  /** What a race exploration had counted when it stopped (the runner keeps it in the result). */
  exploration?: Exploration;

  constructor(
    readonly reason: 'budget' | 'cancelled',
    message: string,
  ) {
    super(message);
  }
}

/** An address space: init_mm or a process's mm. Processes add VMAs and pages (process/). */
export class AddressSpace {
  /** mm->pgtables_bytes. */
  pgtablesBytes = 0;
  /** `populate`/`clear` statements that linked or unlinked a counted level by hand. */
  unaccountedLinks: Span[] = [];
  exited = false;

  constructor(
    /** 'kernel' or the process name. */
    readonly name: string,
    readonly kernel: boolean,
    public root: TablePage,
  ) {}
}

/** A vmalloc area (struct vm_struct). */
export interface VmArea {
  name: string;
  start: bigint;
  /** Mapped size (without the guard page). */
  size: bigint;
  /** VM_ALLOW_HUGE_VMAP. */
  huge: boolean;
  /** Physical address of each backing page or block, with its size. */
  pages: { pa: number; order: number }[];
  /** The vmalloc statement, for related information. */
  span: Span;
  freed: boolean;
}

/** Where page-table pages come from: plain pages, or seed 001's pte-mapped cache. */
export interface PgtablePageSource {
  /** A physical page for a new table page, or undefined when memory is exhausted. */
  alloc(machine: Machine): number | undefined;
  free(machine: Machine, pa: number): void;
  /**
   * For the race explorer's undo journal (Machine.capture): a function that puts the source's
   * own state back as it is now. Absent for a source with no state of its own.
   */
  save?(): () => void;
}

/** The depths whose bits are set in a StepRecord.levelsTouched mask, shallowest first. */
export function depthsIn(mask: number): Depth[] {
  const depths: Depth[] = [];
  for (let depth = 0; depth < 5; depth++) if ((mask & (1 << depth)) !== 0) depths.push(depth as Depth);
  return depths;
}

/**
 * The list a finished step record has when it allocated, freed or wrote no table. Frozen: a
 * finished record is never written again, and a push here would throw rather than corrupt
 * every record sharing it.
 */
const NO_TABLES = Object.freeze([]) as unknown as TablePage[];

/**
 * `list` with `table` added. A step's table lists start as the shared empty one (most steps
 * allocate and free no table, and write one), so a step record costs no arrays until it has
 * something to list, and a list of one is exactly one slot.
 */
function appended(list: TablePage[], table: TablePage): TablePage[] {
  if (list === NO_TABLES) return [table];
  list.push(table);
  return list;
}

/** What one executed statement did. */
export interface StepRecord {
  index: number;
  span: Span;
  /** 'kernel', a process name, or `thread NAME`. */
  space: string;
  /** The kernel helper the statement models, e.g. `__create_pgd_mapping`. */
  helper: string;
  summary: string;
  result?: string;
  tablesAllocated: TablePage[];
  tablesFreed: TablePage[];
  /** Tables whose entries this step wrote, in first-write order. */
  tablesWritten: TablePage[];
  entriesWritten: number;
  /** Entries written with the valid bit set (the W+X check skips steps with none). */
  validWrites: number;
  /** Levels whose entries were written: bit d for tables of depth d (see depthsIn). */
  levelsTouched: number;
  counters: Counters;
}

export interface Counters {
  tlbFlushes: number;
  barriers: number;
  directMapSplits: number;
}

export interface MachineOptions {
  profile: ArchProfile;
  features: ReadonlySet<Feature>;
  thp: ThpMode;
  accounting: AccountingMode;
  budget: Budget;
  history: boolean;
}

export class Machine {
  readonly profile: ArchProfile;
  readonly features: ReadonlySet<Feature>;
  readonly thp: ThpMode;
  readonly accounting: AccountingMode;
  readonly budget: Budget;
  readonly historyEnabled: boolean;

  readonly kernel: AddressSpace;
  readonly spaces = new Map<string, AddressSpace>();
  readonly phys: PhysAllocator;
  pgtablePages: PgtablePageSource;

  /** Every table page ever allocated in this run, in allocation order. */
  readonly tables: TablePage[] = [];
  /** Where this run's tables get their entry arrays (recycled once the run is collected). */
  readonly arena = new EntryArena();
  liveTables = 0;
  entriesWritten = 0;
  /**
   * The host's stop request (a newer edit, a cancel, its time limit), asked every STOP_POLL
   * entries written, so that one statement writing millions of entries can be stopped too.
   */
  shouldStop: (() => boolean) | undefined;
  private nextStopPoll = STOP_POLL;
  readonly counters: Counters = { tlbFlushes: 0, barriers: 0, directMapSplits: 0 };

  /** vmalloc areas (vm_struct) by name, for vfree and set_memory_*'s caller rule. */
  readonly vmAreas = new Map<string, VmArea>();
  /** Linear-map mappings made by `map` in the linear region: where page aliases live. */
  readonly linearMaps: { va: bigint; pa: bigint; size: bigint }[] = [];

  readonly findings: Finding[] = [];
  readonly outputs: Output[] = [];
  readonly steps: StepRecord[] = [];
  /** The statement being executed. */
  span: Span = { start: 0, end: 0 };
  step = 0;
  private current: StepRecord | undefined;

  /** arm64 lazy MMU mode: barriers are batched until the section ends. */
  private lazyDepth = 0;
  private lazyPending = false;

  private nextTableId = 1;

  /** Set while the race explorer records changes for backtracking (explore/undo.ts). */
  undo: UndoLog | undefined;

  /**
   * mmap_read_trylock(&init_mm) on a kernel path that frees page tables (vmap_try_huge_pmd/pud
   * in 7.3). Outside `concurrent` blocks nobody holds the lock, so it succeeds; the race
   * explorer answers from the lock's state in the schedule being explored.
   */
  initMmReadTrylock: () => boolean = () => true;

  constructor(options: MachineOptions) {
    this.profile = options.profile;
    this.features = options.features;
    this.thp = options.thp;
    this.accounting = options.accounting;
    this.budget = options.budget;
    this.historyEnabled = options.history;
    // Until the scenario maps a linear map, page-table and data pages come from 64 GiB of RAM at
    // a conventional base; `map` of the linear map replaces this with the RAM it covers.
    this.phys = new PhysAllocator({ start: 0x80000000, end: 0x80000000 + 64 * 2 ** 30 }, Number(options.profile.pageSize));
    this.pgtablePages = plainPages;
    // swapper_pg_dir is static: it exists from the start, is never allocated, constructed or freed.
    const swapper = new TablePage(
      0,
      0,
      this.profile.levels[0]?.ptrs ?? 1,
      0x40000000,
      'kernel',
      Math.max(Number(this.profile.pageSize), this.profile.pgdBytes),
      'static',
      -1,
      this.profile.realLevels === 1,
      this.arena,
    );
    swapper.name = 'swapper_pg_dir';
    this.kernel = new AddressSpace('kernel', true, swapper);
    this.spaces.set('kernel', this.kernel);
  }

  has(feature: Feature): boolean {
    return this.features.has(feature);
  }

  isLastLevel(depth: Depth): boolean {
    return depth === 4;
  }

  // -------------------------------------------------------------------------------------------
  // Steps and history

  beginStep(span: Span, space: string, helper: string): void {
    this.span = span;
    this.current = {
      index: this.step,
      span,
      space,
      helper,
      summary: '',
      // Present from the start: a field added later lands in a separate property store, and
      // a long scenario keeps a record per statement.
      result: undefined,
      tablesAllocated: NO_TABLES,
      tablesFreed: NO_TABLES,
      tablesWritten: NO_TABLES,
      entriesWritten: 0,
      validWrites: 0,
      levelsTouched: 0,
      // The live counters while the step runs; endStep keeps a copy of them as they end.
      counters: this.counters,
    };
    if (this.step + 1 > this.budget.steps) throw new RunStop('budget', `the run would exceed ${this.budget.steps} steps`);
  }

  endStep(summary: string, result?: string): StepRecord | undefined {
    const record = this.current;
    if (!record) return undefined;
    record.summary = summary;
    if (result !== undefined) record.result = result;
    // Field by field: a spread is a call to a generic clone on every step. Most steps change no
    // counter (no process statement flushes the TLB here): they share the last step's copy,
    // which nothing changes once its step is over, instead of keeping one each.
    const { tlbFlushes, barriers, directMapSplits } = this.counters;
    const last = this.steps[this.steps.length - 1]?.counters;
    record.counters =
      last !== undefined && last.tlbFlushes === tlbFlushes && last.barriers === barriers && last.directMapSplits === directMapSplits
        ? last
        : { tlbFlushes, barriers, directMapSplits };
    // A step record lives as long as the run: cut its lists to size (a push reserves sixteen
    // slots more; a list of one came from `appended` exact).
    const written = record.tablesWritten;
    if (written.length > 1) record.tablesWritten = written.slice();
    if (record.tablesAllocated.length > 1) record.tablesAllocated = record.tablesAllocated.slice();
    if (record.tablesFreed.length > 1) record.tablesFreed = record.tablesFreed.slice();
    this.steps.push(record);
    this.current = undefined;
    this.step++;
    return record;
  }

  get currentStep(): StepRecord | undefined {
    return this.current;
  }

  /**
   * Saves the machine's own state besides entry values, ledger fields and physical frames (which
   * `undo` and `phys.undo` record change by change): counters, list lengths (tables, findings,
   * outputs) and the current step's record; at `depth` 1 also the page-table page source (what
   * freeing a table page may change), at `depth` 2 also the vmalloc areas, linear maps and the
   * address spaces' counters (what any statement may change). Returns its restore. The race
   * explorer takes one before each step that may change the machine.
   */
  capture(depth: 0 | 1 | 2): () => void {
    const { tlbFlushes, barriers, directMapSplits } = this.counters;
    const { liveTables, entriesWritten, nextTableId, lazyDepth, lazyPending, span } = this;
    const tables = this.tables.length;
    const findings = this.findings.length;
    const outputs = this.outputs.length;
    const current = this.current;
    const allocated = current?.tablesAllocated.length ?? 0;
    const freed = current?.tablesFreed.length ?? 0;
    const written = current?.tablesWritten.length ?? 0;
    const entries = current?.entriesWritten ?? 0;
    const valid = current?.validWrites ?? 0;
    const levels = current?.levelsTouched ?? 0;
    const restoreSource = depth >= 1 ? this.pgtablePages.save?.() : undefined;
    const restoreDeep = depth >= 2 ? this.captureDeep() : undefined;
    return () => {
      this.counters.tlbFlushes = tlbFlushes;
      this.counters.barriers = barriers;
      this.counters.directMapSplits = directMapSplits;
      this.liveTables = liveTables;
      this.entriesWritten = entriesWritten;
      this.nextTableId = nextTableId;
      this.lazyDepth = lazyDepth;
      this.lazyPending = lazyPending;
      this.span = span;
      truncate(this.tables, tables);
      truncate(this.findings, findings);
      truncate(this.outputs, outputs);
      this.current = current;
      if (current) {
        truncate(current.tablesAllocated, allocated);
        truncate(current.tablesFreed, freed);
        truncate(current.tablesWritten, written);
        current.entriesWritten = entries;
        current.validWrites = valid;
        current.levelsTouched = levels;
      }
      restoreSource?.();
      restoreDeep?.();
    };
  }

  private captureDeep(): () => void {
    const { pgtablePages } = this;
    const steps = this.steps.length;
    const linearMaps = this.linearMaps.length;
    const areas = [...this.vmAreas.entries()].map(([name, area]) => [name, area, area.freed] as const);
    const spaces = [...this.spaces.entries()].map(([name, space]) => [name, space, space.pgtablesBytes, space.unaccountedLinks.length, space.exited] as const);
    return () => {
      this.pgtablePages = pgtablePages;
      truncate(this.steps, steps);
      truncate(this.linearMaps, linearMaps);
      this.vmAreas.clear();
      for (const [name, area, freed] of areas) {
        area.freed = freed;
        this.vmAreas.set(name, area);
      }
      this.spaces.clear();
      for (const [name, space, bytes, links, exited] of spaces) {
        space.pgtablesBytes = bytes;
        space.exited = exited;
        truncate(space.unaccountedLinks, links);
        this.spaces.set(name, space);
      }
    };
  }

  /** Makes a table writable in this step: copy-on-write for history, and records the change. */
  touch(table: TablePage): void {
    if (table.touchedStep === this.step) {
      // The race explorer takes steps back, and the step record with them; the copy stays.
      const current = this.current;
      if (this.undo && current && !current.tablesWritten.includes(table)) current.tablesWritten = appended(current.tablesWritten, table);
      return;
    }
    table.touchedStep = this.step;
    if (table.bornStep !== this.step) table.forgetFresh();
    if (this.historyEnabled) table.beginStep(this.step);
    const current = this.current;
    if (current) current.tablesWritten = appended(current.tablesWritten, table);
  }

  /**
   * Takes the finished run apart once nobody reads it (RunState.release). A dropped run dies in
   * the old generation only at the next full collection; until then its promoted objects (the
   * machine, the first tables and step records) keep the run's young objects alive through
   * every young-generation collection, which copies them and promotes them in turn. Rerunning
   * sample 34 as the language server does, that was 5 to 14 MB per collection. With the links
   * cut, the young objects die young. The entry slabs go back to the pool at once
   * (EntryArena.release), since no table reads them any more.
   */
  dismantle(): void {
    for (const table of this.tables) table.dismantle();
    this.arena.release();
    this.tables.length = 0;
    this.steps.length = 0;
    this.spaces.clear();
    this.vmAreas.clear();
    this.linearMaps.length = 0;
    this.current = undefined;
  }

  /**
   * Writes one entry through the kernel's set_pXd path: copy-on-write, budget, and the arm64
   * barrier a valid kernel entry needs (dsb+isb per write, or once per lazy MMU section).
   */
  writeEntry(table: TablePage, index: number, lo: number, hi: number): void {
    this.touch(table);
    table.set(index, lo, hi);
    this.countWrites(table, 1, (lo & 1) !== 0);
  }

  /**
   * Accounts for `n` entries written directly into `table.e` by a bulk loop (after `touch`).
   * `validKernel` says whether the entries need the arm64 kernel barrier.
   */
  countWrites(table: TablePage, n: number, validKernel: boolean): void {
    this.entriesWritten += n;
    const current = this.current;
    if (current) {
      current.entriesWritten += n;
      if (validKernel) current.validWrites += n;
      current.levelsTouched |= 1 << table.depth;
    }
    if (this.entriesWritten > this.budget.entries) {
      throw new RunStop('budget', `the run would write more than ${this.budget.entries} page-table entries`);
    }
    if (this.entriesWritten >= this.nextStopPoll) {
      this.nextStopPoll = this.entriesWritten + STOP_POLL;
      this.pollStop();
    }
    // arm64 set_pte()/set_pmd(): dsb(ishst); isb() after a valid kernel entry, batched in lazy MMU.
    if (validKernel && table.space === 'kernel' && this.profile.family === 'arm64') {
      if (this.lazyDepth > 0) this.lazyPending = true;
      else this.counters.barriers += n;
    }
  }

  /** Stops the run when the host asks (long loops inside one statement call this now and then). */
  pollStop(): void {
    if (this.shouldStop?.()) throw new RunStop('cancelled', 'the run was cancelled');
  }

  /**
   * Fails at once when a statement about to write at least `n` more entries would cross the
   * entries budget, instead of after seconds of writing them (a 1 TiB map in 4K pages).
   */
  expectWrites(n: bigint): void {
    if (BigInt(this.entriesWritten) + n > BigInt(this.budget.entries)) {
      throw new RunStop('budget', `the run would write more than ${this.budget.entries} page-table entries`);
    }
  }

  enterLazyMmu(): void {
    this.lazyDepth++;
  }

  leaveLazyMmu(): void {
    this.lazyDepth--;
    if (this.lazyDepth === 0 && this.lazyPending) {
      this.counters.barriers++;
      this.lazyPending = false;
    }
  }

  flushTlb(): void {
    this.counters.tlbFlushes++;
  }

  // -------------------------------------------------------------------------------------------
  // The ledger

  private event(table: TablePage, kind: LedgerEventKind, detail?: string): LedgerEvent {
    const event: LedgerEvent = { kind, span: this.span, step: this.step };
    if (detail !== undefined) event.detail = detail;
    table.events.push(event);
    return event;
  }

  /**
   * What a ledger event says beyond its kind: "pte table at 0x…" for an allocation,
   * "pmd_populate into entry 3 of the PMD table at 0x…" for a link, a ctor's note. Made when
   * asked, from the tables themselves, which do not change address or name.
   */
  eventDetail(table: TablePage, event: LedgerEvent): string | undefined {
    const level = (depth: Depth): string => this.profile.levels[depth]?.name ?? '?';
    if (event.kind === 'alloc') return `${level(table.depth)} table at ${hexPa(table.pa)}`;
    if (event.kind === 'link' && event.parent) return `${level(event.parent.depth)}_populate into entry ${event.index ?? 0} of ${tableLabel(this, event.parent)}`;
    return event.detail;
  }

  /**
   * Whether the constructor runs for a table allocated from the page allocator at `depth` in
   * `space` (kernel-notes/ctor-dtor.md §2, and the `accounting` header).
   */
  ctorApplies(space: AddressSpace, depth: Depth, allocator: TablePage['allocator']): boolean {
    if (allocator !== 'page') return false;
    if (this.accounting === 'series') return true;
    // Before "Account page tables at all levels": PTE/PMD/PUD ctors only, and none for kernel
    // PTE tables (pte_alloc_one_kernel ran no ctor until 6.16).
    const name = this.profile.levels[depth]?.name;
    if (name === 'pte') return !space.kernel;
    return name === 'pmd' || name === 'pud';
  }

  /**
   * Allocates a table page for `space` at real depth `depth` the way pXd_alloc_one does,
   * running the ctor the rules call for unless `noctor` (a slab path modelled by hand).
   */
  allocTable(space: AddressSpace, depth: Depth, options: { noctor?: boolean; name?: string } = {}): TablePage {
    if (this.liveTables + 1 > this.budget.tablePages) {
      throw new RunStop('budget', `the run would hold more than ${this.budget.tablePages} table pages`);
    }
    const geometry = this.profile.levels[depth];
    const ptrs = geometry?.ptrs ?? 1;
    const pgd = depth === 0;
    const allocator: TablePage['allocator'] = pgd && !space.kernel ? this.profile.pgdAllocator : 'page';
    const pa = allocator === 'page' ? this.pgtablePages.alloc(this) : this.phys.allocPage();
    if (pa === undefined) throw new RunStop('budget', 'physical memory for page tables is exhausted');
    const bytes = pgd ? this.profile.pgdBytes : Number(this.profile.pageSize);
    const table = new TablePage(this.nextTableId++, depth, ptrs, pa, space.name, bytes, allocator, this.step, depth === 4, this.arena);
    table.undo = this.undo;
    if (options.name !== undefined) table.name = options.name;
    this.tables.push(table);
    this.liveTables++;
    this.event(table, 'alloc');
    if (!options.noctor && this.ctorApplies(space, depth, allocator)) this.construct(table);
    const current = this.current;
    if (current) current.tablesAllocated = appended(current.tablesAllocated, table);
    return table;
  }

  /** pagetable_*_ctor. A second ctor is a leak finding (ptlock_init's VM_BUG_ON_PAGE). */
  construct(table: TablePage): void {
    this.undo?.table(table);
    if (table.constructed && !table.destructed) {
      this.ledgerFinding(table, `second ctor on ${tableLabel(this, table)}: its ptlock word is already in use (VM_BUG_ON_PAGE in ptlock_init) and NR_PAGETABLE is counted twice`, 'pgtable_dtor');
      return;
    }
    table.constructed = true;
    table.destructed = false;
    this.event(table, 'ctor', this.ptlockNote(table));
  }

  private ptlockNote(table: TablePage): string | undefined {
    const name = this.profile.levels[table.depth]?.name;
    if (table.space !== 'kernel' && (name === 'pte' || name === 'pmd')) return 'split ptlock initialised';
    return undefined;
  }

  /** pagetable_dtor. */
  destruct(table: TablePage): void {
    this.undo?.table(table);
    if (!table.constructed) {
      this.ledgerFinding(table, `dtor without ctor on ${tableLabel(this, table)}: NR_PAGETABLE drifts downwards`);
      return;
    }
    if (table.destructed) {
      this.ledgerFinding(table, `second dtor on ${tableLabel(this, table)}: NR_PAGETABLE drifts downwards`);
      return;
    }
    table.destructed = true;
    this.event(table, 'dtor');
  }

  /**
   * Frees a table page (pXd_free / pagetable_dtor_free). The destructor runs where the rules say
   * the level has one (the same rule as the ctor), unless `nodtor` models a path without it.
   */
  freeTable(table: TablePage, options: { nodtor?: boolean } = {}): void {
    this.undo?.table(table);
    if (table.freed) {
      this.ledgerFinding(table, `${tableLabel(this, table)} is freed twice`);
      return;
    }
    if (table.parent) {
      this.ledgerFinding(table, `${tableLabel(this, table)} is freed while still linked into its parent entry; walkers can still reach it`);
    }
    const space = this.spaces.get(table.space) ?? this.kernel;
    if (!options.nodtor && this.ctorApplies(space, table.depth, table.allocator)) this.destruct(table);
    if (table.constructed && !table.destructed) {
      this.ledgerFinding(table, `${tableLabel(this, table)} is freed without pagetable_dtor after its ctor: NR_PAGETABLE stays counted and its ptlock leaks`, 'pgtable_dtor');
    }
    table.freed = true;
    table.freedAt = this.span;
    this.liveTables--;
    this.event(table, 'free');
    if (table.allocator === 'page') this.pgtablePages.free(this, table.pa);
    else if (table.allocator !== 'static') this.phys.free(table.pa);
    const current = this.current;
    if (current) current.tablesFreed = appended(current.tablesFreed, table);
  }

  /**
   * Links `child` into `parent[index]` (pXd_populate), and for user mms counts it in
   * pgtables_bytes as pmd_install/__pmd_alloc/__pud_alloc do when `account` is set.
   */
  linkTable(parent: TablePage, index: number, child: TablePage, account: boolean, extraBits?: readonly [lo: number, hi: number]): void {
    const out = scratch;
    this.profile.codec.tableEntry(child.pa, parent.space === 'kernel', out);
    // extraBits: table attributes the caller adds, e.g. arm64 PMD_TABLE_PXN when a split block was PXN.
    if (extraBits) {
      out[0] = ((out[0] ?? 0) | extraBits[0]) >>> 0;
      out[1] = ((out[1] ?? 0) | extraBits[1]) >>> 0;
    }
    this.touch(parent);
    parent.set(index, out[0] ?? 0, out[1] ?? 0);
    this.undo?.table(child);
    this.keepChild(parent, index);
    parent.setChild(index, child);
    // Populating a table entry is a valid write that needs the arm64 barrier too.
    this.countWrites(parent, 1, true);
    child.parent = parent;
    child.parentIndex = index;
    const linked = this.event(child, 'link');
    linked.parent = parent;
    linked.index = index;
    const space = this.spaces.get(child.space);
    if (account && space && !space.kernel && this.countsInPgtablesBytes(child.depth)) {
      space.pgtablesBytes += this.profile.tableBytes(child.depth);
    }
  }

  /**
   * Clears `parent[index]` (pXd_clear) and, when `account` (free_pXd_range at teardown),
   * mm_dec_nr_* for user PTE/PMD/PUD tables, as the kernel does whether or not it counted them.
   */
  unlinkTable(parent: TablePage, index: number, account: boolean): TablePage | undefined {
    const child = parent.children?.[index];
    this.touch(parent);
    parent.set(index, 0, 0);
    if (child) this.undo?.table(child);
    this.keepChild(parent, index);
    parent.setChild(index, undefined);
    this.countWrites(parent, 1, false);
    if (!child) return undefined;
    child.parent = undefined;
    child.parentIndex = -1;
    this.event(child, 'unlink');
    const space = this.spaces.get(child.space);
    if (account && space && !space.kernel && this.countsInPgtablesBytes(child.depth)) {
      space.pgtablesBytes -= this.profile.tableBytes(child.depth);
    }
    return child;
  }

  /** Lets the undo log take back a change of `parent.children[index]`. */
  private keepChild(parent: TablePage, index: number): void {
    const children = parent.children;
    if (!this.undo || !children) return;
    const old = children[index];
    this.undo.push(() => {
      children[index] = old;
    });
  }

  /**
   * The statement that gave `table[index]` its present meaning: the earliest step from which the
   * entry has satisfied `same` without interruption (for example "a leaf with this output
   * address"), read from the per-step table versions. Without history, the statement that
   * allocated the table. Used to point a finding at the `map` or `vmalloc` that created a block.
   */
  entryOrigin(table: TablePage, index: number, same: (lo: number, hi: number) => boolean): Span | undefined {
    let origin: number | undefined;
    if (this.historyEnabled) {
      for (let step = this.step - 1; step >= table.bornStep; step--) {
        const [lo, hi] = table.entryAt(index, step);
        if (!same(lo, hi)) break;
        origin = step;
      }
    }
    if (origin !== undefined) return this.steps[origin]?.span;
    return table.allocator === 'static' ? undefined : table.events[0]?.span;
  }

  /** mm_inc_nr_ptes/pmds/puds apply to PTE, PMD and PUD tables of levels that are not folded. */
  countsInPgtablesBytes(depth: Depth): boolean {
    const name = this.profile.levels[depth]?.name;
    return name === 'pte' || name === 'pmd' || name === 'pud';
  }

  /** NR_PAGETABLE share of a space: bytes of its live table pages whose ctor ran. */
  accountedBytes(space: AddressSpace): number {
    let bytes = 0;
    for (const t of this.tables) {
      if (t.space === space.name && !t.freed && t.constructed && !t.destructed) {
        bytes += t.depth === 0 ? Math.max(this.profile.pgdBytes, Number(this.profile.pageSize)) : Number(this.profile.pageSize);
      }
    }
    return bytes;
  }

  liveTablesOf(space: AddressSpace, depth?: Depth): TablePage[] {
    return this.tables.filter((t) => t.space === space.name && !t.freed && (depth === undefined || t.depth === depth));
  }

  /**
   * The checks of exit and end of scenario (spec §8): every table of `space` still allocated is
   * a leak (reported at its allocation line), and a user mm's pgtables_bytes must be zero, as
   * check_mm() demands.
   */
  checkExit(space: AddressSpace): void {
    for (const table of this.tables) {
      if (table.space !== space.name || table.freed || table.allocator === 'static') continue;
      // init_mm keeps its tables: only a kernel table nothing links is leaked.
      if (space.kernel && table.parent) continue;
      const alloc = table.events[0];
      const fix: FixData | undefined =
        table.name !== undefined ? { kind: 'ctor-dtor', insert: `pgtable_free ${table.name}`, after: alloc?.span ?? this.span } : undefined;
      this.report('ctor-dtor-leak', 'error', `${tableLabel(this, table)} is left allocated when ${space.kernel ? 'the scenario ends' : `${space.name} exits`}${table.parent ? '' : ': nothing links or frees it'}`, {
        span: alloc?.span ?? this.span,
        related: [{ span: this.span, message: space.kernel ? 'the scenario ends here' : `${space.name} exits here` }],
        ...(fix ? { fix } : {}),
      });
    }
    if (!space.kernel && space.pgtablesBytes !== 0) {
      const blame = space.unaccountedLinks;
      const message = `BUG: non-zero pgtables_bytes on freeing mm: ${space.pgtablesBytes}`;
      const related: Related[] = [{ span: this.span, message: `${space.name} is freed here (check_mm)` }];
      if (blame.length > 0) {
        for (const span of blame.slice(1)) related.push({ span, message: 'also linked or unlinked without mm_inc_nr_*/mm_dec_nr_*' });
        this.report('ctor-dtor-leak', 'error', `${message} — this table was linked or unlinked without mm_inc_nr_*/mm_dec_nr_*`, { span: blame[0] ?? this.span, related });
      } else {
        this.report('ctor-dtor-leak', 'error', message, { related });
      }
    }
  }

  /** A ctor-dtor-leak finding at the current statement, related to the table's allocation. */
  ledgerFinding(table: TablePage, message: string, insert?: 'pgtable_dtor' | 'pgtable_free'): void {
    const alloc = table.events[0];
    const related: Related[] = alloc ? [{ span: alloc.span, message: `${tableLabel(this, table)} was allocated here` }] : [];
    const fix: FixData | undefined =
      insert && table.name !== undefined ? { kind: 'ctor-dtor', insert: `${insert} ${table.name}`, after: alloc?.span ?? this.span } : undefined;
    this.report('ctor-dtor-leak', 'error', message, { related, ...(fix ? { fix } : {}) });
  }

  // -------------------------------------------------------------------------------------------
  // Findings and outputs

  report(
    code: FindingCode,
    severity: Severity,
    message: string,
    options: { span?: Span; related?: Related[]; fix?: FixData } = {},
  ): Finding {
    const finding: Finding = { code, severity, span: options.span ?? this.span, message };
    if (options.related && options.related.length > 0) finding.related = options.related;
    if (options.fix) finding.fix = options.fix;
    this.findings.push(finding);
    return finding;
  }

  output(kind: Output['kind'], text: string): void {
    this.outputs.push({ span: this.span, kind, text });
  }
}

const scratch = new Uint32Array(2);

const plainPages: PgtablePageSource = {
  alloc: (machine) => machine.phys.allocPage(),
  free: (machine, pa) => machine.phys.free(pa),
};

function hexPa(pa: number): string {
  // Number#toString(16) takes a slow path for values past 2^30; two smaller halves do not.
  if (pa < 2 ** 30) return '0x' + pa.toString(16);
  const high = Math.floor(pa / 2 ** 24);
  return '0x' + high.toString(16) + (pa - high * 2 ** 24 + 2 ** 24).toString(16).slice(1);
}

/** "the PTE table `t` at 0x80123000" — how findings name a table page. */
export function tableLabel(machine: Machine, table: TablePage): string {
  const level = (machine.profile.levels[table.depth]?.name ?? '?').toUpperCase();
  const name = table.name !== undefined ? ` \`${table.name}\`` : '';
  return `the ${level} table${name} at ${hexPa(table.pa)}`;
}
