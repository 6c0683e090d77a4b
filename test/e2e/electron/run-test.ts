// The @vscode/test-electron suite, for machines that can download VS Code (CI cannot: it runs
// the code-server suite in ../run.mjs). Usage: npm run build && npx tsc -p test/e2e/electron &&
// node out/e2e-electron/run-test.js
import { resolve } from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  const root = resolve(__dirname, '../..');
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: resolve(__dirname, 'suite.js'),
    launchArgs: [resolve(root, 'test/e2e/fixtures'), '--disable-extensions', '--disable-workspace-trust'],
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
