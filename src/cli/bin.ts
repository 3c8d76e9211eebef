#!/usr/bin/env node
import { main } from './main.js';

// A reader that stops early (`trustload policy init ... | head`) closes the pipe: that is not
// a failure to report with a stack, and what was decided has been decided.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

process.exitCode = await main(process.argv.slice(2));
