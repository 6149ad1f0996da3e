/** The `stream:` section: defaults, values, rejections naming the key path, and createServer overrides on top of it. */
import { describe, expect, it } from 'vitest';
import { defaultStreamConfig } from '../../src/config/defaults.ts';
import { ConfigError, loadConfigText, parseConfig } from '../../src/config/load.ts';
import { parseStreamOptions } from '../../src/config/stream.ts';
import { createServer } from '../../src/server/server.ts';
import { FakeTickwire, fakeConfig } from '../support/fake-tickwire.ts';

const withStream = (stream: unknown) => ({ exchanges: { simulated: { symbols: ['SIM-BTC'] } }, stream });

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('INVALID_CONFIG');
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('no ConfigError');
}

describe('stream config', () => {
  it('defaults when absent or empty', () => {
    const expected = {
      maxBackpressure: 4 * 1024 * 1024, slowConsumer: 'gap', resumeHistory: 1024, resumeLingerS: 60,
      maxChannelsPerConnection: 1000, maxMessageBytes: 65536, subscribeRate: { rate: 10, burst: 20 }, idleTimeoutS: 120,
      snapshotBytesRate: 8 * 1024 * 1024,
    };
    expect(defaultStreamConfig()).toEqual(expected);
    expect(parseConfig(withStream(undefined)).stream).toEqual(expected);
    expect(parseConfig(withStream({})).stream).toEqual(expected);
    expect(parseConfig(withStream(null)).stream).toEqual(expected);
  });

  it('takes every key; subscribeRate as a number gets a burst of twice that', () => {
    const yaml = `
exchanges: { simulated: { symbols: [SIM-BTC] } }
stream:
  maxBackpressure: 1048576
  slowConsumer: disconnect
  resumeHistory: 50
  resumeLingerS: 0.5
  maxChannelsPerConnection: 12
  maxMessageBytes: 4096
  subscribeRate: 3
  idleTimeoutS: 0
  snapshotBytesRate: 1048576
`;
    expect(loadConfigText(yaml, 't.yaml').stream).toEqual({
      maxBackpressure: 1048576, slowConsumer: 'disconnect', resumeHistory: 50, resumeLingerS: 0.5, maxChannelsPerConnection: 12,
      maxMessageBytes: 4096, subscribeRate: { rate: 3, burst: 6 }, idleTimeoutS: 0, snapshotBytesRate: 1048576,
    });
    expect(parseConfig(withStream({ subscribeRate: { rate: 5, burst: 50 } })).stream.subscribeRate).toEqual({ rate: 5, burst: 50 });
    expect(parseConfig(withStream({ subscribeRate: { rate: 5 } })).stream.subscribeRate).toEqual({ rate: 5, burst: 10 });
    expect(parseConfig(withStream({ subscribeRate: { burst: 4 } })).stream.subscribeRate).toEqual({ rate: 10, burst: 4 });
  });

  it('numbers may come from the environment', () => {
    const yaml = 'exchanges: { simulated: { symbols: [SIM-BTC] } }\nstream:\n  maxBackpressure: ${BP}\n  idleTimeoutS: ${IDLE}\n';
    expect(loadConfigText(yaml, 't.yaml', { BP: '262144', IDLE: '60' }).stream).toMatchObject({ maxBackpressure: 262144, idleTimeoutS: 60 });
  });

  it('rejects bad values naming each key path, all at once', () => {
    const got = issues(() =>
      parseConfig(withStream({
        maxBackpressure: 1000, slowConsumer: 'drop', resumeHistory: 0, resumeLingerS: -1, maxChannelsPerConnection: 1.5,
        maxMessageBytes: 100, subscribeRate: { rate: 0, burst: 0.5, extra: 1 }, idleTimeoutS: 5, snapshotBytesRate: 1000, bogus: true,
      })),
    );
    const paths = got.map((g) => g.split(':')[0]);
    expect(paths).toEqual([
      'stream.bogus', 'stream.slowConsumer', 'stream.maxBackpressure', 'stream.resumeHistory', 'stream.resumeLingerS',
      'stream.maxChannelsPerConnection', 'stream.maxMessageBytes', 'stream.subscribeRate.extra', 'stream.subscribeRate.rate',
      'stream.subscribeRate.burst', 'stream.idleTimeoutS', 'stream.snapshotBytesRate',
    ]);
    expect(got.find((g) => g.startsWith('stream.snapshotBytesRate'))).toMatch(/got 1000, expected an integer number of bytes per second from 65536/);
    expect(got.find((g) => g.startsWith('stream.idleTimeoutS'))).toMatch(/got 5, expected 0 \(off\) or a whole number of seconds from 8 to 960/);
    expect(got.find((g) => g.startsWith('stream.slowConsumer'))).toMatch(/"drop".*gap.*disconnect/);
    expect(issues(() => parseConfig(withStream([1])))[0]).toMatch(/^stream: got a list, expected a map/);
    expect(issues(() => parseConfig(withStream({ idleTimeoutS: 961 })))[0]).toMatch(/^stream.idleTimeoutS/);
  });
});

describe('createServer stream options', () => {
  it('override the config key by key and are validated with the same rules', () => {
    const base = { ...defaultStreamConfig(), resumeHistory: 7 };
    expect(parseStreamOptions({ slowConsumer: 'disconnect', idleTimeoutS: 16 }, base)).toEqual({ ...base, slowConsumer: 'disconnect', idleTimeoutS: 16 });
    expect(() => parseStreamOptions({ idleTimeoutS: 3 }, base)).toThrow(/createServer options: idleTimeoutS: got 3/);
    expect(() => parseStreamOptions({ nope: 1 }, base)).toThrow(/nope: unknown key/);
  });

  it('createServer refuses bad stream options before binding anything', () => {
    const tw = new FakeTickwire();
    expect(() => createServer(tw, { host: '127.0.0.1', port: 0, idleTimeoutS: 2 })).toThrow(/idleTimeoutS/);
    expect(() => createServer(tw, { host: '127.0.0.1', port: 0, resumeHistory: -4 })).toThrow(/resumeHistory/);
    expect(() => createServer(tw, { host: '127.0.0.1', port: 0, slowConsumer: 'nope' as never })).toThrow(/slowConsumer/);
    expect(() => createServer(tw, { host: '127.0.0.1', port: 0, maxPayloadLength: 64 * 1024 * 1024 })).toThrow(/maxMessageBytes/);
  });

  it('a server takes the config\'s stream section when no option overrides it', async () => {
    const cfg = fakeConfig();
    cfg.stream.maxChannelsPerConnection = 1;
    const server = createServer(new FakeTickwire(cfg), { host: '127.0.0.1', port: 0 });
    const { port } = await server.listen();
    try {
      const { Client } = await import('../server/helpers.ts');
      const c = await Client.connect(`ws://127.0.0.1:${port}/v1/stream`);
      expect(await c.subscribe(['trades:binance:BTCUSDT'])).toMatchObject({ type: 'subscribed' });
      expect(await c.subscribe(['trades:binance:ETHUSDT'])).toMatchObject({ type: 'error', code: 'INVALID_PARAMETER' });
      c.ws.terminate();
    } finally {
      await server.close();
    }
  });
});
