/**
 * The load harness's fake Binance, run in a load generator's worker thread:
 * the project's BinanceProtocolServer (src/sim, the one the integration
 * tests use) on a loopback port, and the one way a timed trade leaves it:
 * its send time stamped into the shared SendTimes table (send-times.ts),
 * then `publish` hands it to the gateway's socket. Which trades, at what rate
 * (rate-clock.ts) and for how long is the caller's: the bench plays finite
 * phases of the recorded tape (bench/exchange-worker.ts), the soak a
 * continuous multi-symbol tape counted per window
 * (scripts/soak/exchange-worker.ts).
 */
import { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { nowUs } from './clock.ts';
import { SendTimes } from './send-times.ts';

/** A fake Binance whose timed trades carry their send time in shared memory. */
export class FakeExchange {
  /** Send time of the last timed trade (`send`), µs; NaN before the first. */
  lastSendUs = NaN;
  readonly #server = new BinanceProtocolServer({ host: '127.0.0.1', port: 0 });
  readonly #sendTimes: SendTimes;

  /** `sendTimes`: the table from `SendTimes.allocate()`, shared with the subscriber threads. */
  constructor(sendTimes: SharedArrayBuffer) {
    this.#sendTimes = new SendTimes(sendTimes);
  }

  /** Listen on a loopback port; resolves with the `ws://host:port` base URL a gateway is pointed at. */
  async listen(): Promise<string> {
    return (await this.#server.start()).url;
  }

  /** Resolve once the gateway has subscribed to every one of `streams`; reject after `timeoutMs`. */
  waitSubscribed(streams: readonly string[], timeoutMs: number): Promise<void> {
    return this.#server.waitFor(() => streams.every((s) => this.#server.hasSubscribers(s)), timeoutMs);
  }

  /** Stamp trade `id`'s send time (also kept as `lastSendUs`), then send `payload` on `stream`; returns the connections it went to. */
  send(stream: string, id: number, payload: string): number {
    const t = nowUs();
    this.#sendTimes.record(id, t);
    this.lastSendUs = t;
    return this.#server.publish(stream, payload);
  }

  /** Run `sends` (calls of `send`) so that each gateway gets their frames in one TCP write. */
  batch(sends: () => void): void {
    this.#server.corked(sends);
  }

  /** Send `payload` on `stream` untimed (back-dated history nobody measures); returns the connections it went to. */
  publish(stream: string, payload: string): number {
    return this.#server.publish(stream, payload);
  }

  /** Live connections from gateways. */
  get connections(): number {
    return this.#server.connections;
  }

  /** Drop every connection and stop listening. */
  stop(): Promise<void> {
    return this.#server.stop();
  }
}
