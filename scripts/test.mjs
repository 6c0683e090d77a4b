// `npm test`: the one test command. Build, type-check, lint, unit tests, grammar tests, then
// the end-to-end suite in a real VS Code (code-server, installed on demand into .e2e-cache/).
// `--no-e2e` (or PTSCN_SKIP_E2E=1) stops before the end-to-end suite.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const skipE2e = process.argv.includes('--no-e2e') || process.env.PTSCN_SKIP_E2E === '1';
const npx = join(root, 'node_modules', '.bin');

/** Each step: a name, the command, and the steps whose success it needs (else it is not run). */
const steps = [
  { name: 'build', command: [process.execPath, ['scripts/build.mjs']], needs: [] },
  { name: 'typecheck', command: [join(npx, 'tsc'), ['-b']], needs: [] },
  { name: 'lint', command: [join(npx, 'eslint'), ['.']], needs: [] },
  // The unit tests run from tsc's output in out/; the stdio server test needs dist/.
  { name: 'unit tests', command: [process.execPath, ['--test', '--enable-source-maps', 'out/test/']], needs: ['build', 'typecheck'] },
  { name: 'grammar tests', command: ['npm', ['run', '--silent', 'test:grammar']], needs: [] },
  ...(skipE2e ? [] : [{ name: 'end-to-end tests', command: [process.execPath, ['test/e2e/run.mjs']], needs: ['build'] }]),
];

// Compiled tests of deleted sources would otherwise still run.
rmSync(join(root, 'out', 'test'), { recursive: true, force: true });
rmSync(join(root, 'out', 'tsbuildinfo', 'test.tsbuildinfo'), { force: true });

const results = [];
for (const step of steps) {
  const blocked = step.needs.filter((need) => !results.find((r) => r.name === need)?.ok);
  if (blocked.length > 0) {
    results.push({ name: step.name, ok: false, seconds: '-', note: `not run: ${blocked.join(', ')} failed` });
    continue;
  }
  const started = Date.now();
  console.log(`\n=== ${step.name} ===`);
  const [command, args] = step.command;
  const run = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: process.env });
  const ok = run.status === 0;
  results.push({ name: step.name, ok, seconds: ((Date.now() - started) / 1000).toFixed(1) });
}

console.log('\n=== summary ===');
for (const r of results) console.log(`${r.ok ? 'pass' : 'FAIL'}  ${r.name.padEnd(18)} ${r.seconds} s${r.note ? `  (${r.note})` : ''}`);
if (skipE2e) console.log('end-to-end tests skipped (--no-e2e)');
process.exit(results.every((r) => r.ok) ? 0 : 1);
