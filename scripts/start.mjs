// `npm start`: build, package the .vsix, and open samples/ in VS Code with the extension loaded.
// Uses the `code` command where it is installed; otherwise runs code-server (installed on demand
// into .e2e-cache/) on 127.0.0.1, prints its address and keeps it running until Ctrl-C.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, ensureCodeServer } from './e2e-setup.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const vsix = join(root, 'ptscn.vsix');
const samples = join(root, 'samples');

function hasCommand(name) {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function freePort(preferred) {
  return new Promise((resolvePort) => {
    const tryPort = (port) => {
      const server = createServer();
      server.once('error', () => tryPort(0));
      server.listen(port, '127.0.0.1', () => {
        const { port: chosen } = server.address();
        server.close(() => resolvePort(chosen));
      });
    };
    tryPort(preferred);
  });
}

console.log('Building and packaging the extension…');
execFileSync('npm', ['run', 'package'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });

if (hasCommand('code') && process.env.PTSCN_USE_CODE_SERVER !== '1') {
  execFileSync('code', ['--install-extension', vsix, '--force'], { stdio: 'inherit' });
  execFileSync('code', [samples], { stdio: 'inherit' });
  console.log('Opened samples/ in VS Code with the ptscn extension installed.');
} else {
  const bin = ensureCodeServer({ log: (line) => console.log(line) });
  const profile = join(cacheDir, 'start-profile');
  const extensionsDir = join(profile, 'extensions');
  const userDataDir = join(profile, 'user-data');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  const settings = join(userDataDir, 'User', 'settings.json');
  if (!existsSync(settings)) {
    writeFileSync(settings, JSON.stringify({ 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'git.openRepositoryInParentFolders': 'never' }, null, 2));
  }
  execFileSync(bin, ['--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', vsix, '--force'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const port = await freePort(Number(process.env.PORT ?? 8080));
  const child = spawn(
    bin,
    ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', samples],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let announced = false;
  const onData = (chunk) => {
    if (!announced && /HTTP server listening on/.test(chunk.toString())) {
      announced = true;
      console.log(`\nVS Code (code-server) is running with the ptscn extension and samples/ open:\n\n  http://127.0.0.1:${port}/?folder=${encodeURIComponent(samples)}\n\nPress Ctrl-C to stop it.`);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', (code) => process.exit(code ?? 0));
}
