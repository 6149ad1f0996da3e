/**
 * `tickwire start` as a child process for integration tests: a working
 * directory with a durable config (simulated venue, short timeframes,
 * LMDB storage), start-up awaited on its "try: curl" line, the port read
 * from its output, and its candles over HTTP. The caller's `children`
 * list is how it ends them (SIGKILL in afterEach).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { until } from './until.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/tickwire.mjs');

export type Candle = Record<string, unknown> & { openTime: number };

/** A temporary directory with tickwire.yaml: SIM-BTC and SIM-ETH at 400 trades/s, 1s 5s 1m bars, storage flushed every `flushMs`. */
export function durableWorkdir(flushMs: number, dirs: string[]): string {
  const cwd = mkdtempSync(path.join(tmpdir(), 'tickwire-durability-'));
  dirs.push(cwd);
  writeFileSync(
    path.join(cwd, 'tickwire.yaml'),
    [
      'server: { host: 127.0.0.1, port: 0 }',
      'timeframes: [1s, 5s, 1m]',
      'history: 600',
      `storage: { path: ./data, flushMs: ${flushMs} }`,
      'exchanges:',
      '  simulated: { symbols: [SIM-BTC, SIM-ETH], rate: 400 }',
      '',
    ].join('\n'),
  );
  return cwd;
}

/** `tickwire start [...args]` in `cwd`, once it listens; pushed onto `children`. */
export async function startTickwire(cwd: string, children: ChildProcess[], args: readonly string[] = []) {
  const proc = spawn(process.execPath, [BIN, 'start', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => proc.once('exit', (code) => resolve({ code, at: performance.now() })));
  await until(() => /try: curl/.test(out) || proc.exitCode !== null, 30_000, 'start-up');
  const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  expect(port, out).toBeGreaterThan(0);
  const candles = async (symbol: string, tf: string): Promise<Candle[]> => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/candles/simulated/${symbol}/${tf}?closed=true&limit=600`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { candles: Candle[] }).candles;
  };
  return { proc, port, out: () => out, exited, candles };
}

/** End every child still running (SIGKILL) and wait for it. */
export async function killChildren(children: ChildProcess[]): Promise<void> {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  }
}
