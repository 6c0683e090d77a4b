// Runs the packaged extension in a real VS Code: code-server from the e2e cache, with its own
// extensions and user-data folders, on a free loopback port (../shared/recipes/vscode-e2e.md).

import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { cacheDir, ensureCodeServer } from '../../scripts/e2e-setup.mjs';

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Prepares a fresh profile with the .vsix installed and starts code-server on `folder`.
 * Resolves once it listens; `stop()` ends it (its process group) and waits for the exit.
 */
export async function startCodeServer({ vsix, folder, settings = {}, log = () => {} }) {
  const bin = ensureCodeServer({ log });
  const profile = join(cacheDir, 'profile');
  rmSync(profile, { recursive: true, force: true });
  const extensionsDir = join(profile, 'extensions');
  const userDataDir = join(profile, 'user-data');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  writeFileSync(
    join(userDataDir, 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.enableExperiments': false,
        'security.workspace.trust.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'update.mode': 'none',
        'editor.hover.delay': 200,
        'chat.disableAIFeatures': true,
        'git.enabled': false,
        'git.openRepositoryInParentFolders': 'never',
        ...settings,
      },
      null,
      2,
    ),
  );
  execFileSync(bin, ['--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', vsix], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await freePort();
  const child = spawn(
    bin,
    [
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--extensions-dir', extensionsDir,
      '--user-data-dir', userDataDir,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      folder,
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let output = '';
  await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk.toString();
      log(chunk.toString().trimEnd());
      if (/HTTP server listening on/.test(output)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`code-server exited (${code}) before listening:\n${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`,
    port,
    async stop() {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        return;
      }
      await exited;
    },
  };
}

/** A throwaway copy of the samples with the e2e fixtures beside them, so edits never touch the repo. */
export function makeWorkspace(root) {
  const folder = join(cacheDir, 'workspace', 'samples');
  rmSync(join(cacheDir, 'workspace'), { recursive: true, force: true });
  cpSync(join(root, 'samples'), folder, { recursive: true });
  cpSync(join(root, 'test', 'e2e', 'fixtures'), join(folder, 'e2e-fixtures'), { recursive: true });
  return folder;
}
