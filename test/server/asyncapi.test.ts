/**
 * The AsyncAPI document (`/asyncapi.json`) against real `/v1/stream`
 * traffic: a JSON connection made to receive every kind of server message
 * (market data, snapshot, gap, replies, error, every `system` kind, an
 * alert, a channel closed by a live removal); each message must validate against the documented payload of its
 * kind, every documented kind must be seen, and the client ops sent must
 * validate against the documented requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TickwireEvents } from '../../src/api/types.ts';
import type { StorageStatus } from '../../src/model/status.ts';
import { CLIENT_MESSAGES, SERVER_MESSAGES } from '../../src/server/asyncapi.ts';
import { makeBar } from '../support/fake-tickwire.ts';
import { danglingRefs, SchemaChecker, unusedSchemas, type Doc } from '../support/api-documents.ts';
import { until } from '../support/until.ts';
import { Client, LiveFakeTickwire, startServer, type Msg, type Running } from './helpers.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);
const TRADES = 'trades:binance:BTCUSDT';
const QUOTES = 'quotes:binance:BTCUSDT';
const BARS = 'bars:binance:BTCUSDT:1m';

/** A fake that also reports storage state changes (the runtime's `storage` event). */
class StorageFake extends LiveFakeTickwire {
  readonly storageHandlers = new Set<(s: StorageStatus) => void>();

  override on<K extends keyof TickwireEvents>(event: K, handler: (payload: TickwireEvents[K]) => void): () => void {
    if (event !== 'storage') return super.on(event, handler);
    const h = handler as (s: StorageStatus) => void;
    this.storageHandlers.add(h);
    return () => void this.storageHandlers.delete(h);
  }
}

const degraded: StorageStatus = {
  path: '/var/lib/tickwire', state: 'degraded', reason: 'ENOSPC: no space left on device', errno: 'ENOSPC', degradedSince: T0,
  unflushedBars: 12, corrupt: null, verifyMs: 3, restoredBars: 0, backfilledBars: 0, writtenBars: 40, flushFailures: 1, problems: [],
};

let r: Running;
let tw: StorageFake;
let doc: Doc;
let checker: SchemaChecker;
/** Every message the server sent on the test's connections, parsed. */
const received: Msg[] = [];
/** Every op the test sent. */
const sent: Record<string, unknown>[] = [];
const clients: Client[] = [];

async function connect(): Promise<Client> {
  const c = await Client.connect(r.wsUrl);
  c.ws.on('message', (data: Buffer) => received.push(JSON.parse(data.toString())));
  clients.push(c);
  return c;
}

function send(c: Client, op: Record<string, unknown>): void {
  sent.push(op);
  c.send(op);
}

/** The documented message key of a server message. */
function kindOf(m: Msg): string {
  if (m.type === 'system') {
    const kinds: Record<string, string> = { storage: 'systemStorage', config: 'systemConfig', cluster: 'systemCluster' };
    return kinds[m.source as string] ?? 'systemExchange';
  }
  return m.type;
}

beforeAll(async () => {
  tw = new StorageFake();
  r = await startServer({ resumeHistory: 10 }, tw);
  tw.seed('binance', 'BTCUSDT', '1m', 4, T0, 100);
  doc = await (await fetch(r.base + '/asyncapi.json')).json();
  checker = new SchemaChecker(doc);

  // Market data with a snapshot, rooms, then one of each live message.
  const a = await connect();
  send(a, { op: 'subscribe', id: 1, channels: [TRADES, QUOTES, BARS, 'trades:binance:ETHUSDT'], snapshot: 5 });
  send(a, { op: 'subscribe', id: 'rooms', channels: ['system', 'alerts'] });
  await until(() => received.filter((m) => m.type === 'subscribed').length === 2, 10_000, 'two subscribed replies');
  tw.trade('binance', 'BTCUSDT', { price: 101.5, size: 0.25, side: 'sell' });
  tw.quote('binance', 'BTCUSDT', { bidPrice: 101.4, bidSize: 2, askPrice: 101.6, askSize: 1 });
  tw.bar('binance', 'BTCUSDT', '1m', makeBar(T0 + 4 * MIN, MIN, 104, false));
  tw.bar('binance', 'BTCUSDT', '1m', makeBar(T0 + 4 * MIN, MIN, 104, true, { gapped: true }));
  tw.emitStatus('kraken', { state: 'reconnecting', reconnects: 1, lastError: 'getaddrinfo ENOTFOUND ws.kraken.com' });
  for (const h of tw.storageHandlers) h(degraded);
  tw.events.emit('leadership', { exchange: 'binance', state: 'leader', node: 'feed@host-b:4242:0a1b2c', term: 7, reason: 'term 7', ts: T0 });
  r.server.publishAlert({ level: 'warning', source: 'spread-watch', message: 'BTCUSDT spread above 5 bp' });
  send(a, { op: 'ping', id: 7 });
  send(a, { op: 'subscribe', id: 8, channels: ['trades:nope:BTCUSDT'] });
  send(a, { op: 'unsubscribe', id: 9, channels: [QUOTES] });
  await until(() => received.some((m) => m.type === 'unsubscribed'), 10_000, 'the unsubscribe reply');
  // A live removal: the `system` notice and the removed symbol's channel closed.
  tw.removeSymbol('binance', 'ETHUSDT');
  await until(() => received.some((m) => m.type === 'closed'), 10_000, 'the closed channel');

  // A resume from further back than the history keeps: a gap.
  const epoch = received.find((m) => m.type === 'subscribed').epoch;
  for (let i = 0; i < 20; i++) tw.trade('binance', 'BTCUSDT');
  await until(() => received.filter((m) => m.type === 'trade').length === 21, 10_000, 'the trades');
  const b = await connect();
  send(b, { op: 'subscribe', id: 10, channels: [TRADES], since: { [TRADES]: 1 }, epoch });
  await until(() => received.some((m) => m.type === 'gap'), 10_000, 'a gap');
});

afterAll(async () => {
  for (const c of clients) c.ws.close();
  await r?.server.close();
});

describe('AsyncAPI document of /v1/stream', () => {
  it('is AsyncAPI 3.0 with a server, the stream channel, every $ref resolving and every schema used', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect(Object.keys(doc.servers).length).toBeGreaterThan(0);
    expect(doc.channels.stream.address).toBe('/v1/stream');
    expect(danglingRefs(doc)).toEqual([]);
    expect(unusedSchemas(doc)).toEqual([]);
    expect(doc.operations.receive.messages).toHaveLength(Object.keys(SERVER_MESSAGES).length);
    expect(doc.operations.send.messages).toHaveLength(Object.keys(CLIENT_MESSAGES).length);
  });

  it('describes every message the server sent, and the server sent every kind it describes', () => {
    const problems: string[] = [];
    const kinds = new Set<string>();
    for (const m of received) {
      const kind = kindOf(m);
      kinds.add(kind);
      const message = doc.components.messages[kind];
      if (message === undefined) {
        problems.push(`undocumented message kind ${kind}: ${JSON.stringify(m)}`);
        continue;
      }
      for (const p of checker.problems(message.payload, m)) problems.push(`${kind} ${JSON.stringify(m).slice(0, 120)}: ${p}`);
    }
    expect(problems).toEqual([]);
    expect([...kinds].sort()).toEqual(Object.keys(SERVER_MESSAGES).sort());
  });

  it('a bar carries its optional fields as documented (gapped), and a system message per exchange arrives on subscribe', () => {
    expect(received.find((m) => m.type === 'bar' && m.closed)).toMatchObject({ gapped: true, closed: true });
    const exchanges = received.filter((m) => m.type === 'system' && m.source === undefined).map((m) => m.exchange);
    expect(new Set(exchanges)).toEqual(new Set(['binance', 'kraken', 'bybit']));
  });

  it('accepts, as documented, every op the client sent', () => {
    const problems: string[] = [];
    for (const op of sent) {
      const message = doc.components.messages[op['op'] as string];
      if (message === undefined) problems.push(`undocumented op ${JSON.stringify(op)}`);
      else for (const p of checker.problems(message.payload, op)) problems.push(`${JSON.stringify(op)}: ${p}`);
    }
    expect(problems).toEqual([]);
    expect(new Set(sent.map((o) => o['op']))).toEqual(new Set(Object.keys(CLIENT_MESSAGES)));
  });
});
