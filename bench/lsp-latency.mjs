// Language-server latency: time from a didChange to the diagnostics published for that version,
// over the real stdio server, for every sample (median and p95), with edits inside each scenario
// in turn. The debounce is set to 0 so the figure is the server's own work; the editor adds the
// configured debounce on top.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

// vscode-languageserver-protocol is CommonJS; require it rather than guess its named exports.
const { createMessageConnection, StreamMessageReader, StreamMessageWriter } = createRequire(import.meta.url)('vscode-languageserver-protocol/node');

const CHANGES = 30;
const TARGET_P95_MS = 50;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export async function run({ root, execArgv }) {
  // `execArgv`: the node options the VS Code client starts the server with (SERVER_EXEC_ARGV in
  // server/src/protocol/lsp-ext.ts), from scripts/bench.mjs.
  const child = spawn(process.execPath, [...execArgv, join(root, 'dist', 'server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const waiters = new Map();
  connection.onNotification('textDocument/publishDiagnostics', (params) => {
    const key = `${params.uri}@${params.version}`;
    const waiter = waiters.get(key);
    if (waiter) {
      waiters.delete(key);
      waiter(params);
    }
  });
  connection.onRequest(() => null);
  connection.onNotification(() => undefined);
  connection.listen();
  await connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: null,
    capabilities: {},
    initializationOptions: { settings: { diagnostics: { debounce: 0 } } },
  });
  await connection.sendNotification('initialized', {});

  const published = (uri, version) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} version ${version} within 30 s`)), 30_000);
      waiters.set(`${uri}@${version}`, (params) => {
        clearTimeout(timer);
        resolve(params);
      });
    });

  const results = [];
  const samples = readdirSync(join(root, 'samples')).filter((f) => f.endsWith('.ptscn')).sort();
  for (const name of samples) {
    const file = join(root, 'samples', name);
    const uri = pathToFileURL(file).href;
    const text = readFileSync(file, 'utf8');
    try {
      const opened = published(uri, 1);
      await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'ptscn', version: 1, text } });
      await opened;
      const times = [];
      // Typing inside a scenario: a letter added to its name, then taken away, cycling through
      // the scenarios. The edited one runs again (a change of layout or comments alone would not
      // run it: the server moves its findings); the server reuses the runs of the others (those
      // below it moved, and get their findings moved with them).
      const heads = [...text.matchAll(/^scenario "[^"\n]*"/gm)].map((m) => (m.index ?? 0) + m[0].length - 1);
      for (let version = 2; version < 2 + CHANGES; version++) {
        const at = heads[Math.floor((version - 2) / 2) % heads.length] ?? text.length;
        const next = version % 2 === 0 ? `${text.slice(0, at)}x${text.slice(at)}` : text;
        const done = published(uri, version);
        const t0 = performance.now();
        await connection.sendNotification('textDocument/didChange', {
          textDocument: { uri, version },
          contentChanges: [{ text: next }],
        });
        await done;
        times.push(performance.now() - t0);
      }
      await connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
      times.sort((a, b) => a - b);
      const p95 = percentile(times, 95);
      results.push({
        id: `lsp_${name}`,
        label: `didChange → diagnostics p95: ${name}`,
        ms: p95,
        reference: 'target p95',
        referenceMs: TARGET_P95_MS,
        notes: `median ${percentile(times, 50).toFixed(1)} ms over ${CHANGES} edits`,
      });
    } catch (e) {
      results.push({ id: `lsp_${name}`, label: `didChange → diagnostics: ${name}`, error: e instanceof Error ? e.message : String(e) });
    }
  }
  await connection.sendRequest('shutdown').catch(() => undefined);
  await connection.sendNotification('exit').catch(() => undefined);
  connection.dispose();
  child.kill();
  return results;
}
