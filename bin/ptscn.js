#!/usr/bin/env node
// The `ptscn` command: a thin launcher for the bundled CLI.
require('../dist/cli.js');
