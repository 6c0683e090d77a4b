// Lint: typescript-eslint's recommended rules plus the import boundaries of style.md B2 as
// per-folder `no-restricted-imports` (tidy.test.ts checks the same table by scanning imports).
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const editor = [
  { group: ['vscode', 'vscode-*', 'vscode-*/**'], message: 'The engine and the language layer are pure: no editor code.' },
  { group: ['node:*'], message: 'The engine and the language layer are pure: inject I/O instead.' },
];

const restrict = (files, patterns) => ({ files, rules: { 'no-restricted-imports': ['error', { patterns }] } });

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'out/', '.e2e-cache/', 'test-results/', 'bench/out/', '**/*.d.ts'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-namespace': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        ['process', 'console', '__dirname', 'require', 'module', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'Buffer', 'performance', 'fetch', 'TextDecoder', 'TextEncoder'].map((name) => [name, 'readonly']),
      ),
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  restrict(['server/src/engine/**/*.ts'], [...editor, { group: ['**/language/**', '**/lsp/**', '**/protocol/**', '**/cli/**'], message: 'The engine imports nothing outside itself.' }]),
  restrict(['server/src/language/**/*.ts'], [
    ...editor,
    { group: ['**/lsp/**', '**/protocol/**', '**/cli/**'], message: 'The language layer imports only engine/index.ts.' },
    { group: ['../engine/*', '!../engine/index'], message: 'Enter the engine only through engine/index.ts.' },
  ]),
  restrict(['server/src/protocol/**/*.ts'], [
    { group: ['vscode', 'vscode-languageserver', 'vscode-languageserver/*', 'vscode-languageclient', 'vscode-languageclient/*', 'node:*'], message: 'The protocol is declarations only.' },
    { group: ['../*', '!./*'], message: 'The protocol imports nothing outside itself.' },
  ]),
  restrict(['server/src/protocol/result.ts', 'server/src/protocol/webview.ts'], [
    { group: ['../*', './lsp-ext', 'vscode*', 'node:*', '@*/*'], message: 'result.ts and webview.ts import nothing but each other.' },
  ]),
  restrict(['server/src/lsp/**/*.ts', 'server/src/main.ts'], [
    { group: ['vscode', 'vscode-languageclient', 'vscode-languageclient/*'], message: 'The server never imports the editor API.' },
    { group: ['../engine/*', '!../engine/index', '../language/*', '!../language/index'], message: 'Enter the engine and the language only through their index.ts.' },
  ]),
  restrict(['extension/src/**/*.ts'], [
    { group: ['**/engine/**', '**/language/**', '**/lsp/**', '**/cli/**'], message: 'The extension learns everything through LSP and the protocol.' },
  ]),
  restrict(['extension/webview/**/*.ts'], [
    { group: ['vscode', 'vscode-*', 'node:*', '**/engine/**', '**/language/**', '**/lsp/**', '**/lsp-ext'], message: 'The webview sees only protocol/result.ts and protocol/webview.ts.' },
  ]),
  { files: ['server/src/**/*.ts'], ignores: ['server/src/cli/**'], rules: { 'no-console': 'error' } },
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-non-null-assertion': 'off' } },
);
