/** listen/close: ephemeral ports, exclusive binding, and nothing left open after close. */
import { Agent, get as httpGet } from 'node:http';
import { createServer as createNetServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TickwireError } from '../../src/errors.ts';
import { assertNativeUws, createServer, type TickwireServer } from '../../src/server/server.ts';
import { FakeTickwire } from '../support/fake-tickwire.ts';
import { Client, openSocketCount, startServer, waitFor } from './helpers.ts';

const servers: TickwireServer[] = [];
const netServers: Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const s of netServers.splice(0)) await new Promise((res) => s.close(res));
});

function listenNet(port: number): Promise<Server> {
  const s = createNetServer();
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      netServers.push(s);
      resolve(s);
    });
  });
}

describe('server lifecycle', () => {
  it('runs on the native uWS binary', () => {
    expect(() => assertNativeUws()).not.toThrow();
  });

  it('listen on port 0 reports the ephemeral port bound; listen again reports the same', async () => {
    const server = createServer(new FakeTickwire(), { host: '127.0.0.1', port: 0 });
    servers.push(server);
    const a = await server.listen();
    expect(a.host).toBe('127.0.0.1');
    expect(a.port).toBeGreaterThan(0);
    expect(await server.listen()).toEqual(a);
    expect((await fetch(`http://127.0.0.1:${a.port}/health`)).status).toBe(200);
  });

  it('binds exclusively: a port in use fails instead of being shared', async () => {
    const net = await listenNet(0);
    const port = (net.address() as { port: number }).port;
    const server = createServer(new FakeTickwire(), { host: '127.0.0.1', port });
    servers.push(server);
    await expect(server.listen()).rejects.toThrow(/could not listen/);
  });

  it('validates options up front, naming the option', () => {
    const tw = new FakeTickwire();
    expect(() => createServer(tw, { port: 70_000 })).toThrow(TickwireError);
    expect(() => createServer(tw, { port: 70_000 })).toThrow(/port/);
    expect(() => createServer(tw, { maxBackpressure: 10 })).toThrow(/maxBackpressure/);
    expect(() => createServer(tw, { maxPayloadLength: -1 })).toThrow(/maxPayloadLength/);
  });

  it('close() ends WebSockets (1001), unsubscribes from the library and leaves no socket in the process', async () => {
    const baseline = openSocketCount();
    const r = await startServer();
    const a = await Client.connect(r.wsUrl);
    const b = await Client.connect(r.wsUrl);
    await a.subscribe(['trades:binance:BTCUSDT']);
    await (await fetch(`${r.base}/v1/status`)).text(); // leaves an idle keep-alive connection open
    expect(r.tw.listenerCount('trade')).toBe(1);
    expect(r.server.connections).toBe(2);

    await r.server.close();
    expect(r.server.connections).toBe(0);
    expect(r.tw.listenerCount('trade')).toBe(0);
    expect(r.tw.listenerCount('quote')).toBe(0);
    expect(r.tw.listenerCount('bar')).toBe(0);
    expect((await a.closed).code).toBe(1001);
    expect((await b.closed).code).toBe(1001);
    r.tw.trade('binance', 'BTCUSDT'); // nobody listens: harmless
    // The server's sockets are gone at once; the clients' follow as they see the close.
    await waitFor(() => openSocketCount() <= baseline, 5000, `socket count back to ${baseline}`);
  });

  it('after close() the port re-binds at once', async () => {
    const r = await startServer();
    await r.server.close();
    const net = await listenNet(r.port); // the listen socket is closed synchronously
    await new Promise((res) => net.close(res));
    netServers.splice(netServers.indexOf(net), 1);
    const again = createServer(new FakeTickwire(), { host: '127.0.0.1', port: r.port });
    servers.push(again);
    expect((await again.listen()).port).toBe(r.port);
  });

  it('after close() with WebSocket clients connected (and HTTP clients gone first), the port re-binds without waiting out TIME_WAIT', async () => {
    const r = await startServer();
    const a = await Client.connect(r.wsUrl);
    const b = await Client.connect(r.wsUrl);
    await a.subscribe(['trades:binance:BTCUSDT']);
    const agent = new Agent({ keepAlive: true });
    const status = await new Promise<number>((resolve, reject) => {
      httpGet(`${r.base}/health`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject);
    });
    expect(status).toBe(200);
    agent.destroy();

    await r.server.close();
    expect((await a.closed).code).toBe(1001);
    expect((await b.closed).code).toBe(1001);
    // The ended WebSockets linger in FIN-WAIT for a round trip (this uWS build binds without
    // SO_REUSEADDR, so they hold the port until then), never in TIME_WAIT.
    const again = createServer(new FakeTickwire(), { host: '127.0.0.1', port: r.port });
    servers.push(again);
    const deadline = Date.now() + 2000;
    for (;;) {
      try {
        expect((await again.listen()).port).toBe(r.port);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((res) => setTimeout(res, 20));
      }
    }
  });

  it('close() with a /metrics answer still pending aborts it cleanly', async () => {
    const r = await startServer();
    let release!: (text: string) => void;
    r.tw.metrics = () => new Promise<string>((res) => (release = res));
    const pending = fetch(`${r.base}/metrics`).then(
      (res) => res.status,
      (err: unknown) => err,
    );
    await waitFor(() => release !== undefined, 3000, 'the /metrics request');
    await r.server.close();
    release('late_metric 1\n'); // the response was aborted: must not be written
    expect(await pending).toBeInstanceOf(Error);
    await new Promise((res) => setTimeout(res, 20));
  });

  it('close() is idempotent, works without listen, and listen after close is refused', async () => {
    const never = createServer(new FakeTickwire());
    await never.close();
    const r = await startServer();
    await r.server.close();
    await r.server.close();
    await expect(r.server.listen()).rejects.toThrow(/closed/);
  });
});
