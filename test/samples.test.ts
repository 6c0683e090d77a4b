// Every sample is a test (style.md B8): it parses with no problem and every scenario runs clean.
// Samples that demonstrate a kernel failure mark it expected (`expect diagnostic`, `=> ERRNO`,
// `expect race`), so their findings are information and the run stays ok.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyze } from '../server/src/language/index';
import { runScenario } from '../server/src/engine/index';
import { lineOf } from './engine/support';

const root = join(__dirname, '..', '..');
const samples = readdirSync(join(root, 'samples')).filter((f) => f.endsWith('.ptscn')).sort();

describe('samples', () => {
  it('exist, numbered in learning order', () => {
    assert.ok(samples.length >= 20, `only ${samples.length} samples`);
    for (const name of samples) assert.match(name, /^\d\d-[a-z0-9-]+\.ptscn$/);
  });

  for (const name of samples) {
    it(`${name} parses clean and every scenario runs clean`, () => {
      const text = readFileSync(join(root, 'samples', name), 'utf8');
      const { program, problems } = analyze(text);
      assert.deepEqual(problems.map((p) => `${lineOf(text, p.span.start)}: ${p.code} ${p.message}`), []);
      assert.ok(program.scenarios.length > 0, 'a sample has at least one scenario');
      for (const scenario of program.scenarios) {
        const run = runScenario(scenario);
        const loud = run.findings.filter((f) => f.severity === 'error' || f.severity === 'warning');
        assert.deepEqual(
          loud.map((f) => `${lineOf(text, f.span.start)}: ${f.severity} ${f.code}: ${f.message}`),
          [],
          `scenario "${scenario.title}"`,
        );
        assert.equal(run.stopped, undefined, `scenario "${scenario.title}" stopped early`);
        assert.ok(run.ok);
      }
    });
  }

  it('are all listed in samples/README.md', () => {
    const readme = readFileSync(join(root, 'samples', 'README.md'), 'utf8');
    for (const name of samples) assert.ok(readme.includes(`\`${name}\``), `${name} is missing from samples/README.md`);
  });
});
