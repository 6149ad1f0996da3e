/**
 * Connections (issue 18, items 5 and 6) over the real server on loopback: a
 * client pipelining requests it never reads is closed with the server's
 * memory bounded; `maxConnections` and `maxConnectionsPerAddress` refuse
 * upgrades with 503 TOO_MANY_CONNECTIONS, counted, while the connections
 * already open keep working; a protected server closes the keep-alive socket
 * of a client without credentials after its answer. Plus the caps' defaults
 * from the open-files limit.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError } from '../../src/config/error.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { AuthConfig } from '../../src/config/types.ts';
import { hashToken } from '../../src/server/auth.ts';
import { ConnectionLimits, connectionCaps, describeCaps, parseFdLimit } from '../../src/server/connection-limits.ts';
import { attemptUpgrade, Client, startServer, waitFor, type Running, type UpgradeOutcome } from './helpers.ts';

const TOKEN = 'tw_conn-0123456789abcdefghijklmnopqrstuvwxyzABCDEF';
const AUTH: AuthConfig = {
  tokens: [{ name: 'ops', sha256: hashToken(TOKEN), channels: ['*'] }],
  jwt: undefined,
  allowOpen: false,
  httpRate: null,
};

const running: Running[] = [];
async function start(options: Parameters<typeof startServer>[0] = {}): Promise<Running> {
  const r = await startServer(options);
  running.push(r);
  return r;
}
const opened: WebSocket[] = [];
afterEach(async () => {
  for (const ws of opened.splice(0)) ws.terminate();
  for (const r of running.splice(0)) await r.server.close();
});

/** Try an upgrade; an open socket is terminated after the test. */
async function upgrade(url: string): Promise<UpgradeOutcome> {
  const o = await attemptUpgrade(url);
  if (o.open) opened.push(o.ws);
  return o;
}

async function metric(r: Running, line: string): Promise<number> {
  const text = await (await fetch(r.base + '/metrics')).text();
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found === undefined ? 0 : Number(found.split(' ').pop());
}

/** A raw HTTP/1.1 connection: what the server sent, and whether it closed the socket. */
class RawHttp {
  readonly socket: Socket;
  text = '';
  ended = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (this.text += d));
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => (this.ended = true));
    socket.on('error', () => (this.ended = true));
  }

  static open(port: number): Promise<RawHttp> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawHttp(s)));
      s.once('error', reject);
    });
  }

  get(path: string, headers = ''): void {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`);
  }

  /** Answers received so far (status lines). */
  get answers(): number {
    return this.text.split('HTTP/1.1 ').length - 1;
  }
}

describe('pipelined requests the client never reads', () => {
  it('the socket is closed after a few hundred answers and the server holds a bounded amount of memory', async () => {
    const r = await start();
    const REQUESTS = 20_000; // × 33 KB of /openapi.json: 660 MB if every answer were buffered (the code before tryEnd: +200 MB RSS for 11 KB answers)
    const rssBefore = process.memoryUsage().rss;
    const s = await new Promise<Socket>((resolve) => {
      const sock = connect(r.port, '127.0.0.1', () => resolve(sock));
    });
    s.pause(); // never read while sending
    let clientClosed = false;
    s.on('close', () => (clientClosed = true));
    s.on('error', () => (clientClosed = true));
    const request = 'GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    let sent = 0;
    const deadline = Date.now() + 5000;
    // Write until everything is sent, or the server stops reading (closed): the kernel buffers fill.
    while (sent < REQUESTS && Date.now() < deadline && !clientClosed) {
      if (!s.write(request.repeat(100))) await new Promise((res) => setTimeout(res, 20));
      sent += 100;
    }
    await new Promise((res) => setTimeout(res, 500));
    const growthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    // Now read what the server sent: far fewer answers than requests, then the server's close.
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (text += d));
    s.resume();
    await waitFor(() => clientClosed || s.readableEnded, 5000, 'the server to close the pipelining socket');
    const answers = text.split('HTTP/1.1 200').length - 1;
    s.destroy();
    expect(answers).toBeGreaterThan(0);
    expect(answers).toBeLessThan(2000);
    expect(growthMb).toBeLessThan(64);
    expect(await metric(r, 'tickwire_http_unsent_responses_total')).toBeGreaterThanOrEqual(1);
    // The server is fine: another client is answered.
    expect((await fetch(r.base + '/health')).status).toBe(200);
  });

  it('a client that reads late still gets a whole answer', async () => {
    const r = await start();
    const c = await RawHttp.open(r.port);
    c.socket.pause();
    c.get('/openapi.json');
    await new Promise((res) => setTimeout(res, 200));
    c.socket.resume();
    c.get('/openapi.json');
    await waitFor(() => c.answers === 2 && c.text.endsWith('}'), 3000, 'both answers');
    expect(c.ended).toBe(false);
    c.socket.destroy();
  });
});

describe('connection caps', () => {
  it('maxConnections: the next upgrade gets 503 TOO_MANY_CONNECTIONS, counted; open clients keep working; a slot freed is reused', async () => {
    const r = await start({ maxConnections: 3 });
    const clients = await Promise.all([0, 1, 2].map(() => Client.connect(r.wsUrl)));
    const refused = await upgrade(r.wsUrl);
    expect(refused.open).toBe(false);
    if (refused.open) return;
    expect(refused.status).toBe(503);
    expect(refused.headers['connection']).toBe('close');
    expect(refused.body).toEqual({ error: { code: 'TOO_MANY_CONNECTIONS', message: expect.stringContaining('server.maxConnections') } });
    for (const c of clients) expect((await c.request({ op: 'ping' })).type).toBe('pong');
    // HTTP is still answered at the cap, on a connection that closes after it.
    const health = await fetch(r.base + '/health');
    expect(health.status).toBe(200);
    expect(health.headers.get('connection')).toBe('close');
    expect(await metric(r, 'tickwire_connections_refused_total{reason="max_connections"}')).toBe(1);
    expect(await metric(r, 'tickwire_connections')).toBe(3);
    expect(await metric(r, 'tickwire_connections_max')).toBe(3);
    clients[0]!.ws.close();
    await clients[0]!.closed;
    await waitFor(() => r.server.connections === 2, 3000, 'the close to be counted');
    expect((await upgrade(r.wsUrl)).open).toBe(true);
    for (const c of clients.slice(1)) c.ws.close();
  });

  it('maxConnectionsPerAddress, set: applies to loopback too, counted by reason', async () => {
    const r = await start({ maxConnectionsPerAddress: 2 });
    expect((await upgrade(r.wsUrl)).open).toBe(true);
    expect((await upgrade(r.wsUrl)).open).toBe(true);
    const third = await upgrade(r.wsUrl);
    expect(third.open).toBe(false);
    if (third.open) return;
    expect(third.status).toBe(503);
    expect(third.body.error.code).toBe('TOO_MANY_CONNECTIONS');
    expect(third.body.error.message).toContain('server.maxConnectionsPerAddress');
    expect(await metric(r, 'tickwire_connections_refused_total{reason="max_per_address"}')).toBe(1);
  });

  it('the default per-address cap leaves loopback alone and holds other addresses to a quarter of maxConnections', async () => {
    const r = await start({ maxConnections: 8 });
    for (let i = 0; i < 3; i++) expect((await upgrade(r.wsUrl)).open).toBe(true);
    expect(r.server.caps.maxConnectionsPerAddress).toBe(2);
    const limits = new ConnectionLimits(connectionCaps({ maxConnections: 8 }, undefined));
    limits.opened('10.0.0.7');
    limits.opened('10.0.0.7');
    limits.opened('127.0.0.1');
    limits.opened('127.0.0.1');
    expect(limits.refusal('10.0.0.7')).toBe('max_per_address');
    expect(limits.refusal('10.0.0.8')).toBe(null);
    expect(limits.refusal('127.0.0.1')).toBe(null);
    limits.closed('10.0.0.7');
    expect(limits.refusal('10.0.0.7')).toBe(null);
    expect(limits.open).toBe(3);
  });

  it('says whether any refusal is possible, so an HTTP answer can skip reading its address', () => {
    const limits = new ConnectionLimits(connectionCaps({ maxConnections: 4, maxConnectionsPerAddress: 2 }, undefined));
    expect(limits.mayRefuse()).toBe(false);
    limits.opened('10.0.0.7');
    expect(limits.mayRefuse()).toBe(false);
    limits.opened('10.0.0.7'); // that address is at its cap
    expect(limits.mayRefuse()).toBe(true);
    expect(limits.refusal('10.0.0.7')).toBe('max_per_address');
    limits.closed('10.0.0.7');
    expect(limits.mayRefuse()).toBe(false);
    limits.closed('10.0.0.7');
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) limits.opened(a); // the total cap
    expect(limits.mayRefuse()).toBe(true);
    expect(limits.refusal('10.0.0.9')).toBe('max_connections');
    limits.closed('10.0.0.4');
    expect(limits.mayRefuse()).toBe(false);
  });
});

describe('keep-alive without credentials on a protected server', () => {
  it('a 401 closes the connection; a public route asked without a credential too; a credentialed client keeps its socket', async () => {
    const r = await start({ auth: AUTH });
    const anon = await RawHttp.open(r.port);
    anon.get('/v1/status');
    await waitFor(() => anon.ended, 3000, 'the server to close the unauthenticated socket');
    expect(anon.text).toMatch(/^HTTP\/1\.1 401 /);
    expect(anon.text).toMatch(/\r\nConnection: close\r\n/i);

    const probe = await RawHttp.open(r.port);
    probe.get('/health');
    await waitFor(() => probe.ended, 3000, 'the server to close the probe socket');
    expect(probe.text).toMatch(/^HTTP\/1\.1 200 /);

    const ops = await RawHttp.open(r.port);
    ops.get('/v1/status', `Authorization: Bearer ${TOKEN}\r\n`);
    ops.get('/health', `Authorization: Bearer ${TOKEN}\r\n`);
    await waitFor(() => ops.answers === 2, 3000, 'two answers');
    await new Promise((res) => setTimeout(res, 100));
    expect(ops.ended).toBe(false);
    expect(ops.text).not.toMatch(/Connection: close/i);
    ops.socket.destroy();
  });

  it('an open server keeps keep-alive sockets without credentials', async () => {
    const r = await start();
    const c = await RawHttp.open(r.port);
    c.get('/v1/status');
    c.get('/health');
    await waitFor(() => c.answers === 2, 3000, 'two answers');
    expect(c.ended).toBe(false);
    c.socket.destroy();
  });

  it('a refused WebSocket upgrade (401) closes its socket', async () => {
    const r = await start({ auth: AUTH });
    const c = await RawHttp.open(r.port);
    c.get('/v1/stream', 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n');
    await waitFor(() => c.ended, 3000, 'the server to close the refused upgrade');
    expect(c.text).toMatch(/^HTTP\/1\.1 401 /);
  });
});

describe('caps from the open-files limit', () => {
  it('reads /proc/self/limits', () => {
    const text = 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 4096                 files     \n';
    expect(parseFdLimit(text)).toEqual({ soft: 1024, hard: 4096 });
    expect(parseFdLimit('Max open files            unlimited            unlimited            files')).toEqual({ soft: Infinity, hard: Infinity });
    expect(parseFdLimit('nothing here')).toBeUndefined();
  });

  it('leaves a fifth of the limit (at least 64) outside the cap, a quarter of it per address', () => {
    expect(connectionCaps({}, { soft: 1024, hard: 1024 })).toMatchObject({ maxConnections: 819, maxConnectionsPerAddress: 205, perAddressOnLoopback: false });
    expect(connectionCaps({}, { soft: 256, hard: 256 }).maxConnections).toBe(192);
    expect(connectionCaps({}, undefined).maxConnections).toBe(819); // 1024 assumed
    expect(connectionCaps({}, { soft: Infinity, hard: Infinity }).maxConnections).toBeGreaterThan(1e6);
    expect(connectionCaps({ maxConnections: 10, maxConnectionsPerAddress: 3 }, { soft: 1024, hard: 1024 })).toMatchObject({
      maxConnections: 10,
      maxConnectionsPerAddress: 3,
      perAddressOnLoopback: true,
    });
  });

  it('the start-up line says how to raise a soft limit below the hard one, and warns about a cap at or above it', () => {
    expect(describeCaps(connectionCaps({}, { soft: 1024, hard: 4096 }))).toContain('ulimit -n 4096');
    expect(describeCaps(connectionCaps({}, { soft: 4096, hard: 4096 }))).not.toContain('ulimit');
    expect(describeCaps(connectionCaps({ maxConnections: 5000 }, { soft: 4096, hard: 4096 }))).toContain('warning');
  });

  it('server.maxConnections and maxConnectionsPerAddress are checked at load, naming the key', () => {
    const sim = { simulated: { symbols: ['A'] } };
    expect(parseConfig({ server: { maxConnections: 100, maxConnectionsPerAddress: 10 }, exchanges: sim }).server).toMatchObject({
      maxConnections: 100,
      maxConnectionsPerAddress: 10,
    });
    expect(parseConfig({ exchanges: sim }).server.maxConnections).toBeUndefined();
    let err: unknown;
    try {
      parseConfig({ server: { maxConnections: 0, maxConnectionsPerAddress: 1.5 }, exchanges: sim });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('server.maxConnections: got 0, expected an integer ≥ 1');
    expect((err as Error).message).toContain('server.maxConnectionsPerAddress: got 1.5');
  });
});
