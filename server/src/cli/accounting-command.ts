// `ptscn accounting [--mode series|legacy] [--json | --scenarios]`: seed 000's per-architecture
// table of page-table ctor/dtor coverage, with the cells of the modelled architectures derived
// by the engine (engine/accounting-table.ts) and the rest copied from the seed.

import type { CliCommand } from './command';
import { EXIT_OK, UsageError, type CliIo } from './io';
import { deriveAccountingTable, type AccountingCell, type AccountingMode, type AccountingTable, type DerivedCell } from '../engine/index';

const COLUMNS = [
  { id: 'arch', title: ['arch'] },
  { id: 'include', title: ['#include', '<asm-generic/pgalloc.h>'] },
  { id: 'upToP4d', title: ['Complete ctor/dtor', 'calls up to p4d level'] },
  { id: 'pgd', title: ['ctor/dtor', 'at pgd level'] },
  { id: 'notes', title: ['Notes'] },
] as const;

/** Widest line of the Notes column; longer notes wrap at spaces. */
const NOTES_WIDTH = 64;

const SEED = {
  id: '000',
  subject: '[PATCH 00/10] Account page tables at all levels',
  author: 'Kevin Brodsky',
  date: '2024-12-19',
  table: 'Overview of the situation on all arch after this series is applied',
};

interface Options {
  mode: AccountingMode;
  output: 'table' | 'json' | 'scenarios';
}

function parseArgs(args: readonly string[]): Options {
  const options: Options = { mode: 'series', output: 'table' };
  const setOutput = (output: Options['output'], flag: string): void => {
    if (options.output !== 'table' && options.output !== output) {
      throw new UsageError(`ptscn accounting: ${flag} cannot be combined with --${options.output} (see 'ptscn help accounting')`);
    }
    options.output = output;
  };
  const setMode = (value: string | undefined): void => {
    if (value === undefined || value === '') throw new UsageError("ptscn accounting: --mode needs a value, series or legacy (see 'ptscn help accounting')");
    if (value !== 'series' && value !== 'legacy') throw new UsageError(`ptscn accounting: unknown mode '${value}', expected series or legacy`);
    options.mode = value;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--json') setOutput('json', arg);
    else if (arg === '--scenarios') setOutput('scenarios', arg);
    else if (arg === '--mode') setMode(args[++i]);
    else if (arg.startsWith('--mode=')) setMode(arg.slice('--mode='.length));
    else if (arg.startsWith('-')) throw new UsageError(`ptscn accounting: unknown option '${arg}' (see 'ptscn help accounting')`);
    else throw new UsageError(`ptscn accounting: unexpected argument '${arg}' (the command takes no files)`);
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// Text

/** Stands for a space that `wrap` must not break at (inside a configuration name). */
const KEEP = '\u0000';

/**
 * Splits `text` into lines of at most `width` characters at spaces (a longer word gets a line of
 * its own); continuation lines are indented.
 */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ').map((w) => w.split(KEEP).join(' '))) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function derived(cell: AccountingCell): cell is DerivedCell {
  return cell.source === 'derived';
}

/** A cell's lines: the value, `*` when derived, `!` and the seed's value when they differ. */
function cellLines(cell: AccountingCell): string[] {
  if (!derived(cell)) return [cell.value];
  if (cell.matchesSeed) return [`${cell.value} *`];
  return [`${cell.value} * !`, `seed: ${cell.seed}`];
}

/** `pgd: Y/N = Y (page allocator PGD): 4K/39, 4K/48; N (kmem_cache PGD): 4K/52`. */
function derivationNote(column: string, cell: DerivedCell): string {
  const groups = cell.groups.map((g) => `${g.value} (${g.group}): ${g.configurations.map((c) => c.split(' ').join(KEEP)).join(', ')}`).join('; ');
  return `${column}: ${cell.value === 'Y/N' ? 'Y/N = ' : ''}${groups}`;
}

/**
 * The seed's notes, then which configurations gave each derived cell, then why a derived cell
 * differs from the seed. Under `legacy` every difference has the one reason the intro states.
 */
function notesLines(row: AccountingTable['rows'][number], mode: AccountingMode): string[] {
  const lines = [...row.notes];
  const cells = [
    ['up to p4d', row.upToP4d],
    ['pgd', row.pgd],
  ] as const;
  for (const [column, cell] of cells) if (derived(cell)) lines.push(...wrap(`ptscn ${derivationNote(column, cell)}`, NOTES_WIDTH));
  for (const [column, cell] of cells) {
    if (derived(cell) && cell.difference && mode === 'series') lines.push(...wrap(`! ${column} differs from seed 000: ${cell.difference}`, NOTES_WIDTH));
  }
  return lines;
}

/** Renders rows of multi-line cells as a grid table in the seed's own style. */
function grid(header: string[][], rows: string[][][]): string {
  const widths = header.map((cell, c) => Math.max(...[cell, ...rows.map((r) => r[c] ?? [])].flatMap((lines) => lines.map((l) => l.length))));
  const rule = (fill: string): string => `+${widths.map((w) => fill.repeat(w + 2)).join('+')}+`;
  const render = (cells: string[][]): string[] => {
    const height = Math.max(...cells.map((c) => c.length));
    const out: string[] = [];
    for (let i = 0; i < height; i++) out.push(`|${widths.map((w, c) => ` ${(cells[c]?.[i] ?? '').padEnd(w)} `).join('|')}|`);
    return out;
  };
  const out = [rule('-'), ...render(header), rule('=')];
  for (const row of rows) out.push(...render(row), rule('-'));
  return out.map((line) => `  ${line}`).join('\n');
}

function toText(table: AccountingTable): string {
  const series = table.mode === 'series';
  const intro = series
    ? [
        `Seed ${SEED.id}, "${SEED.subject}" (${SEED.author}, ${SEED.date}):`,
        `${SEED.table}.`,
        'Cells marked * were derived by running ptscn\'s engine; everything else is copied from the seed.',
      ]
    : [
        `The architectures ptscn models under \`accounting legacy\`: the state before seed ${SEED.id}'s series`,
        `("${SEED.subject}"), when no ctor/dtor ran at P4D and PGD level.`,
        "Cells marked * were derived by running ptscn's engine; `seed:` under a cell shows the seed's value,",
        'the state after the series.',
      ];
  const rows = table.rows.map((row) => [[row.arch], cellLines(row.include), cellLines(row.upToP4d), cellLines(row.pgd), notesLines(row, table.mode)]);
  const configurations = table.configurations.length;
  const legend = [
    'Legend:',
    `  *  derived: for each configuration named in the notes (${configurations} in all), a process maps and writes`,
    '     a page (allocating every table level), forks, and both exit; the ledger says which table',
    '     pages ran their ctor and their dtor. Y: every table of those levels did, on every',
    '     configuration; N: none did; Y/N: it depends on the configuration.',
    series
      ? "  !  the derived value differs from the seed's (shown below it as `seed:`); the notes say why."
      : "  !  the derived value differs from the seed's (shown below it as `seed:`): the seed shows the state after the series.",
    series
      ? '  The #include column, the seed\'s own notes and every row without * are copied from seed 000:'
      : '  The #include column and the notes that do not start with "ptscn" or "!" are copied from seed 000.',
    ...(series ? ['  ptscn does not model those architectures.'] : []),
    '  `ptscn accounting --scenarios` prints the scenarios that were run; --json prints the ledger of each.',
  ];
  return `${[...intro, '', grid(COLUMNS.map((c) => [...c.title]), rows), '', ...legend].join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// JSON

function toJson(table: AccountingTable): unknown {
  return {
    seed: SEED,
    mode: table.mode,
    columns: COLUMNS.map((c) => ({ id: c.id, title: c.title.join(' ') })),
    rows: table.rows.map((row) => ({
      arch: row.arch,
      modelled: row.modelled,
      cells: {
        include: row.include,
        upToP4d: row.upToP4d,
        pgd: row.pgd,
        notes: { source: 'seed', value: row.notes },
      },
      configurations: row.configurations,
    })),
    configurations: table.configurations.map((ledger) => ({
      id: ledger.configuration.id,
      row: ledger.configuration.row,
      name: ledger.configuration.name,
      label: ledger.configuration.label,
      levels: ledger.levels,
      upToP4d: ledger.upToP4d,
      pgd: ledger.pgd,
      scenario: ledger.scenarioText,
    })),
  };
}

/** `ptscn accounting`. */
export function createAccountingCommand(): CliCommand {
  return {
    name: 'accounting',
    synopsis: 'accounting [--mode M] [--json]',
    summary: "print seed 000's ctor/dtor table per architecture, derived where modelled",
    help: [
      'Usage: ptscn accounting [--mode series|legacy] [--json | --scenarios]',
      '',
      'Prints the table of seed 000 ("Account page tables at all levels": which architectures',
      'run page-table ctor/dtor calls up to P4D and at PGD level). For x86, arm64, riscv and arm',
      'those two cells are derived by running the engine on every configuration it models',
      '(x86_64 4- and 5-level, with PTI, x86 PAE; arm64 4K/16K/64K at every VA size; riscv',
      'sv39/sv48/sv57; ARM LPAE): a process writes a page, forks, and both exit, and the ledger',
      'says which table pages ran their ctor and dtor. Other cells and rows come from the seed.',
      'A derived cell that differs from the seed is marked, with the seed\'s value and the reason.',
      '',
      'Options:',
      '  --mode series  accounting after the series (the default; the seed\'s table)',
      '  --mode legacy  accounting before it: no ctor/dtor at P4D and PGD; shows the modelled',
      '                 architectures only',
      '  --json         print one JSON object: rows with their cells, where each cell came from',
      '                 and the configurations behind derived cells, then each configuration\'s ledger',
      '  --scenarios    print the generated scenarios instead (a file `ptscn run` accepts)',
      '',
      'Exit status: 0, or 2 for a usage error.',
    ].join('\n'),
    run(args: readonly string[], io: CliIo): number {
      const options = parseArgs(args);
      const table = deriveAccountingTable(options.mode);
      if (options.output === 'json') io.out(`${JSON.stringify(toJson(table), null, 2)}\n`);
      else if (options.output === 'scenarios') io.out(table.configurations.map((c) => c.scenarioText).join('\n'));
      else io.out(toText(table));
      return EXIT_OK;
    },
  };
}
