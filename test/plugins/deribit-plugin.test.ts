/**
 * The out-of-tree Deribit adapter plugin end to end: packed and installed
 * into a scratch project as npm would install it, listed by package name
 * under `plugins:`, and `tickwire start` (a real child process) streams its
 * trades and bars from a fake Deribit, with status, metrics and gap
 * recovery over the fake's REST API like a built-in venue.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDeribit } from '../support/fake-deribit.ts';
import { installDeribitPlugin, scratchProject, writeDeribitConfig } from '../support/plugin-project.ts';
import { killChildren, startTickwire } from '../support/tickwire-process.ts';
import { until } from '../support/until.ts';

type Message = Record<string, unknown> & { type: string; channel?: string };

const children: ChildProcess[] = [];
const dirs: string[] = [];
let fake: FakeDeribit;
let port: number;
let out: () => string;
let proc: ChildProcess;
let project: string;

beforeAll(async () => {
  fake = await FakeDeribit.start(['BTC-PERPETUAL', 'ETH-PERPETUAL', 'SOL-PERPETUAL']);
  project = scratchProject(dirs);
  await installDeribitPlugin(project);
  writeDeribitConfig(project, 'tickwire-adapter-deribit', fake.url, fake.restUrl, ['BTC-PERPETUAL', 'ETH-PERPETUAL']);
  ({ port, out, proc } = await startTickwire(project, children));
}, 90_000);

afterAll(async () => {
  await killChildren(children);
  await fake?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A /v1/stream client subscribed to `channels`, collecting every message. */
async function subscriber(channels: string[]): Promise<{ messages: Message[]; close(): void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`);
  const messages: Message[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString()) as Message));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels }));
  await until(() => messages.some((m) => m.type === 'subscribed'), 10_000, 'subscribed');
  return { messages, close: () => ws.close() };
}

describe('plugins: the Deribit adapter installed as a package', () => {
  it('subscribes each symbol on the fake with the plugin\'s own option defaults', async () => {
    await until(() => fake.channels().length === 4, 30_000, 'subscriptions on the fake');
    expect(fake.channels().sort()).toEqual(['quote.BTC-PERPETUAL', 'quote.ETH-PERPETUAL', 'trades.BTC-PERPETUAL.100ms', 'trades.ETH-PERPETUAL.100ms']);
    expect(out()).toMatch(/exchanges: deribit \(BTC-PERPETUAL, ETH-PERPETUAL\)/);
    expect(out()).toMatch(/deribit: plugin tickwire-adapter-deribit 1\.0\.0 \(\S+node_modules\/tickwire-adapter-deribit\/index\.mjs\)/);
  });

  it('streams the venue\'s trades and closed bars to a subscriber', async () => {
    const sub = await subscriber(['trades:deribit:BTC-PERPETUAL', 'bars:deribit:BTC-PERPETUAL:1s']);
    fake.trading(20);
    try {
      await until(() => sub.messages.some((m) => m.type === 'bar' && m.closed === true && (m.trades as number) > 0), 30_000, 'a closed 1s bar with trades');
      const trades = sub.messages.filter((m) => m.type === 'trade');
      expect(trades.length).toBeGreaterThan(0);
      const sent = new Map(fake.trades.get('BTC-PERPETUAL')!.map((t) => [t.trade_seq, t]));
      for (const t of trades) {
        const original = sent.get(t.tradeId as number)!;
        expect(original, `trade ${String(t.tradeId)} was sent by the fake`).toBeDefined();
        expect(t).toMatchObject({ exchange: 'deribit', symbol: 'BTC-PERPETUAL', price: original.price, size: original.amount, side: original.direction, ts: original.timestamp });
      }
    } finally {
      sub.close();
    }
  });

  it('reports the plugin exchange in /v1/status and /metrics like a built-in one', async () => {
    const status = (await (await fetch(`http://127.0.0.1:${port}/v1/status`)).json()) as { exchanges: Record<string, { state: string; symbols: string[] }> };
    expect(status.exchanges.deribit).toMatchObject({
      state: 'connected',
      symbols: ['BTC-PERPETUAL', 'ETH-PERPETUAL'],
      plugin: { specifier: 'tickwire-adapter-deribit', version: '1.0.0', file: expect.stringMatching(/node_modules\/tickwire-adapter-deribit\/index\.mjs$/) },
    });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/exchange="deribit"/);
  });

  it('recovers the trades missed across a reconnect over the venue\'s REST API', async () => {
    fake.trading(20);
    await until(() => (fake.trades.get('ETH-PERPETUAL')?.length ?? 0) > 5, 10_000, 'trades before the drop');
    fake.drop();
    const status = async () => ((await (await fetch(`http://127.0.0.1:${port}/v1/status`)).json()) as { exchanges: Record<string, { recoveredTrades?: number; reconnects: number }> }).exchanges.deribit!;
    await until(async () => ((await status()).recoveredTrades ?? 0) > 0, 30_000, 'trades recovered over REST');
    expect((await status()).reconnects).toBeGreaterThan(0);
  });

  it('reloads on SIGHUP: a symbol added on the open connection (liveSymbols); a broken plugin newly listed refuses the reload', async () => {
    await until(() => fake.channels().length === 4, 30_000, 'subscribed again after the reconnect');
    const connections = fake.connections;
    writeDeribitConfig(project, 'tickwire-adapter-deribit', fake.url, fake.restUrl, ['BTC-PERPETUAL', 'ETH-PERPETUAL', 'SOL-PERPETUAL']);
    proc.kill('SIGHUP');
    await until(() => fake.channels().includes('trades.SOL-PERPETUAL.100ms'), 30_000, 'SOL-PERPETUAL subscribed');
    expect(fake.connections, 'subscribed live, on the open connection').toBe(connections);
    await until(() => /SIGHUP: 1 change\(s\) applied/.test(out()), 30_000, 'the reload logged');

    writeFileSync(path.join(project, 'broken.mjs'), 'export default { contract: 1, name: "broken" };\n');
    writeDeribitConfig(project, 'tickwire-adapter-deribit, ./broken.mjs', fake.url, fake.restUrl, ['BTC-PERPETUAL', 'ETH-PERPETUAL']);
    proc.kill('SIGHUP');
    await until(() => /"event":"config\.reload_refused"/.test(out()), 30_000, 'the reload refused');
    expect(out()).toMatch(/change refused, nothing changed: .*plugin \.\/broken\.mjs: version: got undefined/);
    expect(fake.channels(), 'nothing changed').toContain('trades.SOL-PERPETUAL.100ms');
  });
});
