/**
 * ConnectionGroups: a worker's connections to its venue. One FeedConnection
 * per group of symbols that fits the venue's streams-per-connection limit;
 * each group's adapter numbers its symbols from 0, so its handler shifts them
 * to the worker's symbol indices. Every connection's frames are bracketed by
 * the TickHandler's `beginFrame`/`endFrame`.
 *
 * It tracks each connection's state and tells its owner when a group lost
 * its connection and when it is back after an outage (not on its first
 * connect); the worker's state is the least healthy connection's.
 */
import type { AdapterCapabilities, ExchangeAdapter, FeedHandler } from '../exchanges/adapter.ts';
import type { LogSink } from '../log/record.ts';
import type { AdapterEntry } from '../exchanges/registry.ts';
import { FeedConnection } from './connection.ts';
import type { ConnectionState } from './protocol.ts';
import type { FeedWorkerData } from './protocol.ts';
import type { TickHandler } from './tick-handler.ts';

/** What the groups report to their owner; symbols [first, first + count) are the group's. */
export interface GroupEvents {
  /** Connection `slot` was connected and no longer is. */
  disconnected(slot: number, first: number, count: number): void;
  /** Connection `slot` is connected again after an outage. */
  reconnected(slot: number, first: number, count: number): void;
  /** A connection's state changed (after `disconnected`/`reconnected`; `state()` includes it). */
  stateChanged(): void;
  /** A connection's error message (a failed connect, an error frame, a malformed frame). */
  error(message: string): void;
  /** A connection's log records, with its slot as `connection` when there are several. */
  log: LogSink;
}

export class ConnectionGroups {
  /** Symbols per connection: group `slot` holds symbols [slot × this, (slot + 1) × this). */
  readonly symbolsPerConnection: number;
  readonly connections: FeedConnection[] = [];
  /** Per connection: its adapter. */
  readonly adapters: ExchangeAdapter[] = [];
  private readonly states: ConnectionState[] = [];
  /** Per connection: whether it has been connected before (so 'connected' means a reconnect). */
  private readonly everConnected: boolean[] = [];
  private readonly events: GroupEvents;

  constructor(data: FeedWorkerData, entry: AdapterEntry, capabilities: AdapterCapabilities, handler: TickHandler, events: GroupEvents) {
    this.events = events;
    const symbols = data.settings.symbols;
    this.symbolsPerConnection = Math.max(1, Math.floor(capabilities.maxStreamsPerConnection / data.settings.channels.length));
    for (let first = 0; first < symbols.length; first += this.symbolsPerConnection) {
      const group = symbols.slice(first, first + this.symbolsPerConnection);
      const slot = this.connections.length;
      const count = group.length;
      const adapter = entry.create(group, data.settings.channels, data.settings);
      this.adapters.push(adapter);
      this.everConnected.push(false);
      this.states.push('connecting');
      this.connections.push(
        new FeedConnection(
          adapter,
          data.url,
          first === 0 ? handler : shifted(handler, first),
          {
            onState: (s) => this.onState(slot, first, count, s),
            onFrame: (kind) => handler.endFrame(kind),
            onError: (message) => events.error(message),
            onReceive: (ts) => handler.beginFrame(ts),
            onLog: (record) => events.log(slot === 0 && symbols.length <= this.symbolsPerConnection ? record : { ...record, fields: { ...record.fields, connection: slot } }),
          },
          data.connection,
        ),
      );
    }
  }

  /** The connection slot carrying symbol `symbol`. */
  slotOf(symbol: number): number {
    return Math.floor(symbol / this.symbolsPerConnection);
  }

  /** Connected only when every connection is; otherwise the least healthy state. */
  state(): ConnectionState {
    for (const s of ['stopped', 'circuit_open', 'reconnecting', 'connecting'] as const) if (this.states.includes(s)) return s;
    return 'connected';
  }

  /** Local time of the newest frame on any connection, NaN before the first. */
  lastFrameAt(): number {
    let last = NaN;
    for (const c of this.connections) if (!(c.lastFrameAt <= last)) last = c.lastFrameAt;
    return last;
  }

  /** A counter summed over the connections (reconnects, frames, parse errors). */
  sum(f: (c: FeedConnection) => number): number {
    let total = 0;
    for (const c of this.connections) total += f(c);
    return total;
  }

  /** Connect every group. */
  start(): void {
    for (const c of this.connections) c.start();
  }

  /** Close every connection; none reconnects. */
  stop(): void {
    for (const c of this.connections) c.stop();
  }

  private onState(slot: number, first: number, count: number, s: ConnectionState): void {
    const was = this.states[slot];
    if (was === 'connected' && s !== 'connected') this.events.disconnected(slot, first, count);
    if (s === 'connected' && was !== 'connected' && this.everConnected[slot]) this.events.reconnected(slot, first, count);
    if (s === 'connected') this.everConnected[slot] = true;
    this.states[slot] = s;
    this.events.stateChanged();
  }
}

/** A later group's handler: its adapter numbers symbols from 0, the worker's handler from the group's first. */
function shifted(handler: TickHandler, first: number): FeedHandler {
  return {
    trade: (s, ts, price, size, side, id) => handler.trade(s + first, ts, price, size, side, id),
    quote: (s, ts, bid, bidSize, ask, askSize) => handler.quote(s + first, ts, bid, bidSize, ask, askSize),
  };
}
