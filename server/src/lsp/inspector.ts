// The inspector's data, read from a finished run (engine inspect.ts and inspect-tree.ts): the
// table tree of one address space after a step, paged by row offset, plus the ledger, the ptdump
// text and the counters of that state.
//
// The tree is never materialised. Each table's entries come as coalesced runs (ptdump's merging,
// cached per table version); a row count per table is computed from the runs for the query's
// expansion and filter, and a page is cut by skipping whole subtrees by their counts. A state of
// millions of entries therefore costs one pass over its tables, and each page only its rows.

import { hex16, sizeText, type ArchProfile, type EntryDetail, type EntryRun, type RunState, type TablePageState, type TableTree } from '../engine/index';
import type {
  InspectorCounters,
  InspectorEntryKind,
  InspectorFilter,
  InspectorFinding,
  InspectorKindFilter,
  InspectorLedgerRow,
  InspectorRow,
  InspectorTablePage,
  InspectorTreeParams,
  InspectorTreeResult,
} from '../protocol/result';

const TWO_64 = 1n << 64n;
/** Deepest table nesting followed; real configurations have at most five levels. */
const MAX_DEPTH = 6;
/** Queries (expansion × filter × step) whose row counts are kept per run. */
const QUERY_CACHE = 8;

// Filters ---------------------------------------------------------------------------------------

interface Filter {
  levels: Set<string> | undefined;
  kinds: Set<InspectorKindFilter> | undefined;
  findingsOnly: boolean;
  changesOnly: boolean;
  /** Canonical address range [vaStart, vaEnd). */
  vaStart: bigint | undefined;
  vaEnd: bigint | undefined;
  key: string;
}

function parseAddress(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  const clean = text.trim().replace(/_/g, '');
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(clean)) return undefined;
  const value = BigInt(clean);
  return value < TWO_64 ? value : undefined;
}

/** The filter's active parts, or undefined when nothing filters. */
export function compileFilter(filter: InspectorFilter | undefined): Filter | undefined {
  if (!filter) return undefined;
  const levels = filter.levels && filter.levels.length > 0 ? new Set(filter.levels) : undefined;
  const kinds = filter.kinds && filter.kinds.length > 0 && filter.kinds.length < 5 ? new Set(filter.kinds) : undefined;
  const vaStart = parseAddress(filter.vaStart);
  const vaEnd = parseAddress(filter.vaEnd);
  const compiled: Filter = {
    levels,
    kinds,
    findingsOnly: filter.findingsOnly === true,
    changesOnly: filter.changesOnly === true,
    vaStart,
    vaEnd,
    key: '',
  };
  if (!levels && !kinds && !compiled.findingsOnly && !compiled.changesOnly && vaStart === undefined && vaEnd === undefined) return undefined;
  compiled.key = JSON.stringify([levels ? [...levels].sort() : 0, kinds ? [...kinds].sort() : 0, compiled.findingsOnly, compiled.changesOnly, String(vaStart), String(vaEnd)]);
  return compiled;
}

function kindFilterOf(kind: InspectorEntryKind): InspectorKindFilter {
  return kind === 'nonpresent' ? 'invalid' : kind;
}

// Addresses -------------------------------------------------------------------------------------

/**
 * Entry addresses are computed in the "unsigned" space the top table indexes (0 … 2^vaBits) and
 * made canonical for display: arm64's TTBR1 tables index the kernel half from its bottom; x86
 * and riscv sign-extend the upper half (model/entry-va.ts does the same per table).
 */
class AddressSpaceView {
  private readonly offset: bigint;
  private readonly span: bigint;
  constructor(
    private readonly profile: ArchProfile,
    private readonly kernel: boolean,
  ) {
    this.span = 1n << BigInt(profile.vaBits);
    this.offset = TWO_64 - this.span;
  }

  canonical(va: bigint): bigint {
    if (this.profile.vaBits >= 64 || this.profile.vaBits === 32) return va;
    if (this.profile.family === 'arm64') return this.kernel ? va + this.offset : va;
    return va >= this.span >> 1n ? va + this.offset : va;
  }

  /** The unsigned position of canonical address `va`, clamped into the space. */
  unsigned(va: bigint): bigint {
    if (this.profile.vaBits >= 64 || this.profile.vaBits === 32) return va;
    if (this.profile.family === 'arm64') {
      if (!this.kernel) return va < this.span ? va : this.span;
      return va >= this.offset ? va - this.offset : 0n;
    }
    const half = this.span >> 1n;
    if (va < half) return va;
    if (va >= TWO_64 - half) return va - this.offset;
    return half;
  }
}

/** The architecture's own name for a real level: `L0`…`L3` (arm), `PML4`…`PT` (x86), `level N` (riscv). */
export function archLevelName(profile: ArchProfile, depth: number): string {
  const real = profile.levels.filter((l) => !l.folded).map((l) => l.depth as number);
  const position = real.indexOf(depth);
  if (position < 0) return '';
  const fromBottom = real.length - 1 - position;
  switch (profile.family) {
    case 'arm64':
    case 'arm':
      return `L${3 - fromBottom}`;
    case 'x86':
      return ['PT', 'PD', 'PDPT', 'PML4', 'PML5'][fromBottom] ?? '';
    case 'riscv':
      return `level ${fromBottom}`;
  }
}

// Query context ---------------------------------------------------------------------------------

interface Space {
  name: string;
  kernel: boolean;
  root: number;
}

/** A run as the query shows it: clipped to the address filter, with its matches. */
interface Segment {
  run: EntryRun;
  from: number;
  to: number;
  id: string;
  /** Entries that match the filter (all of them without one). */
  matches: number;
}

interface RunCache {
  /** Row counts below each table, per query key. */
  rows: Map<string, Map<number, number>>;
  /** Matching entries in each table's whole subtree, per step × filter. */
  matches: Map<string, Map<number, number>>;
  ptdump: Map<number, string[]>;
}

const caches = new WeakMap<RunState, RunCache>();

function cacheOf(state: RunState): RunCache {
  let cache = caches.get(state);
  if (!cache) {
    cache = { rows: new Map(), matches: new Map(), ptdump: new Map() };
    caches.set(state, cache);
  }
  return cache;
}

function remember<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
    while (map.size > QUERY_CACHE) map.delete(map.keys().next().value as K);
  }
  return value;
}

interface Overlap {
  start: bigint;
  end: bigint;
  step: number;
  message: string;
}

class Query {
  readonly tree: TableTree;
  readonly profile: ArchProfile;
  readonly addresses: AddressSpaceView;
  private readonly rowCounts: Map<number, number>;
  private readonly matchCounts: Map<number, number> | undefined;
  private readonly overlaps: Overlap[];
  private readonly leakMessages: Map<number, string>;
  /** Filter range in unsigned positions. */
  private readonly uStart: bigint;
  private readonly uEnd: bigint;

  constructor(
    readonly state: RunState,
    readonly step: number,
    readonly space: Space,
    readonly expanded: Set<string>,
    readonly collapsed: Set<string>,
    readonly expandAll: boolean,
    readonly filter: Filter | undefined,
  ) {
    this.tree = state.tree;
    this.profile = state.profile;
    this.addresses = new AddressSpaceView(this.profile, space.kernel);
    const cache = cacheOf(state);
    const key = JSON.stringify([step, space.name, expandAll, filter?.key ?? '', [...expanded].sort(), [...collapsed].sort()]);
    this.rowCounts = remember(cache.rows, key, () => new Map());
    this.matchCounts = filter ? remember(cache.matches, JSON.stringify([step, space.name, filter.key]), () => new Map()) : undefined;
    this.overlaps = this.tree
      .overlaps()
      .map((o) => ({ start: this.addresses.unsigned(o.start), end: this.addresses.unsigned(o.end), step: state.stepAtOffset(o.span.start), message: o.message }))
      .filter((o) => o.step <= step && o.end > o.start);
    this.leakMessages = new Map(this.tree.leaks().map((l) => [l.span.start, l.message]));
    this.uStart = filter?.vaStart !== undefined ? this.addresses.unsigned(filter.vaStart) : 0n;
    this.uEnd = filter?.vaEnd !== undefined ? this.addresses.unsigned(filter.vaEnd) : TWO_64;
  }

  shiftOf(tableId: number): number {
    return this.tree.page(tableId, this.step)?.shift ?? 0;
  }

  /** Does a leaf in [start, end) (unsigned) lie on a block a partial overlap hit? */
  overlapAt(start: bigint, end: bigint): Overlap | undefined {
    return this.overlaps.find((o) => o.start < end && start < o.end);
  }

  private hasFinding(run: EntryRun, base: bigint, shift: number): boolean {
    if (run.wx || run.kind === 'marker') return true;
    if (!run.block || this.overlaps.length === 0) return false;
    const s = BigInt(shift);
    return this.overlapAt(base + (BigInt(run.start) << s), base + (BigInt(run.end) << s)) !== undefined;
  }

  /** Whether a run matches the filter's non-address parts. */
  private matchesRun(run: EntryRun, level: string, base: bigint, shift: number): boolean {
    const f = this.filter;
    if (!f) return true;
    if (f.levels && !f.levels.has(level)) return false;
    if (f.kinds && !f.kinds.has(kindFilterOf(run.kind))) return false;
    if (f.changesOnly && run.change === undefined) return false;
    if (f.findingsOnly && !this.hasFinding(run, base, shift)) return false;
    return true;
  }

  /** The visible runs of a table whose first entry maps unsigned address `base`. */
  segments(tableId: number, base: bigint): Segment[] {
    const runs = this.tree.runs(tableId, this.step);
    const page = this.tree.page(tableId, this.step);
    const shift = page?.shift ?? 0;
    const level = page?.level ?? '';
    const out: Segment[] = [];
    const f = this.filter;
    for (const run of runs) {
      let from = run.start;
      let to = run.end;
      if (f && (f.vaStart !== undefined || f.vaEnd !== undefined)) {
        const s = BigInt(shift);
        const lo = this.uStart <= base ? 0n : (this.uStart - base) >> s;
        const hi = this.uEnd <= base ? 0n : ((this.uEnd - base - 1n) >> s) + 1n;
        from = Math.max(from, Number(lo < BigInt(run.end) ? lo : BigInt(run.end)));
        to = Math.min(to, Number(hi < BigInt(run.end) ? hi : BigInt(run.end)));
      }
      const isTable = run.kind === 'table';
      if (to <= from && !(isTable && !f)) continue;
      let matches = to - from;
      if (f) {
        matches = this.matchesRun(run, level, base, shift) ? Math.max(0, to - from) : 0;
        if (isTable) {
          const below = run.child !== undefined ? this.matchCount(run.child, base + (BigInt(run.start) << BigInt(shift))) : 0;
          if (matches === 0 && below === 0) continue;
          from = run.start;
          to = run.end;
        } else if (matches === 0) continue;
      }
      out.push({ run, from, to, id: to - from === 1 || isTable ? `e:${tableId}:${from}` : `r:${tableId}:${run.start}`, matches });
    }
    return out;
  }

  /** Matching entries in the whole subtree of a table (filter set). */
  matchCount(tableId: number, base: bigint): number {
    const cache = this.matchCounts;
    if (!cache) return 0;
    const known = cache.get(tableId);
    if (known !== undefined) return known;
    cache.set(tableId, 0);
    let count = 0;
    const page = this.tree.page(tableId, this.step);
    if (page && page.depth <= MAX_DEPTH) {
      const s = BigInt(page.shift);
      for (const run of this.tree.runs(tableId, this.step)) {
        if (run.kind === 'table' && run.child !== undefined) count += this.matchCount(run.child, base + (BigInt(run.start) << s));
      }
      for (const seg of this.segmentsShallow(tableId, base)) count += seg;
    }
    cache.set(tableId, count);
    return count;
  }

  /** Own matches of each run (no recursion), for matchCount. */
  private segmentsShallow(tableId: number, base: bigint): number[] {
    const page = this.tree.page(tableId, this.step);
    const shift = page?.shift ?? 0;
    const level = page?.level ?? '';
    const s = BigInt(shift);
    const out: number[] = [];
    for (const run of this.tree.runs(tableId, this.step)) {
      if (!this.matchesRun(run, level, base, shift)) continue;
      const lo = this.uStart <= base ? 0n : (this.uStart - base) >> s;
      const hi = this.uEnd <= base ? 0n : ((this.uEnd - base - 1n) >> s) + 1n;
      const from = Math.max(run.start, Number(lo < BigInt(run.end) ? lo : BigInt(run.end)));
      const to = Math.min(run.end, Number(hi < BigInt(run.end) ? hi : BigInt(run.end)));
      if (to > from) out.push(to - from);
    }
    return out;
  }

  isExpanded(seg: Segment, base: bigint, shift: number): boolean {
    const isTable = seg.run.kind === 'table';
    if (isTable ? seg.run.child === undefined : seg.to - seg.from <= 1) return false;
    if (this.collapsed.has(seg.id)) return false;
    if (this.expanded.has(seg.id)) return true;
    if (!isTable) return this.expandAll && seg.run.kind !== 'none';
    if (this.expandAll) return true;
    return this.filter !== undefined && seg.run.child !== undefined && this.matchCount(seg.run.child, base + (BigInt(seg.run.start) << BigInt(shift))) > 0;
  }

  /** Rows below a table (its entries and everything expanded under them). */
  rowsBelow(tableId: number, base: bigint, depth = 0): number {
    const known = this.rowCounts.get(tableId);
    if (known !== undefined) return known;
    let count = 0;
    if (depth <= MAX_DEPTH) {
      const shift = this.shiftOf(tableId);
      for (const seg of this.segments(tableId, base)) count += this.rowsOf(seg, base, shift, depth);
    }
    this.rowCounts.set(tableId, count);
    return count;
  }

  rowsOf(seg: Segment, base: bigint, shift: number, depth: number): number {
    if (!this.isExpanded(seg, base, shift)) return 1;
    if (seg.run.kind === 'table' && seg.run.child !== undefined) {
      return 1 + this.rowsBelow(seg.run.child, base + (BigInt(seg.run.start) << BigInt(shift)), depth + 1);
    }
    return 1 + (seg.to - seg.from);
  }

  // Top-level rows: the space's root table, then tables of the space that nothing links.

  rootId(): string {
    return `t:${this.space.root}`;
  }

  isRootExpanded(): boolean {
    return !this.collapsed.has(this.rootId());
  }

  orphans(): number[] {
    const f = this.filter;
    return this.tree.unlinked(this.space.name, this.step).filter((id) => {
      if (!f) return true;
      if (f.vaStart !== undefined || f.vaEnd !== undefined) return false;
      return this.orphanMatches(id) || this.matchCount(id, 0n) > 0;
    });
  }

  orphanMatches(id: number): boolean {
    const f = this.filter;
    if (!f) return true;
    const page = this.tree.page(id, this.step);
    if (!page) return false;
    if (f.levels && !f.levels.has(page.level)) return false;
    if (f.kinds && !f.kinds.has('table')) return false;
    if (f.changesOnly && page.allocStep !== this.step) return false;
    return true;
  }

  isOrphanExpanded(id: number): boolean {
    const key = `t:${id}`;
    if (this.collapsed.has(key)) return false;
    if (this.expanded.has(key) || this.expandAll) return true;
    return this.filter !== undefined && this.matchCount(id, 0n) > 0;
  }

  orphanRows(id: number): number {
    return 1 + (this.isOrphanExpanded(id) ? this.rowsBelow(id, 0n) : 0);
  }

  total(): number {
    let total = 1 + (this.isRootExpanded() ? this.rowsBelow(this.space.root, 0n) : 0);
    for (const id of this.orphans()) total += this.orphanRows(id);
    return total;
  }

  // Rows ----------------------------------------------------------------------------------------

  tablePage(page: TablePageState): InspectorTablePage {
    const out: InspectorTablePage = {
      id: page.id,
      level: page.level,
      archLevel: archLevelName(this.profile, page.depth),
      pa: '0x' + page.pa.toString(16),
      bytes: page.bytes,
      allocator: page.allocator,
      constructed: page.constructed,
      linked: page.linked,
      allocStep: page.allocStep,
      freeStep: page.freeStep,
      used: page.used,
    };
    if (page.name !== undefined) out.name = page.name;
    return out;
  }

  tableRow(id: number, depth: number, parentOffset: number, orphan: boolean): InspectorRow {
    const page = this.tree.page(id, this.step);
    const level = page?.level ?? '';
    const expanded = orphan ? this.isOrphanExpanded(id) : this.isRootExpanded();
    const row: InspectorRow = {
      id: `t:${id}`,
      depth,
      kind: 'table',
      level,
      label: `${orphan ? 'unlinked ' : ''}${page?.name ?? `${this.space.name} ${level}`} @ 0x${(page?.pa ?? 0).toString(16)}`,
      detail: page ? `${page.allocator}, ${page.bytes} bytes, ${page.used} of ${page.ptrs} entries used` : '',
      hasChildren: true,
      isExpanded: expanded,
      isChanged: page?.allocStep === this.step,
      parentOffset,
      entryKind: 'table',
    };
    if (page) {
      row.table = this.tablePage(page);
      row.archLevel = row.table.archLevel;
      if (page.allocStep === this.step) row.change = 'added';
      if (orphan) {
        const alloc = this.tree.tablePage(id)?.events[0];
        const leak = alloc ? this.leakMessages.get(alloc.span.start) : undefined;
        row.findings = [
          leak !== undefined
            ? { code: 'leak', message: leak, step: page.allocStep }
            : { code: 'unlinked', message: 'allocated but linked into no table: leaked unless a later statement links or frees it', step: page.allocStep },
        ];
      }
    }
    if (this.filter && orphan) {
      const below = this.matchCount(id, 0n);
      if (below > 0) row.matches = below;
    }
    return row;
  }

  entryRow(tableId: number, seg: Segment, index: number, single: boolean, base: bigint, depth: number, parentOffset: number, hasVa: boolean): InspectorRow {
    const page = this.tree.page(tableId, this.step);
    const level = page?.level ?? '';
    const shift = page?.shift ?? 0;
    const s = BigInt(shift);
    const info = this.tree.entry(tableId, this.step, index);
    const last = single ? index : seg.to - 1;
    const startU = base + (BigInt(index) << s);
    const endU = base + (BigInt(last + 1) << s);
    const kind = seg.run.kind;
    const isRun = !single && last > index;
    const id = isRun ? seg.id : `e:${tableId}:${index}`;
    const hasChildren = isRun || (kind === 'table' && seg.run.child !== undefined);
    const expanded = hasChildren && this.isExpanded(seg, base, shift);
    const row: InspectorRow = {
      id,
      depth,
      kind: kind === 'table' ? 'table' : kind === 'none' ? 'hole' : 'entry',
      level,
      label: isRun ? `${level}[${index}–${last}]` : `${level}[${index}]`,
      detail: '',
      hasChildren,
      isExpanded: expanded,
      isChanged: seg.run.change !== undefined,
      parentOffset,
      entryKind: kind,
      index,
      size: sizeText(1n << s),
      archLevel: archLevelName(this.profile, page?.depth ?? 0),
    };
    if (isRun) row.last = last;
    if (hasVa) {
      row.va = hex16(this.addresses.canonical(startU));
      row.vaLast = hex16(this.addresses.canonical(endU - 1n));
    }
    if (seg.run.change) row.change = seg.run.change;
    if (info) {
      row.value = hex16(info.value);
      row.decoded = decode(info, this.profile, this.space.kernel);
      row.bits = info.bits;
      if (info.before !== undefined && info.change !== 'added') row.before = hex16(info.before);
    }
    if (kind !== 'none') row.originStep = this.tree.entryOrigin(tableId, this.step, index);
    const findings: InspectorFinding[] = [];
    if (seg.run.wx) findings.push({ code: 'wx', message: 'W+X: the kernel can write and execute this mapping (check_wx warns)', step: row.originStep ?? -1 });
    if (kind === 'marker') findings.push({ code: 'guard', message: 'guard marker (MADV_GUARD_INSTALL): any access faults with SIGSEGV', step: row.originStep ?? -1 });
    if (seg.run.block && hasVa) {
      const overlap = this.overlapAt(startU, endU);
      if (overlap) findings.push({ code: 'overlap', message: overlap.message, step: overlap.step });
    }
    if (findings.length > 0) row.findings = findings;
    if (kind === 'table' && seg.run.child !== undefined) {
      const child = this.tree.page(seg.run.child, this.step);
      if (child) row.table = this.tablePage(child);
      if (this.filter) row.matches = this.matchCount(seg.run.child, startU);
    } else if (this.filter && isRun) row.matches = seg.matches;
    row.detail = detailText(row, isRun ? last - index + 1 : 1);
    return row;
  }
}

/** The descriptor in words: valid, shape, protections, execute-never bits, cont, marker. */
function decode(info: EntryDetail, profile: ArchProfile, kernel: boolean): string[] {
  const names = new Set(info.bits);
  const lastLevel = info.lastLevel;
  const family = profile.family;
  switch (info.kind) {
    case 'none':
      return ['none'];
    case 'marker':
      return ['not present', 'guard marker'];
    case 'nonpresent':
      return ['not present', 'swap entry'];
    case 'table': {
      const words = ['valid', 'table'];
      if (names.has('PMD_TABLE_PXN')) words.push('PXNTable');
      if (names.has('PMD_TABLE_UXN')) words.push('UXNTable');
      if (family === 'x86') {
        if (!names.has('_PAGE_RW')) words.push('RO');
        if (names.has('_PAGE_USER')) words.push('user');
        if (names.has('_PAGE_NX')) words.push('NX');
      }
      return words;
    }
    case 'leaf': {
      const p = info.prot;
      const shape = lastLevel ? 'page' : family === 'x86' ? 'large page' : family === 'riscv' ? 'superpage' : 'block';
      if (!p) return [shape];
      const x = kernel ? p.kexec : p.uexec;
      const words = [p.valid ? 'valid' : 'present, invalid', shape, `${p.read ? 'r' : '-'}${p.write ? 'w' : '-'}${x ? 'x' : '-'}`];
      if (names.has('PTE_PXN')) words.push('PXN');
      if (names.has('PTE_UXN')) words.push('UXN');
      if (names.has('_PAGE_NX')) words.push('NX');
      if (p.cont) words.push(family === 'riscv' ? 'NAPOT' : 'cont');
      if (p.user) words.push('user');
      if (names.has('_PAGE_GLOBAL')) words.push('global');
      if (p.dirty) words.push('dirty');
      return words;
    }
  }
}

function detailText(row: InspectorRow, count: number): string {
  const parts: string[] = [];
  if (count > 1) parts.push(`${count} entries`);
  if (row.decoded) parts.push(row.decoded.join(' '));
  if (row.table) parts.push(`→ ${row.table.level} table @ ${row.table.pa}`);
  if (row.value && row.entryKind !== 'none') parts.push(row.value);
  return parts.join(' · ');
}

// Paging ----------------------------------------------------------------------------------------

class Pager {
  readonly rows: InspectorRow[] = [];
  pos = 0;
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}

  get isFull(): boolean {
    return this.pos >= this.end;
  }
}

function pageTable(q: Query, pager: Pager, tableId: number, base: bigint, depth: number, parentOffset: number, hasVa: boolean): void {
  if (depth > MAX_DEPTH + 1) return;
  const shift = q.shiftOf(tableId);
  const s = BigInt(shift);
  for (const seg of q.segments(tableId, base)) {
    if (pager.isFull) return;
    const rows = q.rowsOf(seg, base, shift, depth);
    if (pager.pos + rows <= pager.start) {
      pager.pos += rows;
      continue;
    }
    const offset = pager.pos;
    const single = seg.run.kind === 'table' || seg.to - seg.from === 1;
    if (pager.pos >= pager.start) pager.rows.push(q.entryRow(tableId, seg, seg.from, single, base, depth, parentOffset, hasVa));
    pager.pos++;
    if (rows === 1) continue;
    if (seg.run.kind === 'table' && seg.run.child !== undefined) {
      pageTable(q, pager, seg.run.child, base + (BigInt(seg.run.start) << s), depth + 1, offset, hasVa);
      continue;
    }
    const length = seg.to - seg.from;
    for (let k = Math.max(0, pager.start - pager.pos); k < length && pager.pos + k < pager.end; k++) {
      pager.rows.push(q.entryRow(tableId, seg, seg.from + k, true, base, depth + 1, offset, hasVa));
    }
    pager.pos += length;
  }
}

function page(q: Query, start: number, count: number): InspectorRow[] {
  const pager = new Pager(start, start + count);
  const root = q.space.root;
  if (pager.start === 0) pager.rows.push(q.tableRow(root, 0, -1, false));
  pager.pos = 1;
  if (q.isRootExpanded()) {
    const below = q.rowsBelow(root, 0n);
    if (pager.pos + below <= pager.start) pager.pos += below;
    else pageTable(q, pager, root, 0n, 1, 0, true);
  }
  for (const id of q.orphans()) {
    if (pager.isFull) break;
    const rows = q.orphanRows(id);
    if (pager.pos + rows <= pager.start) {
      pager.pos += rows;
      continue;
    }
    const offset = pager.pos;
    if (pager.pos >= pager.start) pager.rows.push(q.tableRow(id, 0, -1, true));
    pager.pos++;
    if (rows > 1) pageTable(q, pager, id, 0n, 1, offset, false);
  }
  return pager.rows;
}

// Following a step: the first entry it changed --------------------------------------------------

interface Target {
  /** Table entries from the top (root or an unlinked table) down to the table holding the change. */
  path: { table: number; index: number }[];
  top: number;
  table: number;
  index: number;
}

function firstChange(q: Query): Target | undefined {
  const tree = q.tree;
  let best: { target: Target; va: bigint; depth: number } | undefined;
  for (const id of tree.changedTables(q.step)) {
    const page = tree.page(id, q.step);
    if (!page || page.space !== q.space.name || !page.exists || page.freed) continue;
    // Prefer what the statement did to mappings over the table entries it linked on the way.
    const changed = tree.runs(id, q.step).filter((r) => r.change !== undefined);
    const run = changed.find((r) => r.kind !== 'table' || r.change === 'removed') ?? changed[0];
    if (!run) continue;
    const isMapping = run.kind !== 'table';
    const path: { table: number; index: number }[] = [];
    let top = id;
    for (let guard = 0; guard <= MAX_DEPTH && top !== q.space.root; guard++) {
      const parent = tree.parentAt(top, q.step);
      if (!parent) break;
      path.unshift(parent);
      top = parent.table;
    }
    let va = 0n;
    for (const p of path) va += BigInt(p.index) << BigInt(q.shiftOf(p.table));
    va += BigInt(run.start) << BigInt(page.shift);
    const depth = path.length;
    const isOrphan = top !== q.space.root;
    // Order: mappings before table links, then by address, then deepest first.
    const key = (isOrphan ? va + TWO_64 : va) + (isMapping ? 0n : 2n * TWO_64);
    if (!best || key < best.va || (key === best.va && depth > best.depth)) best = { target: { path, top, table: id, index: run.start }, va: key, depth };
  }
  return best?.target;
}

/** The offset of the row holding entry `target.index` of `target.table`, or undefined when hidden. */
function offsetOf(q: Query, target: Target): { id: string; offset: number } | undefined {
  let pos = 1;
  let base = 0n;
  if (target.top === q.space.root) {
    if (!q.isRootExpanded()) return undefined;
  } else {
    pos += q.isRootExpanded() ? q.rowsBelow(q.space.root, 0n) : 0;
    const orphans = q.orphans();
    const at = orphans.indexOf(target.top);
    if (at < 0) return undefined;
    for (const id of orphans.slice(0, at)) pos += q.orphanRows(id);
    if (!q.isOrphanExpanded(target.top)) return undefined;
    pos += 1;
  }
  const steps = [...target.path.map((p) => ({ table: p.table, index: p.index, last: false })), { table: target.table, index: target.index, last: true }];
  for (const stepOn of steps) {
    const shift = q.shiftOf(stepOn.table);
    let found: Segment | undefined;
    for (const seg of q.segments(stepOn.table, base)) {
      if (stepOn.index >= seg.run.start && stepOn.index < seg.run.end) {
        found = seg;
        break;
      }
      pos += q.rowsOf(seg, base, shift, 0);
    }
    if (!found) return undefined;
    if (stepOn.last) return { id: found.id, offset: pos };
    if (!q.isExpanded(found, base, shift)) return undefined;
    base += BigInt(found.run.start) << BigInt(shift);
    pos += 1;
  }
  return undefined;
}

// Other views -----------------------------------------------------------------------------------

function ledgerRows(state: RunState, space: Space, step: number, offset: number, count: number): { rows: InspectorLedgerRow[]; total: number } {
  const tables = state.ledger().filter((t) => t.space === space.name);
  const tree = state.tree;
  const leaks = new Set(tree.leaks().map((l) => l.span.start));
  const unlinked = new Set(tree.unlinked(space.name, step));
  const rows: InspectorLedgerRow[] = [];
  for (const info of tables.slice(Math.max(0, offset), Math.max(0, offset) + count)) {
    const page = tree.page(info.id, step);
    if (!page) continue;
    const alloc = info.events[0];
    const row: InspectorLedgerRow = {
      id: info.id,
      level: info.level,
      archLevel: archLevelName(state.profile, info.depth),
      pa: info.pa,
      bytes: info.bytes,
      allocator: info.allocator,
      constructed: page.constructed,
      linked: page.linked,
      allocStep: page.allocStep,
      freeStep: page.freeStep,
      used: page.used,
      space: info.space,
      state: !page.exists ? 'unallocated' : page.freed ? 'freed' : 'live',
      unlinked: unlinked.has(info.id),
      leaked: alloc !== undefined && info.allocator !== 'static' && leaks.has(alloc.span.start),
      events: info.events.map((e) => ({ kind: e.kind, step: e.step, ...(e.detail !== undefined ? { detail: e.detail } : {}) })),
    };
    if (info.name !== undefined) row.name = info.name;
    rows.push(row);
  }
  return { rows, total: tables.length };
}

function countersAt(state: RunState, step: number, spaces: Space[]): InspectorCounters {
  const c = state.counters(step);
  const names = new Set(spaces.map((s) => s.name));
  return {
    tlbFlushes: c.tlbFlushes,
    barriers: c.barriers,
    directMapSplits: c.directMapSplits,
    spaces: state.tree
      .spaceStats(step)
      .filter((s) => names.has(s.name))
      .map((s) => ({
        name: s.name,
        kernel: s.kernel,
        tablesByLevel: s.tablesByLevel,
        accountedBytes: s.accountedBytes,
        pgtablesBytes: s.linkedTableBytes,
        finalPgtablesBytes: s.finalPgtablesBytes,
      })),
  };
}

function ptdumpLines(state: RunState, step: number): string[] {
  return remember(cacheOf(state).ptdump, step, () => state.ptdumpAt(step).replace(/\n$/, '').split('\n'));
}

// Entry point -----------------------------------------------------------------------------------

/** One page of the inspector's view of `params.space` after `params.step`. */
export function inspectorTree(state: RunState, params: InspectorTreeParams): InspectorTreeResult {
  const step = params.step < 0 || params.step >= state.stepCount ? state.stepCount - 1 : params.step;
  const spaces: Space[] = state.spacesAt(step);
  const space = spaces.find((s) => s.name === params.space) ?? spaces[0];
  const result: InspectorTreeResult = { rows: [], total: 0, spaces: spaces.map((s) => s.name), step, offset: Math.max(0, params.offset) };
  if (!space) return result;
  const count = Math.max(0, params.count);
  switch (params.view ?? 'tree') {
    case 'ledger': {
      const ledger = ledgerRows(state, space, step, result.offset ?? 0, count);
      result.ledger = ledger.rows;
      result.total = ledger.total;
      return result;
    }
    case 'ptdump': {
      const lines = ptdumpLines(state, step);
      result.total = lines.length;
      result.lines = lines.slice(result.offset, (result.offset ?? 0) + count);
      return result;
    }
    case 'counters':
      result.counters = countersAt(state, step, spaces);
      return result;
    case 'tree':
      break;
  }
  const expanded = new Set(params.expanded);
  const collapsed = new Set(params.collapsed ?? []);
  const filter = compileFilter(params.filter);
  let q = new Query(state, step, space, expanded, collapsed, params.expandAll === true, filter);
  if (params.focusChange) {
    const target = firstChange(q);
    if (target) {
      const added: string[] = [];
      const top = `t:${target.top}`;
      const open = (id: string): void => {
        collapsed.delete(id);
        if (!expanded.has(id)) {
          expanded.add(id);
          added.push(id);
        }
      };
      if (target.top !== space.root) open(top);
      else collapsed.delete(top);
      for (const p of target.path) open(`e:${p.table}:${p.index}`);
      q = new Query(state, step, space, expanded, collapsed, params.expandAll === true, filter);
      const found = offsetOf(q, target);
      if (found) result.focus = { ...found, expanded: added };
    }
  }
  result.total = q.total();
  let start = params.offset;
  if (start < 0) start = result.focus ? Math.max(0, result.focus.offset - Math.floor(count / 3)) : 0;
  start = Math.min(start, Math.max(0, result.total - 1));
  result.offset = start;
  result.rows = page(q, start, count);
  return result;
}
