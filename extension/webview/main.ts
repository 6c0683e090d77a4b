// Boot of the inspector page: acquire the VS Code API once, restore the saved state and paint it
// at once, then shake hands with the host (`ready`); every message from the host is checked
// before the page acts on it.

import { isHostToView } from '../../server/src/protocol/webview';
import { App } from './app';
import './style.css';

const api = acquireVsCodeApi();
const root = document.getElementById('root') ?? document.body;
const app = new App(document, root, api);

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isHostToView(event.data)) app.handle(event.data);
});
// Hidden panels are destroyed (no retainContextWhenHidden): save what is on screen on the way out.
window.addEventListener('pagehide', () => app.saveNow());
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') app.saveNow();
});

app.start();
