// The page's only way to talk to the extension host: intent-named functions that post typed
// messages (style.md B5; tlaplus's VSCodeWrapper).

import type { InspectorTreeParams, Range } from '../../server/src/protocol/result';
import { PROTOCOL_VERSION, type ExportFormat, type ViewToHost } from '../../server/src/protocol/webview';

/** What the page needs of `acquireVsCodeApi()`; tests pass a recorder. */
export interface WebviewApi<S> {
  postMessage(message: unknown): void;
  getState(): S | undefined;
  setState(state: S): void;
}

export class Host {
  private nextRequestId = 1;

  constructor(private readonly api: WebviewApi<unknown>) {}

  private post(message: ViewToHost): void {
    this.api.postMessage(message);
  }

  ready(): void {
    this.post({ type: 'ready', protocol: PROTOCOL_VERSION });
  }

  /** Asks for a page of a view; returns the request id the answer will carry. */
  fetchRows(params: InspectorTreeParams): number {
    const requestId = this.nextRequestId++;
    this.post({ type: 'fetchRows', requestId, params });
    return requestId;
  }

  reveal(range: Range): void {
    this.post({ type: 'reveal', range });
  }

  exportView(format: ExportFormat, params: InspectorTreeParams): void {
    this.post({ type: 'export', format, params });
  }
}
