// Engine benchmarks: the page-table work of each issue's performance target, timed statement by
// statement through the runner's generator (the time between two yields is one statement).
//
// Run by scripts/bench.mjs in a child process: `node bench/out/engine-bench.js` prints one JSON
// object with the figures.

import { analyze } from '../server/src/language/index';
import { runScenarioSteps, type Scenario } from '../server/src/engine/index';
import { LineIndex } from '../server/src/cli/positions';

interface Measurement {
  id: string;
  label: string;
  /** Median milliseconds of the measured statements over the repetitions. */
  ms?: number;
  min?: number;
  max?: number;
  /** Extra figures (memory, counts). */
  notes?: string;
  error?: string;
}

function parseOne(text: string): Scenario {
  const { program, problems } = analyze(text);
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new Error(`bench scenario has static errors: ${errors.map((e) => e.message).join('; ')}`);
  const scenario = program.scenarios[0];
  if (!scenario) throw new Error('bench scenario text has no scenario');
  return scenario;
}

/**
 * Runs `text` `reps` times (after `warmup` runs) and returns the median total time of the
 * statements whose first line lies in [fromLine, toLine]. Fails when a measured statement does
 * not return ok, so a broken feature never reports a fast time.
 *
 * The measured statements are consecutive steps, and their total is read as kernel-timing.c
 * reads its loops: one clock read before the first and one after the last. The first run reads
 * the clock at every step, to find which steps those are; a clock read per step (75 ns) would
 * add 0.6 ms to 8192 statements. Step i is the generator's i-th resume: the runner yields once
 * per step of a block (test/engine/core/runner.test.ts), and these scenarios have no top-level
 * `let` or `expect`, the steps that do not yield. Each repetition also counts the minor page faults of its
 * measured window (`faults`): first touches of memory the JS heap has not used before, which in
 * this VM cost about 5 us each (kernel-timing.c discards its first repetition for the same
 * reason).
 */
function timeStatements(
  text: string,
  fromLine: number,
  toLine: number,
  reps: number,
  warmup: number,
  history = true,
): { median: number; min: number; max: number; perRep: number[]; faults: number[] } {
  const scenario = parseOne(text);
  const lines = new LineIndex(text);
  const totals: number[] = [];
  const faults: number[] = [];
  /** The measured steps, [first, last] by index, once the first run has found them. */
  let window: [number, number] | undefined;
  for (let rep = 0; rep < warmup + reps; rep++) {
    const steps = runScenarioSteps(scenario, { history, budget: { tablePages: 1 << 20, entries: 100_000_000 } });
    // durations[i] is step i's time (first run only); `start`/`end` bracket the window.
    const durations: number[] = [];
    let start = 0;
    let end = 0;
    let faultsBefore = 0;
    let faultsAfter = 0;
    let index = 0;
    let result;
    if (window) {
      const [first, last] = window;
      for (;;) {
        if (index === first) {
          faultsBefore = process.resourceUsage().minorPageFault;
          start = performance.now();
        }
        const next = steps.next();
        if (index === last) {
          end = performance.now();
          faultsAfter = process.resourceUsage().minorPageFault;
        }
        if (next.done) {
          result = next.value;
          break;
        }
        index++;
      }
    } else {
      let last = performance.now();
      for (;;) {
        const next = steps.next();
        const now = performance.now();
        durations.push(now - last);
        if (next.done) {
          result = next.value;
          break;
        }
        last = now;
      }
    }
    let total = 0;
    let first = -1;
    let lastMeasured = -1;
    result.state.steps().forEach((s, i) => {
      const line = lines.position(s.span.start).line;
      if (line < fromLine || line > toLine) return;
      if (s.result !== 'ok') throw new Error(`measured statement at line ${line} returned ${s.result}: ${s.summary}`);
      if (first < 0) first = i;
      else if (i !== lastMeasured + 1) throw new Error(`the measured statements are not consecutive steps (step ${i} after ${lastMeasured})`);
      lastMeasured = i;
      total += durations[i] ?? 0;
    });
    if (first < 0) throw new Error(`no step starts on lines ${fromLine}-${toLine}`);
    const errors = result.findings.filter((f) => f.severity === 'error');
    if (errors.length > 0) throw new Error(`bench run has errors: ${errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`);
    if (window) {
      if (window[0] !== first || window[1] !== lastMeasured) throw new Error('the measured steps moved between repetitions');
      total = end - start;
      if (rep >= warmup) faults.push(faultsAfter - faultsBefore);
    }
    window = [first, lastMeasured];
    if (rep >= warmup) totals.push(total);
    // The language server releases each run it drops (lsp/documents.ts): its tables and step
    // records then die young instead of being copied by every young-generation collection until
    // the next full one. The repetitions run as the editor runs them.
    result.state.release();
  }
  const perRep = [...totals];
  totals.sort((a, b) => a - b);
  const mid = Math.floor(totals.length / 2);
  const median = totals.length % 2 ? (totals[mid] ?? 0) : ((totals[mid - 1] ?? 0) + (totals[mid] ?? 0)) / 2;
  return { median, min: totals[0] ?? 0, max: totals[totals.length - 1] ?? 0, perRep, faults };
}

function measure(
  id: string,
  label: string,
  body: () => { median: number; min: number; max: number; notes?: string; perRep?: number[]; faults?: number[] },
): Measurement {
  // Each benchmark starts from a collected heap, as each of kernel-timing.c's tests starts after
  // the previous one unmapped its memory: the hundreds of megabytes the 64 GiB map leaves to the
  // old generation would otherwise be marked and compacted inside the next benchmark's
  // repetitions, charging it for another benchmark's garbage.
  (globalThis as { gc?: () => void }).gc?.();
  try {
    const r = body();
    const m: Measurement = { id, label, ms: r.median, min: r.min, max: r.max };
    const notes: string[] = [];
    if (r.notes) notes.push(r.notes);
    if (r.perRep && r.perRep.length > 1) notes.push(`repetitions: ${r.perRep.map((t) => t.toFixed(1)).join(', ')} ms`);
    if (r.faults && r.faults.some((n) => n > 0)) notes.push(`page faults in them: ${r.faults.join(', ')}`);
    if (notes.length > 0) m.notes = notes.join('; ');
    return m;
  } catch (e) {
    return { id, label, error: e instanceof Error ? e.message : String(e) };
  }
}

const GIB_MAP_4K = `scenario "1 GiB of 4K PTEs" {
  kernel {
    map 0xffff888000000000 size 1G phys 0 prot rw leaf=pte
    unmap 0xffff888000000000 size 1G
  }
}`;

const LINEAR_64G_AUTO = `scenario "64 GiB linear map, leaf=auto" {
  arch arm64
  kernel {
    map 0xffff000000000000 size 64G phys 0x80000000 prot rw
  }
}`;

const LINEAR_64G_4K = `scenario "64 GiB linear map in 4K pages" {
  arch arm64
  kernel {
    map 0xffff000000000000 size 64G phys 0x80000000 prot rw leaf=pte nocont
  }
}`;

const SET_MEMORY_RO = `scenario "set_memory_ro over 1 GiB of 4K PTEs" {
  arch arm64
  kernel {
    vmalloc area size 1G
    set_memory_ro area pages 262144
  }
}`;

/** A populated 1 GiB anonymous mapping, as kernel-timing.c's default mode builds it. */
function processText(body: string): string {
  return `scenario "process" {
  process p {
    mmap r size 1G prot rw populate
${body}
  }
}`;
}

function guardPerPage(): string {
  const lines: string[] = [];
  for (let i = 0; i < 16384; i += 2) lines.push(`    madvise r + 256M + ${i}p size 1p guard_install`);
  return processText(lines.join('\n'));
}

function run(): Measurement[] {
  const out: Measurement[] = [];
  out.push(measure('map_1g_4k', 'map 1 GiB in 4K pages (262,144 PTEs)', () => timeStatements(GIB_MAP_4K, 3, 3, 7, 3)));
  out.push(measure('unmap_1g_4k', 'unmap 1 GiB of 4K pages', () => timeStatements(GIB_MAP_4K, 4, 4, 7, 3)));
  out.push(measure('linear_64g_auto', '64 GiB linear map, leaf=auto (arm64)', () => timeStatements(LINEAR_64G_AUTO, 4, 4, 7, 3)));
  out.push(
    measure('linear_64g_4k', '64 GiB linear map forced to 4K (16.7M PTEs)', () => {
      const before = process.memoryUsage();
      const r = timeStatements(LINEAR_64G_4K, 4, 4, 1, 0, false);
      const after = process.memoryUsage();
      const mib = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB`;
      return { ...r, notes: `memory: rss +${mib(after.rss - before.rss)}, heap+buffers +${mib(after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers)}` };
    }),
  );
  out.push(measure('set_memory_ro_1g', 'set_memory_ro over 1 GiB of 4K PTEs', () => timeStatements(SET_MEMORY_RO, 5, 5, 7, 3)));
  out.push(measure('guard_64m', 'guard_install over 64 MiB in one statement', () => timeStatements(processText('    madvise r + 768M size 64M guard_install'), 4, 4, 5, 2)));
  out.push(measure('guard_1pg_x8192', '8192 single-page guard_install statements', () => timeStatements(guardPerPage(), 4, 8195, 5, 2)));
  out.push(measure('mprotect_1g', 'mprotect(PROT_READ) of a populated 1 GiB', () => timeStatements(processText('    mprotect r size 1G prot r'), 4, 4, 5, 2)));
  out.push(measure('munmap_1g', 'munmap of a populated 1 GiB', () => timeStatements(processText('    munmap r size 1G'), 4, 4, 5, 2)));
  return out;
}

process.stdout.write(JSON.stringify(run()) + '\n');
