// An LSP session against the ptscn server, for tests: either in memory (two crossed streams,
// startServer on one end, a protocol connection on the other; vscode-languageserver-node's
// connection tests do the same) or against the real bundled server over stdio.

import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ClientCapabilities,
  type InitializeResult,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer, type ServerOptions } from '../../server/src/lsp/server';
import type { ClientExperimentalCapabilities, ServerStatusParams } from '../../server/src/protocol/lsp-ext';
import { Signal } from './wait';

export const DEFAULT_TIMEOUT_MS = 10_000;

/** The lens commands a VS Code client advertises; tests use the same ids. */
export const LENS_COMMANDS: Required<ClientExperimentalCapabilities>['ptscnLensCommands'] = {
  run: 'ptscn.runScenario',
  showTables: 'ptscn.showTables',
  explore: 'ptscn.exploreInterleavings',
};

export interface SessionOptions {
  /** The `ptscn` settings section the fake client answers `workspace/configuration` with. */
  settings?: unknown;
  capabilities?: ClientCapabilities;
  server?: ServerOptions;
}

export class LspSession {
  /** Every publishDiagnostics, in arrival order. */
  readonly diagnostics: PublishDiagnosticsParams[] = [];
  readonly statuses: ServerStatusParams[] = [];
  readonly logs: string[] = [];
  private readonly signal = new Signal();
  private versions = new Map<string, number>();
  settings: unknown;
  configurationRequests = 0;

  private constructor(
    readonly connection: ProtocolConnection,
    private readonly shutdownTransport: () => Promise<void>,
    settings: unknown,
  ) {
    this.settings = settings ?? {};
    connection.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => {
      this.diagnostics.push(params);
      this.signal.notify();
    });
    connection.onNotification('ptscn/serverStatus', (params: ServerStatusParams) => {
      this.statuses.push(params);
      this.signal.notify();
    });
    connection.onNotification('window/logMessage', (params: { message: string }) => {
      this.logs.push(params.message);
      this.signal.notify();
    });
    connection.onRequest('workspace/configuration', (params: { items: { section?: string }[] }) => {
      this.configurationRequests++;
      this.signal.notify();
      return params.items.map((item) => (item.section === 'ptscn' ? this.settings : null));
    });
    connection.onRequest('workspace/codeLens/refresh', () => null);
    connection.listen();
  }

  /** A server in this process, over crossed in-memory streams. */
  static async inMemory(options: SessionOptions = {}): Promise<LspSession> {
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const serverConnection = createConnection(ProposedFeatures.all, new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
    startServer(serverConnection, options.server);
    const client = createProtocolConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
    const session = new LspSession(
      client,
      async () => {
        await client.sendRequest('shutdown');
        serverConnection.dispose();
        toServer.end();
        toClient.end();
      },
      options.settings,
    );
    await session.initialize(options.capabilities, null);
    return session;
  }

  /** The bundled server (`dist/server.js`) as a child process speaking LSP on stdio. */
  static async stdio(serverPath: string, options: SessionOptions = {}): Promise<LspSession> {
    const child: ChildProcess = spawn(process.execPath, [serverPath, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout = child.stdout;
    const stdin = child.stdin;
    if (!stdout || !stdin) throw new Error('the server process has no stdio');
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const client = createProtocolConnection(new StreamMessageReader(stdout), new StreamMessageWriter(stdin));
    const session = new LspSession(
      client,
      async () => {
        try {
          await client.sendRequest('shutdown');
          await client.sendNotification('exit');
        } catch {
          child.kill();
        }
        await exited;
      },
      options.settings,
    );
    await session.initialize(options.capabilities);
    return session;
  }

  private initializeResult: InitializeResult | undefined;

  get capabilities(): InitializeResult['capabilities'] {
    if (!this.initializeResult) throw new Error('not initialized');
    return this.initializeResult.capabilities;
  }

  /**
   * `processId` is null in memory: vscode-languageserver/node starts an interval watching that
   * process, which would keep the test process alive.
   */
  private async initialize(capabilities?: ClientCapabilities, processId: number | null = process.pid): Promise<void> {
    this.initializeResult = await this.connection.sendRequest<InitializeResult>('initialize', {
      processId,
      rootUri: null,
      capabilities: capabilities ?? {
        workspace: { configuration: true, codeLens: { refreshSupport: true } },
        textDocument: { publishDiagnostics: { relatedInformation: true, versionSupport: true } },
        experimental: { ptscnLensCommands: LENS_COMMANDS } satisfies ClientExperimentalCapabilities,
      },
    });
    await this.connection.sendNotification('initialized', {});
    if (capabilities === undefined) {
      // The server pulls its settings after `initialized`; later messages see them applied.
      await this.signal.waitFor(() => (this.configurationRequests > 0 ? true : undefined), DEFAULT_TIMEOUT_MS, () => 'workspace/configuration');
    }
  }

  async open(uri: string, text: string, version = 1): Promise<void> {
    this.versions.set(uri, version);
    await this.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'ptscn', version, text } });
  }

  /** Replaces the whole text; returns the new version. */
  async change(uri: string, text: string): Promise<number> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
    return version;
  }

  async close(uri: string): Promise<void> {
    await this.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  async setSettings(settings: unknown): Promise<void> {
    this.settings = settings;
    await this.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
  }

  request<R>(method: string, params: unknown): Promise<R> {
    return this.connection.sendRequest<R>(method, params);
  }

  /** The first diagnostics for `uri` (at `version`, when given) published from now or before. */
  waitForDiagnostics(uri: string, version?: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<PublishDiagnosticsParams> {
    return this.signal.waitFor(
      () => this.diagnostics.find((d) => d.uri === uri && (version === undefined || d.version === version)),
      timeoutMs,
      () => `diagnostics for ${uri} v${version ?? 'any'}; got versions [${this.diagnostics.filter((d) => d.uri === uri).map((d) => d.version)}]`,
    );
  }

  waitForStatus(predicate: (status: ServerStatusParams) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerStatusParams> {
    return this.signal.waitFor(
      () => this.statuses.find(predicate),
      timeoutMs,
      () => `a matching ptscn/serverStatus; got ${JSON.stringify(this.statuses.slice(-3))}`,
    );
  }

  /** The first diagnostics for `uri` that satisfy `predicate`, published from now or before. */
  waitForDiagnosticsMatching(uri: string, predicate: (d: PublishDiagnosticsParams) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<PublishDiagnosticsParams> {
    return this.signal.waitFor(
      () => this.diagnostics.find((d) => d.uri === uri && predicate(d)),
      timeoutMs,
      () => `matching diagnostics for ${uri}; got ${JSON.stringify(this.diagnostics.filter((d) => d.uri === uri).slice(-2))}`,
    );
  }

  /** Waits until the server is idle with every pending analysis published. */
  waitForIdle(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerStatusParams> {
    const seen = this.statuses.length;
    return this.signal.waitFor(
      () => this.statuses.slice(seen).find((s) => !s.busy),
      timeoutMs,
      () => 'an idle ptscn/serverStatus',
    );
  }

  async dispose(): Promise<void> {
    await this.shutdownTransport();
    this.connection.dispose();
  }
}
