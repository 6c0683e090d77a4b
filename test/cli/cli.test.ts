// The `ptscn` command: in process with a stand-in engine (exact text and JSON, positions, exit
// statuses), and as a real process (exit statuses, one-line errors, the bundled launcher).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Finding, Output, Scenario } from '../../server/src/engine/index';
import { runCli } from '../../server/src/cli/cli';
import type { CliIo } from '../../server/src/cli/io';
import { LineIndex } from '../../server/src/cli/positions';
import { createRunCommand } from '../../server/src/cli/run-command';
import type { Runner } from '../../server/src/cli/run-file';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'out/server/src/cli/main.js');

interface Captured {
  status: number;
  out: string;
  err: string;
}

/** Runs the CLI in process over an in-memory file system. */
function runInProcess(argv: string[], files: Record<string, string>, run?: Runner): Captured {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (text) => (out += text),
    err: (text) => (err += text),
    readFile: (file) => {
      const text = files[file];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
      return text;
    },
    now: () => 0,
  };
  const status = runCli(argv, io, [createRunCommand(run)]);
  return { status, out, err };
}

/** A stand-in engine: reports one finding per statement keyword it knows, by title. */
function fakeRunner(calls: string[] = []): Runner {
  return (scenario: Scenario) => {
    calls.push(scenario.title);
    const findings: Finding[] = [];
    const outputs: Output[] = [];
    const first = scenario.body[0];
    const stmt = first?.kind === 'kernel' ? first.body[0] : undefined;
    if (stmt && scenario.title.includes('error')) {
      findings.push({
        code: 'expectation-failed',
        severity: 'error',
        span: stmt.span,
        message: 'expected ok, got EINVAL',
        related: [{ span: scenario.headSpan, message: 'the scenario starts here' }],
      });
    }
    if (stmt && scenario.title.includes('warning')) findings.push({ code: 'statement-failed', severity: 'warning', span: stmt.span, message: 'map returned EINVAL' });
    if (stmt && scenario.title.includes('expected')) {
      findings.push({ code: 'partial-block-overlap', severity: 'information', span: stmt.span, message: 'split', expected: true });
    }
    if (stmt && scenario.title.includes('dump')) outputs.push({ span: stmt.span, kind: 'ptdump', text: '---[ Linear Mapping start ]---\n0x0-0x1000 4K PTE\n' });
    return { findings, outputs, stats: { steps: 3, schedules: 1, states: 2 } };
  };
}

const KERNEL = (title: string): string => `scenario "${title}" {\n  kernel {\n    check_wx\n  }\n}\n`;

describe('ptscn run (in process)', () => {
  it('prints diagnostics, related places, outputs and a summary', () => {
    const files = { 'a.ptscn': KERNEL('error dump') };
    const { status, out, err } = runInProcess(['run', 'a.ptscn'], files, fakeRunner());
    assert.equal(status, 1);
    assert.equal(err, '');
    assert.equal(
      out,
      [
        'a.ptscn:3:5: error [expectation-failed] expected ok, got EINVAL',
        '    a.ptscn:1:1: the scenario starts here',
        'a.ptscn:3: ptdump output:',
        '---[ Linear Mapping start ]---',
        '0x0-0x1000 4K PTE',
        'a.ptscn:1: scenario "error dump": FAILED (1 error, 0 warnings; 3 steps, 1 schedule, 2 states, 0 ms)',
        '',
      ].join('\n'),
    );
  });

  it('exits 0 when there are only warnings and expected findings', () => {
    const files = { 'a.ptscn': KERNEL('warning') + KERNEL('expected') };
    const { status, out } = runInProcess(['run', 'a.ptscn'], files, fakeRunner());
    assert.equal(status, 0);
    assert.match(out, /a\.ptscn:3:5: warning \[statement-failed\] map returned EINVAL\n/);
    assert.match(out, /a\.ptscn:8:5: information \[partial-block-overlap\] split \(expected\)\n/);
  });

  it('reports static problems without running their scenario', () => {
    const calls: string[] = [];
    const files = { 'a.ptscn': 'scenario "bad" {\n  kernel { map 0x1000 4K }\n}\n' + KERNEL('good') };
    const { status, out } = runInProcess(['run', 'a.ptscn'], files, fakeRunner(calls));
    assert.equal(status, 1);
    assert.deepEqual(calls, ['good']);
    assert.match(out, /^a\.ptscn:2:23: error \[syntax\] expected `size` after the address in `map`, found `4K`\n/);
    assert.match(out, /a\.ptscn:1: scenario "bad": FAILED, not run \(1 error found before running\)\n/);
  });

  it('prints the JSON object of spec §11', () => {
    const files = { 'a.ptscn': KERNEL('error dump'), 'b.ptscn': 'scenario "s" {\n  let x = nope\n}\n' };
    const { status, out } = runInProcess(['run', '--json', 'a.ptscn', 'b.ptscn'], files, fakeRunner());
    assert.equal(status, 1);
    const json = JSON.parse(out) as { files: { scenarios: { diagnostics: { message?: string }[] }[] }[] };
    // The checker's wording is not part of this test; its code and place are.
    const unknown = json.files[1]?.scenarios[0]?.diagnostics[0];
    assert.equal(typeof unknown?.message, 'string');
    delete unknown?.message;
    assert.deepEqual(json, {
      files: [
        {
          file: 'a.ptscn',
          diagnostics: [],
          scenarios: [
            {
              title: 'error dump',
              ok: false,
              ran: true,
              diagnostics: [
                {
                  line: 3,
                  column: 5,
                  endLine: 3,
                  endColumn: 13,
                  severity: 'error',
                  code: 'expectation-failed',
                  message: 'expected ok, got EINVAL',
                  related: [{ line: 1, column: 1, endLine: 1, endColumn: 22, message: 'the scenario starts here' }],
                },
              ],
              outputs: [{ line: 3, kind: 'ptdump', text: '---[ Linear Mapping start ]---\n0x0-0x1000 4K PTE\n' }],
              stats: { steps: 3, schedules: 1, states: 2, ms: 0 },
            },
          ],
        },
        {
          file: 'b.ptscn',
          diagnostics: [],
          scenarios: [
            {
              title: 's',
              ok: false,
              ran: false,
              diagnostics: [
                {
                  line: 2,
                  column: 11,
                  endLine: 2,
                  endColumn: 15,
                  severity: 'error',
                  code: 'unknown-name',
                },
              ],
              outputs: [],
              stats: { steps: 0, schedules: 0, states: 0, ms: 0 },
            },
          ],
        },
      ],
    });
  });

  it('puts problems outside every scenario at file level', () => {
    const files = { 'a.ptscn': 'junk\n' + KERNEL('ok') };
    const { status, out } = runInProcess(['run', '--json', 'a.ptscn'], files, fakeRunner());
    assert.equal(status, 1);
    const json = JSON.parse(out) as { files: { diagnostics: { code: string; line: number }[]; scenarios: { ok: boolean }[] }[] };
    assert.deepEqual(json.files[0]?.diagnostics.map((d) => [d.code, d.line]), [['syntax', 1]]);
    assert.equal(json.files[0]?.scenarios[0]?.ok, true);
  });

  it('counts columns in UTF-16 code units across CRLF lines', () => {
    const text = 'scenario "t" {\r\n  # 😀\r\n  let a = 1 😀 + zz\r\n  let b = 😀\r\n}\r\n';
    const { out } = runInProcess(['run', '--json', 'a.ptscn'], { 'a.ptscn': text }, fakeRunner());
    const json = JSON.parse(out) as { files: { scenarios: { diagnostics: { line: number; column: number; endLine: number; endColumn: number }[] }[] }[] };
    const ranges = json.files[0]?.scenarios[0]?.diagnostics.map((d) => [d.line, d.column, d.endLine, d.endColumn]);
    assert.deepEqual(ranges, [
      [3, 13, 3, 15],
      [4, 11, 4, 13],
    ]);
  });

  it('ignores a byte-order mark when counting columns', () => {
    const text = '\ufeffscenario "t" { let a = zz }\n';
    const { out } = runInProcess(['run', 'a.ptscn'], { 'a.ptscn': text }, fakeRunner());
    assert.match(out, /^a\.ptscn:1:24: error \[unknown-name\]/);
  });

  it('maps offsets to positions on LF, CRLF and CR lines', () => {
    const lines = new LineIndex('ab\ncd\r\nef\rgh');
    assert.deepEqual([0, 2, 3, 5, 6, 7, 10, 11, 99].map((o) => lines.position(o)), [
      { line: 1, column: 1 },
      { line: 1, column: 3 },
      { line: 2, column: 1 },
      { line: 2, column: 3 },
      { line: 2, column: 4 },
      { line: 3, column: 1 },
      { line: 4, column: 1 },
      { line: 4, column: 2 },
      { line: 4, column: 3 },
    ]);
  });

  it('exits 2 with one line per unreadable file, running nothing', () => {
    const calls: string[] = [];
    const { status, out, err } = runInProcess(['run', 'a.ptscn', 'missing.ptscn'], { 'a.ptscn': KERNEL('ok') }, fakeRunner(calls));
    assert.equal(status, 2);
    assert.equal(out, '');
    assert.equal(err, "ptscn: cannot read 'missing.ptscn': no such file or directory\n");
    assert.deepEqual(calls, []);
  });

  const USAGE: [string[], number, RegExp, 'out' | 'err'][] = [
    [[], 2, /^ptscn: run \.ptscn/, 'err'],
    [['--help'], 0, /Usage: ptscn COMMAND/, 'out'],
    [['-h'], 0, /Usage: ptscn COMMAND/, 'out'],
    [['help'], 0, /run FILE… \[--json\]/, 'out'],
    [['help', 'run'], 0, /^Usage: ptscn run FILE… \[--json\]/, 'out'],
    [['run', '--help'], 0, /^Usage: ptscn run/, 'out'],
    [['help', 'nope'], 2, /^ptscn: no help for unknown command 'nope'.*\n$/, 'err'],
    [['frobnicate'], 2, /^ptscn: unknown command 'frobnicate'.*\n$/, 'err'],
    [['run'], 2, /^ptscn run: no files given.*\n$/, 'err'],
    [['run', '--yaml', 'a.ptscn'], 2, /^ptscn run: unknown option '--yaml'.*\n$/, 'err'],
  ];
  for (const [argv, expected, pattern, stream] of USAGE) {
    it(`ptscn ${argv.join(' ')} exits ${expected}`, () => {
      const result = runInProcess(argv, { 'a.ptscn': KERNEL('ok') }, fakeRunner());
      assert.equal(result.status, expected);
      assert.match(result[stream], pattern);
      if (expected === 2 && argv.length > 0) assert.equal(result.err.split('\n').length, 2, 'one line');
    });
  }

  it('accepts file names after --', () => {
    const { status } = runInProcess(['run', '--', '--odd.ptscn'], { '--odd.ptscn': KERNEL('ok') }, fakeRunner());
    assert.equal(status, 0);
  });

  it('reports a crash in the engine as one line with status 3', () => {
    const crash: Runner = () => {
      throw new Error('boom\n    at somewhere');
    };
    const { status, err } = runInProcess(['run', 'a.ptscn'], { 'a.ptscn': KERNEL('ok') }, crash);
    assert.equal(status, 3);
    assert.equal(err, 'ptscn: internal error: boom\n');
  });
});

describe('ptscn run (as a process)', () => {
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptscn-cli-'));
    fs.writeFileSync(path.join(dir, 'syntax.ptscn'), 'scenario "s" {\n  kernel {\n    map 0x1000 4K phys 0 prot rw\n  }\n}\n');
    fs.writeFileSync(path.join(dir, 'empty.ptscn'), 'scenario "nothing happens" {\n}\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const spawn = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' });

  it('exits 1 and gives the line and column of a syntax error', () => {
    const { status, stdout, stderr } = spawn('run', 'syntax.ptscn');
    assert.equal(status, 1);
    assert.equal(stderr, '');
    assert.match(stdout, /^syntax\.ptscn:3:16: error \[syntax\] /);
  });

  it('gives the same position in JSON', () => {
    const { status, stdout } = spawn('run', '--json', 'syntax.ptscn');
    assert.equal(status, 1);
    const json = JSON.parse(stdout) as { files: { file: string; scenarios: { title: string; ok: boolean; diagnostics: Record<string, unknown>[]; outputs: unknown[]; stats: Record<string, number> }[] }[] };
    const scenario = json.files[0]?.scenarios[0];
    assert.equal(json.files[0]?.file, 'syntax.ptscn');
    assert.equal(scenario?.title, 's');
    assert.equal(scenario?.ok, false);
    const diagnostic = scenario?.diagnostics[0];
    assert.deepEqual(
      diagnostic && [diagnostic['line'], diagnostic['column'], diagnostic['endLine'], diagnostic['endColumn'], diagnostic['severity'], diagnostic['code']],
      [3, 16, 3, 18, 'error', 'syntax'],
    );
    assert.equal(typeof diagnostic?.['message'], 'string');
    assert.deepEqual(scenario?.outputs, []);
    assert.deepEqual(Object.keys(scenario?.stats ?? {}).sort(), ['ms', 'schedules', 'states', 'steps']);
  });

  it('exits 0 for a scenario with nothing in it', () => {
    const { status, stdout } = spawn('run', 'empty.ptscn');
    assert.equal(status, 0, stdout);
    assert.match(stdout, /scenario "nothing happens": ok/);
  });

  it('exits 2 with a one-line message for a missing file', () => {
    const { status, stdout, stderr } = spawn('run', 'missing.ptscn');
    assert.equal(status, 2);
    assert.equal(stdout, '');
    assert.equal(stderr, "ptscn: cannot read 'missing.ptscn': no such file or directory\n");
  });

  it('exits 2 with a one-line message for a directory', () => {
    const { status, stderr } = spawn('run', '.');
    assert.equal(status, 2);
    assert.equal(stderr, "ptscn: cannot read '.': is a directory\n");
  });

  it('exits 2 for usage errors', () => {
    assert.equal(spawn().status, 2);
    assert.equal(spawn('bogus').status, 2);
    assert.equal(spawn('--help').status, 0);
  });

  it('runs through bin/ptscn.js once the bundle is built', (t) => {
    if (!fs.existsSync(path.join(ROOT, 'dist/cli.js'))) {
      t.skip('dist/cli.js is not built (npm run build)');
      return;
    }
    const { status, stdout } = spawnSync(process.execPath, [path.join(ROOT, 'bin/ptscn.js'), 'run', 'empty.ptscn'], { cwd: dir, encoding: 'utf8' });
    assert.equal(status, 0, stdout);
    assert.match(stdout, /scenario "nothing happens": ok/);
  });
});
