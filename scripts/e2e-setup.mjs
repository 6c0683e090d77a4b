// Installs code-server into .e2e-cache/ on demand, the way ../shared/recipes/vscode-e2e.md says:
// Debian's ripgrep is put where VS Code's ripgrep module looks for a cached download, then
// code-server is installed from the npm registry with install scripts allowed.
// Usage: node scripts/e2e-setup.mjs   (prints the code-server binary path when ready).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, copyFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';
/** The ripgrep release code-server 4.100.3's @vscode/ripgrep 1.15.11 asks for. */
const RIPGREP_CACHE = 'vscode-ripgrep-cache-1.15.11';
const RIPGREP_ARCHIVE = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const cacheDir = join(root, '.e2e-cache');
const installDir = join(cacheDir, `code-server-${CODE_SERVER_VERSION}`);
export const codeServerBin = join(installDir, 'node_modules', '.bin', 'code-server');

function which(command) {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/** Returns the code-server binary, installing it first when the cache does not have it. */
export function ensureCodeServer({ log = (line) => console.error(line) } = {}) {
  if (existsSync(codeServerBin) && existsSync(join(installDir, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules.asar'))) {
    return codeServerBin;
  }
  for (const needed of ['rg', 'chromium']) {
    if (!which(needed)) {
      throw new Error(`${needed} is missing: apt-get install -y chromium ripgrep libkrb5-dev (see .ci/run)`);
    }
  }
  const rgCache = join(process.env.TMPDIR || tmpdir(), RIPGREP_CACHE);
  const archive = join(rgCache, RIPGREP_ARCHIVE);
  if (!existsSync(archive)) {
    mkdirSync(rgCache, { recursive: true });
    const staging = mkdtempSync(join(tmpdir(), 'ptscn-rg-'));
    copyFileSync(which('rg'), join(staging, 'rg'));
    execFileSync('tar', ['-czf', archive, '-C', staging, 'rg']);
    rmSync(staging, { recursive: true, force: true });
  }
  mkdirSync(installDir, { recursive: true });
  writeFileSync(join(installDir, 'package.json'), JSON.stringify({ name: 'ptscn-e2e-code-server', private: true }) + '\n');
  log(`Installing code-server@${CODE_SERVER_VERSION} into ${installDir} (about a minute)…`);
  execFileSync(
    'npm',
    ['install', '--unsafe-perm', '--no-audit', '--no-fund', '--no-save', `code-server@${CODE_SERVER_VERSION}`],
    {
      cwd: installDir,
      stdio: ['ignore', 'inherit', 'inherit'],
      // code-server's postinstall runs a nested `npm install` in lib/vscode that builds native
      // modules, so scripts must be allowed for the whole tree: npm 11 blocks dependency install
      // scripts by default (allowScripts), and code-server refuses to install as root without
      // unsafe-perm. The environment carries both settings into the nested install.
      env: {
        ...process.env,
        npm_config_yes: 'true',
        npm_config_unsafe_perm: 'true',
        npm_config_dangerously_allow_all_scripts: 'true',
      },
    },
  );
  if (!existsSync(join(installDir, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules.asar'))) {
    rmSync(installDir, { recursive: true, force: true });
    throw new Error('code-server installed without running its postinstall; see the npm output above');
  }
  if (!existsSync(codeServerBin)) throw new Error(`code-server did not install: ${codeServerBin} is missing`);
  return codeServerBin;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(ensureCodeServer());
}
