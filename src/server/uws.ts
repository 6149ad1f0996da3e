/**
 * uWebSockets.js, loaded as its native binary or not at all. The npm copies
 * ship one binary per platform, CPU and Node ABI (`process.versions.modules`)
 * and each is linked against some glibc; their own loaders fall back to a
 * slow JavaScript imitation (with a warning) or throw dlopen's raw text.
 * Here the installed copies are tried in order (`uWebSockets.js`, the import
 * name the package.json alias keeps, then the npm republishes `uwebsockets`
 * and `@btc-vision/uwebsockets.js` when installed), the first binary that
 * loads is used, and when none does the error names what is missing: a
 * binary for this Node's ABI (with the ABIs that are there) or a newer glibc
 * (with the one this system has). docs/install.md has the matrix.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type uWSModule from 'uWebSockets.js';
import { ErrorCode, TickwireError } from '../errors.ts';

type Uws = typeof uWSModule;

/** Copies tried, in order; only installed ones count. */
const CANDIDATES = ['uWebSockets.js', 'uwebsockets', '@btc-vision/uwebsockets.js'] as const;
/** Node major versions by ABI, for messages. */
const NODE_OF_ABI: Record<string, string> = { '83': '14', '93': '16', '108': '18', '115': '20', '120': '21', '127': '22', '131': '23', '137': '24', '141': '25' };

const require = createRequire(import.meta.url);

/** One installed copy: where its binaries are and which ABIs they cover for this platform and CPU. */
export interface UwsCopy {
  name: string;
  version: string;
  /** ABI → binary path. */
  binaries: Map<string, string>;
}

let loaded: Uws | undefined;

/** The native uWebSockets.js, loaded on first use (importing tickwire for its client or config never needs it); throws as `loadUws`. */
export function uws(): Uws {
  return (loaded ??= loadUws());
}

/** The native uWebSockets.js for this Node; a TickwireError (INTERNAL_ERROR) naming the missing requirement otherwise. */
export function loadUws(): Uws {
  const copies = installedCopies();
  const abi = process.versions.modules;
  const failures: string[] = [];
  for (const copy of copies) {
    const binary = copy.binaries.get(abi);
    if (binary === undefined) continue;
    try {
      return require(binary) as Uws;
    } catch (err) {
      failures.push(`${copy.name}@${copy.version}: ${explainLoadFailure((err as Error).message)}`);
    }
  }
  throw new TickwireError(ErrorCode.INTERNAL_ERROR, noBinaryMessage(copies, failures));
}

function installedCopies(): UwsCopy[] {
  const prefix = `uws_${process.platform}_${process.arch}_`;
  const copies: UwsCopy[] = [];
  for (const name of CANDIDATES) {
    let manifest: string;
    try {
      manifest = require.resolve(`${name}/package.json`);
    } catch {
      continue; // not installed
    }
    const dir = path.dirname(manifest);
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
    const binaries = new Map<string, string>();
    // The official layout keeps the binaries at the package root; the trufflesuite copy under binaries/.
    for (const where of [dir, path.join(dir, 'binaries')]) {
      if (!existsSync(where)) continue;
      for (const file of readdirSync(where)) {
        if (file.startsWith(prefix) && file.endsWith('.node')) binaries.set(file.slice(prefix.length, -'.node'.length), path.join(where, file));
      }
    }
    copies.push({ name, version, binaries });
  }
  return copies;
}

/** dlopen's text turned into the requirement it means (`GLIBC_2.38' not found` → needs glibc 2.38, this system has …). */
export function explainLoadFailure(message: string): string {
  const glibc = /GLIBC_(\d+\.\d+)' not found/.exec(message);
  if (glibc !== null) {
    const have = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
    return `its binary needs glibc ${glibc[1]} or newer; this system has glibc ${have ?? 'unknown (not a glibc system?)'}`;
  }
  return `its binary did not load: ${message.split('\n')[0]}`;
}

/** Why no copy loads: what each ships, what was tried and what to do. */
export function noBinaryMessage(copies: readonly UwsCopy[], failures: readonly string[]): string {
  const node = `Node ${process.versions.node} (ABI ${process.versions.modules}) on ${process.platform}-${process.arch}`;
  if (copies.length === 0) return `uWebSockets.js is not installed (run npm install); tickwire needs its native binary for ${node}`;
  const shipped = copies.map((c) => {
    const abis = [...c.binaries.keys()].sort((a, b) => Number(a) - Number(b));
    const list = abis.length === 0 ? 'none for this platform' : abis.map((a) => `${a}${NODE_OF_ABI[a] !== undefined ? ` (Node ${NODE_OF_ABI[a]})` : ''}`).join(', ');
    return `${c.name}@${c.version} ships ABIs ${list}`;
  });
  const tried = failures.length > 0 ? `; ${failures.join('; ')}` : `; none has a binary for ABI ${process.versions.modules}`;
  return `no uWebSockets.js binary loads on ${node}: ${shipped.join('; ')}${tried}. Run a supported Node (docs/install.md) or point the uWebSockets.js alias in package.json at a build for this one.`;
}
