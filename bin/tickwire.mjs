#!/usr/bin/env node
// The tickwire command. Runs the compiled build when there is one (npm run build), else the
// TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/cli.js', import.meta.url);
let cli;
if (existsSync(compiled)) {
  cli = await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/cli.ts', import.meta.url).href);
}
// Exit as soon as main is done: by then the bars are flushed, and whatever is still winding down
// (worker threads, sockets) must not hold the process past the shutdown promise.
process.exit(await cli.main(process.argv.slice(2)));
