// Entry point of the `ptscn` command (bundled to dist/cli.js, launched by bin/ptscn.js).

import { readFileSync } from 'node:fs';
import { runCli } from './cli';
import type { CliIo } from './io';

const io: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  readFile: (path) => readFileSync(path, 'utf8'),
  now: () => performance.now(),
};

process.exitCode = runCli(process.argv.slice(2), io);
