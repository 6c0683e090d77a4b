// Architecture and hygiene checks (style.md B2, B4.6, B6, B12), in the spirit of
// rust-analyzer's tidy.rs: they run with the unit tests, even when lint is skipped.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { Command, Setting, ViewType } from '../extension/src/ids';

const ROOT = resolve(__dirname, '../..');

function files(dir: string, pattern: RegExp): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (pattern.test(name)) out.push(path);
    }
  };
  walk(join(ROOT, dir));
  return out;
}

const rel = (path: string): string => relative(ROOT, path).split(sep).join('/');

/** Import specifiers of a source file: static imports and re-exports, `require` and `import()`. */
function importsOf(text: string): string[] {
  const specifiers: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\b(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) if (match[1]) specifiers.push(match[1]);
  return specifiers;
}

/** What an import names: a repository path for relative imports, else the package specifier. */
function target(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  const path = rel(resolve(dirname(file), specifier));
  return /\.(ts|css|js)$/.test(path) ? path : `${path}.ts`;
}

interface Rule {
  folder: string;
  /** Whether the import (a repository path or package) is allowed from `from`. */
  allows: (to: string, from: string) => boolean;
}

const inside = (folder: string) => (to: string) => to.startsWith(`${folder}/`);
const nodeBuiltin = (to: string) => to.startsWith('node:');

const RULES: Rule[] = [
  { folder: 'server/src/engine', allows: inside('server/src/engine') },
  { folder: 'server/src/language', allows: (to) => inside('server/src/language')(to) || to === 'server/src/engine/index.ts' },
  {
    folder: 'server/src/protocol',
    allows: (to, from) =>
      to === 'server/src/protocol/result.ts' ||
      to === 'server/src/protocol/webview.ts' ||
      (from === 'server/src/protocol/lsp-ext.ts' && to === 'vscode-languageserver-protocol'),
  },
  {
    folder: 'server/src/lsp',
    allows: (to) =>
      inside('server/src/lsp')(to) ||
      inside('server/src/protocol')(to) ||
      to === 'server/src/engine/index.ts' ||
      to === 'server/src/language/index.ts' ||
      /^vscode-languageserver(\/node)?$/.test(to) ||
      to === 'vscode-languageserver-textdocument' ||
      nodeBuiltin(to),
  },
  { folder: 'server/src/main.ts', allows: (to) => to === 'server/src/lsp/server.ts' || /^vscode-languageserver(\/node)?$/.test(to) },
  {
    folder: 'server/src/cli',
    allows: (to) => inside('server/src/cli')(to) || to === 'server/src/engine/index.ts' || to === 'server/src/language/index.ts' || nodeBuiltin(to),
  },
  {
    folder: 'extension/src',
    allows: (to) =>
      inside('extension/src')(to) || inside('server/src/protocol')(to) || to === 'vscode' || /^vscode-languageclient(\/node)?$/.test(to) || nodeBuiltin(to),
  },
  {
    folder: 'extension/webview',
    allows: (to) => inside('extension/webview')(to) || to === 'server/src/protocol/result.ts' || to === 'server/src/protocol/webview.ts',
  },
];

describe('tidy', () => {
  it('keeps every source file inside the import boundaries of style.md B2', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const file of [...files('server/src', /\.ts$/), ...files('extension', /\.ts$/)]) {
      const from = rel(file);
      const rule = RULES.find((r) => from === r.folder || from.startsWith(`${r.folder}/`));
      if (!rule) {
        violations.push(`${from}: no boundary rule covers this file`);
        continue;
      }
      checked++;
      for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
        const to = target(file, specifier);
        if (!rule.allows(to, from)) violations.push(`${from} imports ${specifier}`);
      }
    }
    assert.ok(checked > 20, `only ${checked} files checked`);
    assert.deepEqual(violations, []);
  });

  it('declares every command, setting and view type once in ids.ts and package.json', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      activationEvents?: string[];
      contributes: { commands: { command: string }[]; configuration: { properties: Record<string, unknown> }[] };
    };
    const sorted = (values: Iterable<string>): string[] => [...values].sort();
    assert.deepEqual(sorted(manifest.contributes.commands.map((c) => c.command)), sorted(Object.values(Command)));
    assert.deepEqual(sorted(manifest.contributes.configuration.flatMap((section) => Object.keys(section.properties))), sorted(Object.values(Setting)));
    const panels = (manifest.activationEvents ?? []).filter((e) => e.startsWith('onWebviewPanel:')).map((e) => e.slice('onWebviewPanel:'.length));
    assert.deepEqual(sorted(panels), sorted(Object.values(ViewType)));
    assert.ok(!(manifest.activationEvents ?? []).includes('*'), 'never activate on *');
  });

  it('keeps the protocol README in step with lsp-ext.ts', () => {
    const text = readFileSync(join(ROOT, 'server/src/protocol/lsp-ext.ts'), 'utf8').replace(/\r\n/g, '\n');
    const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
    const readme = readFileSync(join(ROOT, 'server/src/protocol/README.md'), 'utf8');
    assert.match(readme, new RegExp(`lsp-ext\\.ts hash: ${hash}\\b`), `lsp-ext.ts changed: review server/src/protocol/README.md and set its hash to ${hash}`);
    for (const method of text.matchAll(/method = '(ptscn\/\w+)'/g)) assert.ok(readme.includes(`\`${method[1]}\``), `README does not document ${method[1]}`);
  });

  it('has no console output in the server outside the CLI', () => {
    const offenders = files('server/src', /\.ts$/)
      .filter((f) => !rel(f).startsWith('server/src/cli/'))
      .filter((f) => /(^|[^.\w])console\.\w+\(/m.test(readFileSync(f, 'utf8')))
      .map(rel);
    assert.deepEqual(offenders, []);
  });

  it('has no focused tests and no sleeps in tests', () => {
    const offenders: string[] = [];
    for (const file of files('test', /\.(ts|mjs)$/)) {
      if (rel(file) === 'test/tidy.test.ts') continue;
      const text = readFileSync(file, 'utf8');
      if (/\b(?:it|test|describe)\.only\s*\(|\bonly:\s*true\b/.test(text)) offenders.push(`${rel(file)}: .only`);
      if (/setTimeout\(\s*(?:resolve|res|r|done)\s*[,)]|promisify\(\s*setTimeout|timers\/promises|\bsleep\s*\(/.test(text)) offenders.push(`${rel(file)}: sleep`);
    }
    assert.deepEqual(offenders, []);
  });
});
