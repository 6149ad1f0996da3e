/**
 * The alert webhook (src/alerts/webhook.ts) against a loopback HTTP server:
 * retries on 5xx with the same Idempotency-Key, no retry on a 4xx, and a
 * bounded queue that drops the oldest.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSender } from '../../src/alerts/webhook.ts';
import type { AlertEvent } from '../../src/model/events.ts';
import { until } from '../support/until.ts';

let server: Server | undefined;
let sender: WebhookSender | undefined;

afterEach(async () => {
  sender?.stop();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = sender = undefined;
});

/** A server answering each request with the next status of `statuses` (the last one repeats). */
async function serve(statuses: number[]): Promise<{ url: string; seen: { key: string | undefined; body: AlertEvent }[] }> {
  const seen: { key: string | undefined; body: AlertEvent }[] = [];
  server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      seen.push({ key: req.headers['idempotency-key'] as string | undefined, body: JSON.parse(text) as AlertEvent });
      res.writeHead(statuses[Math.min(seen.length - 1, statuses.length - 1)]!).end();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hook`, seen };
}

const alert = (n: number): AlertEvent => ({ id: `rule:${n}:1000`, level: 'warning', source: 'rule', message: `alert ${n}`, value: n, ts: 1000 });

describe('alert webhook', () => {
  it('retries a 503 with the same idempotency key until delivered', async () => {
    const { url, seen } = await serve([503, 503, 200]);
    sender = new WebhookSender({ url, retries: 5, backoffMs: 10, timeoutMs: 5_000, maxQueue: 10 });
    sender.send(alert(1));
    await until(() => sender!.stats().delivered === 1, 10_000, 'delivery');
    expect(seen.map((s) => s.key)).toEqual(['rule:1:1000', 'rule:1:1000', 'rule:1:1000']);
    expect(seen[0]!.body).toEqual(alert(1));
    expect(sender.stats()).toMatchObject({ delivered: 1, failed: 0, retries: 2, queued: 0, lastError: 'HTTP 503' });
  });

  it('a 400 is not retried; the next alert still goes out; giving up after the retries is counted', async () => {
    const { url, seen } = await serve([400, 200, 500]);
    sender = new WebhookSender({ url, retries: 1, backoffMs: 10, timeoutMs: 5_000, maxQueue: 10 });
    sender.send(alert(1));
    sender.send(alert(2));
    sender.send(alert(3));
    await until(() => sender!.stats().delivered + sender!.stats().failed === 3, 10_000, 'all three settled');
    expect(seen.map((s) => s.key)).toEqual(['rule:1:1000', 'rule:2:1000', 'rule:3:1000', 'rule:3:1000']);
    expect(sender.stats()).toMatchObject({ delivered: 1, failed: 2, retries: 1 });
  });

  it('the queue is bounded: the oldest waiting alert is dropped and counted', async () => {
    const { url, seen } = await serve([200]);
    sender = new WebhookSender({ url, retries: 0, backoffMs: 10, timeoutMs: 5_000, maxQueue: 2 });
    for (let i = 1; i <= 5; i++) sender.send(alert(i));
    await until(() => sender!.stats().queued === 0 && sender!.stats().delivered === 3, 10_000, 'the queue drained');
    expect(sender.stats().dropped).toBe(2);
    // The first was in flight when the others arrived; of the four waiting, the two newest survived.
    expect(seen.map((s) => s.body.value)).toEqual([1, 4, 5]);
  });
});
