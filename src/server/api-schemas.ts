/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 and AsyncAPI 3 both take them) of
 * what the server answers: bars, status reports, errors and every
 * `/v1/stream` message. One set, referenced as `#/components/schemas/<Name>`
 * from both documents (openapi.ts, asyncapi.ts), so the HTTP and stream
 * references cannot disagree about a Bar.
 *
 * Strictness: contract records (Bar, stream messages, errors) list every
 * field and refuse others (`additionalProperties: false`), so a field added
 * to the wire without its documentation fails test/server/api-reference.test.ts.
 * Reports that grow with new features (status, latency) require their
 * documented fields and allow more.
 */
import { STREAMER_SCHEMAS } from './openapi-streamer.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import { BAR_CSV_HEADER } from '../wire/json.ts';
import { MAX_SNAPSHOT } from '../wire/protocol.ts';

type Schema = Record<string, unknown>;

const SCHEMA_REF = '#/components/schemas/';

const ref = (name: string): Schema => ({ $ref: SCHEMA_REF + name });
const number: Schema = { type: 'number' };
const integer: Schema = { type: 'integer' };
const string: Schema = { type: 'string' };
const nullableNumber: Schema = { type: ['number', 'null'] };
const nullableString: Schema = { type: ['string', 'null'] };
const epochMs = (description: string): Schema => ({ type: 'number', description: `${description}, epoch ms UTC` });
/** A request id as the client sent it (echoed), null when it sent none. */
const id: Schema = { type: ['number', 'string', 'null'], description: 'The request id the client sent, null when none' };

/** An object schema whose every listed property is required, closed to others. */
function record(properties: Record<string, Schema>, description?: string, optional: readonly string[] = []): Schema {
  return {
    type: 'object',
    ...(description === undefined ? {} : { description }),
    properties,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    additionalProperties: false,
  };
}

/** An object schema requiring its listed properties and open to new ones (reports that grow). */
function report(properties: Record<string, Schema>, description?: string): Schema {
  return { ...record(properties, description), additionalProperties: true };
}

const BAR_FIELDS: Record<string, Schema> = {
  openTime: epochMs('Open time (bucket start, aligned to the timeframe)'),
  closeTime: epochMs('Last millisecond of the bucket'),
  open: number,
  high: number,
  low: number,
  close: number,
  volume: { type: 'number', description: 'Base-asset volume' },
  quoteVolume: { type: 'number', description: 'Σ price × size' },
  buyVolume: { type: 'number', description: 'Volume of aggressor buys' },
  sellVolume: { type: 'number', description: 'Volume of aggressor sells' },
  trades: { type: 'integer', description: 'Trade count' },
  vwap: { type: ['number', 'null'], description: 'quoteVolume / volume; null without volume' },
  spread: { type: ['number', 'null'], description: 'Mean quoted spread in the bar; null without quotes' },
  closed: { type: 'boolean', description: 'false for the forming bar' },
  revision: { type: 'integer', description: 'Incremented each time a late trade amends the closed bar' },
  gapped: { const: true, description: 'Present only when trades may be missing from the bar (a reconnect gap not recovered)' },
  source: { const: 'backfill', description: 'Present only when the bar came from the venue’s klines rather than live trades' },
};
const BAR_OPTIONAL = ['gapped', 'source'];

const EXCHANGE_STATES = ['starting', 'connecting', 'connected', 'reconnecting', 'circuit_open', 'restarting', 'stopped'];

/** The CSV header line of `format=csv` answers, as a JSON Schema pattern (the test checks it against the Bar fields). */
export const CSV_HEADER_PATTERN = '^' + BAR_CSV_HEADER.replace('\n', '\\n');


/**
 * The shared schemas `node` (a document's paths or messages) references,
 * directly or through other schemas, in their order here: a document carries
 * no component it does not use.
 */
export function schemasUsedBy(node: unknown): Record<string, Schema> {
  const all = sharedSchemas();
  const used = new Set<string>();
  const visit = (n: unknown): void => {
    if (Array.isArray(n)) {
      for (const x of n) visit(x);
      return;
    }
    if (n === null || typeof n !== 'object') return;
    for (const [key, value] of Object.entries(n)) {
      if (key !== '$ref' || typeof value !== 'string' || !value.startsWith(SCHEMA_REF)) {
        visit(value);
        continue;
      }
      const name = value.slice(SCHEMA_REF.length);
      if (used.has(name)) continue;
      if (!(name in all)) throw new TickwireError(ErrorCode.INTERNAL_ERROR, `API document references an unknown schema ${name}`);
      used.add(name);
      visit(all[name]);
    }
  };
  visit(node);
  return Object.fromEntries(Object.entries(all).filter(([name]) => used.has(name)));
}

/** Every schema of the API documents, by component name. */
function sharedSchemas(): Record<string, Schema> {
  return {
    ...(STREAMER_SCHEMAS as Record<string, Schema>),
    Bar: record(BAR_FIELDS, 'One OHLCV bar. Numbers that are not finite are null.', BAR_OPTIONAL),
    Candles: record({
      exchange: string,
      symbol: { type: 'string', description: 'Exchange-native symbol' },
      timeframe: { type: 'string', description: 'Canonical timeframe (1m, not M1)' },
      count: integer,
      candles: { type: 'array', items: ref('Bar'), description: 'Oldest first; the forming bar last unless closed=true' },
    }),
    CandlesCsv: {
      type: 'string',
      description: `Header \`${BAR_CSV_HEADER.trim()}\`, then one line per bar, oldest first. null is an empty field; gapped is true/false; source is live or backfill.`,
      pattern: CSV_HEADER_PATTERN,
    },
    Error: record({
      error: record({
        code: { enum: Object.values(ErrorCode), description: 'Stable machine code: match on it, never on the message' },
        message: string,
      }),
    }),
    Health: {
      type: 'object',
      properties: {
        status: { enum: ['ok', 'starting', 'unavailable'] },
        reasons: { type: 'array', items: string, description: 'Why it is unavailable' },
        warnings: { type: 'array', items: string, description: 'What is wrong without making it unavailable (storage degraded)' },
      },
      required: ['status'],
      additionalProperties: false,
    },
    Symbols: record({
      exchanges: {
        type: 'object',
        description: 'exchange → symbol → timeframes',
        additionalProperties: { type: 'object', additionalProperties: { type: 'array', items: string } },
      },
    }),
    Latency: record(
      { p50: number, p90: number, p99: number, p999: number, max: number, count: integer, hdr: { ...string, description: 'Only with histograms=true: the stage\'s HDR histogram since start, HdrHistogram\'s compressed base64' } },
      'Percentiles, µs',
      ['hdr'],
    ),
    ExchangeSection: {
      type: 'object',
      description: 'One exchange\'s config section, as under exchanges.<name> in the YAML (docs/configuration.md): the keys every venue takes, plus its own (e.g. restUrl, key, rate); unknown keys are refused by name',
      properties: {
        url: { ...string, description: 'ws:// or wss:// URL of the feed; default: the venue\'s public one' },
        symbols: { type: 'array', items: string, minItems: 1, description: 'Exchange-native symbols, each once' },
        channels: { type: 'array', items: { enum: ['trades', 'quotes'] }, minItems: 1, description: 'Default: every channel the venue offers' },
        reliability: { type: 'object', description: 'Reconnect, circuit breaker, staleness and REST pacing (docs/environments-and-reliability.md)' },
        onDemand: { type: ['object', 'boolean'], description: 'Symbols on demand (docs/on-demand.md)' },
      },
      required: ['symbols'],
      additionalProperties: true,
      example: { symbols: ['BTC-USDT', 'ETH-USDT'], channels: ['trades'] },
    },
    ChangesApplied: record({
      applied: {
        type: 'array',
        description: 'The changes applied, in order',
        items: record({
          action: { enum: ['symbol_added', 'symbol_removed', 'exchange_added', 'exchange_removed'] },
          exchange: string,
          symbol: { type: ['string', 'null'] },
          restoredBars: { ...integer, description: 'Closed bars loaded from storage for what was added' },
          ts: { ...integer, description: 'When it was applied, epoch ms' },
        }),
      },
    }),
    Feed: report(
      {
        feed: string,
        base: string,
        quote: string,
        active: { type: ['string', 'null'], description: 'exchange:symbol serving the feed; null while no source is healthy' },
        price: nullableNumber,
        bid: nullableNumber,
        ask: nullableNumber,
        ts: nullableNumber,
        prices: integer,
        switches: integer,
        sources: {
          type: 'array',
          items: report({ source: string, connected: { type: 'boolean' }, healthy: { type: 'boolean' }, price: nullableNumber, ageMs: nullableNumber }),
        },
        daySource: { type: ['string', 'null'], description: 'The source whose 1m bars gave day' },
        day: report(
          {
            last: nullableNumber, open: nullableNumber, change: nullableNumber, changePct: nullableNumber, high: nullableNumber, low: nullableNumber,
            volume: number, quoteVolume: number, from: nullableNumber, bars: integer,
          },
          '24-hour figures from 1m bars (stored and backfilled bars count); from: the first bar counted',
        ),
      },
      'A price feed: one asset pair from several venues in priority order, with failover (docs/feeds-portfolios-alerts.md)',
    ),
    Portfolio: report(
      {
        id: string,
        quote: string,
        value: nullableNumber,
        change: report({ abs: nullableNumber, pct: nullableNumber, since: nullableNumber }),
        holdings: {
          type: 'array',
          items: report({
            asset: string, amount: number, price: nullableNumber, value: nullableNumber, weight: nullableNumber,
            source: { type: ['string', 'null'], description: 'The conversion path: feed:BTC-USD, binance:SOLUSDT*peg:USDT=USD, quote' },
          }),
        },
        stale: { type: 'array', items: string, description: 'Assets without a fresh price' },
        ts: number,
      },
      'A portfolio valued now (a configured one, or a paper strategy’s account: position and cash)',
    ),
    AlertsReport: report({
      rules: { type: 'array', items: report({ id: string, type: string, level: { enum: ['info', 'warning', 'critical'] }, state: string }) },
      recent: { type: 'array', items: { type: 'object' }, description: 'The last 100 alerts, oldest first' },
      webhook: { type: ['object', 'null'], description: 'The webhook\'s counts (delivered, failed, dropped, retries, queued, lastError); null without one' },
    }),
    Strategy: report(
      {
        name: string, exchange: string, symbol: string, timeframe: string,
        state: { enum: ['warming', 'running', 'paused'] },
        predictions: integer, signals: integer, fills: integer, timeouts: integer, errors: integer, skipped: integer,
        lastError: nullableString,
        latencyUs: report({ p50: nullableNumber, p99: nullableNumber }, 'predict and decide calls, µs; null before the first'),
      },
      'A strategy bound to one series (docs/strategies.md)',
    ),
    StrategyDetail: {
      allOf: [
        ref('Strategy'),
        report({
          executor: { enum: ['paper', 'webhook', 'module'] },
          account: {
            type: ['object', 'null'],
            description: 'The book of a paper or module executor; null for webhook',
            properties: {
              cash: number, position: number, avgPrice: nullableNumber, equity: number, realizedPnl: number,
              unrealizedPnl: number, maxDrawdown: number, drawdown: number, rejected: integer,
            },
          },
          signalsRecent: { type: 'array', items: { type: 'object' }, description: 'The last 100 signals, oldest first' },
        }),
      ],
    },
    LatencyReport: {
      type: 'object',
      description: 'stage (parse, receive_to_publish: per exchange; ring_wait, event_loop_delay: key main; on a cluster edge feed_to_store, store_to_edge, edge_publish: per exchange) → key → percentiles',
      additionalProperties: { type: 'object', additionalProperties: ref('Latency') },
    },
    // A report that grows (open to new fields); symbolList only where the venue has a list.
    ExchangeStatus: {
      ...record(
        {
          exchange: string,
          state: { enum: EXCHANGE_STATES },
          symbols: { type: 'array', items: string },
          reconnects: integer,
          restarts: integer,
          lastMessageAgeMs: { type: ['number', 'null'], description: 'null before the first frame' },
          messageRate: { type: 'number', description: 'Frames per second' },
          clockOffsetMs: { type: 'number', description: 'Exchange clock minus local clock' },
          messages: integer,
          trades: integer,
          quotes: integer,
          parseErrors: integer,
          lateTradesDropped: integer,
          duplicateTradesDropped: integer,
          recoveredTrades: integer,
          unrecoveredGaps: integer,
          ringOverflow: integer,
          lastError: nullableString,
          lastCrash: nullableString,
          symbolList: record(
            { symbols: { type: ['integer', 'null'] }, fetchedAt: nullableNumber, error: nullableString, fetches: integer, failures: integer },
            "The venue's symbol list live additions are checked against (docs/operations.md); absent when the venue has none",
          ),
        },
        undefined,
        ['symbolList'],
      ),
      additionalProperties: true,
    },
    StorageStatus: report({
      path: string,
      state: { enum: ['ok', 'degraded'] },
      reason: nullableString,
      errno: nullableString,
      degradedSince: nullableNumber,
      unflushedBars: integer,
      corrupt: { oneOf: [{ type: 'null' }, record({ reason: string, movedTo: nullableString })] },
      verifyMs: number,
      restoredBars: integer,
      backfilledBars: integer,
      writtenBars: integer,
      flushFailures: integer,
      problems: { type: 'array', items: string },
    }),
    Status: {
      ...record(
        {
          uptimeMs: number,
          exchanges: { type: 'object', additionalProperties: ref('ExchangeStatus') },
          storage: { oneOf: [{ type: 'null', description: 'storage off' }, ref('StorageStatus')] },
          cluster: ref('ClusterStatus'),
        },
        undefined,
        ['cluster'],
      ),
      additionalProperties: true,
    },
    ClusterStatus: {
      type: 'object',
      description: '`/v1/status` `cluster`, with `--role feed|edge` only (docs/scale-out.md): this process\'s view of the NATS cluster',
      properties: {
        role: { enum: ['feed', 'edge'] },
        name: string,
        epoch: { type: 'string', description: 'The cluster data\'s epoch, as `subscribed` carries it on every edge' },
        connected: { type: 'boolean' },
        server: nullableString,
        degraded: { type: 'boolean', description: 'Edge: serving what it has (NATS unreachable, or catching up after a reconnect)' },
        degradedSince: nullableNumber,
        leases: { type: 'object', description: 'Feed: each exchange\'s publisher lease (state leader or standby, term, since)' },
        consumers: { type: 'object', description: 'Edge: lag of each JetStream consumer (lagMessages, lagMs, delivered)' },
        outbox: {
          type: 'object',
          description: 'Feed: messages waiting for JetStream\'s acknowledgement (unacked, unackedBytes, recovering) counts (acked, duplicates, failures, recoveries, dropped past the bound, storedAhead, fenced: not published because the lease ran out first, inboxFailures: the acknowledgement inbox refused or closed by the server) and sendToAck (an event handed to the outbox → JetStream\'s acknowledgement, µs percentiles)',
        },
        conflated: { type: 'integer', description: 'Feed: quotes and forming-bar updates replaced by a newer one within their `cluster.conflate` window (never published, no seq taken)' },
        replays: {
          type: 'object',
          description: 'Edge: resumes older than its memory read back from JetStream: channel reads, messages they returned, reads that failed (a `gap` instead)',
          properties: { reads: { type: 'integer' }, messages: { type: 'integer' }, failures: { type: 'integer' } },
        },
      },
    },
    ...streamSchemas(),
  };
}

/** Every `/v1/stream` message, server → client and client → server. */
function streamSchemas(): Record<string, Schema> {
  const head = (type: string, channel: Schema = string): Record<string, Schema> => ({ type: { const: type }, channel, seq: { type: 'integer', minimum: 0 } });
  const barFields = Object.fromEntries(Object.entries(BAR_FIELDS));
  return {
    TradeMessage: record({
      ...head('trade'),
      exchange: string,
      symbol: string,
      tradeId: { type: ['number', 'null'], description: 'The venue’s trade id, null when it has none' },
      price: number,
      size: number,
      side: { enum: ['buy', 'sell', 'unknown'], description: 'The aggressor’s (taker’s) side' },
      ts: epochMs('Exchange time'),
      recvTs: { type: 'number', description: 'Local receive time, epoch ms with µs fraction' },
    }),
    QuoteMessage: record({
      ...head('quote'),
      exchange: string,
      symbol: string,
      bidPrice: number,
      bidSize: number,
      askPrice: number,
      askSize: number,
      ts: epochMs('Exchange time'),
      recvTs: number,
    }),
    BarMessage: record({ ...head('bar'), exchange: string, symbol: string, timeframe: string, ...barFields }, 'A forming, closed or amended bar', BAR_OPTIONAL),
    SnapshotMessage: record({ ...head('snapshot'), bars: { type: 'array', items: ref('Bar') } }, 'The last bars, oldest first, at seq; live messages continue at seq + 1'),
    GapMessage: record({
      type: { const: 'gap' },
      channel: string,
      fromSeq: integer,
      toSeq: integer,
      reason: { enum: ['slow_consumer', 'history'] },
    }),
    SubscribedMessage: record({ type: { const: 'subscribed' }, id, channels: { type: 'array', items: string }, epoch: { type: 'string', description: 'This server life’s id: seqs restart with a new one' } }),
    UnsubscribedMessage: record({ type: { const: 'unsubscribed' }, id, channels: { type: 'array', items: string } }),
    ErrorMessage: record({ type: { const: 'error' }, id, code: { enum: Object.values(ErrorCode) }, message: string }),
    PongMessage: record({ type: { const: 'pong' }, id }),
    ExchangeSystemMessage: record({
      ...head('system', { const: 'system' }),
      exchange: string,
      state: { enum: EXCHANGE_STATES, description: 'connected is up; anything else is not delivering data' },
      reconnects: integer,
      restarts: integer,
      lastError: nullableString,
      ts: epochMs('When the state was observed'),
    }),
    ConfigSystemMessage: record(
      {
        ...head('system', { const: 'system' }),
        source: { const: 'config' },
        action: { enum: ['symbol_added', 'symbol_removed', 'exchange_added', 'exchange_removed'] },
        exchange: string,
        symbol: nullableString,
        restoredBars: { ...integer, description: 'Closed bars loaded from storage for what was added' },
        ts: epochMs('When it was applied'),
        cause: { enum: ['on_demand', 'idle'], description: 'Symbols on demand only: added for a subscriber, or removed after its idle time (docs/on-demand.md)' },
      },
      'A live change (docs/operations.md)',
      ['cause'],
    ),
    ClosedMessage: record(
      { type: { const: 'closed' }, channel: string, reason: { enum: ['removed', 'idle'], description: 'removed live (docs/operations.md), or a symbol on demand gone idle (docs/on-demand.md)' } },
      'The channel’s last message: its symbol is no longer fed and the subscription has ended',
    ),
    StorageSystemMessage: record({
      ...head('system', { const: 'system' }),
      source: { const: 'storage' },
      state: { enum: ['ok', 'degraded'] },
      reason: nullableString,
      errno: nullableString,
      corrupt: nullableString,
      movedTo: nullableString,
      ts: epochMs('When the state was observed'),
    }),
    ClusterSystemMessage: record({
      ...head('system', { const: 'system' }),
      source: { const: 'cluster' },
      exchange: string,
      state: { enum: ['leader', 'standby'], description: 'leader: this feed publishes the exchange from now on; standby: it stopped' },
      node: { type: 'string', description: 'The feed, feed@host:pid:id' },
      term: { type: 'integer', minimum: 1, description: 'The lease term it leads, or led, under' },
      reason: string,
      ts: epochMs('When the lease was taken or lost'),
    }),
    AlertMessage: record({
      ...head('alert', { const: 'alerts' }),
      id: string,
      level: { enum: ['info', 'warning', 'critical'] },
      source: string,
      message: string,
      ts: epochMs('When it was raised'),
    }),
    SubscribeRequest: record(
      {
        op: { const: 'subscribe' },
        id,
        channels: { type: 'array', items: string, minItems: 1, description: 'Channel names or wildcards (`trades:binance:*`)' },
        snapshot: { type: 'integer', minimum: 0, maximum: MAX_SNAPSHOT, description: 'Bars channels: the last N bars first' },
        since: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 }, description: 'channel → last seq seen: resume after it' },
        epoch: { type: 'string', description: 'The epoch the `since` seqs belong to' },
      },
      undefined,
      ['id', 'snapshot', 'since', 'epoch'],
    ),
    UnsubscribeRequest: record({ op: { const: 'unsubscribe' }, id, channels: { type: 'array', items: string, minItems: 1 } }, undefined, ['id']),
    PingRequest: record({ op: { const: 'ping' }, id }, undefined, ['id']),
  };
}
