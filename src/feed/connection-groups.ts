/**
 * ConnectionGroups: a worker's connections to its venue. One FeedConnection
 * per group of symbols that fits the venue's streams-per-connection limit;
 * each group's adapter numbers its symbols from 0 in the order they joined,
 * and the group's handler maps them to the worker's symbol indices. Every
 * connection's frames are bracketed by the TickHandler's
 * `beginFrame`/`endFrame`.
 *
 * Live changes: an added symbol joins a connection that has room where the
 * venue subscribes live (the adapter's `addSymbols`), else it gets a new
 * connection; a removed symbol is unsubscribed live where the venue allows
 * (`removeSymbols`), its connection closed when it was the last one on it,
 * or else left subscribed with its frames dropped (TickHandler `live`).
 *
 * It tracks each connection's state and tells its owner when a group lost
 * its connection and when it is back after an outage (not on its first
 * connect); the worker's state is the least healthy open connection's.
 */
import type { AdapterCapabilities, ExchangeAdapter, FeedHandler } from '../exchanges/adapter.ts';
import type { LogSink } from '../log/record.ts';
import type { AdapterEntry } from '../exchanges/registry.ts';
import { FeedConnection } from './connection.ts';
import type { ChangeRoute, ConnectionState, FeedWorkerData } from './protocol.ts';
import type { TickHandler } from './tick-handler.ts';

/** What the groups report to their owner; `symbols` are the worker indices on the connection. */
export interface GroupEvents {
  /** Connection `slot` is up for the first time. */
  connected(slot: number, symbols: readonly number[]): void;
  /** Connection `slot` was connected and no longer is; it last showed life at local time `lastAliveAt` (ms). */
  disconnected(slot: number, symbols: readonly number[], lastAliveAt: number): void;
  /** Connection `slot` is connected again after an outage. */
  reconnected(slot: number, symbols: readonly number[]): void;
  /** A connection's state changed (after `disconnected`/`reconnected`; `state()` includes it). */
  stateChanged(): void;
  /** A connection's error message (a failed connect, an error frame, a malformed frame). */
  error(message: string): void;
  /** A connection's log records, with its slot as `connection` when there are several. */
  log: LogSink;
}

/** One connection and the symbols on it. */
interface Group {
  adapter: ExchangeAdapter;
  connection: FeedConnection;
  /** Worker symbol index by the adapter's number (removed symbols keep their place). */
  members: number[];
  /** Members still subscribed. */
  live: number;
  state: ConnectionState;
  /** Connected before, so 'connected' means a reconnect. */
  everConnected: boolean;
  /** Closed by a removal: its state no longer counts. */
  closed: boolean;
}

export class ConnectionGroups {
  /** Symbols per connection: as many as fit the venue's stream limit with every configured channel. */
  readonly symbolsPerConnection: number;
  private readonly groups: Group[] = [];
  /** Per worker symbol index: its group's slot (-1: none). */
  private readonly slots: Int32Array;
  private readonly data: FeedWorkerData;
  private readonly entry: AdapterEntry;
  private readonly handler: TickHandler;
  private readonly events: GroupEvents;
  private started = false;

  constructor(data: FeedWorkerData, entry: AdapterEntry, capabilities: AdapterCapabilities, handler: TickHandler, events: GroupEvents) {
    this.data = data;
    this.entry = entry;
    this.handler = handler;
    this.events = events;
    this.slots = new Int32Array(data.slots).fill(-1);
    this.symbolsPerConnection = Math.max(1, Math.floor(capabilities.maxStreamsPerConnection / data.settings.channels.length));
    const retired = new Set(data.retired);
    const live = data.settings.symbols.map((_, i) => i).filter((i) => !retired.has(i));
    for (let first = 0; first < live.length; first += this.symbolsPerConnection) this.open(live.slice(first, first + this.symbolsPerConnection));
  }

  /** Each connection's adapter, by slot. */
  get adapters(): ExchangeAdapter[] {
    return this.groups.map((g) => g.adapter);
  }

  /** The adapter of the connection carrying symbol `symbol`. */
  adapterOf(symbol: number): ExchangeAdapter | undefined {
    return this.groups[this.slots[symbol]!]?.adapter;
  }

  /** The connection slot carrying symbol `symbol` (-1: none). */
  slotOf(symbol: number): number {
    return this.slots[symbol]!;
  }

  /** Connected only when every open connection is; otherwise the least healthy state. */
  state(): ConnectionState {
    const states = this.groups.filter((g) => !g.closed).map((g) => g.state);
    for (const s of ['stopped', 'circuit_open', 'reconnecting', 'connecting'] as const) if (states.includes(s)) return s;
    return 'connected';
  }

  /** Local time of the newest frame on any connection, NaN before the first. */
  lastFrameAt(): number {
    let last = NaN;
    for (const g of this.groups) if (!(g.connection.lastFrameAt <= last)) last = g.connection.lastFrameAt;
    return last;
  }

  /** A counter summed over the connections (reconnects, frames, parse errors). */
  sum(f: (c: FeedConnection) => number): number {
    let total = 0;
    for (const g of this.groups) total += f(g.connection);
    return total;
  }

  /** Connect every group. */
  start(): void {
    this.started = true;
    for (const g of this.groups) if (!g.closed) g.connection.start();
  }

  /** Close every connection; none reconnects. */
  stop(): void {
    this.started = false;
    for (const g of this.groups) g.connection.stop();
  }

  /** Subscribe symbol `index` (named `symbol`): on a connection with room where the venue subscribes live, else on a new one. */
  add(index: number, symbol: string): ChangeRoute {
    for (let slot = 0; slot < this.groups.length; slot++) {
      const g = this.groups[slot]!;
      if (g.closed || g.adapter.addSymbols === undefined || g.live >= this.symbolsPerConnection) continue;
      g.connection.request((nextId) => g.adapter.addSymbols!([symbol], nextId));
      g.members.push(index);
      g.live++;
      this.slots[index] = slot;
      return 'live';
    }
    const g = this.open([index]);
    if (this.started) g.connection.start();
    return 'connection';
  }

  /** Stop subscribing symbol `index` (see the header for the three ways). */
  remove(index: number, symbol: string): ChangeRoute {
    const g = this.groups[this.slots[index]!];
    this.slots[index] = -1;
    if (g === undefined) return 'dropped';
    g.live--;
    if (g.live === 0) {
      g.closed = true;
      g.connection.stop();
      this.events.stateChanged();
      return 'connection';
    }
    if (g.adapter.removeSymbols === undefined) return 'dropped';
    g.connection.request((nextId) => g.adapter.removeSymbols!([symbol], nextId));
    return 'live';
  }

  /** A new group for worker symbols `members` (not started). */
  private open(members: number[]): Group {
    const { data } = this;
    const slot = this.groups.length;
    const adapter = this.entry.create(members.map((i) => data.settings.symbols[i]!), data.settings.channels, data.settings);
    const handler = this.handler;
    const group: Group = { adapter, connection: undefined!, members, live: members.length, state: 'connecting', everConnected: false, closed: false };
    group.connection = new FeedConnection(
      adapter,
      data.url,
      mapped(handler, members),
      {
        onState: (s) => this.onState(group, slot, s),
        onFrame: (kind) => handler.endFrame(kind),
        onError: (message) => this.events.error(message),
        onReceive: (ts) => handler.beginFrame(ts),
        // With more than one connection, records name theirs (slot 0 is named only once a second one opens).
        onLog: (record) => this.events.log(this.groups.length <= 1 ? record : { ...record, fields: { ...record.fields, connection: slot } }),
      },
      data.connection,
    );
    for (const i of members) this.slots[i] = slot;
    this.groups.push(group);
    return group;
  }

  private onState(g: Group, slot: number, s: ConnectionState): void {
    if (g.closed) return;
    const was = g.state;
    if (was === 'connected' && s !== 'connected') this.events.disconnected(slot, g.members, g.connection.lastAlive);
    if (s === 'connected' && was !== 'connected' && g.everConnected) this.events.reconnected(slot, g.members);
    if (s === 'connected' && was !== 'connected' && !g.everConnected) this.events.connected(slot, g.members);
    if (s === 'connected') g.everConnected = true;
    g.state = s;
    this.events.stateChanged();
  }
}

/** A group's handler: its adapter numbers symbols in join order, the worker's handler by worker index (the fields are the worker handler's own). */
function mapped(handler: TickHandler, members: readonly number[]): FeedHandler {
  return {
    fields: handler.fields,
    trade: (s, side) => handler.trade(members[s]!, side),
    quote: (s) => handler.quote(members[s]!),
  };
}
