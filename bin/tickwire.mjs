#!/usr/bin/env node
// The tickwire command. Runs the compiled build (dist/, written by `npm run build`, which `npm pack`
// and a clone's `npm install` / `npm ci` run through `prepare`) when it is at least as new as every
// TypeScript source; else the sources through tsx, so an edited checkout never runs stale JavaScript
// and a checkout that was never built still starts.
import { existsSync, readdirSync, statSync } from 'node:fs';

const ROOT = new URL('../', import.meta.url);
const COMPILED = new URL('dist/src/cli.js', ROOT);
/** What the build compiles (tsconfig.build.json's include). */
const SOURCE_DIRS = ['src/', 'workers/', 'schema/generated/'];

/** The newest modification time (ms) of a .ts file under `dir`, 0 when there is none. */
function newestSource(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    newest = Math.max(newest, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
  }
  return newest;
}

/** True when dist/ exists and no source changed after it was written (a packed tarball has equal times). */
function buildIsFresh() {
  if (!existsSync(COMPILED)) return false;
  const built = statSync(COMPILED).mtimeMs;
  return SOURCE_DIRS.every((dir) => newestSource(new URL(dir, ROOT)) <= built);
}

let cli;
if (buildIsFresh()) {
  cli = await import(COMPILED.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('src/cli.ts', ROOT).href);
}
// Exit as soon as main is done: by then the bars are flushed, and whatever is still winding down
// (worker threads, sockets) must not hold the process past the shutdown promise.
process.exit(await cli.main(process.argv.slice(2)));
