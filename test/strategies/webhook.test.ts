/**
 * The webhook executor against a local HTTP server: the signal as JSON with
 * `Idempotency-Key: <signal id>`, retries on 5xx and network errors (same
 * key), no retry on a 4xx, failures counted and reported, and `submit`
 * returning at once whatever the receiver does.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SignalEvent } from '../../src/model/strategy.ts';
import { WebhookExecutor } from '../../src/strategies/webhook.ts';
import { until } from '../support/until.ts';

interface Received {
  key: string | undefined;
  auth: string | undefined;
  body: Record<string, unknown>;
}

let server: Server | undefined;
let executor: WebhookExecutor | undefined;
afterEach(async () => {
  executor?.close();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

/** A receiver answering each request with the next status of `statuses` (then 200); returns its URL. */
async function receiver(statuses: number[], got: Received[]): Promise<string> {
  server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      got.push({ key: req.headers['idempotency-key'] as string | undefined, auth: req.headers['authorization'], body: JSON.parse(text) as Record<string, unknown> });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hook`;
}

const SIGNAL: SignalEvent = {
  strategy: 'sma', exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', id: 'sma:1700000040000:0', barOpenTime: 1_700_000_040_000, revision: 0,
  action: 'buy', size: 0.5, prediction: { value: 0.01, confidence: 0.7 }, reason: 'cross', ts: 1_700_000_100_000,
};

describe('webhook executor', () => {
  it('POSTs the signal with its id as the idempotency key, retrying 5xx with the same key', async () => {
    const got: Received[] = [];
    const url = await receiver([503, 500], got);
    const failures: string[] = [];
    executor = new WebhookExecutor({ kind: 'webhook', url, retries: 3, timeoutMs: 2_000, headers: { authorization: 'Bearer s3cret' } }, (m) => failures.push(m));
    executor.submit(SIGNAL);
    expect(got).toHaveLength(0); // submit returned without waiting for the receiver
    expect(executor.pending).toBe(1);
    await until(() => executor!.counts.delivered === 1, 15_000, 'the delivery');
    expect(got.map((r) => r.key)).toEqual([SIGNAL.id, SIGNAL.id, SIGNAL.id]);
    expect(got[0]!.auth).toBe('Bearer s3cret');
    expect(got[2]!.body).toEqual({ type: 'signal', ...SIGNAL });
    expect(executor.counts).toEqual({ delivered: 1, failed: 0, retries: 2, dropped: 0 });
    expect(failures).toEqual([]);
  });

  it('gives up at once on a 4xx, and after its retries on a dead receiver, counting and reporting each', async () => {
    const got: Received[] = [];
    const url = await receiver([422], got);
    const failures: string[] = [];
    executor = new WebhookExecutor({ kind: 'webhook', url, retries: 3, timeoutMs: 2_000, headers: {} }, (m) => failures.push(m));
    executor.submit(SIGNAL);
    await until(() => failures.length === 1, 10_000, 'the failure');
    expect(got).toHaveLength(1);
    expect(failures[0]).toBe(`webhook: signal ${SIGNAL.id} not delivered: HTTP 422`);

    executor.close();
    // Nothing listens on port 9 of loopback: connection refused each time.
    executor = new WebhookExecutor({ kind: 'webhook', url: 'http://127.0.0.1:9/hook', retries: 1, timeoutMs: 1_000, headers: {} }, (m) => failures.push(m));
    executor.submit({ ...SIGNAL, id: 'sma:2:0' });
    await until(() => failures.length === 2, 15_000, 'the second failure');
    expect(failures[1]).toMatch(/^webhook: signal sma:2:0 not delivered: /);
    expect(executor.counts).toMatchObject({ failed: 1, retries: 1, delivered: 0 });
  });
});
