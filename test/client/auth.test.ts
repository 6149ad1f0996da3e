/** The SDK against a server with API tokens: the token travels (header under Node, subprotocol in the browser path) and refusals come back as codes. */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CandlesUnavailableError, TickwireClient, type TickwireClientOptions } from '../../src/client/index.ts';
import { defaultAuthConfig } from '../../src/config/defaults.ts';
import { ErrorCode, TickwireError } from '../../src/errors.ts';
import { until } from '../support/until.ts';
import { startServer, type Running } from '../server/helpers.ts';
import { Recorder } from './support.ts';

const FULL = 'tw_full_0123456789';
const BINANCE_ONLY = 'tw_binance_only.42';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let r: Running;
let clients: TickwireClient[];

beforeEach(async () => {
  clients = [];
  r = await startServer({
    auth: {
      ...defaultAuthConfig(),
      tokens: [
        { name: 'full', sha256: sha256(FULL), channels: ['*'] },
        { name: 'binance', sha256: sha256(BINANCE_ONLY), channels: ['trades:binance:*'] },
      ],
    },
  });
});

afterEach(async () => {
  for (const c of clients) await c.close();
  await r.server.close();
});

function client(options: Partial<TickwireClientOptions>): TickwireClient {
  const c = new TickwireClient({ url: r.base, reconnect: { initialMs: 20, maxMs: 100 }, candles: { timeoutMs: 2000 }, ...options });
  clients.push(c);
  return c;
}

describe('tokens through the SDK', () => {
  it('with a good token (Authorization header under Node): streams and reads candles', async () => {
    const c = client({ token: FULL });
    const rec = new Recorder();
    c.subscribe('trades:kraken:XBT/USD', rec.handlers());
    await until(() => rec.count('subscribed') === 1, 5000, 'subscribed');
    r.tw.trade('kraken', 'XBT/USD');
    await until(() => rec.count('trade') === 1, 5000, 'a trade');
    r.tw.seed('binance', 'BTCUSDT', '1m', 2, Date.UTC(2024, 0, 1));
    expect((await c.candles('binance', 'BTCUSDT', '1m')).count).toBe(3);
  });

  it('the browser path offers the token as a subprotocol next to tickwire.json', async () => {
    const offered: (string | string[] | undefined)[] = [];
    class Recording extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        offered.push(protocols);
      }
    }
    const c = client({ token: BINANCE_ONLY, WebSocket: Recording as never });
    const rec = new Recorder();
    c.subscribe('trades:binance:*', rec.handlers());
    await until(() => rec.count('subscribed') === 1, 5000, 'subscribed');
    expect(offered).toEqual([['tickwire.json', `bearer.${BINANCE_ONLY}`]]);
    expect(rec.of('subscribed')[0].channels).toEqual(['trades:binance:BTCUSDT', 'trades:binance:ETHUSDT']);
  });

  it('a channel the token may not read ends that subscription with UNAUTHORIZED; the connection stays', async () => {
    const c = client({ token: BINANCE_ONLY });
    const denied = new Recorder();
    const allowed = new Recorder();
    c.subscribe('bars:binance:BTCUSDT:1m', denied.handlers());
    c.subscribe('trades:binance:BTCUSDT', allowed.handlers());
    await until(() => denied.count('error') === 1 && allowed.count('subscribed') === 1, 5000, 'both answers');
    expect(denied.of('error')[0]).toBeInstanceOf(TickwireError);
    expect(denied.of('error')[0].code).toBe(ErrorCode.UNAUTHORIZED);
    r.tw.trade('binance', 'BTCUSDT');
    await until(() => allowed.count('trade') === 1, 5000, 'a trade');
  });

  it('a wrong token: the refused upgrade is reported as UNAUTHORIZED and retried with backoff; HTTP answers the code', async () => {
    const c = client({ token: 'tw_wrong' });
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    const reconnecting: number[] = [];
    c.on('state', (s) => {
      if (s.state === 'reconnecting') reconnecting.push(s.attempt!);
    });
    c.subscribe('trades:binance:BTCUSDT', {});
    await until(() => errors.length >= 2, 5000, 'two refused attempts');
    expect(errors.every((e) => e instanceof TickwireError && e.code === ErrorCode.UNAUTHORIZED)).toBe(true);
    expect(reconnecting.slice(0, 2)).toEqual([1, 2]);
    expect(c.state).not.toBe('open');

    const err = (await c.candles('binance', 'BTCUSDT', '1m').catch((e: unknown) => e)) as CandlesUnavailableError;
    expect(err).toBeInstanceOf(CandlesUnavailableError);
    expect(err.code).toBe(ErrorCode.UNAUTHORIZED);
    expect(err.failures).toEqual([expect.objectContaining({ source: 'http', kind: 'error', code: ErrorCode.UNAUTHORIZED })]);
  });
});
