// Exports of the inspector's current view: the kernel ptdump text, the visible tree as JSON, and
// the visible tree as an SVG picture. Pure functions of the data the host fetched (no `vscode`
// import), so they are unit-tested.

import type { InspectorRow, InspectorTreeParams, RunResult } from '../../server/src/protocol/result';
import type { ExportFormat } from '../../server/src/protocol/webview';

/** Rows an export fetches at most; a fully expanded huge state is cut here, and says so. */
export const EXPORT_MAX_ROWS: Record<ExportFormat, number> = { ptdump: 1_000_000, json: 200_000, svg: 5_000 };

/** A file name for the export: the scenario's title, the step, the format's extension. */
export function exportFileName(result: RunResult, step: number, format: ExportFormat): string {
  const base = result.title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  const extension = format === 'ptdump' ? 'txt' : format;
  return `${base || 'scenario'}-step${step + 1}${format === 'ptdump' ? '-ptdump' : ''}.${extension}`;
}

function where(result: RunResult, step: number): string {
  const s = result.steps[step];
  return s ? `after step ${step + 1} (line ${s.range.start.line + 1}: ${s.summary})` : 'before any statement';
}

/** The kernel's ptdump lines with a header naming the scenario and the state. */
export function ptdumpExport(result: RunResult, step: number, lines: string[], total: number): string {
  const head = [`# ${result.title}: kernel page tables ${where(result, step)}`, `# ${result.arch}`];
  if (total > lines.length) head.push(`# truncated: ${lines.length} of ${total} lines`);
  return `${[...head, ...lines].join('\n')}\n`;
}

/** The visible tree rows as JSON, with what selected them. */
export function jsonExport(result: RunResult, params: InspectorTreeParams, step: number, rows: InspectorRow[], total: number): string {
  const document = {
    scenario: result.title,
    uri: result.uri,
    arch: result.arch,
    step,
    statement: result.steps[step] ? { line: (result.steps[step]?.range.start.line ?? 0) + 1, summary: result.steps[step]?.summary } : null,
    space: params.space,
    filter: params.filter ?? null,
    expandAll: params.expandAll === true,
    totalRows: total,
    truncated: total > rows.length,
    rows,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Row height and character width of the SVG, in its own units. */
const SVG_ROW = 18;
const SVG_CHAR = 7.2;
const SVG_INDENT = 16;

/**
 * The visible tree rows as a standalone SVG: one line per row with its change mark, level,
 * index, address range, decoded descriptor and finding badges. Outside VS Code there is no theme,
 * so the picture carries its own light palette (as a `<style>` the viewer can override).
 */
export function svgExport(result: RunResult, params: InspectorTreeParams, step: number, rows: InspectorRow[], total: number): string {
  const lines: { depth: number; text: string; change?: string; findings: string[] }[] = rows.map((row) => {
    const index = row.last !== undefined ? `[${row.index}–${row.last}]` : row.index !== undefined ? `[${row.index}]` : '';
    const label = row.depth === 0 ? row.label : `${row.level}${index}`;
    const words = row.decoded ? row.decoded.join(' ') : row.detail;
    const count = row.last !== undefined && row.index !== undefined ? `${row.last - row.index + 1}× ` : '';
    const text = [row.hasChildren ? (row.isExpanded ? '▾' : '▸') : ' ', label, row.va ?? '', `${count}${words}`].filter((p) => p !== '').join('  ');
    return { depth: row.depth, text, ...(row.change ? { change: row.change } : {}), findings: (row.findings ?? []).map((f) => f.code) };
  });
  const title = `${result.title} — ${params.space} ${where(result, step)}${total > rows.length ? ` (first ${rows.length} of ${total} rows)` : ''}`;
  const width = Math.ceil(Math.max(title.length * SVG_CHAR, ...lines.map((l) => l.depth * SVG_INDENT + (l.text.length + 12 * l.findings.length + 4) * SVG_CHAR))) + 24;
  const height = (lines.length + 2) * SVG_ROW + 12;
  const body = lines.map((l, i) => {
    const y = (i + 2) * SVG_ROW;
    const x = 12 + l.depth * SVG_INDENT;
    const mark = l.change === 'added' ? '+' : l.change === 'removed' ? '−' : l.change === 'changed' ? '~' : '';
    const background = l.change ? `<rect class="${l.change}" x="0" y="${y - SVG_ROW + 4}" width="${width}" height="${SVG_ROW}"/>` : '';
    let badgeX = x + (l.text.length + 2) * SVG_CHAR;
    const badges = l.findings
      .map((code) => {
        const label = code === 'wx' ? 'W+X' : code;
        const svg = `<text class="finding ${code}" x="${badgeX.toFixed(1)}" y="${y}">[${escapeXml(label)}]</text>`;
        badgeX += (label.length + 3) * SVG_CHAR;
        return svg;
      })
      .join('');
    return `${background}<text class="mark" x="2" y="${y}">${mark}</text><text x="${x}" y="${y}">${escapeXml(l.text)}</text>${badges}`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">
<style>
  svg { background: #ffffff; }
  text { font: 12px ui-monospace, Menlo, Consolas, monospace; fill: #1f1f1f; white-space: pre; }
  text.title { font-weight: bold; }
  rect.added { fill: #dff5e1; } rect.changed { fill: #fff4d6; } rect.removed { fill: #fbe3e4; }
  text.mark { font-weight: bold; } text.finding { fill: #b3261e; } text.finding.guard { fill: #1a5fb4; } text.finding.overlap, text.finding.unlinked { fill: #9a6700; }
</style>
<text class="title" x="12" y="${SVG_ROW}">${escapeXml(title)}</text>
${body.join('\n')}
</svg>
`;
}
