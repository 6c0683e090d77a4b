// esbuild bundles CSS imported from TypeScript into dist/webview.css (scripts/build.mjs).
declare module '*.css';
