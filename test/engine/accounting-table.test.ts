// Seed 000's ctor/dtor table as the engine derives it (engine/accounting-table.ts): the cells of
// x86, arm64, riscv and arm come from running each configuration's scenario and reading the
// ledger, and they match the seed except where the engine models less than the seed's cell
// covers (arm is LPAE only). The legacy accounting mode changes the derived cells, which shows
// they are not typed in.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SEED_000_ROWS,
  accountingConfigurations,
  accountingScenario,
  deriveAccountingTable,
  resolveProfile,
  runScenario,
  type AccountingCell,
  type AccountingTable,
  type DerivedCell,
  type ScenarioRun,
} from '../../server/src/engine/index';
import { analyze } from '../../server/src/language/index';

const series = deriveAccountingTable('series');
const legacy = deriveAccountingTable('legacy');

function row(table: AccountingTable, arch: string): AccountingTable['rows'][number] {
  const found = table.rows.find((r) => r.arch === arch);
  assert.ok(found, `no row ${arch}`);
  return found;
}

function derived(cell: AccountingCell): DerivedCell {
  assert.equal(cell.source, 'derived');
  return cell as DerivedCell;
}

/** `value: configurations` per group, e.g. `Y: 4K/39 4K/48`. */
function groups(cell: AccountingCell): string[] {
  return derived(cell).groups.map((g) => `${g.value} ${g.group}: ${g.configurations.join(' ')}`);
}

describe('deriveAccountingTable (accounting series)', () => {
  it('keeps every seed row in the seed\'s order', () => {
    assert.deepEqual(
      series.rows.map((r) => r.arch),
      SEED_000_ROWS.map((r) => r.arch),
    );
    assert.equal(series.rows.length, 22);
  });

  it('derives x86: complete up to p4d, PGD Y/N (kmem_cache PGD with PAE), as in the seed', () => {
    const x86 = row(series, 'x86');
    assert.equal(derived(x86.upToP4d).value, 'Y');
    assert.equal(derived(x86.pgd).value, 'Y/N');
    assert.equal(derived(x86.upToP4d).matchesSeed, true);
    assert.equal(derived(x86.pgd).matchesSeed, true);
    assert.deepEqual(groups(x86.pgd), [
      'Y page allocator PGD: x86_64 4-level x86_64 4-level PTI x86_64 5-level',
      'N kmem_cache PGD: x86 PAE',
    ]);
  });

  it('derives arm64: complete up to p4d, PGD Y/N (kmem_cache when the PGD is not page-sized), as in the seed', () => {
    const arm64 = row(series, 'arm64');
    assert.equal(derived(arm64.upToP4d).value, 'Y');
    assert.equal(derived(arm64.pgd).value, 'Y/N');
    assert.deepEqual(groups(arm64.upToP4d), ['Y ctor and dtor at every level: 4K/39 4K/48 4K/52 16K/36 16K/47 16K/48 16K/52 64K/42 64K/48 64K/52']);
    assert.deepEqual(groups(arm64.pgd), [
      'Y page allocator PGD: 4K/39 4K/48 16K/36 16K/47 64K/42',
      'N kmem_cache PGD: 4K/52 16K/48 16K/52 64K/48 64K/52',
    ]);
  });

  it('derives riscv: Y and Y on sv39, sv48 and sv57, as in the seed', () => {
    const riscv = row(series, 'riscv');
    assert.equal(derived(riscv.upToP4d).value, 'Y');
    assert.equal(derived(riscv.pgd).value, 'Y');
    assert.deepEqual(derived(riscv.pgd).groups.flatMap((g) => g.configurations), ['sv39', 'sv48', 'sv57']);
  });

  it('derives arm from LPAE only: up to p4d Y as in the seed, PGD N where the seed has Y/N, with the reason', () => {
    const arm = row(series, 'arm');
    assert.equal(derived(arm.upToP4d).value, 'Y');
    assert.equal(derived(arm.upToP4d).matchesSeed, true);
    const pgd = derived(arm.pgd);
    assert.equal(pgd.value, 'N');
    assert.equal(pgd.seed, 'Y/N');
    assert.equal(pgd.matchesSeed, false);
    assert.match(pgd.difference ?? '', /LPAE/);
    assert.match(pgd.difference ?? '', /kmalloc/);
    assert.deepEqual(groups(arm.pgd), ['N kmalloc PGD: LPAE']);
  });

  it('differs from the seed in that one cell only', () => {
    const differing = series.rows.flatMap((r) =>
      [['upToP4d', r.upToP4d] as const, ['pgd', r.pgd] as const].filter(([, c]) => c.source === 'derived' && !c.matchesSeed).map(([column]) => `${r.arch}/${column}`),
    );
    assert.deepEqual(differing, ['arm/pgd']);
  });

  it('copies every other cell from the seed', () => {
    for (const [i, seed] of SEED_000_ROWS.entries()) {
      const r = series.rows[i];
      assert.ok(r);
      assert.deepEqual(r.include, { source: 'seed', value: seed.include });
      assert.deepEqual(r.notes, seed.notes);
      const modelled = ['x86', 'arm64', 'riscv', 'arm'].includes(seed.arch);
      assert.equal(r.modelled, modelled, seed.arch);
      if (!modelled) {
        assert.deepEqual(r.upToP4d, { source: 'seed', value: seed.upToP4d });
        assert.deepEqual(r.pgd, { source: 'seed', value: seed.pgd });
        assert.deepEqual(r.configurations, []);
      }
    }
  });

  it('ran every modelled configuration, with a table at every real level, each constructed, destructed and freed', () => {
    const ids = series.configurations.map((c) => c.configuration.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(ids.length, 18);
    for (const ledger of series.configurations) {
      const profile = resolveProfile({ ...ledger.configuration.arch, ...(ledger.configuration.features.includes('pti') ? { pti: true } : {}) });
      const real = profile.levels.filter((l) => !l.folded).map((l) => l.name);
      assert.deepEqual(
        ledger.levels.map((l) => l.level),
        real,
        ledger.configuration.id,
      );
      for (const level of ledger.levels) {
        assert.ok(level.tables >= 2, `${ledger.configuration.id} ${level.level}: both processes have one`);
        assert.equal(level.freed, level.tables, `${ledger.configuration.id} ${level.level}: freed at exit`);
        const slab = level.allocators.some((a) => a !== 'page');
        assert.equal(level.constructed, slab ? 0 : level.tables, `${ledger.configuration.id} ${level.level}: ctor`);
        assert.equal(level.destructed, slab ? 0 : level.tables, `${ledger.configuration.id} ${level.level}: dtor`);
      }
      // Only PGDs ever come from a slab cache.
      for (const level of ledger.levels.slice(1)) assert.deepEqual(level.allocators, ['page']);
    }
  });
});

describe('deriveAccountingTable (accounting legacy)', () => {
  it('lists the modelled architectures only', () => {
    assert.deepEqual(
      legacy.rows.map((r) => r.arch),
      ['arm', 'arm64', 'riscv', 'x86'],
    );
  });

  it('derives N at PGD level everywhere: the PGD ctor came with the series', () => {
    for (const r of legacy.rows) assert.equal(derived(r.pgd).value, 'N', r.arch);
    assert.deepEqual(groups(row(legacy, 'riscv').pgd), ['N page allocator PGD without a PGD ctor: sv39 sv48 sv57']);
  });

  it('derives Y/N up to p4d where a configuration has a real P4D level, which had no ctor before the series', () => {
    assert.equal(derived(row(legacy, 'x86').upToP4d).value, 'Y/N');
    assert.equal(derived(row(legacy, 'arm64').upToP4d).value, 'Y/N');
    assert.equal(derived(row(legacy, 'riscv').upToP4d).value, 'Y/N');
    assert.equal(derived(row(legacy, 'arm').upToP4d).value, 'Y');
    assert.deepEqual(
      derived(row(legacy, 'x86').upToP4d).groups.filter((g) => g.value === 'N'),
      [{ value: 'N', group: 'no ctor/dtor at P4D', configurations: ['x86_64 5-level'] }],
    );
    const p4d = legacy.configurations.find((c) => c.configuration.id === 'riscv64-sv57')?.levels.find((l) => l.level === 'p4d');
    assert.deepEqual(p4d, { level: 'p4d', tables: 2, allocators: ['page'], constructed: 0, destructed: 0, freed: 2 });
  });
});

describe('accountingScenario', () => {
  /** Table pages per level of the processes, with their ctor/dtor events, from a finished run. */
  function ledgerSummary(run: ScenarioRun): string[] {
    return run.state
      .ledger()
      .filter((t) => t.space !== 'kernel')
      .map((t) => `${t.space} ${t.level} ${t.allocator} ${t.events.map((e) => e.kind).join(',')}`);
  }

  /** Every `{ text, span }` word of a syntax tree. */
  function words(node: unknown, out: { text: string; span: { start: number; end: number } }[] = []): typeof out {
    if (Array.isArray(node)) for (const item of node) words(item, out);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      const span = record.span as { start: number; end: number } | undefined;
      if (typeof record.text === 'string' && span && typeof span.start === 'number') out.push({ text: record.text, span });
      for (const [key, value] of Object.entries(record)) if (key !== 'span') words(value, out);
    }
    return out;
  }

  for (const configuration of accountingConfigurations()) {
    it(`${configuration.id}: its text parses to a scenario that runs to the same ledger`, () => {
      for (const mode of ['series', 'legacy'] as const) {
        const generated = accountingScenario(configuration, mode);
        const { program, problems } = analyze(generated.text);
        assert.deepEqual(problems, []);
        assert.equal(program.scenarios.length, 1);
        const parsed = program.scenarios[0];
        assert.ok(parsed);
        assert.equal(parsed.title, generated.scenario.title);
        assert.deepEqual(ledgerSummary(runScenario(parsed)), ledgerSummary(runScenario(generated.scenario)));
        for (const word of words(generated.scenario.body)) {
          assert.equal(generated.text.slice(word.span.start, word.span.end), word.text);
        }
      }
    });
  }
});
