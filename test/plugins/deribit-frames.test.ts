/**
 * The example Deribit plugin's `parse` on its documented frames
 * (examples/plugins/tickwire-adapter-deribit/fixtures/frames.jsonl), built
 * through `checkAdapterPlugin` as a plugin author's own tests would: each
 * frame's kind, the trade and quote fields as tickwire receives them, acks
 * and errors by request id, and hostile frames counted as malformed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { callbackHandler, FrameKind, type FeedHandler } from '../../src/exchanges/adapter.ts';
import { checkAdapterPlugin } from '../../src/plugins/contract.ts';
import { DERIBIT_PLUGIN } from '../support/plugin-project.ts';

const plugin = checkAdapterPlugin(await import(path.join(DERIBIT_PLUGIN, 'index.mjs')), 'tickwire-adapter-deribit');
const frames = readFileSync(path.join(DERIBIT_PLUGIN, 'fixtures/frames.jsonl'), 'utf8').trim().split('\n');

function recorder(): { handler: FeedHandler; trades: number[][]; quotes: number[][] } {
  const trades: number[][] = [];
  const quotes: number[][] = [];
  return { trades, quotes, handler: callbackHandler({ trade: (...a) => void trades.push(a), quote: (...a) => void quotes.push(a) }) };
}

describe('plugins: the Deribit adapter on documented frames', () => {
  it('declares what tickwire derives its capabilities from', () => {
    expect(plugin.capabilities).toMatchObject({ name: 'deribit', channels: ['trades', 'quotes'], tradeIdOrder: 'increasing', maxMessagesPerSecond: 20 });
  });

  it('reads each frame as its kind, trades by trade_seq with the taker side, quotes with the venue time', () => {
    const adapter = plugin.create(['ETH-PERPETUAL', 'BTC-PERPETUAL']);
    const r = recorder();
    const kinds = frames.map((f) => adapter.parse(f, r.handler));
    expect(kinds).toEqual([FrameKind.ACK, FrameKind.DATA, FrameKind.DATA, FrameKind.DATA, FrameKind.IGNORED, FrameKind.ERROR]);
    expect(r.trades).toEqual([
      [1, 1590484156350, 8950, 10, -1, 30289432],
      [1, 1590484156350, 8954, 20, 1, 30289433],
    ]);
    expect(r.quotes).toEqual([[1, 1550658624149, 3914.97, 40, 3996.61, 50]]);
    expect(adapter.ackId).toBe(43);
    expect(adapter.error).toBe('deribit error -32602: Invalid params');
  });

  it('subscribes with its interval option, in batches, and unsubscribes live', () => {
    let id = 0;
    const adapter = plugin.create(['BTC-PERPETUAL'], { interval: 'agg2' });
    const [request] = adapter.subscribeRequests(() => ++id);
    expect(JSON.parse(request!.text)).toEqual({ jsonrpc: '2.0', id: 1, method: 'public/subscribe', params: { channels: ['trades.BTC-PERPETUAL.agg2', 'quote.BTC-PERPETUAL'] } });
    expect(adapter.connectUrl('ws://127.0.0.1:9000/')).toBe('ws://127.0.0.1:9000/ws/api/v2');
    expect(JSON.parse(adapter.removeSymbols!(['BTC-PERPETUAL'], () => ++id)[0]!.text).method).toBe('public/unsubscribe');
    const r = recorder();
    expect(adapter.parse(frames[1]!, r.handler)).toBe(FrameKind.DATA);
    expect(r.trades, 'a removed instrument is not fed').toEqual([]);
  });

  it('counts hostile frames as malformed without throwing', () => {
    const adapter = plugin.create(['BTC-PERPETUAL']);
    const r = recorder();
    for (const bad of ['', 'not json', 'null', '[]', '{"method":"subscription","params":{"channel":"trades.BTC-PERPETUAL.100ms","data":{}}}',
      '{"method":"subscription","params":{"channel":"trades.BTC-PERPETUAL.100ms","data":[{"instrument_name":"BTC-PERPETUAL","timestamp":1590484156350,"price":-1,"amount":1,"direction":"buy","trade_seq":1}]}}']) {
      expect(adapter.parse(bad, r.handler), bad).toBe(FrameKind.MALFORMED);
    }
    expect(r.trades).toEqual([]);
    expect(adapter.error).toMatch(/^not a Deribit frame: /);
  });
});
