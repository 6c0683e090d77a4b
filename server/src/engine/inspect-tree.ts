// The inspector's reading of the table pages: each table's entries after a step coalesced into
// runs the way ptdump's note_page() merges them, the ledger state of a page at a step, where an
// entry got its value, and which tables a step changed. Everything is computed on demand and
// cached per table and per step that changed it (its "epoch"), so a state with millions of
// entries is never materialised row by row, and a table no step touched is coalesced once.

import { decodeBits } from './arch/codec';
import type { Depth } from './arch/profile';
import type { EntryKind } from './inspect';
import type { Machine } from './model/machine';
import type { TablePage } from './model/table';
import type { Span } from './program';
import { join64 } from './u64';

/**
 * Consecutive entries of one table that read the same: same kind, same attributes (the
 * descriptor with its output-address field masked, as ptdump compares masked protections), same
 * change against the step before. Table entries never coalesce: each leads to its own subtree.
 */
export interface EntryRun {
  /** First entry index. */
  start: number;
  /** One past the last entry index. */
  end: number;
  kind: EntryKind;
  change: 'added' | 'removed' | 'changed' | undefined;
  /** Descriptor halves of the first entry. */
  lo: number;
  hi: number;
  /** For a table entry: the ledger id of the table it points to at this step. */
  child: number | undefined;
  /** A kernel leaf that is writable and executable at EL1 (what check_wx warns about). */
  wx: boolean;
  /** A leaf that maps more than one page: a block, or a PTE of a contiguous-hint run. */
  block: boolean;
}

/** One entry decoded for display. */
export interface EntryDetail {
  value: bigint;
  kind: EntryKind;
  /** The entry is at the last level (a leaf there is a page, not a block). */
  lastLevel: boolean;
  /** Names of the descriptor fields that are set. */
  bits: string[];
  change?: 'added' | 'removed' | 'changed';
  /** The value before the step, when it changed. */
  before?: bigint;
  /** Output address of a leaf or table entry. */
  pa?: number;
  prot?: { valid: boolean; read: boolean; write: boolean; kexec: boolean; uexec: boolean; user: boolean; cont: boolean; dirty: boolean };
}

/** A table page as the ledger saw it after a step. */
export interface TablePageState {
  id: number;
  space: string;
  /** Real level of the table, 0 = PGD … 4 = PTE. */
  depth: Depth;
  /** Its level's name (`pgd`, `pmd`, …). */
  level: string;
  ptrs: number;
  /** log2 of the bytes one entry maps. */
  shift: number;
  pa: number;
  bytes: number;
  allocator: TablePage['allocator'];
  name?: string;
  /** Allocated at or before the step (the static PGD always is). */
  exists: boolean;
  freed: boolean;
  /** pagetable_*_ctor ran and no dtor yet: the page counts in NR_PAGETABLE. */
  constructed: boolean;
  destructed: boolean;
  /** Linked into a parent entry (or the static root). */
  linked: boolean;
  /** Step of the allocation, -1 for the static PGD. */
  allocStep: number;
  /** Step of the free, -1 while live. */
  freeStep: number;
  /** Entries that are not none. */
  used: number;
}

/** A `partial-block-overlap` finding placed in the address space. */
export interface OverlapMark {
  /** First byte of the block (or contiguous run) the statement hit, and one past its end. */
  start: bigint;
  end: bigint;
  span: Span;
  message: string;
}

/** What one address space holds after a step, for the counters view. */
export interface SpaceStat {
  name: string;
  kernel: boolean;
  /** Live table pages by level name. */
  tablesByLevel: Record<string, number>;
  /** Bytes of live pages whose ctor ran (NR_PAGETABLE's share). */
  accountedBytes: number;
  /** pgtables_bytes as mm_inc_nr_* would count the linked PTE, PMD and PUD tables. */
  linkedTableBytes: number;
  /** mm->pgtables_bytes as the run left it (the final state only). */
  finalPgtablesBytes: number;
}

type Content = { e: Uint32Array; children: (TablePage | undefined)[] | undefined };

export class TableTree {
  /** Bits of a descriptor that hold the output address: masked out when attributes are compared. */
  private readonly addrLo: number;
  private readonly addrHi: number;
  /** Per table: runs with change marks for each step that changed it. */
  private readonly changedRuns = new Map<number, Map<number, EntryRun[]>>();
  /** Per table: runs without change marks for each epoch (the last step that changed it). */
  private readonly plainRuns = new Map<number, Map<number, EntryRun[]>>();
  private byId: Map<number, TablePage> | undefined;
  private readonly unlinkedCache = new Map<string, number[]>();
  /** Per table: the steps that allocated or wrote it, ascending (Machine.touch logs every write). */
  private writes: Map<number, number[]> | undefined;

  constructor(private readonly machine: Machine) {
    const codec = machine.profile.codec;
    let lo = 0;
    let hi = 0;
    for (let bit = 0; bit < 64; bit++) {
      const l = bit < 32 ? (1 << bit) >>> 0 : 0;
      const h = bit < 32 ? 0 : (1 << (bit - 32)) >>> 0;
      if (codec.address(l, h) !== 0) {
        lo = (lo | l) >>> 0;
        hi = (hi | h) >>> 0;
      }
    }
    this.addrLo = lo;
    this.addrHi = hi;
  }

  /** The table page with ledger id `id`; 0 is swapper_pg_dir. */
  tablePage(id: number): TablePage | undefined {
    if (id === 0) return this.machine.kernel.root;
    if (!this.byId || this.byId.size !== this.machine.tables.length) {
      this.byId = new Map(this.machine.tables.map((t) => [t.id, t]));
    }
    return this.byId.get(id);
  }

  private content(table: TablePage, step: number): Content | undefined {
    return table.contentAt(step);
  }

  /** The steps that changed table `t`: its allocation and every step that wrote it. */
  private changeSteps(t: TablePage): number[] {
    if (!this.writes) {
      const writes = new Map<number, number[]>();
      const add = (id: number, step: number): void => {
        const list = writes.get(id);
        if (!list) writes.set(id, [step]);
        else if (list[list.length - 1] !== step) list.push(step);
      };
      for (const record of this.machine.steps) {
        for (const table of record.tablesAllocated) add(table.id, record.index);
        for (const table of record.tablesWritten) add(table.id, record.index);
      }
      this.writes = writes;
    }
    return this.writes.get(t.id) ?? [];
  }

  /** Whether step `step` allocated or wrote table `t`. */
  private changedIn(t: TablePage, step: number): boolean {
    if (step === t.bornStep) return true;
    const steps = this.changeSteps(t);
    let lo = 0;
    let hi = steps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = steps[mid] as number;
      if (s === step) return true;
      if (s < step) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** The last step at or before `step` that changed `t` (its content is the same since). */
  private epoch(t: TablePage, step: number): number {
    const steps = this.changeSteps(t);
    let found = t.bornStep;
    let lo = 0;
    let hi = steps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = steps[mid] as number;
      if (s <= step) {
        found = Math.max(found, s);
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  private static cached(cache: Map<number, Map<number, EntryRun[]>>, id: number, key: number, make: () => EntryRun[]): EntryRun[] {
    let perTable = cache.get(id);
    if (!perTable) {
      perTable = new Map();
      cache.set(id, perTable);
    }
    let runs = perTable.get(key);
    if (!runs) {
      runs = make();
      perTable.set(key, runs);
    }
    return runs;
  }

  /** The entries of table `id` after `step` as coalesced runs; empty when it did not exist. */
  runs(id: number, step: number): readonly EntryRun[] {
    const table = this.tablePage(id);
    if (!table || step < table.bornStep) return [];
    if (this.changedIn(table, step)) {
      return TableTree.cached(this.changedRuns, id, step, () => {
        const now = this.content(table, step);
        if (!now) return [];
        return this.coalesce(table, now, step === table.bornStep ? undefined : this.content(table, step - 1));
      });
    }
    const epoch = this.epoch(table, step);
    return TableTree.cached(this.plainRuns, id, epoch, () => {
      // Runs whose change marks are all alike split exactly where plain runs do.
      const marked = this.changedRuns.get(id)?.get(epoch);
      if (marked && marked.every((r) => r.change === marked[0]?.change)) return marked.map((r) => ({ ...r, change: undefined }));
      const now = this.content(table, step);
      return now ? this.coalesce(table, now, now) : [];
    });
  }

  private coalesce(table: TablePage, now: Content, before: Content | undefined): EntryRun[] {
    const profile = this.machine.profile;
    const codec = profile.codec;
    const depth = (profile.entryDepth[table.depth] ?? table.depth) as Depth;
    const lastLevel = depth === 4;
    const kernel = table.space === 'kernel';
    const e = now.e;
    const b = before?.e;
    const same = before === now;
    const mlo = ~this.addrLo >>> 0;
    const mhi = ~this.addrHi >>> 0;
    const runs: EntryRun[] = [];
    let current: EntryRun | undefined;
    let keyLo = 0;
    let keyHi = 0;
    for (let i = 0; i < table.ptrs; i++) {
      const lo = e[2 * i] ?? 0;
      const hi = e[2 * i + 1] ?? 0;
      let change: EntryRun['change'];
      if (!same) {
        const blo = b ? (b[2 * i] ?? 0) : 0;
        const bhi = b ? (b[2 * i + 1] ?? 0) : 0;
        if (blo !== lo || bhi !== hi) change = blo === 0 && bhi === 0 ? 'added' : lo === 0 && hi === 0 ? 'removed' : 'changed';
      }
      if (current && current.kind !== 'table' && current.change === change) {
        const isZero = lo === 0 && hi === 0;
        const wasZero = current.kind === 'none';
        if (isZero && wasZero) {
          current.end = i + 1;
          continue;
        }
        if (!isZero && !wasZero && ((lo & mlo) >>> 0) === keyLo && ((hi & mhi) >>> 0) === keyHi) {
          // Same attributes. Non-present entries (swap entries, markers) must match whole.
          const plain = current.kind === 'leaf';
          if (plain || (lo === current.lo && hi === current.hi)) {
            current.end = i + 1;
            continue;
          }
        }
      }
      const cls = codec.classify(depth, lo, hi, lastLevel);
      const kind: EntryKind = cls === 'nonpresent' && codec.isMarker(lo, hi, 'guard') ? 'marker' : cls;
      let wx = false;
      let block = false;
      if (kind === 'leaf') {
        const p = codec.leafProt(lo, hi);
        wx = kernel && p.valid && p.write && p.kexec;
        block = !lastLevel || p.cont;
      }
      current = { start: i, end: i + 1, kind, change, lo, hi, child: kind === 'table' ? now.children?.[i]?.id : undefined, wx, block };
      keyLo = (lo & mlo) >>> 0;
      keyHi = (hi & mhi) >>> 0;
      runs.push(current);
    }
    return runs;
  }

  /** One entry of table `id` after `step`, decoded, compared with the step before. */
  entry(id: number, step: number, index: number): EntryDetail | undefined {
    const table = this.tablePage(id);
    if (!table || step < table.bornStep || index < 0 || index >= table.ptrs) return undefined;
    const profile = this.machine.profile;
    const codec = profile.codec;
    const depth = (profile.entryDepth[table.depth] ?? table.depth) as Depth;
    const [lo, hi] = table.entryAt(index, step);
    const existed = step - 1 >= table.bornStep;
    const [blo, bhi] = existed && this.changedIn(table, step) ? table.entryAt(index, step - 1) : existed ? [lo, hi] : [0, 0];
    const cls = codec.classify(depth, lo, hi, depth === 4);
    const kind: EntryKind = cls === 'nonpresent' && codec.isMarker(lo, hi, 'guard') ? 'marker' : cls;
    const value = join64(lo, hi);
    // A non-present entry is in swap format (type and offset): its bits are not descriptor bits.
    const bits = kind === 'leaf' || kind === 'table' ? decodeBits(codec, value).map((b) => b.name) : [];
    const detail: EntryDetail = { value, kind, lastLevel: depth === 4, bits };
    if (blo !== lo || bhi !== hi) {
      detail.change = blo === 0 && bhi === 0 ? 'added' : lo === 0 && hi === 0 ? 'removed' : 'changed';
      if (existed) detail.before = join64(blo, bhi);
    }
    if (kind === 'leaf' || kind === 'table') detail.pa = codec.address(lo, hi);
    if (kind === 'leaf') {
      const p = codec.leafProt(lo, hi);
      detail.prot = { valid: p.valid, read: p.read, write: p.logicalWrite && p.present, kexec: p.kexec, uexec: p.uexec, user: p.user, cont: p.cont, dirty: p.dirty };
    }
    return detail;
  }

  /** The ledger state of table `id` after `step`. */
  page(id: number, step: number): TablePageState | undefined {
    const t = this.tablePage(id);
    if (!t) return undefined;
    const profile = this.machine.profile;
    let exists = t.allocator === 'static';
    let freed = false;
    let constructed = false;
    let destructed = false;
    let linked = t.allocator === 'static';
    let allocStep = t.allocator === 'static' ? -1 : -2;
    let freeStep = -1;
    for (const ev of t.events) {
      if (ev.step > step) break;
      switch (ev.kind) {
        case 'alloc':
          exists = true;
          allocStep = ev.step;
          break;
        case 'ctor':
          constructed = true;
          destructed = false;
          break;
        case 'dtor':
          destructed = true;
          break;
        case 'link':
          linked = true;
          break;
        case 'unlink':
          linked = false;
          break;
        case 'free':
          freed = true;
          freeStep = ev.step;
          linked = false;
          break;
      }
    }
    if (allocStep === -2) allocStep = t.events[0]?.step ?? -1;
    const state: TablePageState = {
      id: t.id,
      space: t.space,
      depth: t.depth,
      level: profile.levels[t.depth]?.name ?? '',
      ptrs: t.ptrs,
      shift: profile.levels[t.depth]?.shift ?? 0,
      pa: t.pa,
      bytes: t.bytes,
      allocator: t.allocator,
      exists,
      freed,
      constructed: constructed && !destructed,
      destructed,
      linked,
      allocStep,
      freeStep,
      used: step < t.bornStep ? 0 : this.runs(t.id, step).reduce((n, r) => (r.kind === 'none' ? n : n + r.end - r.start), 0),
    };
    if (t.name !== undefined) state.name = t.name;
    return state;
  }

  /**
   * The step that gave entry `index` of table `id` the value it has after `step`: the earliest
   * step from which it held that value without interruption; -1 when it had it before the run.
   */
  entryOrigin(id: number, step: number, index: number): number {
    const table = this.tablePage(id);
    if (!table || step < table.bornStep) return -1;
    const [lo, hi] = table.entryAt(index, step);
    const steps = this.changeSteps(table).filter((s) => s <= step && s > table.bornStep);
    for (let k = steps.length - 1; k >= 0; k--) {
      const s = steps[k] as number;
      const [blo, bhi] = table.entryAt(index, s - 1);
      if (blo !== lo || bhi !== hi) return s;
    }
    return table.bornStep;
  }

  /** Table pages of `space` that exist after `step` but hang in no table (leaked or about to be linked). */
  unlinked(space: string, step: number): number[] {
    const key = `${step}:${space}`;
    const known = this.unlinkedCache.get(key);
    if (known) return known;
    const out: number[] = [];
    const root = this.machine.spaces.get(space)?.root;
    for (const t of this.machine.tables) {
      if (t.space !== space || t === root) continue;
      let live = false;
      let linked = false;
      for (const ev of t.events) {
        if (ev.step > step) break;
        if (ev.kind === 'alloc') live = true;
        else if (ev.kind === 'free') live = false;
        else if (ev.kind === 'link') linked = true;
        else if (ev.kind === 'unlink') linked = false;
      }
      if (live && !linked) out.push(t.id);
    }
    this.unlinkedCache.set(key, out);
    if (this.unlinkedCache.size > 16) this.unlinkedCache.delete(this.unlinkedCache.keys().next().value as string);
    return out;
  }

  /** Tables the step wrote or allocated, in the order it touched them. */
  changedTables(step: number): number[] {
    const record = this.machine.steps[step];
    if (!record) return [];
    const ids = new Set<number>();
    for (const t of record.tablesWritten) ids.add(t.id);
    for (const t of record.tablesAllocated) ids.add(t.id);
    return [...ids];
  }

  /** The table and entry that link table `id` after `step`, if any. */
  parentAt(id: number, step: number): { table: number; index: number } | undefined {
    const t = this.tablePage(id);
    if (!t) return undefined;
    const codec = this.machine.profile.codec;
    const points = (parent: TablePage, index: number): boolean => {
      if (step < parent.bornStep) return false;
      const [lo, hi] = parent.entryAt(index, step);
      return (lo !== 0 || hi !== 0) && codec.address(lo, hi) === t.pa;
    };
    if (t.parent && points(t.parent, t.parentIndex)) return { table: t.parent.id, index: t.parentIndex };
    // The link may have moved since (mremap moves tables): look among the tables one level up.
    for (const candidate of [this.machine.kernel.root, ...this.machine.tables]) {
      if (candidate.space !== t.space || candidate.depth >= t.depth || step < candidate.bornStep) continue;
      const children = this.content(candidate, step)?.children;
      const index = children ? children.indexOf(t) : -1;
      if (index >= 0) return { table: candidate.id, index };
    }
    return undefined;
  }

  /** `partial-block-overlap` findings with the block they hit, and the step that reported them. */
  overlaps(): OverlapMark[] {
    const pageSize = this.machine.profile.pageSize;
    const out: OverlapMark[] = [];
    for (const f of this.machine.findings) {
      if (f.code !== 'partial-block-overlap' || f.fix?.kind !== 'partial-block') continue;
      out.push({ start: f.fix.alignedStart, end: f.fix.alignedStart + f.fix.alignedPages * pageSize, span: f.span, message: f.message });
    }
    return out;
  }

  /** `ctor-dtor-leak` findings, for marking the tables they name by allocation statement. */
  leaks(): { span: Span; message: string }[] {
    return this.machine.findings.filter((f) => f.code === 'ctor-dtor-leak').map((f) => ({ span: f.span, message: f.message }));
  }

  /** Per address space after `step`: live tables by level and the bytes they account. */
  spaceStats(step: number): SpaceStat[] {
    const profile = this.machine.profile;
    const out: SpaceStat[] = [];
    for (const space of this.machine.spaces.values()) {
      const stat: SpaceStat = { name: space.name, kernel: space.kernel, tablesByLevel: {}, accountedBytes: 0, linkedTableBytes: 0, finalPgtablesBytes: space.pgtablesBytes };
      for (const t of [this.machine.kernel.root, ...this.machine.tables]) {
        if (t.space !== space.name) continue;
        const state = this.page(t.id, step);
        if (!state || !state.exists || state.freed) continue;
        stat.tablesByLevel[state.level] = (stat.tablesByLevel[state.level] ?? 0) + 1;
        if (state.constructed) stat.accountedBytes += t.bytes;
        const name = state.level;
        if (!space.kernel && state.linked && (name === 'pte' || name === 'pmd' || name === 'pud') && !profile.levels[t.depth]?.folded) {
          stat.linkedTableBytes += profile.tableBytes(t.depth);
        }
      }
      out.push(stat);
    }
    return out;
  }
}
