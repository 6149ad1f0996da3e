/**
 * Live BTC trades on two fake venues for the price-feed failover tests:
 * Binance's BTCUSDT at 50 000 and Coinbase's BTC-USD at 50 001 (2 bps
 * apart: no deviation), one each every `everyMs`, with the times of now.
 * A venue that is stopped is skipped by its own publish.
 */
import type { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import type { FakeCoinbase } from './fake-coinbase.ts';

/**
 * Start trading on both venues; returns the timer (clearInterval it).
 * Coinbase trades only while `coinbaseTrades()` holds: a test that needs the
 * primary to take the feed first holds the second venue back until it has.
 */
export function tradeBtcOnBoth(binance: BinanceProtocolServer, coinbase: FakeCoinbase, everyMs = 50, coinbaseTrades: () => boolean = () => true): NodeJS.Timeout {
  let id = 1;
  return setInterval(() => {
    const now = Date.now();
    id++;
    binance.publish('btcusdt@trade', { e: 'trade', E: now, s: 'BTCUSDT', t: id, p: '50000.00', q: '0.01', T: now, m: false, M: true });
    if (!coinbaseTrades()) return;
    coinbase.publish(JSON.stringify({
      type: 'match', trade_id: id, maker_order_id: 'm', taker_order_id: 't', side: 'sell', size: '0.01', price: '50001.00',
      product_id: 'BTC-USD', sequence: id, time: new Date(now).toISOString(),
    }));
  }, everyMs);
}
