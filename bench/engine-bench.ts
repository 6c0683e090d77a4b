// Engine benchmarks: the page-table work of each issue's performance target, timed statement by
// statement through the runner's generator (the time between two yields is one statement).
//
// Run by scripts/bench.mjs in a child process: `node bench/out/engine-bench.js` prints one JSON
// object with the figures.

import { analyze } from '../server/src/language/index';
import { runScenarioSteps, type Scenario } from '../server/src/engine/index';

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

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Runs `text` `reps` times (after `warmup` runs) and returns the median total time of the
 * statements whose first line lies in [fromLine, toLine]. Fails when a measured statement does
 * not return ok, so a broken feature never reports a fast time.
 */
function timeStatements(text: string, fromLine: number, toLine: number, reps: number, warmup: number, history = true): { median: number; min: number; max: number } {
  const scenario = parseOne(text);
  const totals: number[] = [];
  for (let rep = 0; rep < warmup + reps; rep++) {
    const steps = runScenarioSteps(scenario, { history, budget: { tablePages: 1 << 20, entries: 100_000_000 } });
    let total = 0;
    let last = performance.now();
    let index = 0;
    let result;
    const spans: number[] = [];
    const durations: number[] = [];
    for (;;) {
      const next = steps.next();
      const now = performance.now();
      durations.push(now - last);
      if (next.done) {
        result = next.value;
        break;
      }
      last = now;
      index++;
    }
    void index;
    const stepInfos = result.state.steps();
    for (const s of stepInfos) spans.push(s.span.start);
    stepInfos.forEach((s, i) => {
      const line = lineOf(text, s.span.start);
      if (line >= fromLine && line <= toLine) {
        if (s.result !== 'ok') throw new Error(`measured statement at line ${line} returned ${s.result}: ${s.summary}`);
        total += durations[i] ?? 0;
      }
    });
    const errors = result.findings.filter((f) => f.severity === 'error');
    if (errors.length > 0) throw new Error(`bench run has errors: ${errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`);
    if (rep >= warmup) totals.push(total);
  }
  totals.sort((a, b) => a - b);
  const mid = Math.floor(totals.length / 2);
  const median = totals.length % 2 ? (totals[mid] ?? 0) : ((totals[mid - 1] ?? 0) + (totals[mid] ?? 0)) / 2;
  return { median, min: totals[0] ?? 0, max: totals[totals.length - 1] ?? 0 };
}

function measure(id: string, label: string, body: () => { median: number; min: number; max: number; notes?: string }): Measurement {
  try {
    const r = body();
    const m: Measurement = { id, label, ms: r.median, min: r.min, max: r.max };
    if (r.notes) m.notes = r.notes;
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
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      const before = process.memoryUsage();
      const r = timeStatements(LINEAR_64G_4K, 4, 4, 1, 0, false);
      const after = process.memoryUsage();
      const mib = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB`;
      return { ...r, notes: `memory: rss +${mib(after.rss - before.rss)}, heap+buffers +${mib(after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers)}` };
    }),
  );
  out.push(measure('set_memory_ro_1g', 'set_memory_ro over 1 GiB of 4K PTEs', () => timeStatements(SET_MEMORY_RO, 5, 5, 7, 3)));
  out.push(measure('guard_64m', 'guard_install over 64 MiB in one statement', () => timeStatements(processText('    madvise r + 768M size 64M guard_install'), 4, 4, 5, 2)));
  out.push(measure('guard_1pg_x8192', '8192 single-page guard_install statements', () => timeStatements(guardPerPage(), 4, 8195, 3, 1)));
  out.push(measure('mprotect_1g', 'mprotect(PROT_READ) of a populated 1 GiB', () => timeStatements(processText('    mprotect r size 1G prot r'), 4, 4, 5, 2)));
  out.push(measure('munmap_1g', 'munmap of a populated 1 GiB', () => timeStatements(processText('    munmap r size 1G'), 4, 4, 5, 2)));
  return out;
}

process.stdout.write(JSON.stringify(run()) + '\n');
