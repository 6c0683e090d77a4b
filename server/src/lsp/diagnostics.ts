// Findings (offsets) to LSP diagnostics and protocol shapes (positions).

import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Finding, Severity, Span } from '../engine/index';
import type { Range, RunDiagnostic } from '../protocol/result';

export const DIAGNOSTIC_SOURCE = 'ptscn';

export function toRange(document: TextDocument, span: Span): Range {
  const length = document.getText().length;
  const start = Math.max(0, Math.min(span.start, length));
  const end = Math.max(start, Math.min(span.end, length));
  return { start: document.positionAt(start), end: document.positionAt(end) };
}

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toDiagnostic(document: TextDocument, finding: Finding): Diagnostic {
  const diagnostic: Diagnostic = {
    range: toRange(document, finding.span),
    severity: SEVERITY[finding.severity],
    code: finding.code,
    source: DIAGNOSTIC_SOURCE,
    message: finding.message,
  };
  if (finding.related && finding.related.length > 0) {
    diagnostic.relatedInformation = finding.related.map((related) => ({
      location: { uri: document.uri, range: toRange(document, related.span) },
      message: related.message,
    }));
  }
  return diagnostic;
}

export function toRunDiagnostic(document: TextDocument, finding: Finding): RunDiagnostic {
  return {
    code: finding.code,
    severity: finding.severity,
    range: toRange(document, finding.span),
    message: finding.message,
    related: (finding.related ?? []).map((related) => ({ range: toRange(document, related.span), message: related.message })),
    expected: finding.expected === true,
  };
}

/** Orders findings by position, then code, so published lists are stable. */
export function sortFindings(findings: Finding[]): Finding[] {
  return findings
    .slice()
    .sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end || a.code.localeCompare(b.code));
}

export function contains(span: Span, offset: number): boolean {
  return span.start <= offset && offset <= span.end;
}
