/**
 * Issue 18, item 6, as it was found: `tickwire start` under a low open-files
 * limit (`ulimit -n 256`) and one and a half times that many WebSocket
 * clients. Before the caps, uSockets' accept failed with EMFILE and spun:
 * clients timed out and `/health` took seconds. Now the start-up line reports
 * the limit and the cap derived from it (192), the clients past it are
 * refused 503 at once, none times out, and `/health` answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { until } from '../support/until.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/tickwire.mjs');
const LIMIT = 256;

let child: ChildProcess | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  if (child !== undefined && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
  }
  child = undefined;
});

type Outcome = 'open' | 'refused' | 'failed';

function attempt(url: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { handshakeTimeout: 10_000 });
    sockets.push(ws);
    let settled = false;
    const settle = (o: Outcome) => {
      if (settled) return;
      settled = true;
      resolve(o);
    };
    ws.once('open', () => settle('open'));
    ws.once('unexpected-response', (_req, res) => {
      settle(res.statusCode === 503 ? 'refused' : 'failed');
      ws.terminate();
    });
    ws.once('error', () => settle('failed'));
  });
}

describe('at a low open-files limit', () => {
  it(`ulimit -n ${LIMIT}: ${LIMIT * 1.5} WebSocket clients, the cap opens, the rest refused 503, /health answers`, async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'tickwire-fd-'));
    // `ulimit -n` sets the soft and hard limits both: nothing for Node to raise.
    const proc = spawn('sh', ['-c', `ulimit -n ${LIMIT} && exec "${process.execPath}" "${BIN}" start --port 0`], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    await until(() => /try: curl/.test(out) || proc.exitCode !== null, 30_000, 'start-up');
    expect(out).toContain(`connections: at most 192 WebSockets`);
    expect(out).toContain(`open-files limit ${LIMIT}`);
    const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    // /health is 503 `starting` until the simulated feed has connected (it needs a descriptor too): wait for it first.
    await until(async () => (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(5000) })).status === 200, 30_000, 'the feed connected');

    const outcomes = await Promise.all(Array.from({ length: LIMIT * 1.5 }, () => attempt(`ws://127.0.0.1:${port}/v1/stream`)));
    const count = (o: Outcome) => outcomes.filter((x) => x === o).length;
    expect({ open: count('open'), refused: count('refused'), failed: count('failed') }).toEqual({ open: 192, refused: 192, failed: 0 });

    const health = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(5000) });
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    expect(metrics).toMatch(/^tickwire_connections_refused_total\{reason="max_connections"\} 192$/m);
    expect(metrics).toMatch(/^tickwire_connections 192$/m);
  }, 60_000);
});
