// What the language status item says, as a pure function of the server's status (unit-tested).

import type { DocumentStatus, ServerStatusParams } from '../../server/src/protocol/lsp-ext';

/** The status item's text for a server state and the active document's status, if any. */
export function describeStatus(
  status: ServerStatusParams | undefined,
  document: DocumentStatus | undefined,
): { text: string; detail: string; severity: 'information' | 'warning' | 'error'; busy: boolean } {
  if (!status) return { text: 'PTScn', detail: 'starting', severity: 'information', busy: true };
  const counts = document
    ? [
        document.errors ? `${document.errors} error${document.errors === 1 ? '' : 's'}` : '',
        document.warnings ? `${document.warnings} warning${document.warnings === 1 ? '' : 's'}` : '',
      ].filter(Boolean)
    : [];
  const findings = counts.length > 0 ? counts.join(', ') : document ? 'no problems' : '';
  const text = document ? `${document.arch}${findings ? ` · ${findings}` : ''}` : 'PTScn';
  const detail = status.message ?? (status.busy ? 'analysing…' : document ? `${document.scenarios} scenario(s)` : 'idle');
  const severity = status.health === 'error' ? 'error' : status.health === 'warning' || (document?.errors ?? 0) > 0 ? 'warning' : 'information';
  return { text, detail, severity, busy: status.busy };
}
