// Renders file reports as text for people or as the JSON object of spec §11.

import type { Finding, Span } from '../engine/index';
import type { FileReport, ScenarioReport } from './run-file';
import { LineIndex } from './positions';

/** A span as 1-based lines and columns; the end is just past the span's last character. */
export interface JsonRange {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface JsonDiagnostic extends JsonRange {
  severity: string;
  code: string;
  message: string;
  /** Other places involved (spec §10), when there are any. */
  related?: (JsonRange & { message: string })[];
  /** Present (true) when the scenario expected this finding (spec §6). */
  expected?: true;
}

export interface JsonScenario {
  title: string;
  ok: boolean;
  /** False when static errors kept the scenario from running. */
  ran: boolean;
  diagnostics: JsonDiagnostic[];
  outputs: { line: number; kind: string; text: string }[];
  stats: { steps: number; schedules: number; states: number; ms: number };
  stopped?: string;
}

export interface JsonFile {
  file: string;
  /** Problems outside every scenario. */
  diagnostics: JsonDiagnostic[];
  scenarios: JsonScenario[];
}

function range(lines: LineIndex, span: Span): JsonRange {
  const start = lines.position(span.start);
  const end = lines.position(span.end);
  return { line: start.line, column: start.column, endLine: end.line, endColumn: end.column };
}

function jsonDiagnostic(lines: LineIndex, finding: Finding): JsonDiagnostic {
  const diagnostic: JsonDiagnostic = { ...range(lines, finding.span), severity: finding.severity, code: finding.code, message: finding.message };
  if (finding.related && finding.related.length > 0) {
    diagnostic.related = finding.related.map((r) => ({ ...range(lines, r.span), message: r.message }));
  }
  if (finding.expected) diagnostic.expected = true;
  return diagnostic;
}

/** The JSON form of one file's report (spec §11). */
export function toJson(report: FileReport): JsonFile {
  const lines = new LineIndex(report.text);
  return {
    file: report.file,
    diagnostics: report.problems.map((p) => jsonDiagnostic(lines, p)),
    scenarios: report.scenarios.map((s) => ({
      title: s.title,
      ok: s.ok,
      ran: s.ran,
      diagnostics: s.findings.map((f) => jsonDiagnostic(lines, f)),
      outputs: s.outputs.map((o) => ({ line: lines.position(o.span.start).line, kind: o.kind, text: o.text })),
      stats: s.stats,
      ...(s.stopped && { stopped: s.stopped }),
    })),
  };
}

/**
 * The text form: one `file:line:col: severity [code] message` line per diagnostic with its
 * related places indented below, each output block under a `file:line: kind output:` label, and
 * one summary line per scenario.
 */
export function toText(report: FileReport): string {
  const lines = new LineIndex(report.text);
  const out: string[] = [];
  const where = (span: Span): string => {
    const { line, column } = lines.position(span.start);
    return `${report.file}:${line}:${column}`;
  };
  const diagnostic = (finding: Finding): void => {
    const expected = finding.expected ? ' (expected)' : '';
    out.push(`${where(finding.span)}: ${finding.severity} [${finding.code}] ${oneLine(finding.message)}${expected}`);
    for (const related of finding.related ?? []) out.push(`    ${where(related.span)}: ${oneLine(related.message)}`);
  };
  report.problems.forEach(diagnostic);
  for (const scenario of report.scenarios) {
    scenario.findings.forEach(diagnostic);
    for (const output of scenario.outputs) {
      out.push(`${report.file}:${lines.position(output.span.start).line}: ${output.kind} output:`);
      out.push(output.text.replace(/\n$/, ''));
    }
    out.push(`${report.file}:${lines.position(scenario.headSpan.start).line}: ${summary(scenario)}`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

function summary(scenario: ScenarioReport): string {
  const count = (severity: string): number => scenario.findings.filter((f) => f.severity === severity).length;
  const errors = count('error');
  const warnings = count('warning');
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const title = JSON.stringify(scenario.title);
  if (!scenario.ran) return `scenario ${title}: FAILED, not run (${plural(errors, 'error')} found before running)`;
  const { steps, schedules, states, ms } = scenario.stats;
  const verdict = scenario.ok ? 'ok' : 'FAILED';
  const stopped = scenario.stopped ? `, stopped: ${scenario.stopped}` : '';
  const counts = `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
  const work = `${plural(steps, 'step')}, ${plural(schedules, 'schedule')}, ${plural(states, 'state')}, ${ms} ms`;
  return `scenario ${title}: ${verdict} (${counts}; ${work}${stopped})`;
}

function oneLine(message: string): string {
  return message.replace(/\r?\n/g, ' ');
}
