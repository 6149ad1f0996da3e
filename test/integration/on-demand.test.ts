/**
 * Symbols on demand end to end (docs/on-demand.md): a venue (the simulated
 * Binance-protocol exchange, which lists SIMA, SIMB, SIMC and its catalogue)
 * whose config names SIMA only, with `onDemand: { maxSymbols: 1, idleS: 1 }`,
 * a real feed worker, the server and WebSocket subscribers. A subscriber
 * asking for SIMB makes tickwire subscribe it upstream and the trades flow;
 * it stays while subscribed, goes 1 s after the last subscriber left (the
 * venue unsubscribed, `system` says why), and comes back when asked again
 * with its channel seq continuing. Refused: a symbol the venue does not list
 * (SYMBOL_NOT_FOUND), one past maxSymbols (ON_DEMAND_LIMIT), and one the
 * token may not read (UNAUTHORIZED, nothing subscribed upstream).
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTickwire, type TickwireRuntime } from '../../src/api/tickwire.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Tickwire } from '../../src/api/types.ts';
import { hashToken } from '../../src/server/auth.ts';
import { createServer, type TickwireServer } from '../../src/server/server.ts';
import { SimulatedExchange } from '../../src/sim/simulated-exchange.ts';
import { asyncApiJson } from '../../src/server/asyncapi.ts';
import { SchemaChecker } from '../support/api-documents.ts';
import { until } from '../support/until.ts';

const READER = 'reader-token-for-on-demand-test-0123456789';
const LIMITED = 'limited-token-for-on-demand-test-0123456789';

let venue: SimulatedExchange | undefined;
let tickwire: Tickwire | undefined;
let server: TickwireServer | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await server?.close();
  await tickwire?.stop();
  await venue?.stop();
  server = undefined;
  tickwire = undefined;
  venue = undefined;
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Msg = any;

interface Client {
  ws: WebSocket;
  messages: Msg[];
  /** Send a request and wait for its answer (subscribed, unsubscribed or error with its id). */
  request(op: 'subscribe' | 'unsubscribe', channels: string[]): Promise<Msg>;
}

let nextId = 1;

async function client(url: string, token = READER): Promise<Client> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  sockets.push(ws);
  const messages: Msg[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    async request(op, channels) {
      const id = nextId++;
      ws.send(JSON.stringify({ op, id, channels }));
      await until(() => messages.some((m) => m.id === id), 20_000, `the answer to ${op} ${channels.join(',')}`);
      return messages.find((m) => m.id === id);
    },
  };
}

/** The config of the tests, with `symbols` configured on the venue at `url`. */
function config(v: SimulatedExchange, symbols: string[]) {
  return {
    timeframes: ['1s', '1m'],
    exchanges: { binance: { url: v.url, restUrl: v.restUrl, symbols, onDemand: { maxSymbols: 1, idleS: 1 } } },
    auth: {
      tokens: [
        { name: 'reader', sha256: hashToken(READER) },
        { name: 'limited', sha256: hashToken(LIMITED), channels: ['trades:binance:SIMA'] },
      ],
    },
  };
}

async function setup() {
  venue = new SimulatedExchange({ symbols: ['SIMA', 'SIMB', 'SIMC'], rate: 50, seed: 21 });
  await venue.start();
  tickwire = createTickwire(config(venue, ['SIMA']), { statusMs: 200, tickMs: 50 });
  await tickwire.start();
  server = createServer(tickwire, { host: '127.0.0.1', port: 0 });
  const { port } = await server.listen();
  const tw = tickwire;
  await until(() => tw.status().exchanges['binance']!.symbolList?.fetchedAt != null, 20_000, 'the venue symbol list');
  return { venue, tw, wsUrl: `ws://127.0.0.1:${port}/v1/stream` };
}

const upstream = (v: SimulatedExchange, stream: string) => v.server.subscriptions().some((s) => s.includes(stream));

describe('symbols on demand', () => {
  it('a listed symbol appears for its subscriber, stays while subscribed, expires when idle and comes back', async () => {
    const { venue, tw, wsUrl } = await setup();
    const system = await client(wsUrl);
    expect((await system.request('subscribe', ['system'])).type).toBe('subscribed');

    const a = await client(wsUrl);
    const ok = await a.request('subscribe', ['trades:binance:SIMB', 'bars:binance:SIMB:1s']);
    expect(ok).toMatchObject({ type: 'subscribed', channels: ['trades:binance:SIMB', 'bars:binance:SIMB:1s'] });
    expect(Object.keys(tw.symbols()['binance']!)).toEqual(['SIMA', 'SIMB']);
    await until(() => upstream(venue, 'simb@trade'), 20_000, 'the upstream subscribe');
    const trades = () => a.messages.filter((m) => m.type === 'trade' && m.symbol === 'SIMB');
    await until(() => trades().length >= 20, 30_000, 'trades of the symbol on demand');
    const seqs = trades().map((m) => m.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i)); // no gap
    await until(() => system.messages.some((m) => m.action === 'symbol_added'), 10_000, 'the system notice');
    expect(system.messages.find((m) => m.action === 'symbol_added')).toMatchObject({ source: 'config', exchange: 'binance', symbol: 'SIMB', cause: 'on_demand' });

    // Held while subscribed: well past idleS plus a sweep, it is still fed.
    const before = trades().length;
    await new Promise((r) => setTimeout(r, 2_500));
    expect(Object.keys(tw.symbols()['binance']!)).toContain('SIMB');
    await until(() => trades().length > before, 20_000, 'trades still flowing');

    // The last subscriber leaves: gone about idleS later, upstream too; its history stays.
    expect((await a.request('unsubscribe', ['trades:binance:SIMB', 'bars:binance:SIMB:1s'])).type).toBe('unsubscribed');
    const lastSeq = trades().at(-1).seq;
    await until(() => system.messages.some((m) => m.action === 'symbol_removed'), 20_000, 'the idle removal');
    expect(system.messages.find((m) => m.action === 'symbol_removed')).toMatchObject({ symbol: 'SIMB', cause: 'idle' });
    const checker = new SchemaChecker(JSON.parse(asyncApiJson()));
    for (const m of system.messages.filter((x) => x.source === 'config')) {
      expect(checker.problems({ $ref: '#/components/schemas/ConfigSystemMessage' }, m)).toEqual([]);
    }
    expect(Object.keys(tw.symbols()['binance']!)).toEqual(['SIMA']);
    await until(() => !upstream(venue, 'simb@trade'), 20_000, 'the upstream unsubscribe');
    expect(tw.bars('binance', 'SIMB', '1s').length).toBeGreaterThan(0);

    // Asked again: fed again, the channel's seq continues where it stopped.
    const b = await client(wsUrl);
    expect(await b.request('subscribe', ['trades:binance:SIMB'])).toMatchObject({ type: 'subscribed' });
    await until(() => b.messages.some((m) => m.type === 'trade'), 30_000, 'trades after coming back');
    expect(b.messages.find((m) => m.type === 'trade').seq).toBeGreaterThan(lastSeq);
  });

  it('refuses a symbol the venue does not list, one past maxSymbols, and one the token may not read', async () => {
    const { venue, tw, wsUrl } = await setup();
    const c = await client(wsUrl);
    expect(await c.request('subscribe', ['trades:binance:NOPE'])).toMatchObject({ type: 'error', code: 'SYMBOL_NOT_FOUND', message: expect.stringContaining('does not list it') });

    const limited = await client(wsUrl, LIMITED);
    expect(await limited.request('subscribe', ['trades:binance:SIMC'])).toMatchObject({ type: 'error', code: 'UNAUTHORIZED', message: expect.stringContaining('limited may not read trades:binance:SIMC') });
    expect(Object.keys(tw.symbols()['binance']!)).toEqual(['SIMA']);

    expect(await c.request('subscribe', ['trades:binance:SIMB'])).toMatchObject({ type: 'subscribed' });
    const full = await c.request('subscribe', ['trades:binance:SIMC']);
    expect(full).toMatchObject({ type: 'error', code: 'ON_DEMAND_LIMIT', message: expect.stringContaining('onDemand.maxSymbols') });
    expect(Object.keys(tw.symbols()['binance']!)).toEqual(['SIMA', 'SIMB']);
    await until(() => upstream(venue, 'simb@trade'), 20_000, 'the upstream subscribe');
    expect(upstream(venue, 'simc@trade')).toBe(false);
    expect(upstream(venue, 'nope@trade')).toBe(false);
  });

  it('a reload leaves symbols on demand alone; a file naming one makes it configured (it no longer idles out)', async () => {
    const { venue, wsUrl } = await setup();
    const tw = tickwire as TickwireRuntime;
    const c = await client(wsUrl);
    expect(await c.request('subscribe', ['trades:binance:SIMB'])).toMatchObject({ type: 'subscribed' });

    // The file is unchanged: SIMB (on demand) is not the file's to remove.
    expect(tw.applyConfig(parseConfig(config(venue, ['SIMA']), 'test'))).toEqual([]);
    expect(Object.keys(tw.symbols()['binance']!)).toEqual(['SIMA', 'SIMB']);

    // The file names it now: configured, nothing re-added, and no longer released when idle.
    expect(tw.applyConfig(parseConfig(config(venue, ['SIMA', 'SIMB']), 'test'))).toEqual([]);
    expect((await c.request('unsubscribe', ['trades:binance:SIMB'])).type).toBe('unsubscribed');
    await new Promise((r) => setTimeout(r, 2_500)); // past idleS and a sweep
    expect(Object.keys(tw.symbols()['binance']!)).toEqual(['SIMA', 'SIMB']);
    // With the slot of maxSymbols free again, another symbol comes on demand.
    expect(await c.request('subscribe', ['trades:binance:SIMC'])).toMatchObject({ type: 'subscribed' });
  });
});
