// `npm test`: the one test command. Build, type-check, lint, unit tests, grammar tests, then
// the end-to-end suite in a real VS Code (code-server, installed on demand into .e2e-cache/).
// `--no-e2e` (or PTSCN_SKIP_E2E=1) stops before the end-to-end suite.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const skipE2e = process.argv.includes('--no-e2e') || process.env.PTSCN_SKIP_E2E === '1';
const npx = join(root, 'node_modules', '.bin');

const MINUTE = 60_000;

/**
 * Each step: a name, the command, the steps whose success it needs (else it is not run), and a
 * time limit. A step that hangs is killed at its limit and fails, so a hung test fails the run
 * with its name instead of running into CI's own limit with no verdict at all.
 */
const steps = [
  { name: 'build', command: [process.execPath, ['scripts/build.mjs']], needs: [], limit: 5 * MINUTE },
  { name: 'typecheck', command: [join(npx, 'tsc'), ['-b']], needs: [], limit: 10 * MINUTE },
  { name: 'lint', command: [join(npx, 'eslint'), ['.']], needs: [], limit: 10 * MINUTE },
  // The unit tests run from tsc's output in out/; the stdio server test needs dist/. Each test
  // has its own limit too, so a hang names the test that hung.
  {
    name: 'unit tests',
    command: [process.execPath, ['--test', '--test-timeout=300000', '--enable-source-maps', 'out/test/']],
    needs: ['build', 'typecheck'],
    limit: 30 * MINUTE,
  },
  { name: 'grammar tests', command: ['npm', ['run', '--silent', 'test:grammar']], needs: [], limit: 5 * MINUTE },
  ...(skipE2e ? [] : [{ name: 'end-to-end tests', command: [process.execPath, ['test/e2e/run.mjs']], needs: ['build'], limit: 30 * MINUTE }]),
];

// Compiled tests of deleted sources would otherwise still run.
rmSync(join(root, 'out', 'test'), { recursive: true, force: true });
rmSync(join(root, 'out', 'tsbuildinfo', 'test.tsbuildinfo'), { force: true });

/**
 * Runs one step in its own process group, so that at its time limit the whole group goes (the
 * test runner's workers, code-server, Chromium), not only the process we started.
 */
function runStep(command, args, limit) {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit', env: process.env, detached: true });
    // Its own group no longer gets the terminal's Ctrl-C: pass it on.
    const interrupt = () => {
      try {
        process.kill(-child.pid, 'SIGINT');
      } catch {
        /* already gone */
      }
      process.exit(130);
    };
    process.once('SIGINT', interrupt);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, limit);
    child.on('error', () => {
      clearTimeout(timer);
      done({ status: null, timedOut });
    });
    child.on('exit', (status) => {
      clearTimeout(timer);
      process.removeListener('SIGINT', interrupt);
      done({ status, timedOut });
    });
  });
}

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
  const { status, timedOut } = await runStep(command, args, step.limit);
  const ok = status === 0 && !timedOut;
  const result = { name: step.name, ok, seconds: ((Date.now() - started) / 1000).toFixed(1) };
  if (timedOut) result.note = `killed after its ${step.limit / MINUTE}-minute limit`;
  results.push(result);
}

console.log('\n=== summary ===');
for (const r of results) console.log(`${r.ok ? 'pass' : 'FAIL'}  ${r.name.padEnd(18)} ${r.seconds} s${r.note ? `  (${r.note})` : ''}`);
if (skipE2e) console.log('end-to-end tests skipped (--no-e2e)');
process.exit(results.every((r) => r.ok) ? 0 : 1);
