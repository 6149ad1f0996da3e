/**
 * Rooms: `system` (exchange connection states, pushed on change, the current
 * ones on subscribe) and `alerts` (raised through `publishAlert`), joined
 * like any channel, with seqs and resume.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Client, LiveFakeTickwire, startServer, type Msg, type Running } from './helpers.ts';

let r: Running;
let tw: LiveFakeTickwire;
let clients: Client[] = [];

beforeEach(async () => {
  tw = new LiveFakeTickwire();
  r = await startServer({}, tw);
});

afterEach(async () => {
  for (const c of clients) c.ws.terminate();
  clients = [];
  await r.server.close();
});

async function connect(): Promise<Client> {
  const c = await Client.connect(r.wsUrl);
  clients.push(c);
  return c;
}

describe('system', () => {
  it('a subscriber gets every exchange\'s current state at the channel seq, then each change', async () => {
    const before = Date.now();
    tw.notRunning.add('bybit');
    tw.emitStatus('bybit'); // stopped: a change from the state the server started with
    const c = await connect();
    const ack = await c.subscribe(['system']);
    expect(ack).toEqual({ type: 'subscribed', id: 1, channels: ['system'], epoch: r.server.epoch });
    const states = await c.take(3);
    expect(states.map((m: Msg) => [m.exchange, m.state, m.seq])).toEqual([
      ['binance', 'connected', 1],
      ['kraken', 'connected', 1],
      ['bybit', 'stopped', 1],
    ]);
    expect(states[0]).toEqual({
      type: 'system', channel: 'system', seq: 1, exchange: 'binance', state: 'connected', reconnects: 0, restarts: 0, lastError: null,
      ts: expect.any(Number),
    });
    expect(states[2].ts).toBeGreaterThanOrEqual(before);

    tw.emitStatus('kraken', { state: 'reconnecting', reconnects: 1, lastError: 'connection reset' });
    tw.emitStatus('kraken', { state: 'reconnecting', reconnects: 1, lastError: 'connection reset' }); // no change: nothing
    tw.emitStatus('binance'); // no change
    tw.emitStatus('kraken', { state: 'connected', reconnects: 1, lastError: 'connection reset' });
    tw.emitStatus('kraken', { state: 'connected', reconnects: 1, restarts: 1, lastError: 'worker crashed' });
    const live = await c.sync();
    expect(live.map((m: Msg) => [m.seq, m.exchange, m.state, m.reconnects, m.restarts, m.lastError])).toEqual([
      [2, 'kraken', 'reconnecting', 1, 0, 'connection reset'],
      [3, 'kraken', 'connected', 1, 0, 'connection reset'],
      [4, 'kraken', 'connected', 1, 1, 'worker crashed'],
    ]);
  });

  it('a later subscriber sees the latest states; a resume replays the changes it missed instead', async () => {
    const a = await connect();
    await a.subscribe(['system']);
    await a.take(3);
    a.ws.terminate();
    tw.emitStatus('binance', { state: 'reconnecting', reconnects: 1 });
    tw.emitStatus('binance', { state: 'connected', reconnects: 1 });
    const fresh = await connect();
    await fresh.subscribe(['system']);
    const states = await fresh.take(3);
    expect(states.map((m: Msg) => [m.exchange, m.state, m.reconnects, m.seq])).toEqual([
      ['binance', 'connected', 1, 2],
      ['kraken', 'connected', 0, 2],
      ['bybit', 'connected', 0, 2],
    ]);
    const resumed = await connect();
    await resumed.subscribe(['system'], undefined, { since: { system: 0 } });
    expect((await resumed.sync()).map((m: Msg) => [m.seq, m.exchange, m.state])).toEqual([
      [1, 'binance', 'reconnecting'],
      [2, 'binance', 'connected'],
    ]);
  });
});

describe('alerts', () => {
  it('publishAlert reaches subscribers with a seq; ids are generated when not given', async () => {
    const c = await connect();
    await c.subscribe(['alerts']);
    const before = Date.now();
    const a1 = r.server.publishAlert({ level: 'warning', source: 'rule:spread', message: 'spread above 5 bps on binance BTCUSDT' });
    const a2 = r.server.publishAlert({ id: 'my-id-7', level: 'critical', source: 'ops', message: 'kraken down' });
    const [m1, m2] = await c.take(2);
    expect(m1).toEqual({
      type: 'alert', channel: 'alerts', seq: 1, id: a1.id, level: 'warning', source: 'rule:spread',
      message: 'spread above 5 bps on binance BTCUSDT', ts: a1.ts,
    });
    expect(a1.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a1.ts).toBeGreaterThanOrEqual(before);
    expect(m2).toMatchObject({ seq: 2, id: 'my-id-7', level: 'critical', source: 'ops', message: 'kraken down' });
    expect(a2.seq).toBe(2);
  });

  it('alerts raised with nobody subscribed still advance the seq (a resume learns they happened)', async () => {
    r.server.publishAlert({ level: 'info', source: 's', message: 'one' });
    r.server.publishAlert({ level: 'info', source: 's', message: 'two' });
    const c = await connect();
    await c.subscribe(['alerts'], undefined, { since: { alerts: 0 } });
    expect(await c.next()).toEqual({ type: 'gap', channel: 'alerts', fromSeq: 1, toSeq: 2, reason: 'history' });
    r.server.publishAlert({ level: 'info', source: 's', message: 'three' });
    expect(await c.next()).toMatchObject({ seq: 3, message: 'three' });
  });

  it.each([
    ['a bad level', { level: 'fatal', source: 's', message: 'm' }, /level/],
    ['an empty source', { level: 'info', source: '', message: 'm' }, /source/],
    ['a missing message', { level: 'info', source: 's' }, /message/],
    ['a too long message', { level: 'info', source: 's', message: 'x'.repeat(1001) }, /message/],
    ['an id that is not a string', { id: 5, level: 'info', source: 's', message: 'm' }, /id/],
    ['an unknown key', { level: 'info', source: 's', message: 'm', extra: 1 }, /extra/],
    ['not an object', 'alert!', /alert/],
  ])('%s is refused with INVALID_PARAMETER and publishes nothing', async (_name, input, message) => {
    const c = await connect();
    await c.subscribe(['alerts']);
    expect(() => r.server.publishAlert(input as never)).toThrow(message);
    try {
      r.server.publishAlert(input as never);
    } catch (err) {
      expect((err as { code: string }).code).toBe('INVALID_PARAMETER');
    }
    expect(await c.sync()).toEqual([]);
  });
});
