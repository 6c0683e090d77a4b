// `npm run bench`: every performance figure of the issues in one table, with the real kernel
// (bench/kernel/kernel-timing.c, built and run in the same invocation) and spin beside the engine.
//
// Machines are shared and noisy: medians over several repetitions, and ratios engine / kernel.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'bench', 'out');
mkdirSync(out, { recursive: true });

const reps = Number(process.env.PTSCN_BENCH_REPS ?? 5);

function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Builds and runs kernel-timing.c; returns metric → median ms, or an error string. */
function kernelTimings() {
  const source = join(root, 'bench', 'kernel', 'kernel-timing.c');
  const binary = join(out, 'kernel-timing');
  try {
    execFileSync('gcc', ['-O2', '-o', binary, source], { stdio: 'pipe' });
  } catch (e) {
    return { error: `could not build kernel-timing.c: ${String(e.stderr ?? e.message).split('\n')[0]}` };
  }
  log(`running the real kernel: kernel-timing default ${reps}`);
  const run = spawnSync(binary, ['default', String(reps)], { encoding: 'utf8' });
  if (run.status !== 0) return { error: `kernel-timing failed: ${(run.stderr || run.stdout).split('\n')[0]}` };
  const rows = {};
  for (const line of run.stdout.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 6 || cells[1] !== 'default') continue;
    const median = Number(cells[3]);
    if (Number.isFinite(median)) rows[cells[2]] = median;
  }
  return { rows, raw: run.stdout };
}

/**
 * The node options the VS Code client starts the language server with (SERVER_EXEC_ARGV in
 * server/src/protocol/lsp-ext.ts), bundled from there so that the engine and latency benchmarks
 * run the engine as the editor does.
 */
async function serverExecArgv() {
  const file = join(out, 'lsp-ext.mjs');
  await esbuild.build({
    entryPoints: [join(root, 'server', 'src', 'protocol', 'lsp-ext.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: file,
    logLevel: 'warning',
  });
  const { SERVER_EXEC_ARGV } = await import(file);
  return [...SERVER_EXEC_ARGV];
}

/** Runs the engine benchmarks in a child process (so memory figures are its own). */
async function engineTimings(execArgv) {
  await esbuild.build({
    entryPoints: [join(root, 'bench', 'engine-bench.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: join(out, 'engine-bench.js'),
    logLevel: 'warning',
  });
  log('running the engine benchmarks');
  // The engine runs inside the language server: with the server's node options.
  const run = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=4096', ...execArgv, join(out, 'engine-bench.js')], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (run.status !== 0) throw new Error(`engine benchmark failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

/** Optional benchmark modules that other parts of the product contribute. */
async function optional(path, label, options = {}) {
  const file = join(root, path);
  if (!existsSync(file)) return [];
  log(`running ${label}`);
  try {
    const module = await import(file);
    return await module.run({ root, reps, ...options });
  } catch (e) {
    return [{ id: label, label, error: e instanceof Error ? e.message : String(e) }];
  }
}

const KERNEL_METRIC = {
  set_memory_ro_1g: 'mprotect(PROT_READ) 1 GiB',
  guard_64m: 'GUARD_INSTALL 64 MiB in 1 call (16384 pages)',
  guard_1pg_x8192: 'GUARD_INSTALL per page, 8192 calls (every other page of 64 MiB)',
  mprotect_1g: 'mprotect(PROT_READ) 1 GiB',
  munmap_1g: 'munmap 1 GiB',
};

function fmt(ms) {
  return ms === undefined ? '—' : ms < 10 ? ms.toFixed(3) : ms.toFixed(1);
}

// The language-server latency runs against the bundled server.
execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
const execArgv = await serverExecArgv();
const kernel = kernelTimings();
const engine = await engineTimings(execArgv);
const extra = [
  ...(await optional('bench/spin/bench.mjs', 'explorer vs spin')),
  ...(await optional('bench/lsp-latency.mjs', 'language server latency', { execArgv })),
];

const lines = [];
lines.push('| metric | ptscn median (ms) | reference | reference median (ms) | ratio ptscn/ref | notes |');
lines.push('|---|---:|---|---:|---:|---|');
for (const m of [...engine, ...extra]) {
  if (m.error) {
    lines.push(`| ${m.label} | error | | | | ${m.error.replace(/\|/g, '/')} |`);
    continue;
  }
  let refName = m.reference ?? '';
  let refMs = m.referenceMs;
  const kernelMetric = KERNEL_METRIC[m.id];
  if (kernelMetric) {
    refName = `kernel: ${kernelMetric}`;
    refMs = kernel.rows?.[kernelMetric];
  }
  const ratio = refMs ? (m.ms / refMs).toFixed(2) : '';
  lines.push(`| ${m.label} | ${fmt(m.ms)} | ${refName} | ${fmt(refMs)} | ${ratio} | ${m.notes ?? ''} |`);
}
if (kernel.error) lines.push(`\nkernel timings unavailable: ${kernel.error}`);
process.stdout.write(lines.join('\n') + '\n');
if (kernel.raw) process.stdout.write('\nReal kernel (kernel-timing default), ms:\n' + kernel.raw);
