/** The venues' shared REST helper: one GET and its typed errors, the backward pager, the oldest-first order. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, TickwireError, VenueRestError } from '../../src/errors.ts';
import type { RecoveredTrade } from '../../src/exchanges/adapter.ts';
import { answerError, oldestFirst, restGet, tradesPagedBackward, type RestAnswer } from '../../src/exchanges/rest.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
});

/** A server answering every request with `status` and `body`; resolves to its URL. */
async function serve(status: number, body: string): Promise<string> {
  const server = createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const trade = (id: number): RecoveredTrade => ({ ts: 1_700_000_000_000 + id, price: 1, size: 1, side: 1, id });

describe('restGet', () => {
  it('answers any status with the body as text and JSON; a body that is not JSON leaves `body` undefined', async () => {
    const url = await serve(503, '{"error":"down"}');
    const answer = await restGet('okx', `${url}/x`);
    expect(answer).toMatchObject({ venue: 'okx', url: `${url}/x`, status: 503, ok: false, text: '{"error":"down"}', body: { error: 'down' } });
    const html = await serve(200, '<html>');
    expect(await restGet('okx', html)).toMatchObject({ ok: true, text: '<html>', body: undefined });
  });

  it('no answer (nothing listening) is a VenueRestError naming venue and URL, the fetch error as cause', async () => {
    const url = await serve(200, '[]');
    await new Promise((done) => servers.pop()!.close(done));
    const err: unknown = await restGet('kraken', `${url}/0/public/Trades`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VenueRestError);
    expect(err).toBeInstanceOf(TickwireError);
    const e = err as VenueRestError;
    expect(e).toMatchObject({ code: ErrorCode.EXCHANGE_NOT_RUNNING, venue: 'kraken', url: `${url}/0/public/Trades`, status: 0 });
    expect(e.cause).toBeInstanceOf(Error);
    expect(e.message).toBe((e.cause as Error).message);
  });

  it('answerError carries the answer’s venue, URL and status', () => {
    const answer: RestAnswer = { venue: 'bybit', url: 'http://x/v5', status: 429, ok: false, text: '', body: undefined };
    expect(answerError(answer, 'bybit REST 429 for recent-trade')).toMatchObject({ code: ErrorCode.EXCHANGE_NOT_RUNNING, venue: 'bybit', url: 'http://x/v5', status: 429, message: 'bybit REST 429 for recent-trade' });
  });
});

describe('tradesPagedBackward', () => {
  const answer: RestAnswer = { venue: 'coinbase', url: 'http://x', status: 200, ok: true, text: '', body: undefined };
  /** A venue holding trades 1..newest, `size` a page, newest first. */
  const pager = (newest: number, size: number, maxPages = 10) => ({
    venue: 'coinbase',
    endpoint: '/trades',
    limit: size,
    maxPages,
    cursors: [] as number[],
    async page(cursor: number) {
      this.cursors.push(cursor);
      const top = cursor === cursor ? cursor - 1 : newest;
      const items: RecoveredTrade[] = [];
      for (let id = top; id > top - size && id >= 1; id--) items.push(trade(id));
      return { answer, items };
    },
    trade: (item: unknown) => item as RecoveredTrade,
  });

  it('pages back from the newest until it reaches fromId, and answers the trades ≥ fromId oldest first', async () => {
    const p = pager(100, 10);
    const got = await tradesPagedBackward(75, p);
    expect(got.map((t) => t.id)).toEqual(Array.from({ length: 26 }, (_, i) => 75 + i));
    expect(p.cursors).toEqual([NaN, 91, 81]);
  });

  it('an empty page ends the history', async () => {
    expect((await tradesPagedBackward(-5, pager(12, 5))).map((t) => t.id)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('throws VenueRestError past maxPages, on a malformed item and on a page not older than its cursor', async () => {
    await expect(tradesPagedBackward(1, pager(100, 10, 3))).rejects.toThrow(/^coinbase REST: gap longer than 3 pages of 10 trades \(trade 1 not reached\)$/);
    const malformed = { ...pager(100, 10), trade: (item: unknown) => ((item as RecoveredTrade).id === 95 ? undefined : (item as RecoveredTrade)) };
    await expect(tradesPagedBackward(1, malformed)).rejects.toThrow(/^coinbase REST: malformed trade in \/trades: \{"ts":/);
    const stuck = { ...pager(100, 10), page: async () => ({ answer, items: [trade(100)] }) };
    const err = await tradesPagedBackward(1, stuck).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VenueRestError);
    expect((err as VenueRestError).message).toBe('coinbase REST: /trades after=100 answered trade 100, not an older one');
    expect((err as VenueRestError).url).toBe('http://x');
  });
});

describe('oldestFirst', () => {
  it('orders by id and keeps each id once', () => {
    expect(oldestFirst([trade(3), trade(1), trade(3), trade(2), trade(1)]).map((t) => t.id)).toEqual([1, 2, 3]);
  });
});
