/**
 * The client entry must bundle for browsers: its runtime import graph (static
 * imports and the lazily imported wire decoder) holds no Node built-in, no
 * `ws`, no uWebSockets.js and nothing of the server.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeImports } from '../support/imports.ts';
import * as clientEntry from '../../src/client/index.ts';
import * as mainEntry from '../../src/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Every file reachable from `entry` through relative runtime imports, and the bare packages they name. */
function graph(entry: string): { files: string[]; packages: Set<string> } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of runtimeImports(file)) {
      // Generated FlatBuffers code imports its siblings as `.js` (the compiled names).
      if (spec.startsWith('.')) todo.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  }
  return { files: [...seen].map((f) => path.relative(ROOT, f)), packages };
}

describe('tickwire/client in a browser bundle', () => {
  const { files, packages } = graph(path.join(ROOT, 'src/client/index.ts'));

  it('reaches the client, the shared model and the wire decoder, nothing of the server', () => {
    expect(files).toContain('src/client/client.ts');
    expect(files).toContain('src/wire/fbs.ts'); // the lazily loaded binary decoder is part of the bundle's graph
    const outside = files.filter((f) => !/^src\/(client|wire|model)\/|^src\/errors\.ts$|^schema\/generated\//.test(f));
    expect(outside).toEqual([]);
  });

  it('names no Node built-in and no Node-only package', () => {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const bad = [...packages].filter((p) => builtins.has(p) || p.startsWith('node:') || p === 'ws' || p === 'uWebSockets.js');
    expect(bad).toEqual([]);
    expect([...packages].sort()).toEqual(['flatbuffers']);
  });

  it('uses no Node-only global (Buffer, process, setImmediate, require, __dirname)', () => {
    const offenders = files.filter((f) => {
      const text = readFileSync(path.join(ROOT, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      return /(?<![\w.])(Buffer|process|setImmediate|require|__dirname|__filename)\b/.test(text);
    });
    expect(offenders).toEqual([]);
  });

  it('loads `ws` only through a specifier bundlers do not follow', () => {
    const socket = readFileSync(path.join(ROOT, 'src/client/socket.ts'), 'utf8');
    expect(socket).not.toMatch(/from\s+['"]ws['"]/);
    expect(socket).not.toMatch(/import\(\s*['"]ws['"]\s*\)/);
    expect(socket).toMatch(/import\(\/\* @vite-ignore \*\/ \/\* webpackIgnore: true \*\/ NODE_WS_MODULE\)/);
  });
});

describe('package entries', () => {
  it('`tickwire/client` in package.json exports maps onto src/client/index.ts (types and import)', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; import: string }> };
    const entry = pkg.exports['./client'];
    expect(entry).toEqual({ types: './dist/src/client/index.d.ts', import: './dist/src/client/index.js' });
    // tsconfig.build.json compiles src/ to dist/src/ (as the main entry's ./dist/src/index.js).
    expect(pkg.exports['.']!.import.replace('index.js', 'client/index.js')).toBe(entry!.import);
    expect(existsSync(path.join(ROOT, entry!.import.replace('./dist/', '').replace(/\.js$/, '.ts')))).toBe(true);
  });

  it('both entries export the same TickwireClient and its errors', () => {
    expect(mainEntry.TickwireClient).toBe(clientEntry.TickwireClient);
    expect(mainEntry.CandlesUnavailableError).toBe(clientEntry.CandlesUnavailableError);
    expect(clientEntry.TickwireError).toBe(mainEntry.TickwireError);
    expect(typeof clientEntry.TickwireClient).toBe('function');
  });
});
