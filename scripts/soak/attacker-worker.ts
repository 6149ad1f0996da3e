/**
 * `--hostile` attacker: one worker thread (not the measuring subscribers'
 * event loop) that repeats issue 18's attacks against the soak gateway, each
 * at a bounded rate, from `start` until `stop`, and answers `stop` with what
 * became of them (AttackOutcomes). Started through workers/dev-shim.mjs.
 *
 * Each attack binds its own loopback address, so the per-address cap the
 * flood runs into is not shared with the measuring clients (they bind
 * 127.0.1.x) or with the other attacks:
 *
 * | attack                                   | address    | rate                        |
 * | ---------------------------------------- | ---------- | --------------------------- |
 * | 50-wildcard unsubscribes, `trades:*:*` held | 127.0.0.3 | 20/s (the subscribe rate is 10/s) |
 * | `snapshot: 1000` over every bars channel | 127.0.0.3  | a subscribe + unsubscribe every 500 ms |
 * | 5,000 pipelined `GET /openapi.json`, unread | 127.0.0.3 | one socket every 5 s      |
 * | 64 MiB frame on an open stream           | 127.0.0.3  | one every 15 s              |
 * | WebSocket flood past the per-address cap | 127.0.0.2  | `floodConnections` every 10 s, held 1 s |
 * | slowloris (a header byte every 2 s)      | 127.0.0.4  | 10 sockets, reopened when closed |
 * | forged JWTs (hostile-jwt.ts)             | 127.0.0.5  | 10 HTTP/s + 1 upgrade/s     |
 */
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { MessageType, messageType } from '../../bench/load/frame-scan.ts';
import { forgedTokens } from './hostile-jwt.ts';
import type { AttackOutcomes, AttackerCommand, AttackerEvent, AttackerWorkerData } from './protocol.ts';

const FLOOD_ADDRESS = '127.0.0.2';
const STREAM_ADDRESS = '127.0.0.3';
const SLOWLORIS_ADDRESS = '127.0.0.4';
const JWT_ADDRESS = '127.0.0.5';
const WILDCARDS_PER_MESSAGE = 50;
const PIPELINED_REQUESTS = 5_000;
const OVERSIZED_BYTES = 64 * 1024 * 1024;
const SLOWLORIS_SOCKETS = 10;

const data = workerData as AttackerWorkerData;
const port = parentPort!;
const base = `ws://${data.host}:${data.port}/v1/stream`;
const stop = new AbortController();
/** Every socket open, destroyed at stop. */
const sockets = new Set<{ destroy(): void }>();

/** A WebSocket in `sockets` until it closes. */
function tracked(ws: WebSocket): WebSocket {
  const entry = { destroy: () => ws.terminate() };
  sockets.add(entry);
  ws.once('close', () => sockets.delete(entry));
  return ws;
}

const out: AttackOutcomes = {
  wildcardUnsubscribes: { sent: 0, replies: {} },
  snapshots: { sent: 0, bytesReceived: 0, replies: {} },
  pipelined: { sockets: 0, closedByServer: 0, requestsWritten: 0 },
  flood: { attempts: 0, opened: 0, refused503: 0, other: 0 },
  oversized: { sent: 0, closed: 0, closeCodes: {} },
  slowloris: { opened: 0, closedByServer: 0, lifetimeMs: { min: Infinity, max: 0 } },
  forgedJwts: { sent: 0, refused401: 0, accepted: 0, other: 0 },
};

function post(event: AttackerEvent): void {
  port.postMessage(event);
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Wait `ms` unless the run stops first; false once stopped. */
async function pause(ms: number): Promise<boolean> {
  await sleep(ms, undefined, { signal: stop.signal }).catch(() => undefined);
  return !stop.signal.aborted;
}

/** A reply's type, or its error code: `subscribed`, `RATE_LIMITED`, ... (trades and bars not parsed). */
function replyKind(buf: Buffer): string | undefined {
  const t = messageType(buf);
  if (t === MessageType.TRADE || t === MessageType.BAR) return undefined;
  if (t === MessageType.SNAPSHOT) return 'snapshot';
  const m = JSON.parse(buf.toString()) as { type?: string; code?: string };
  return m.type === 'error' ? (m.code ?? 'error') : (m.type ?? 'unknown');
}

/** An open `/v1/stream` WebSocket with the valid token, from `localAddress`; resolves once open (or undefined). */
function openStream(localAddress: string, onMessage: (buf: Buffer) => void): Promise<WebSocket | undefined> {
  return new Promise((resolve) => {
    const ws = tracked(new WebSocket(`${base}?token=${data.token}`, { perMessageDeflate: false, localAddress }));
    ws.on('message', (buf) => onMessage(buf as Buffer));
    ws.once('open', () => resolve(ws));
    ws.once('error', () => resolve(undefined));
    ws.once('close', () => resolve(undefined));
  });
}

/** One upgrade from `localAddress`: its status (101 open; 0 no answer), the socket closed unless open. */
function upgrade(url: string, localAddress: string): Promise<{ ws: WebSocket; status: number }> {
  return new Promise((resolve) => {
    const ws = tracked(new WebSocket(url, { perMessageDeflate: false, localAddress, handshakeTimeout: 10_000 }));
    ws.on('error', () => resolve({ ws, status: 0 })); // after a refusal too: the first answer counts
    ws.once('open', () => resolve({ ws, status: 101 }));
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      resolve({ ws, status: res.statusCode ?? 0 });
    });
  });
}

/** Holds `trades:*:*` and sends unsubscribes of 50 wildcards over symbols that do not exist. */
async function wildcardUnsubscribes(): Promise<void> {
  let n = 0;
  while (!stop.signal.aborted) {
    const ws = await openStream(STREAM_ADDRESS, (buf) => {
      const kind = replyKind(buf);
      if (kind !== undefined) bump(out.wildcardUnsubscribes.replies, kind);
    });
    if (ws === undefined) {
      if (!(await pause(1_000))) return;
      continue;
    }
    ws.send(JSON.stringify({ op: 'subscribe', id: 0, channels: ['trades:*:*'] }));
    while (ws.readyState === WebSocket.OPEN && (await pause(50))) {
      const channels = Array.from({ length: WILDCARDS_PER_MESSAGE }, () => `trades:*:NOPE${n++ % 100_000}`);
      ws.send(JSON.stringify({ op: 'unsubscribe', id: n, channels }));
      out.wildcardUnsubscribes.sent++;
    }
    ws.terminate();
  }
}

/** Asks every bars channel with `snapshot: 1000`, unsubscribes, again. */
async function snapshots(): Promise<void> {
  const channels = ['1m', '5m', '15m', '1h'].map((tf) => `bars:binance:*:${tf}`);
  while (!stop.signal.aborted) {
    const ws = await openStream(STREAM_ADDRESS, (buf) => {
      out.snapshots.bytesReceived += buf.length;
      const kind = replyKind(buf);
      if (kind !== undefined) bump(out.snapshots.replies, kind);
    });
    if (ws === undefined) {
      if (!(await pause(1_000))) return;
      continue;
    }
    for (let id = 1; ws.readyState === WebSocket.OPEN && (await pause(500)); id += 2) {
      ws.send(JSON.stringify({ op: 'subscribe', id, channels, snapshot: 1000 }));
      ws.send(JSON.stringify({ op: 'unsubscribe', id: id + 1, channels }));
      out.snapshots.sent++;
    }
    ws.terminate();
  }
}

/** One socket pipelining `GET /openapi.json` without reading for 3 s, then drained: did the server close it? */
async function pipelined(): Promise<void> {
  const requests = `GET /openapi.json HTTP/1.1\r\nHost: ${data.host}\r\n\r\n`.repeat(PIPELINED_REQUESTS);
  while (await pause(5_000)) {
    const socket = net.connect({ host: data.host, port: data.port, localAddress: STREAM_ADDRESS });
    sockets.add(socket);
    socket.pause();
    out.pipelined.sockets++;
    let ended = false;
    socket.on('error', () => undefined);
    socket.once('close', () => (ended = true));
    socket.once('end', () => (ended = true));
    socket.write(requests);
    out.pipelined.requestsWritten += PIPELINED_REQUESTS;
    await pause(3_000);
    socket.resume(); // drain what came, to see the end the server sent
    for (let i = 0; i < 20 && !ended; i++) await sleep(250);
    if (ended) out.pipelined.closedByServer++;
    socket.destroy();
    sockets.delete(socket);
  }
}

/** `floodConnections` upgrades at once from one address, held 1 s, closed. */
async function flood(): Promise<void> {
  while (await pause(10_000)) {
    const opened: WebSocket[] = [];
    await Promise.all(
      Array.from({ length: data.floodConnections }, () => {
        out.flood.attempts++;
        return upgrade(`${base}?token=${data.token}`, FLOOD_ADDRESS).then(({ ws, status }) => {
          if (status === 101) {
            out.flood.opened++;
            opened.push(ws);
          } else if (status === 503) out.flood.refused503++;
          else out.flood.other++;
        });
      }),
    );
    await pause(1_000);
    for (const ws of opened) ws.terminate();
  }
}

/** A 64 MiB binary frame on an open stream; the server must close the connection. */
async function oversized(): Promise<void> {
  const frame = Buffer.alloc(OVERSIZED_BYTES, 0x61);
  while (await pause(15_000)) {
    const ws = await openStream(STREAM_ADDRESS, () => undefined);
    if (ws === undefined) continue;
    const closed = new Promise<number | undefined>((resolve) => {
      ws.once('close', (code) => resolve(code));
      setTimeout(() => resolve(undefined), 10_000).unref();
    });
    ws.on('error', () => undefined);
    ws.send(frame);
    out.oversized.sent++;
    const code = await closed;
    if (code !== undefined) {
      out.oversized.closed++;
      bump(out.oversized.closeCodes, String(code));
    }
    ws.terminate();
  }
}

/** Keeps SLOWLORIS_SOCKETS sockets sending an unfinished request a byte every 2 s; a closed one is replaced. */
async function slowloris(): Promise<void> {
  const live = new Set<net.Socket>();
  const open = (): void => {
    const socket = net.connect({ host: data.host, port: data.port, localAddress: SLOWLORIS_ADDRESS });
    const opened = performance.now();
    live.add(socket);
    sockets.add(socket);
    out.slowloris.opened++;
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.once('connect', () => socket.write(`GET /health HTTP/1.1\r\nHost: ${data.host}\r\nX-Slow: `));
    socket.once('close', () => {
      live.delete(socket);
      sockets.delete(socket);
      if (stop.signal.aborted) return;
      const ms = performance.now() - opened;
      out.slowloris.closedByServer++;
      out.slowloris.lifetimeMs.min = Math.min(out.slowloris.lifetimeMs.min, ms);
      out.slowloris.lifetimeMs.max = Math.max(out.slowloris.lifetimeMs.max, ms);
    });
  };
  while (!stop.signal.aborted) {
    while (live.size < SLOWLORIS_SOCKETS) open();
    for (const s of live) if (s.writable) s.write('a');
    if (!(await pause(2_000))) break;
  }
}

/** One HTTP request with a forged token: refused 401, accepted 200, or other. */
function forgedHttp(token: string): Promise<void> {
  return new Promise((resolve) => {
    out.forgedJwts.sent++;
    const req = http.get(
      { host: data.host, port: data.port, path: '/v1/status', localAddress: JWT_ADDRESS, agent: false, headers: { authorization: `Bearer ${token}` }, timeout: 10_000 },
      (res) => {
        if (res.statusCode === 401) out.forgedJwts.refused401++;
        else if (res.statusCode === 200) out.forgedJwts.accepted++;
        else out.forgedJwts.other++;
        res.resume();
        res.once('end', resolve);
        res.once('error', () => resolve());
      },
    );
    req.once('timeout', () => req.destroy());
    req.once('error', () => {
      out.forgedJwts.other++;
      resolve();
    });
  });
}

/** One upgrade with a forged token. */
async function forgedUpgrade(token: string): Promise<void> {
  out.forgedJwts.sent++;
  const { ws, status } = await upgrade(`${base}?token=${token}`, JWT_ADDRESS);
  ws.terminate();
  if (status === 401) out.forgedJwts.refused401++;
  else if (status === 101) out.forgedJwts.accepted++;
  else out.forgedJwts.other++;
}

/** Forged JWTs, every kind in turn: 10 HTTP requests and one upgrade a second. */
async function forgedJwts(): Promise<void> {
  const forged = forgedTokens(data.secret);
  for (let i = 0; await pause(100); i++) {
    const { token } = forged[i % forged.length]!;
    await forgedHttp(token);
    if (i % 10 === 0) await forgedUpgrade(forged[(i / 10) % forged.length]!.token);
  }
}

let running: Promise<unknown> | undefined;

port.on('message', (cmd: AttackerCommand) => {
  if (cmd.type === 'start' && running === undefined) {
    const attacks = [wildcardUnsubscribes, snapshots, pipelined, flood, oversized, slowloris, forgedJwts];
    running = Promise.all(
      attacks.map((attack) =>
        attack().catch((err: Error) => post({ type: 'failed', message: `attack ${attack.name} failed: ${err.stack ?? err.message}` })),
      ),
    );
  } else if (cmd.type === 'stop') {
    stop.abort();
    void (running ?? Promise.resolve()).then(() => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (out.slowloris.lifetimeMs.min === Infinity) out.slowloris.lifetimeMs.min = 0;
      post({ type: 'stopped', outcomes: out });
    });
  } else if (cmd.type === 'close') {
    for (const s of sockets) s.destroy();
    port.close();
  }
});

post({ type: 'ready' });
