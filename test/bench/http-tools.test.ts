/**
 * The HTTP benchmark's own tools, checked so the floor and the tail figures
 * can be trusted: the floor (bench/http-floor.ts) answers exactly the bytes
 * and headers it was given, on its one route, and takes a new answer
 * between runs; every server tells its GC pauses over a run
 * (bench/load/gateway-probe.ts); the open-loop generator charges a request
 * its time from its scheduled send, never less than from its write.
 */
import net from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import * as hdr from 'hdr-histogram-js';
import type { FloorBody } from '../../bench/http-floor.ts';
import { nextMessage, ofType, startChild, startWorker, stopChild } from '../../bench/load/peers.ts';
import { probed } from '../../bench/load/gateway-probe.ts';
import type { OpenLoopResult } from '../../bench/openloop-worker.ts';

const ROUTE = '/v1/candles/binance/BTCUSDT/1m';
const children: ChildProcess[] = [];

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => stopChild(c)));
});

function body(text: string, headers: [string, string][]): FloorBody {
  return { type: 'body', headers, body: Buffer.from(text).toString('base64') };
}

async function startFloor(first: FloorBody): Promise<{ floor: ChildProcess; port: number }> {
  const floor = startChild(new URL('../../bench/http-floor.ts', import.meta.url), [ROUTE]);
  children.push(floor);
  floor.send(first);
  const { port } = await nextMessage(floor, ofType<{ type: 'ready'; port: number }>('ready'), 30_000, 'http floor');
  return { floor, port };
}

describe('the HTTP floor', () => {
  it('answers its route with the given bytes and headers, closes on anything else, and takes a new answer between runs', async () => {
    const { floor, port } = await startFloor(body('{"candles":[1,2,3]}', [['content-type', 'application/json'], ['vary', 'Origin']]));
    const res = await fetch(`http://127.0.0.1:${port}${ROUTE}?limit=50`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"candles":[1,2,3]}');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('vary')).toBe('Origin');
    await expect(fetch(`http://127.0.0.1:${port}/v1/other`)).rejects.toThrow(); // no route: uWS closes the connection

    const set = nextMessage(floor, ofType<{ type: 'body-set'; bytes: number }>('body-set'), 10_000, 'body-set');
    floor.send(body('x'.repeat(5_000), [['content-type', 'text/csv']]));
    expect((await set).bytes).toBe(5_000);
    const again = await fetch(`http://127.0.0.1:${port}${ROUTE}?limit=500`);
    expect(again.headers.get('content-type')).toBe('text/csv');
    expect(again.headers.get('vary')).toBeNull();
    expect(await again.text()).toBe('x'.repeat(5_000));
  }, 60_000);

  it('tells its main thread over a probed run: GC pauses and event-loop utilization', async () => {
    const { floor, port } = await startFloor(body('ok', [['content-type', 'text/plain']]));
    const { result, probe } = await probed(floor, async () => {
      for (let i = 0; i < 20; i++) await (await fetch(`http://127.0.0.1:${port}${ROUTE}`)).text();
      return 'done';
    });
    expect(result).toBe('done');
    expect(probe.gc.count).toBeGreaterThanOrEqual(0);
    expect(probe.gc.totalMs).toBeGreaterThanOrEqual(probe.gc.maxMs);
    expect(probe.elu).toBeGreaterThan(0);
    expect(probe.elu).toBeLessThanOrEqual(1);
  }, 60_000);
});

describe('the open-loop generator', () => {
  it('sends on schedule whatever the answers do, and charges each answer from its scheduled send (≥ from its write)', async () => {
    // A server that holds every answer 30 ms: a closed loop would send fewer requests, the open loop sends them all.
    const server = net.createServer((socket) => {
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString('latin1');
        for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
          buffered = buffered.slice(end + 4);
          setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), 30);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const worker = startWorker(new URL('../../bench/openloop-worker.ts', import.meta.url), { host: '127.0.0.1', port, path: '/', rate: 200, seconds: 1, connections: 2 });
    try {
      const r = await nextMessage(worker, ofType<OpenLoopResult>('result'), 30_000, 'open-loop client');
      expect(r.sent).toBe(200);
      expect(r.answered).toBe(200);
      expect(r.non2xx).toBe(0);
      const fromWrite = hdr.decodeFromCompressedBase64(r.histogram);
      const fromSchedule = hdr.decodeFromCompressedBase64(r.scheduledHistogram);
      expect(fromSchedule.totalCount).toBe(200);
      expect(fromWrite.getValueAtPercentile(50)).toBeGreaterThanOrEqual(30_000 * 0.95); // the server's 30 ms, in µs (HDR rounding)
      for (const p of [50, 90, 99, 100]) expect(fromSchedule.getValueAtPercentile(p)).toBeGreaterThanOrEqual(fromWrite.getValueAtPercentile(p) * 0.999);
      expect(r.cpuMs).toBeGreaterThanOrEqual(0);
    } finally {
      await worker.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);
});
