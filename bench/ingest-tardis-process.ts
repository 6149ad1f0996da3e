/**
 * The whole-process ingest benchmark's peer (ingest-wire.ts), as a child
 * process: a tardis-dev pipeline (tardis-pipeline.ts: its Binance normalizer
 * and trade bars for every timeframe) fed by a `ws` client on the fake
 * exchange's combined stream, as tardis-dev's own real-time feed reads
 * Binance. One thread: the socket, the parse and the bars share it.
 *
 *   node --import tsx bench/ingest-tardis-process.ts <exchange ws url> <symbol,…> <timeframe> …
 *   node --import tsx bench/ingest-tardis-process.ts <exchange ws url> <symbol,…> --receive-only
 *
 * `--receive-only` is the floor: the same `ws` client taking the same frames
 * and only counting them (no parse, no bars), what any Node process reading
 * this stream pays before doing anything with it.
 *
 * Tells the parent `{type:'ready'}` once the exchange acked its SUBSCRIBE;
 * answers `{type:'count'}` with `{type:'count', trades, bars, skipped}`;
 * on `{type:'stop'}` (or when the parent goes away) it closes the socket and exits.
 */
import WebSocket from 'ws';
import { tradeStream } from './load/binance-trade.ts';
import { tardisBarFactories, TardisPipeline } from './tardis-pipeline.ts';

const [exchangeUrl, symbolList, ...timeframes] = process.argv.slice(2);
if (exchangeUrl === undefined || symbolList === undefined || timeframes.length === 0 || process.send === undefined) {
  console.error('usage (forked with IPC): ingest-tardis-process.ts <exchange ws url> <symbol,…> (<timeframe> … | --receive-only)');
  process.exit(2);
}
const send = process.send.bind(process);

/** Counts the parent reads to know when every trade it sent was taken. */
export interface TardisCount {
  type: 'count';
  trades: number;
  bars: number;
  skipped: number;
}

const receiveOnly = timeframes[0] === '--receive-only';
const pipeline = new TardisPipeline(tardisBarFactories(receiveOnly ? [] : timeframes));
/** Frames taken in `--receive-only` mode (each carries one trade). */
let received = 0;
const SUBSCRIBE_ID = 1;
let subscribed = false;

const socket = new WebSocket(`${exchangeUrl}/stream`);
socket.on('open', () => socket.send(JSON.stringify({ method: 'SUBSCRIBE', params: symbolList.split(',').map(tradeStream), id: SUBSCRIBE_ID })));
socket.on('message', (data: Buffer) => {
  if (subscribed) {
    if (receiveOnly) received++;
    else pipeline.frame(data.toString());
    return;
  }
  // Before the ack nothing else can arrive: the exchange sends a stream's trades only once it is subscribed.
  const reply = JSON.parse(data.toString()) as { id?: unknown };
  if (reply.id !== SUBSCRIBE_ID) throw new Error(`tardis process: expected the SUBSCRIBE ack, got ${data.toString().slice(0, 200)}`);
  subscribed = true;
  send({ type: 'ready' });
});
socket.on('error', (err) => {
  console.error(`tardis process: exchange connection error: ${err.message}`);
  process.exit(1);
});

function shutdown(): void {
  socket.terminate();
  setImmediate(() => process.exit(0));
}
process.on('message', (m: { type?: string }) => {
  if (m.type === 'count') send({ type: 'count', trades: receiveOnly ? received : pipeline.trades, bars: pipeline.bars, skipped: pipeline.skipped } satisfies TardisCount);
  else if (m.type === 'stop') shutdown();
});
process.on('disconnect', shutdown);
