/**
 * Where this package is installed, and its version: found by walking up from
 * this module to the `package.json` named `tickwire`, so it is right whether
 * the code runs from `src/` (tsx) or a build's `dist/src/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, TickwireError } from '../errors.ts';

interface PackageInfo {
  root: string;
  version: string;
}

let found: PackageInfo | undefined;

function find(): PackageInfo {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tickwire' && typeof pkg.version === 'string') return { root: dir, version: pkg.version };
    }
    if (path.dirname(dir) === dir) throw new TickwireError(ErrorCode.INTERNAL_ERROR, `no tickwire package.json above ${import.meta.dirname}: the package is incomplete`);
  }
}

/** The package's root folder (where its package.json is). */
export function packageRoot(): string {
  return (found ??= find()).root;
}

/** The package's version, as the API documents state it. */
export function packageVersion(): string {
  return (found ??= find()).version;
}
