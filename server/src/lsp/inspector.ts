// The inspector's table tree, read from a finished run's state (engine inspect.ts): one row per
// table entry that is present or changed, children shown for expanded entries, paged.

import type { EntryInfo, RunState } from '../engine/index';
import type { InspectorRow, InspectorTreeParams, InspectorTreeResult } from '../protocol/result';

/** Deepest table nesting walked; real configurations have at most five levels. */
const MAX_DEPTH = 6;

function entryDetail(entry: EntryInfo): string {
  const parts = [entry.value, entry.kind];
  if (entry.prot) {
    const p = entry.prot;
    parts.push(`${p.read ? 'r' : '-'}${p.write ? 'w' : '-'}${p.kexec || p.uexec ? 'x' : '-'}${p.user ? ' user' : ''}${p.cont ? ' cont' : ''}`);
  }
  if (entry.pa) parts.push(`→ ${entry.pa}`);
  if (entry.bits.length > 0) parts.push(entry.bits.map((b) => b.name).join('|'));
  return parts.join(' · ');
}

/** The visible rows of `params.space` after `params.step`, paged by offset and count. */
export function inspectorTree(state: RunState, params: InspectorTreeParams): InspectorTreeResult {
  const step = params.step < 0 || params.step >= state.stepCount ? state.stepCount - 1 : params.step;
  const spaces = state.spacesAt(step);
  const space = spaces.find((s) => s.name === params.space) ?? spaces[0];
  const result: InspectorTreeResult = { rows: [], total: 0, spaces: spaces.map((s) => s.name) };
  if (!space) return result;
  const expanded = new Set(params.expanded);
  const end = params.offset + params.count;
  const push = (row: InspectorRow): void => {
    if (result.total >= params.offset && result.total < end) result.rows.push(row);
    result.total++;
  };
  const root = state.table(space.root);
  const rootId = `t:${space.root}`;
  push({
    id: rootId,
    depth: 0,
    kind: 'table',
    level: root?.level ?? '',
    label: `${root?.level ?? 'top'} table ${root?.name ?? ''} @ ${root?.pa ?? '?'}`.replace(/ {2,}/g, ' '),
    detail: root ? `${root.allocator}, ${root.bytes} bytes` : '',
    hasChildren: true,
    isExpanded: true,
    isChanged: false,
  });
  const walk = (tableId: number, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    for (const entry of state.entriesAt(tableId, step, 0, Infinity, true)) {
      const id = `e:${tableId}:${entry.index}`;
      const hasChildren = entry.kind === 'table' && entry.child !== undefined;
      const isExpanded = hasChildren && expanded.has(id);
      push({
        id,
        depth,
        kind: entry.kind === 'none' ? 'hole' : entry.kind === 'table' ? 'table' : 'entry',
        level: entry.level,
        label: `${entry.level}[${entry.index}] ${entry.va}`,
        detail: entryDetail(entry),
        hasChildren,
        isExpanded,
        isChanged: entry.change !== undefined,
      });
      if (isExpanded && entry.child !== undefined) walk(entry.child, depth + 1);
    }
  };
  walk(space.root, 1);
  return result;
}
