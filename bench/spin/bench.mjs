// The race explorer against spin on the seed-004 race (bench/spin/seed004.pml), per variant.
//
// scripts/bench.mjs imports this module and calls `run({ root, reps })`; each row it returns is
// one variant and level: time to verdict end to end (ptscn: a fresh node process that parses the
// sample and explores it; spin: spin -a, gcc, ./pan) and states per second. `node
// bench/spin/bench.mjs` prints the same rows as JSON.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Each case: the Promela macros and the sample scenario that models the same thing. */
const CASES = [
  { variant: 'unpatched', level: 'pmd', macros: ['-DUNPATCHED'], sample: '50-ptdump-vs-vmap-free-unpatched.ptscn', scenario: 0 },
  { variant: 'static_key', level: 'pmd', macros: ['-DSTATIC_KEY'], sample: '51-ptdump-vs-vmap-free-static-key.ptscn', scenario: 0 },
  { variant: 'trylock', level: 'pmd', macros: ['-DTRYLOCK'], sample: '52-ptdump-vs-vmap-free-trylock.ptscn', scenario: 0 },
  { variant: 'unpatched', level: 'pud', macros: ['-DUNPATCHED', '-DPUD'], sample: '50-ptdump-vs-vmap-free-unpatched.ptscn', scenario: 1 },
  { variant: 'static_key', level: 'pud', macros: ['-DSTATIC_KEY', '-DPUD'], sample: '51-ptdump-vs-vmap-free-static-key.ptscn', scenario: 1 },
  { variant: 'trylock', level: 'pud', macros: ['-DTRYLOCK', '-DPUD'], sample: '52-ptdump-vs-vmap-free-trylock.ptscn', scenario: 1 },
];

/** The child process ptscn's side runs: parse one sample, explore one scenario, print JSON. */
const ENTRY = `
import { readFileSync } from 'node:fs';
import { analyze } from './server/src/language/index';
import { runScenario } from './server/src/engine/index';
const [file, index] = process.argv.slice(2);
const { program } = analyze(readFileSync(file, 'utf8'));
const scenario = program.scenarios[Number(index)];
const t0 = performance.now();
const run = runScenario(scenario, { history: false });
const ms = performance.now() - t0;
const e = run.state.explorations[0];
process.stdout.write(JSON.stringify({ races: e.races, complete: e.complete, states: e.states, schedules: e.schedules, ms }) + '\\n');
`;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function wall(fn) {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

/** Builds the explorer's child-process entry with esbuild. */
async function buildEntry(root) {
  const esbuild = await import('esbuild');
  const outfile = join(root, 'bench', 'out', 'spin-explorer.js');
  mkdirSync(dirname(outfile), { recursive: true });
  await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: root, loader: 'ts', sourcefile: 'spin-explorer.ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

/** ptscn end to end: a fresh node process per run. */
function explorer(root, entry, c) {
  const file = join(root, 'samples', c.sample);
  const { ms, value } = wall(() => execFileSync(process.execPath, [entry, file, String(c.scenario)], { encoding: 'utf8' }));
  const result = JSON.parse(value.trim().split('\n').pop());
  return { ms, verdict: result.races.length > 0 ? result.races.join(',') : 'none', states: result.states, exploreMs: result.ms, complete: result.complete };
}

/** spin end to end: generate the verifier, compile it, run it. */
function spin(root, c) {
  const dir = mkdtempSync(join(tmpdir(), 'ptscn-spin-'));
  try {
    const model = join(root, 'bench', 'spin', 'seed004.pml');
    const total = wall(() => {
      execFileSync('spin', ['-a', ...c.macros, model], { cwd: dir, stdio: 'pipe' });
      execFileSync('gcc', ['-O2', '-DSAFETY', '-o', 'pan', 'pan.c'], { cwd: dir, stdio: 'pipe' });
      return wall(() => spawnSync('./pan', ['-m100000'], { cwd: dir, encoding: 'utf8' }));
    });
    const out = total.value.value.stdout;
    const errors = Number(/errors: (\d+)/.exec(out)?.[1] ?? NaN);
    const states = Number(/([\d.e+]+) states, stored/.exec(out)?.[1] ?? NaN);
    return { ms: total.ms, panMs: total.value.ms, verdict: errors > 0 ? 'use_after_free' : 'none', states };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function hasSpin() {
  return spawnSync('spin', ['-V'], { encoding: 'utf8' }).status === 0;
}

export async function run({ root, reps = 5 }) {
  if (!hasSpin()) return [{ id: 'spin', label: 'explorer vs spin', error: 'spin is not installed (Debian package `spin`)' }];
  const entry = await buildEntry(root);
  const spinReps = Math.max(1, Math.min(reps, 3));
  const rows = [];
  for (const c of CASES) {
    const ours = [];
    for (let i = 0; i < reps; i++) ours.push(explorer(root, entry, c));
    const theirs = [];
    for (let i = 0; i < spinReps; i++) theirs.push(spin(root, c));
    const o = ours[0];
    const t = theirs[0];
    const oursMs = median(ours.map((x) => x.ms));
    const spinMs = median(theirs.map((x) => x.ms));
    const exploreMs = median(ours.map((x) => x.exploreMs));
    const panMs = median(theirs.map((x) => x.panMs));
    const oursRate = Math.round(o.states / (exploreMs / 1000));
    const spinRate = Math.round(t.states / (panMs / 1000));
    rows.push({
      id: `spin_${c.level}_${c.variant}`,
      label: `seed 004 ${c.level === 'pud' ? 'pud_free_pmd_page' : 'pmd_free_pte_page'} ${c.variant}: time to verdict`,
      ms: oursMs,
      reference: 'spin: spin -a, gcc, ./pan',
      referenceMs: spinMs,
      notes:
        `verdict ptscn ${o.verdict}, spin ${t.verdict}${o.verdict === t.verdict ? '' : ' (DIFFER)'}; ` +
        `states ptscn ${o.states} in ${exploreMs.toFixed(1)} ms (${oursRate}/s), spin ${t.states} in ${panMs.toFixed(1)} ms of pan (${spinRate}/s); ` +
        `states/s ratio ${(oursRate / spinRate).toFixed(2)}`,
      ours: { ...o, ms: oursMs, exploreMs, statesPerSecond: oursRate },
      spin: { ...t, ms: spinMs, panMs, statesPerSecond: spinRate },
    });
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const reps = Number(process.env.PTSCN_BENCH_REPS ?? 3);
  const rows = await run({ root, reps });
  process.stdout.write(JSON.stringify(rows.map(({ ours, spin: s, ...row }) => ({ ...row, ours, spin: s })), null, 2) + '\n');
  void readFileSync;
}
