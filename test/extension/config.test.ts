// Reading the ptscn.* settings: defaults, nesting, and bad values falling back.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSettings, sectionFromSource } from '../../extension/src/config';
import { DEFAULT_SERVER_SETTINGS, parseServerSettings } from '../../server/src/protocol/lsp-ext';

function source(values: Record<string, unknown>) {
  return { get: (key: string) => values[key] };
}

describe('config', () => {
  it('gives the defaults for an empty configuration', () => {
    assert.deepEqual(readSettings(source({})), DEFAULT_SERVER_SETTINGS);
  });

  it('nests flat keys the way the server reads the section', () => {
    const section = sectionFromSource(source({ 'run.maxSteps': 10, 'codeLens.explore': false, 'diagnostics.debounce': 0 }));
    assert.deepEqual(section, { run: { maxSteps: 10 }, codeLens: { explore: false }, diagnostics: { debounce: 0 } });
    const settings = parseServerSettings(section);
    assert.equal(settings.run.maxSteps, 10);
    assert.equal(settings.codeLens.explore, false);
    assert.equal(settings.codeLens.run, true);
    assert.equal(settings.diagnostics.debounce, 0);
  });

  it('falls back to defaults for wrong types and out-of-range numbers', () => {
    const settings = readSettings(source({ 'run.maxSteps': -5, 'run.timeLimit': 'soon', 'codeLens.run': 'yes', 'diagnostics.debounce': Number.NaN }));
    assert.equal(settings.run.maxSteps, DEFAULT_SERVER_SETTINGS.run.maxSteps);
    assert.equal(settings.run.timeLimit, DEFAULT_SERVER_SETTINGS.run.timeLimit);
    assert.equal(settings.codeLens.run, true);
    assert.equal(settings.diagnostics.debounce, DEFAULT_SERVER_SETTINGS.diagnostics.debounce);
    assert.deepEqual(parseServerSettings(null), DEFAULT_SERVER_SETTINGS);
    assert.deepEqual(parseServerSettings('garbage'), DEFAULT_SERVER_SETTINGS);
  });
});
