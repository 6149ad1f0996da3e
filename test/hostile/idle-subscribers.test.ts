/**
 * Issue 18, "10k idle WebSocket subscribers at 133 MB RSS with other
 * clients' latency unchanged": `tickwire start` (the simulated exchange) in
 * a child process, so its RSS is its own; 10,000 WebSockets opened from
 * this process in batches, each subscribed to the quiet `alerts` room. The
 * server's RSS stays under a generous bound, every one of them is open and
 * subscribed, and another client's pings are answered meanwhile, compared
 * with the same run's pings before the crowd (a generous factor: the
 * machine is shared).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Client } from '../server/helpers.ts';
import { killChildren, startTickwire } from '../support/tickwire-process.ts';
const CROWD = 10_000;
const BATCH = 500;
/** The issue measured 133 MB with 10k; three times that still says "bounded", not "a copy per client". */
const RSS_BOUND_MB = 400;

const children: ChildProcess[] = [];
const sockets: WebSocket[] = [];
let cwd: string | undefined;

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await killChildren(children);
  if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true });
  cwd = undefined;
});

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];
  return Number(kb) / 1024;
}

/** One idle subscriber: open, then `subscribed` to alerts. */
function idleSubscriber(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 20_000 });
    sockets.push(ws);
    ws.once('open', () => ws.send('{"op":"subscribe","id":1,"channels":["alerts"]}'));
    ws.once('message', (data) => resolve(data.toString().includes('"subscribed"')));
    ws.once('error', () => resolve(false));
    ws.once('close', () => resolve(false));
  });
}

/** Round trips of `n` pings, ms each. */
async function pings(c: Client, n: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await c.request({ op: 'ping' });
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b);
}

describe('10,000 idle subscribers', () => {
  it('hold the server under a bounded RSS; another client\'s pings are answered meanwhile', async () => {
    cwd = mkdtempSync(path.join(tmpdir(), 'tickwire-idle-'));
    const { proc, port } = await startTickwire(cwd, children, ['--port', '0']);
    const url = `ws://127.0.0.1:${port}/v1/stream`;

    const probe = await Client.connect(url);
    sockets.push(probe.ws);
    const alone = await pings(probe, 50);
    const rssBefore = rssMb(proc.pid!);

    let subscribed = 0;
    for (let i = 0; i < CROWD; i += BATCH) {
      const batch = await Promise.all(Array.from({ length: Math.min(BATCH, CROWD - i) }, () => idleSubscriber(url)));
      subscribed += batch.filter(Boolean).length;
    }
    expect(subscribed).toBe(CROWD);
    const crowded = await pings(probe, 50);
    const rssAfter = rssMb(proc.pid!);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    expect(metrics).toMatch(new RegExp(`^tickwire_connections ${CROWD + 1}$`, 'm'));
    expect((await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(10_000) })).status).toBe(200);

    expect(rssAfter).toBeLessThan(RSS_BOUND_MB);
    const median = (xs: number[]): number => xs[Math.floor(xs.length / 2)]!;
    // Idle sockets cost the event loop nothing: the median ping stays within a generous factor of the same run's baseline.
    expect(median(crowded)).toBeLessThan(Math.max(20, 10 * median(alone)));
    console.log(
      `[hostile] ${CROWD} idle subscribers: server RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB; ` +
        `probe ping median ${median(alone).toFixed(2)} → ${median(crowded).toFixed(2)} ms, max ${alone.at(-1)!.toFixed(1)} → ${crowded.at(-1)!.toFixed(1)} ms`,
    );
  }, 60_000);
});
