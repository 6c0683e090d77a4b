// `ptscn accounting` as a real process: its table checked row by row against seed 000's own
// table (test/fixtures/accounting/seed-000-table.txt, a verbatim copy, because CI runs on a clean
// clone), the JSON shape, the legacy mode, the generated scenarios, and usage errors.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'out/server/src/cli/main.js');
const MODELLED = ['arm', 'arm64', 'riscv', 'x86'];

function ptscn(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
}

/** A grid table row: each cell's lines, trailing blank lines dropped. */
type GridRow = string[][];

/**
 * Parses a grid table in the seed's style (`+---+` rules, `+===+` under the header, `|` cells
 * that may span lines). Returns the header row and the body rows.
 */
function parseGrid(text: string): { header: GridRow; rows: GridRow[] } {
  const rows: GridRow[] = [];
  let current: string[][] | undefined;
  let header: GridRow | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('+')) {
      if (current) {
        const row = current.map((cell) => {
          const lines = [...cell];
          while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
          return lines;
        });
        if (line.startsWith('+=')) header = row;
        else rows.push(row);
      }
      current = undefined;
    } else if (line.startsWith('|')) {
      const cells = line.slice(1, -1).split('|').map((c) => c.slice(1).trimEnd());
      current ??= cells.map(() => []);
      cells.forEach((c, i) => current?.[i]?.push(c));
    }
  }
  assert.ok(header, 'the table has a header row');
  return { header, rows };
}

const seed = parseGrid(fs.readFileSync(path.join(ROOT, 'test/fixtures/accounting/seed-000-table.txt'), 'utf8'));

describe('ptscn accounting (text)', () => {
  const { status, stdout, stderr } = ptscn('accounting');
  const table = parseGrid(stdout);

  it('exits 0 and prints the table', () => {
    assert.equal(status, 0);
    assert.equal(stderr, '');
    assert.equal(seed.rows.length, 22);
  });

  it('has the seed\'s columns and every row of the seed, in order', () => {
    assert.deepEqual(table.header, seed.header);
    assert.deepEqual(
      table.rows.map((r) => r[0]),
      seed.rows.map((r) => r[0]),
    );
  });

  it('matches the seed row by row, derived cells marked, the one difference with the seed\'s value beside it', () => {
    for (const [i, seedRow] of seed.rows.entries()) {
      const row = table.rows[i];
      assert.ok(row);
      const arch = seedRow[0]?.[0] ?? '';
      // The #include column always comes from the seed.
      assert.deepEqual(row[1], seedRow[1], `${arch}: #include`);
      if (!MODELLED.includes(arch)) {
        assert.deepEqual(row, seedRow, `${arch}: copied from the seed`);
        continue;
      }
      for (const column of [2, 3]) {
        const cell: string[] = row[column] ?? [];
        const seedValue = seedRow[column]?.[0] ?? '';
        if (arch === 'arm' && column === 3) {
          // Derived from ARM LPAE only (kmalloc PGD): N, where the seed has Y/N.
          assert.deepEqual(cell, ['N * !', `seed: ${seedValue}`], `${arch}: pgd`);
        } else {
          assert.deepEqual(cell, [`${seedValue} *`], `${arch}: column ${column}`);
        }
      }
      // The seed's notes first, then which configurations gave the derived values.
      const notes = row[4] ?? [];
      const seedNotes = seedRow[4] ?? [];
      assert.deepEqual(notes.slice(0, seedNotes.length), seedNotes, `${arch}: the seed's notes`);
      const added = notes.slice(seedNotes.length);
      assert.ok(added[0]?.startsWith('ptscn up to p4d: '), `${arch}: ${added[0]}`);
      assert.ok(added.some((l) => l.startsWith('ptscn pgd: ')), arch);
      for (const line of added) assert.match(line, /^(ptscn |! | {2})/, `${arch}: ${line}`);
    }
  });

  it('names the configurations behind each derived cell in the notes', () => {
    const notes = (arch: string): string => (table.rows.find((r) => r[0]?.[0] === arch)?.[4] ?? []).join(' ').replace(/\s+/g, ' ');
    assert.match(notes('arm64'), /ptscn pgd: Y\/N = Y \(page allocator PGD\): 4K\/39, 4K\/48, 16K\/36, 16K\/47, 64K\/42; N \(kmem_cache PGD\): 4K\/52, 16K\/48, 16K\/52, 64K\/48, 64K\/52/);
    assert.match(notes('x86'), /N \(kmem_cache PGD\): x86 PAE/);
    assert.match(notes('riscv'), /ptscn pgd: Y \(page allocator PGD\): sv39, sv48, sv57/);
    assert.match(notes('arm'), /! pgd differs from seed 000: ptscn models 32-bit ARM only as LPAE/);
  });

  it('explains its marks in a legend', () => {
    assert.match(stdout, /^ {2}\* {2}derived: /m);
    assert.match(stdout, /^ {2}! {2}the derived value differs from the seed's/m);
    assert.match(stdout, /copied from seed 000/);
  });
});

interface JsonCell {
  source: 'seed' | 'derived';
  value: string | string[];
  seed?: string;
  matchesSeed?: boolean;
  difference?: string;
  groups?: { value: string; group: string; configurations: string[] }[];
}

interface JsonTable {
  seed: { id: string; subject: string };
  mode: string;
  columns: { id: string; title: string }[];
  rows: { arch: string; modelled: boolean; cells: Record<'include' | 'upToP4d' | 'pgd' | 'notes', JsonCell>; configurations: string[] }[];
  configurations: {
    id: string;
    row: string;
    name: string;
    label: string;
    levels: { level: string; tables: number; allocators: string[]; constructed: number; destructed: number; freed: number }[];
    upToP4d: { value: string; why: string };
    pgd: { value: string; why: string };
    scenario: string;
  }[];
}

describe('ptscn accounting --json', () => {
  const { status, stdout } = ptscn('accounting', '--json');
  const json = JSON.parse(stdout) as JsonTable;

  it('prints one object with the seed\'s columns and rows', () => {
    assert.equal(status, 0);
    assert.equal(json.seed.id, '000');
    assert.equal(json.mode, 'series');
    assert.deepEqual(
      json.columns.map((c) => c.id),
      ['arch', 'include', 'upToP4d', 'pgd', 'notes'],
    );
    assert.deepEqual(
      json.rows.map((r) => r.arch),
      seed.rows.map((r) => r[0]?.[0]),
    );
  });

  it('says where each cell came from, with the seed\'s values for the others', () => {
    for (const [i, row] of json.rows.entries()) {
      const seedRow = seed.rows[i] ?? [];
      assert.equal(row.modelled, MODELLED.includes(row.arch), row.arch);
      assert.deepEqual(row.cells.include, { source: 'seed', value: seedRow[1]?.[0] });
      assert.deepEqual(row.cells.notes, { source: 'seed', value: seedRow[4] ?? [] });
      for (const [id, column] of [
        ['upToP4d', 2],
        ['pgd', 3],
      ] as const) {
        const cell = row.cells[id];
        const seedValue = seedRow[column]?.[0];
        if (!row.modelled) {
          assert.deepEqual(cell, { source: 'seed', value: seedValue });
          continue;
        }
        assert.equal(cell.source, 'derived');
        assert.equal(cell.seed, seedValue);
        assert.equal(cell.matchesSeed, cell.value === seedValue);
        assert.equal(typeof cell.difference === 'string', !cell.matchesSeed);
        // Every configuration of the row stands behind the cell exactly once.
        const behind = (cell.groups ?? []).flatMap((g) => g.configurations).sort();
        const names = row.configurations.map((id) => json.configurations.find((c) => c.id === id)?.name ?? '?').sort();
        assert.deepEqual(behind, names, `${row.arch} ${id}`);
      }
    }
    const arm = json.rows.find((r) => r.arch === 'arm');
    assert.equal(arm?.cells.pgd.value, 'N');
    assert.equal(arm?.cells.pgd.matchesSeed, false);
  });

  it('lists each configuration with its ledger per level and the scenario that was run', () => {
    assert.equal(json.configurations.length, 18);
    for (const c of json.configurations) {
      assert.ok(MODELLED.includes(c.row), c.id);
      assert.ok(c.levels.length >= 2 && c.levels[0]?.level === 'pgd', c.id);
      assert.match(c.upToP4d.value, /^[YN]$/);
      assert.match(c.pgd.why, /PGD/);
      assert.match(c.scenario, /^scenario "accounting series: /m);
    }
    const pae = json.configurations.find((c) => c.id === 'x86_pae');
    assert.deepEqual(pae?.levels[0], { level: 'pgd', tables: 2, allocators: ['kmem_cache'], constructed: 0, destructed: 0, freed: 2 });
  });
});

describe('ptscn accounting --mode legacy', () => {
  it('derives the modelled rows before the series: no PGD ctor anywhere', () => {
    const { status, stdout } = ptscn('accounting', '--mode', 'legacy');
    assert.equal(status, 0);
    const table = parseGrid(stdout);
    assert.deepEqual(
      table.rows.map((r) => r[0]?.[0]),
      MODELLED,
    );
    for (const row of table.rows) assert.match(row[3]?.[0] ?? '', /^N \*/);
    assert.match(stdout, /before seed 000's series/);
  });

  it('also as JSON, with --mode=legacy', () => {
    const json = JSON.parse(ptscn('accounting', '--mode=legacy', '--json').stdout) as JsonTable;
    assert.equal(json.mode, 'legacy');
    assert.deepEqual(
      json.rows.map((r) => [r.arch, r.cells.upToP4d.value, r.cells.pgd.value]),
      [
        ['arm', 'Y', 'N'],
        ['arm64', 'Y/N', 'N'],
        ['riscv', 'Y/N', 'N'],
        ['x86', 'Y/N', 'N'],
      ],
    );
  });
});

describe('ptscn accounting --scenarios', () => {
  it('prints the scenarios it runs, and ptscn run accepts them', () => {
    const { status, stdout } = ptscn('accounting', '--scenarios');
    assert.equal(status, 0);
    assert.equal(stdout.match(/^scenario "/gm)?.length, 18);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptscn-accounting-'));
    try {
      const file = path.join(dir, 'accounting.ptscn');
      fs.writeFileSync(file, stdout);
      const run = ptscn('run', file);
      assert.equal(run.status, 0, run.stdout);
      assert.equal(run.stdout.match(/: ok \(0 errors, 0 warnings/g)?.length, 18);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ptscn accounting usage', () => {
  for (const args of [['--mode'], ['--mode', 'bogus'], ['--mode=x'], ['--frob'], ['file.ptscn'], ['--json', '--scenarios']]) {
    it(`${args.join(' ')}: one line on stderr, status 2`, () => {
      const { status, stdout, stderr } = ptscn('accounting', ...args);
      assert.equal(status, 2);
      assert.equal(stdout, '');
      assert.match(stderr, /^ptscn accounting: [^\n]+\n$/);
    });
  }

  it('is listed in ptscn --help and has its own help', () => {
    assert.match(ptscn('--help').stdout, /^ {2}accounting \[--mode M\] \[--json\] +print seed 000's/m);
    const help = ptscn('help', 'accounting');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: ptscn accounting \[--mode series\|legacy\] \[--json \| --scenarios\]/);
  });
});
