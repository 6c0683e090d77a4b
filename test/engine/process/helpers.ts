// Helpers for the process tests: run a scenario on several architectures and assert that every
// `expect` and `=> RESULT` in it held.

import { assertClean, only, run, type TextRun } from '../support';
import type { ScenarioRun } from '../../../server/src/engine/index';

/** The arch headers most process tests run under: x86_64 and arm64 (4K, 48-bit). */
export const ARCHES = ['arch x86_64', 'arch arm64 granule=4k va=48'] as const;

/** Every header a rule should hold under, for the tests that sweep all families. */
export const ALL_ARCHES = [
  'arch x86_64',
  'arch x86_64 levels=5',
  'arch arm64 granule=4k va=48',
  'arch arm64 granule=16k va=47',
  'arch arm64 granule=64k va=42',
  'arch riscv64 mode=sv39',
  'arch riscv64 mode=sv57',
] as const;

/** A scenario with the given header lines and body (the body is indented as written). */
export function scenario(title: string, header: string, body: string): string {
  return `scenario "${title}" {\n  ${header}\n${body}\n}\n`;
}

/** Runs one scenario and asserts that it ran clean (every expect and result held). */
export function clean(text: string): ScenarioRun {
  const result = run(text);
  assertClean(result);
  return only(result);
}

/** Runs the body under each header and asserts each run is clean. */
export function cleanOn(headers: readonly string[], title: string, body: string): void {
  for (const header of headers) clean(scenario(`${title} (${header})`, header, body));
}

export function runText(text: string): TextRun {
  return run(text);
}
