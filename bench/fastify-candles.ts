/**
 * The HTTP candles peer, as a child process: a plain Fastify route serving
 * the same candles as tickwire, in the same JSON shape, from an array (what
 * a hand-written candle API does: no response schema, Fastify's default
 * serialization).
 *
 *   node --import tsx bench/fastify-candles.ts     (forked with IPC)
 *
 * Waits for `{type:'candles', exchange, symbol, timeframe, candles}` (oldest
 * first), listens on an ephemeral loopback port and answers
 * `{type:'ready', port}`; stops on `{type:'stop'}`.
 * `GET /v1/candles/:exchange/:symbol/:tf?limit=N` answers the newest N
 * (default 500, at most 5000) as tickwire does; anything else is a 404.
 */
import Fastify from 'fastify';
import { answerProbes } from './load/gateway-probe.ts';

interface CandlesMessage {
  type: 'candles';
  exchange: string;
  symbol: string;
  timeframe: string;
  candles: Record<string, unknown>[];
}

if (process.send === undefined) {
  console.error('fastify-candles.ts must be forked with an IPC channel');
  process.exit(2);
}

const data = await new Promise<CandlesMessage>((resolve) => {
  const onMessage = (m: { type?: string }) => {
    if (m.type !== 'candles') return;
    process.off('message', onMessage);
    resolve(m as CandlesMessage);
  };
  process.on('message', onMessage);
});

const app = Fastify({ logger: false });
app.get<{ Params: { exchange: string; symbol: string; tf: string }; Querystring: { limit?: string } }>(
  '/v1/candles/:exchange/:symbol/:tf',
  async (req, reply) => {
    const { exchange, symbol, tf } = req.params;
    if (exchange !== data.exchange || symbol !== data.symbol || tf !== data.timeframe) {
      return reply.code(404).send({ error: { code: 'SYMBOL_NOT_FOUND', message: `no candles for ${exchange} ${symbol} ${tf}` } });
    }
    const limit = req.query.limit === undefined ? 500 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 5000) {
      return reply.code(400).send({ error: { code: 'INVALID_PARAMETER', message: 'limit must be an integer from 1 to 5000' } });
    }
    const candles = data.candles.slice(-limit);
    return { exchange, symbol, timeframe: tf, count: candles.length, candles };
  },
);

answerProbes();
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.send({ type: 'ready', port: Number(new URL(address).port) });

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await app.close();
  process.exit(0);
}
process.on('message', (m: { type?: string }) => {
  if (m.type === 'stop') void shutdown();
});
process.on('disconnect', () => void shutdown());
