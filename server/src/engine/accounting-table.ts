// Seed 000's per-architecture table of page-table ctor/dtor coverage, with the cells of the
// architectures the engine models derived by running the engine, not typed in.
//
// Seed 000 is "[PATCH 00/10] Account page tables at all levels" (Kevin Brodsky, 19 Dec 2024),
// whose cover letter ends with "Overview of the situation on all arch after this series is
// applied". For each modelled configuration this file builds one scenario (a process faults a
// page, so that every table level the configuration has is allocated, forks, and both exit), runs
// it, and reads the ledger: which table pages ran their ctor and their dtor, per level
// (kernel-notes/ctor-dtor.md §2: pXd_alloc_one runs pagetable_*_ctor, pXd_free runs
// pagetable_dtor, and kmem_cache/kmalloc tables get neither).

import { resolveProfile, type ArchOptions } from './arch/profile';
import type { AccountingMode, Feature } from './model/machine';
import type { LevelName, Name, ProcessStmt, Scenario, Span, TopStmt, Word } from './program';
import { runScenario } from './runner';

export type { AccountingMode };

/** A cell of seed 000's table: yes, no, or it depends on the configuration. */
export type Verdict = 'Y' | 'N' | 'Y/N';

/** One row of seed 000's table, exactly as the seed has it. */
export interface SeedRow {
  arch: string;
  /** `#include <asm-generic/pgalloc.h>`. */
  include: Verdict;
  /** "Complete ctor/dtor calls up to p4d level". */
  upToP4d: Verdict;
  /** "ctor/dtor at pgd level". */
  pgd: Verdict;
  /** The Notes column, one entry per line of the seed's cell. */
  notes: readonly string[];
}

/** The rows of seed 000's table, in its order (alpha … xtensa). */
export const SEED_000_ROWS: readonly SeedRow[] = [
  { arch: 'alpha', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 'arc', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 'arm', include: 'Y', upToP4d: 'Y', pgd: 'Y/N', notes: ['kmalloc at pgd level if LPAE'] },
  { arch: 'arm64', include: 'Y', upToP4d: 'Y', pgd: 'Y/N', notes: ['kmem_cache if pgd not page-sized'] },
  { arch: 'csky', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 'hexagon', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 'loongarch', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 'm68k (Sun3)', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 'm68k (others)', include: 'N', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 'microblaze', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 'mips', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 'nios2', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 'openrisc', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 'parisc', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
  {
    arch: 'powerpc',
    include: 'N',
    upToP4d: 'Y/N',
    pgd: 'N',
    notes: ['kmem_cache at:', '- pgd level', '- pud level in 64-bit', '- pmd level in 64-bit on !book3s'],
  },
  { arch: 'riscv', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 's390', include: 'N', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 'sh', include: 'Y', upToP4d: 'N', pgd: 'N', notes: ['kmem_cache at pmd/pgd level'] },
  { arch: 'sparc', include: 'N', upToP4d: 'N', pgd: 'N', notes: ['32-bit: special memory', '64-bit: kmem_cache above pte level'] },
  { arch: 'um', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
  { arch: 'x86', include: 'Y', upToP4d: 'Y', pgd: 'Y/N', notes: ['kmem_cache at pgd level if PAE'] },
  { arch: 'xtensa', include: 'Y', upToP4d: 'Y', pgd: 'Y', notes: [] },
];

/** One configuration the derivation runs: an `arch` header (and features) of a seed row. */
export interface AccountingConfiguration {
  /** Stable id, e.g. `arm64-4k-52`, `x86_64-4-pti`. */
  id: string;
  /** The seed row it belongs to (`x86`, `arm64`, `riscv`, `arm`). */
  row: string;
  /** Short name for the notes, e.g. `4K/52`, `sv39`, `x86_64 5-level`. */
  name: string;
  /** The profile's label, e.g. `arm64, 4K granule, 52-bit VA, 5 levels`. */
  label: string;
  arch: ArchOptions;
  features: readonly Feature[];
}

/** Every configuration the engine models, grouped by seed row (x86, arm64, riscv, arm). */
export function accountingConfigurations(): AccountingConfiguration[] {
  const out: AccountingConfiguration[] = [];
  const add = (row: string, name: string, arch: ArchOptions, features: Feature[] = []): void => {
    const profile = resolveProfile({ ...arch, ...(features.includes('pti') ? { pti: true } : {}) });
    const id = features.length > 0 ? `${profile.id}-${features.join('-')}` : profile.id;
    out.push({ id, row, name, label: features.includes('pti') ? `${profile.label}, PTI` : profile.label, arch, features });
  };
  add('x86', 'x86_64 4-level', { arch: 'x86_64', levels: 4 });
  add('x86', 'x86_64 4-level PTI', { arch: 'x86_64', levels: 4 }, ['pti']);
  add('x86', 'x86_64 5-level', { arch: 'x86_64', levels: 5 });
  add('x86', 'x86 PAE', { arch: 'x86_pae' });
  for (const [granule, vas] of [
    [4, [39, 48, 52]],
    [16, [36, 47, 48, 52]],
    [64, [42, 48, 52]],
  ] as const) {
    for (const va of vas) add('arm64', `${granule}K/${va}`, { arch: 'arm64', granuleKiB: granule, va });
  }
  for (const mode of ['sv39', 'sv48', 'sv57'] as const) add('riscv', mode, { arch: 'riscv64', mode });
  add('arm', 'LPAE', { arch: 'arm_lpae' });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The generated scenario

/** Builds scenario text line by line and the syntax tree whose spans point into it. */
class ScenarioWriter {
  text = '';

  /** Appends one line; `word(token)` then finds each token of it, left to right. */
  line(indent: number, content: string): { span: Span; word: (token: string) => Word } {
    const start = this.text.length + indent;
    this.text += `${' '.repeat(indent)}${content}\n`;
    let cursor = start;
    return {
      span: { start, end: start + content.length },
      word: (token) => {
        const at = this.text.indexOf(token, cursor);
        cursor = at + token.length;
        return { text: token, span: { start: at, end: at + token.length } };
      },
    };
  }
}

function archHeader(arch: ArchOptions): string {
  switch (arch.arch) {
    case 'x86_64':
      return `arch x86_64 levels=${arch.levels ?? 4}`;
    case 'arm64':
      return `arch arm64 granule=${arch.granuleKiB ?? 4}k va=${arch.va ?? 48}`;
    case 'riscv64':
      return `arch riscv64 mode=${arch.mode ?? 'sv48'}`;
    case 'x86_pae':
    case 'arm_lpae':
      return `arch ${arch.arch}`;
  }
}

/** The scenario the derivation runs for one configuration, as text and as its syntax tree. */
export interface AccountingScenario {
  /** A `.ptscn` file holding the one scenario; `ptscn run` accepts it as it is. */
  text: string;
  /** The same scenario as the parser would build it from `text`. */
  scenario: Scenario;
}

/**
 * The workload of one configuration: process `p` maps one page and writes it (a demand fault
 * allocates every table level below the PGD that the configuration has), forks `c` (dup_mmap:
 * pgd_alloc and copy_page_range allocate the child's tables), `c` writes the page (copy on
 * write), and both exit (free_pgtables and pgd_free run every dtor). `thp never` keeps the
 * fault on PTEs.
 */
export function accountingScenario(configuration: AccountingConfiguration, mode: AccountingMode): AccountingScenario {
  const w = new ScenarioWriter();
  w.line(0, `# Generated by \`ptscn accounting\`: ${configuration.label}, accounting ${mode}.`);
  const title = `accounting ${mode}: ${configuration.row} ${configuration.name}`;
  const head = w.line(0, `scenario "${title}" {`);
  head.word('scenario');
  const titleWord = head.word(`"${title}"`);
  const body: TopStmt[] = [];

  const arch = w.line(2, archHeader(configuration.arch));
  const archKeyword = arch.word('arch');
  const archName = arch.word(configuration.arch.arch);
  const options = archHeader(configuration.arch)
    .split(' ')
    .slice(2)
    .map((option) => {
      const [key = '', value = ''] = option.split('=');
      const keyWord = arch.word(key);
      const valueWord = arch.word(value);
      return { key: keyWord, value: valueWord, span: { start: keyWord.span.start, end: valueWord.span.end } };
    });
  body.push({ kind: 'arch', span: arch.span, keyword: archKeyword, arch: archName, options });
  if (configuration.features.length > 0) {
    const feature = w.line(2, `feature ${configuration.features.join(' ')}`);
    const keyword = feature.word('feature');
    body.push({ kind: 'feature', span: feature.span, keyword, features: configuration.features.map((f) => feature.word(f)) });
  }
  const thp = w.line(2, 'thp never');
  body.push({ kind: 'thp', span: thp.span, keyword: thp.word('thp'), mode: thp.word('never') });
  const accounting = w.line(2, `accounting ${mode}`);
  body.push({ kind: 'accounting', span: accounting.span, keyword: accounting.word('accounting'), mode: accounting.word(mode) });

  const processBlock = (name: string, first: boolean): void => {
    const open = w.line(2, `process ${name} {`);
    const keyword = open.word('process');
    const processName: Name = open.word(name);
    const inner: ProcessStmt[] = [];
    if (first) {
      const mmap = w.line(4, 'mmap a size 1p prot rw');
      const mmapKeyword = mmap.word('mmap');
      const bound = mmap.word('a');
      mmap.word('size');
      const size = mmap.word('1p');
      mmap.word('prot');
      inner.push({ kind: 'mmap', span: mmap.span, keyword: mmapKeyword, name: bound, size: { kind: 'number', digits: 1n, exact: 1, unit: 'p', span: size.span }, prot: mmap.word('rw'), flags: [] });
    }
    const write = w.line(4, 'write a');
    const writeKeyword = write.word('write');
    const addr = write.word('a');
    inner.push({ kind: 'write', span: write.span, keyword: writeKeyword, addr: { kind: 'name', name: addr, span: addr.span } });
    const close = w.line(2, '}');
    body.push({ kind: 'process', span: { start: open.span.start, end: close.span.end }, keyword, name: processName, body: inner, closeSpan: close.span });
  };
  processBlock('p', true);
  const fork = w.line(2, 'fork p as c');
  const forkKeyword = fork.word('fork');
  const parent = fork.word('p');
  fork.word('as');
  body.push({ kind: 'fork', span: fork.span, keyword: forkKeyword, parent, child: fork.word('c') });
  processBlock('c', false);
  for (const name of ['c', 'p']) {
    const exit = w.line(2, `exit ${name}`);
    const keyword = exit.word('exit');
    body.push({ kind: 'exit', span: exit.span, keyword, process: exit.word(name) });
  }
  const close = w.line(0, '}');
  const scenario: Scenario = {
    title,
    titleSpan: titleWord.span,
    span: { start: head.span.start, end: close.span.end },
    headSpan: head.span,
    closeSpan: close.span,
    body,
  };
  return { text: w.text, scenario };
}

// ---------------------------------------------------------------------------------------------
// Reading the ledger

/** What the ledger holds for one real table level of the processes after they exited. */
export interface LevelLedger {
  level: LevelName;
  /** Table pages allocated at this level (both processes). */
  tables: number;
  /** Where they came from: `page` (the page allocator), `kmem_cache` or `kmalloc`. */
  allocators: string[];
  /** How many ran their ctor, their dtor, and were freed. */
  constructed: number;
  destructed: number;
  freed: number;
}

/** One configuration's answer for one column, with the reason in words. */
export interface ConfigurationVerdict {
  value: 'Y' | 'N';
  /** Groups configurations with the same value for the same reason, e.g. `kmem_cache PGD`. */
  group: string;
  why: string;
}

/** One configuration's run, read from the ledger. */
export interface ConfigurationLedger {
  configuration: AccountingConfiguration;
  mode: AccountingMode;
  /** The real levels of the configuration, PGD first. */
  levels: LevelLedger[];
  upToP4d: ConfigurationVerdict;
  pgd: ConfigurationVerdict;
  /** The scenario that was run. */
  scenarioText: string;
}

function levelComplete(level: LevelLedger): boolean {
  return level.tables > 0 && level.constructed === level.tables && level.destructed === level.tables && level.freed === level.tables;
}

const ALLOCATOR_NAMES: Record<string, string> = { page: 'page allocator', kmem_cache: 'kmem_cache', kmalloc: 'kmalloc' };

/**
 * Runs one configuration's scenario and reads which of its table pages ran ctor and dtor.
 * Throws an `Error` only for an engine bug: the scenario did not run clean, or a real level got
 * no table.
 */
export function deriveConfiguration(configuration: AccountingConfiguration, mode: AccountingMode): ConfigurationLedger {
  const { text, scenario } = accountingScenario(configuration, mode);
  const run = runScenario(scenario, { history: false });
  const bad = run.findings.find((f) => f.severity === 'error' || f.severity === 'warning');
  // The workload is fixed and valid on every configuration, so a finding here is an engine bug.
  if (bad || run.stopped) throw new Error(`the accounting scenario for ${configuration.id} did not run clean: ${bad ? `${bad.code}: ${bad.message}` : run.stopped}`);
  const profile = run.state.profile;
  const process = run.state.ledger().filter((t) => t.space !== 'kernel');
  const levels: LevelLedger[] = [];
  for (const geometry of profile.levels) {
    if (geometry.folded) continue;
    const tables = process.filter((t) => t.depth === geometry.depth);
    const has = (kind: string) => tables.filter((t) => t.events.some((e) => e.kind === kind)).length;
    levels.push({
      level: geometry.name,
      tables: tables.length,
      allocators: [...new Set(tables.map((t) => t.allocator))],
      constructed: has('ctor'),
      destructed: has('dtor'),
      freed: has('free'),
    });
  }
  const missing = levels.filter((l) => l.tables === 0);
  if (missing.length > 0) throw new Error(`the accounting scenario for ${configuration.id} allocated no ${missing.map((l) => l.level.toUpperCase()).join('/')} table`);

  const lower = levels.filter((l) => l.level !== 'pgd');
  const lacking = lower.filter((l) => !levelComplete(l));
  const names = (ls: LevelLedger[]): string => ls.map((l) => l.level.toUpperCase()).join(', ');
  const upToP4d: ConfigurationVerdict =
    lacking.length === 0
      ? { value: 'Y', group: 'ctor and dtor at every level', why: `every ${names(lower)} table page ran its ctor and dtor` }
      : {
          value: 'N',
          group: `no ctor/dtor at ${names(lacking)}`,
          why: `${lacking.map((l) => `${l.constructed} of ${l.tables} ${l.level.toUpperCase()} table${l.tables === 1 ? '' : 's'} ran a ctor`).join(', ')}`,
        };
  const pgdLevel = levels[0] as LevelLedger;
  const allocator = pgdLevel.allocators.map((a) => ALLOCATOR_NAMES[a] ?? a).join('+');
  const bytes = profile.pgdBytes;
  const size = bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes}-byte`;
  const pgd: ConfigurationVerdict = levelComplete(pgdLevel)
    ? { value: 'Y', group: `${allocator} PGD`, why: `the ${size} PGD comes from the ${allocator} and ran pagetable_pgd_ctor and pagetable_dtor` }
    : pgdLevel.allocators.includes('page')
      ? { value: 'N', group: `${allocator} PGD without a PGD ctor`, why: `the ${size} PGD comes from the ${allocator}, but no PGD ctor runs (accounting ${mode})` }
      : { value: 'N', group: `${allocator} PGD`, why: `the ${size} PGD comes from ${allocator}, which runs no ctor or dtor` };
  return { configuration, mode, levels, upToP4d, pgd, scenarioText: text };
}

// ---------------------------------------------------------------------------------------------
// The table

/** A cell copied from seed 000. */
export interface SeedCell {
  source: 'seed';
  value: string;
}

/** A cell derived by running the engine on every configuration of its row. */
export interface DerivedCell {
  source: 'derived';
  value: Verdict;
  /** Seed 000's value for the same cell. */
  seed: Verdict;
  matchesSeed: boolean;
  /** Why the derived value differs from the seed's (only when it does). */
  difference?: string;
  /** The configurations behind the value, grouped by their own value and reason. */
  groups: { value: 'Y' | 'N'; group: string; configurations: string[] }[];
}

export type AccountingCell = SeedCell | DerivedCell;

export interface AccountingRow {
  arch: string;
  /** Whether the engine models this architecture (its ctor/dtor cells are derived). */
  modelled: boolean;
  include: SeedCell;
  upToP4d: AccountingCell;
  pgd: AccountingCell;
  /** The seed's notes, one entry per line. */
  notes: readonly string[];
  /** Ids of the configurations run for this row. */
  configurations: string[];
}

export interface AccountingTable {
  mode: AccountingMode;
  /** Seed rows in the seed's order; under `legacy`, the modelled rows only (the seed shows the state after the series). */
  rows: AccountingRow[];
  /** Every configuration that was run, in row order. */
  configurations: ConfigurationLedger[];
}

/**
 * Why a derived cell differs from seed 000 where that is understood, by `row/column`. The
 * engine models one configuration family per architecture, which can cover only part of what
 * the seed's cell summarises.
 */
const KNOWN_DIFFERENCES: Record<string, string> = {
  'arm/pgd':
    'ptscn models 32-bit ARM only as LPAE, whose 4-entry PGD comes from kmalloc (arch/arm/mm/pgd.c), so no ctor runs; ' +
    "classic 2-level ARM takes its 16 KiB PGD from the page allocator (__pgd_alloc) and runs the ctor, the seed's Y half, which ptscn does not model",
};

function combine(values: readonly ('Y' | 'N')[]): Verdict {
  if (values.every((v) => v === 'Y')) return 'Y';
  if (values.every((v) => v === 'N')) return 'N';
  return 'Y/N';
}

function derivedCell(row: SeedRow, column: 'upToP4d' | 'pgd', ledgers: ConfigurationLedger[], mode: AccountingMode): DerivedCell {
  const groups: DerivedCell['groups'] = [];
  for (const ledger of ledgers) {
    const verdict = ledger[column];
    let group = groups.find((g) => g.value === verdict.value && g.group === verdict.group);
    if (!group) {
      group = { value: verdict.value, group: verdict.group, configurations: [] };
      groups.push(group);
    }
    group.configurations.push(ledger.configuration.name);
  }
  const value = combine(ledgers.map((l) => l[column].value));
  const seed = row[column];
  const cell: DerivedCell = { source: 'derived', value, seed, matchesSeed: value === seed, groups };
  if (value !== seed) {
    cell.difference =
      mode === 'legacy'
        ? 'accounting legacy: before the series there was no ctor/dtor at P4D and PGD; seed 000 shows the state after it'
        : (KNOWN_DIFFERENCES[`${row.arch}/${column}`] ?? 'not understood: the engine and seed 000 disagree here');
  }
  return cell;
}

/**
 * Seed 000's table with the ctor/dtor cells of x86, arm64, riscv and arm derived under
 * `accounting MODE`: each configuration's scenario is run and a cell is `Y` when every table
 * page of its levels ran ctor and dtor on every configuration, `N` when on none, `Y/N` when
 * configurations differ. Everything else is copied from the seed. Deterministic; runs
 * 18 small scenarios and throws only as `deriveConfiguration` does.
 */
export function deriveAccountingTable(mode: AccountingMode = 'series'): AccountingTable {
  const configurations = accountingConfigurations().map((c) => deriveConfiguration(c, mode));
  const rows: AccountingRow[] = [];
  for (const seed of SEED_000_ROWS) {
    const ledgers = configurations.filter((l) => l.configuration.row === seed.arch);
    const modelled = ledgers.length > 0;
    if (!modelled && mode === 'legacy') continue;
    const copy = (value: string): SeedCell => ({ source: 'seed', value });
    rows.push({
      arch: seed.arch,
      modelled,
      include: copy(seed.include),
      upToP4d: modelled ? derivedCell(seed, 'upToP4d', ledgers, mode) : copy(seed.upToP4d),
      pgd: modelled ? derivedCell(seed, 'pgd', ledgers, mode) : copy(seed.pgd),
      notes: seed.notes,
      configurations: ledgers.map((l) => l.configuration.id),
    });
  }
  return { mode, rows, configurations };
}

