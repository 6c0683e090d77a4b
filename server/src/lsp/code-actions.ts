// Quick fixes from the data findings carry (Finding.fix); the engine never edits text itself.

import { CodeActionKind, type CodeAction, type Diagnostic, type Position, type Range, type TextEdit } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Finding, Program, Scenario, Span } from '../engine/index';
import { toDiagnostic, toRange } from './diagnostics';
import { allStatements } from './outline';

function edit(document: TextDocument, title: string, edits: TextEdit[], diagnostic: Diagnostic, isPreferred = false): CodeAction {
  return { title, kind: CodeActionKind.QuickFix, diagnostics: [diagnostic], isPreferred, edit: { changes: { [document.uri]: edits } } };
}

function hex(value: bigint): string {
  return `0x${value.toString(16)}`;
}

/** The indentation of the line holding `offset`. */
function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', Math.max(0, offset - 1)) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))?.[0] ?? '';
}

function lineEnd(text: string, offset: number): number {
  const end = text.indexOf('\n', offset);
  return end < 0 ? text.length : end;
}

/** The scenario containing `span`. */
function scenarioOf(program: Program, span: Span): Scenario | undefined {
  return program.scenarios.find((s) => s.span.start <= span.start && span.start < s.span.end);
}

/** Adds `feature bbml2` to the scenario header: to its `feature` line, else after `arch`, else first. */
function addBbml2(document: TextDocument, scenario: Scenario): TextEdit | undefined {
  const text = document.getText();
  const feature = scenario.body.find((s) => s.kind === 'feature');
  if (feature?.kind === 'feature') {
    if (feature.features.some((f) => f.text === 'bbml2')) return undefined;
    const last = feature.features[feature.features.length - 1]?.span ?? feature.keyword.span;
    return { range: toRange(document, { start: last.end, end: last.end }), newText: ' bbml2' };
  }
  const arch = scenario.body.find((s) => s.kind === 'arch');
  const anchor = arch ? arch.span.end : scenario.headSpan.end;
  const at = lineEnd(text, anchor);
  const first = scenario.body[0];
  const indent = arch ? indentAt(text, arch.span.start) : first ? indentAt(text, first.span.start) : '  ';
  return { range: toRange(document, { start: at, end: at }), newText: `\n${indent}feature bbml2` };
}

function actionsFor(document: TextDocument, program: Program, finding: Finding, diagnostic: Diagnostic): CodeAction[] {
  const fix = finding.fix;
  if (!fix) return [];
  const text = document.getText();
  switch (fix.kind) {
    case 'partial-block': {
      const actions: CodeAction[] = [];
      for (const { stmt } of allStatements(program)) {
        if ((stmt.kind === 'set_memory' || stmt.kind === 'set_memory_valid') && stmt.span.start <= finding.span.start && finding.span.start < stmt.span.end) {
          actions.push(
            edit(
              document,
              `Align the range to the block: ${hex(fix.alignedStart)}, ${fix.alignedPages} pages`,
              [
                { range: toRange(document, stmt.addr.span), newText: hex(fix.alignedStart) },
                { range: toRange(document, stmt.pages.span), newText: fix.alignedPages.toString() },
              ],
              diagnostic,
              !fix.bbml2Helps,
            ),
          );
          break;
        }
      }
      const scenario = scenarioOf(program, finding.span);
      const bbml2 = fix.bbml2Helps && scenario ? addBbml2(document, scenario) : undefined;
      if (bbml2) actions.push(edit(document, 'Add `feature bbml2` to the scenario header', [bbml2], diagnostic, true));
      return actions;
    }
    case 'wx': {
      if (!fix.prot) return [];
      const word = text.slice(fix.prot.start, fix.prot.end);
      const range = toRange(document, fix.prot);
      const noX = word.replace('x', '') || 'none';
      const noW = word.replace('w', '') || 'none';
      return [edit(document, `Drop \`x\`: prot ${noX}`, [{ range, newText: noX }], diagnostic, true), edit(document, `Drop \`w\`: prot ${noW}`, [{ range, newText: noW }], diagnostic)];
    }
    case 'unknown-name':
      return fix.candidates.slice(0, 3).map((candidate, index) =>
        edit(document, `Change to \`${candidate}\``, [{ range: toRange(document, finding.span), newText: candidate }], diagnostic, index === 0),
      );
    case 'ctor-dtor': {
      const at = lineEnd(text, fix.after.end);
      const indent = indentAt(text, fix.after.start);
      return [edit(document, `Add \`${fix.insert}\``, [{ range: toRange(document, { start: at, end: at }), newText: `\n${indent}${fix.insert}` }], diagnostic, true)];
    }
    default:
      return [];
  }
}

function sameDiagnostic(a: Diagnostic, b: Diagnostic): boolean {
  return (
    a.code === b.code &&
    a.range.start.line === b.range.start.line &&
    a.range.start.character === b.range.start.character &&
    a.range.end.line === b.range.end.line &&
    a.range.end.character === b.range.end.character
  );
}

function before(a: Position, b: Position): boolean {
  return a.line < b.line || (a.line === b.line && a.character < b.character);
}

function overlaps(a: Range, b: Range): boolean {
  return !before(a.end, b.start) && !before(b.end, a.start);
}

/**
 * Quick fixes for the findings of this version that overlap `range`. A fix names the client's
 * diagnostic when it sent a matching one, else the server's own: right after an edit the client
 * may still hold the previous version's diagnostics, and the fix should not wait for them.
 */
export function codeActions(document: TextDocument, program: Program, findings: Finding[], range: Range, requested: Diagnostic[]): CodeAction[] {
  const actions: CodeAction[] = [];
  for (const finding of findings) {
    if (!finding.fix) continue;
    const diagnostic = toDiagnostic(document, finding);
    if (!overlaps(diagnostic.range, range)) continue;
    const match = requested.find((d) => sameDiagnostic(d, diagnostic)) ?? diagnostic;
    actions.push(...actionsFor(document, program, finding, match));
  }
  return actions;
}
