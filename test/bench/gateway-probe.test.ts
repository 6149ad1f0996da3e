import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayProbe } from '../../bench/load/gateway-probe.ts';

const PROBE = fileURLToPath(new URL('../../bench/load/gateway-probe.ts', import.meta.url));

/**
 * A child as the fan-out gateways are (IPC, the probe answering), which on
 * `block` keeps its main thread busy for the given ms and on `garbage`
 * collects twice (`--expose-gc`).
 */
const CHILD = `
import { answerProbes } from ${JSON.stringify(PROBE)};
answerProbes();
process.on('message', (m) => {
  if (m.type === 'block') { const end = Date.now() + m.ms; while (Date.now() < end); process.send({ type: 'blocked' }); }
  if (m.type === 'garbage') { globalThis.gc(); globalThis.gc(); process.send({ type: 'collected' }); }
});
process.send({ type: 'ready' });
`;

function next<T>(child: ChildProcess, type: string, n?: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within 30 s`)), 30_000);
    const on = (m: { type?: string; n?: number }) => {
      if (m.type !== type || (n !== undefined && m.n !== n)) return;
      clearTimeout(timer);
      child.off('message', on);
      resolve(m as T);
    };
    child.on('message', on);
  });
}

describe('gateway probe', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
  });

  it('reports the main thread’s event-loop delay, GC pauses and wake-ups since the numbered reset', async () => {
    child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', CHILD], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await next(child, 'ready');
    const reset = next<{ n: number }>(child, 'probe-reset', 7);
    child.send({ type: 'probe-reset', n: 7 });
    expect((await reset).n).toBe(7);

    child.send({ type: 'garbage' });
    await next(child, 'collected');
    child.send({ type: 'block', ms: 80 });
    await next(child, 'blocked');
    await new Promise((r) => setTimeout(r, 100)); // the delay monitor samples (every 10 ms) after the block

    const answer = next<GatewayProbe>(child, 'probe', 8);
    child.send({ type: 'probe', n: 8 });
    const p = await answer;
    expect(p.n).toBe(8);
    expect(p.gc.count).toBeGreaterThanOrEqual(2);
    expect(p.gc.maxMs).toBeGreaterThan(0);
    expect(p.gc.totalMs).toBeGreaterThanOrEqual(p.gc.maxMs);
    // The 80 ms block is one sample of at least 80 ms, less the 10 ms resolution.
    expect(p.eventLoopDelayUs.max).toBeGreaterThanOrEqual(65_000);
    expect(p.eventLoopDelayUs.p50).toBeLessThanOrEqual(p.eventLoopDelayUs.max);
    // Each IPC message woke a sleeping thread.
    expect(p.wakeups).toBeGreaterThan(0);

    // A new reset starts from nothing.
    const again = next(child, 'probe-reset', 9);
    child.send({ type: 'probe-reset', n: 9 });
    await again;
    const fresh = next<GatewayProbe>(child, 'probe', 10);
    child.send({ type: 'probe', n: 10 });
    expect((await fresh).gc.count).toBeLessThan(p.gc.count); // the two forced collections are not in it
  });
});
