/**
 * The AsyncAPI 3.0 document of the `/v1/stream` WebSocket, served as
 * `/asyncapi.json`: one AsyncAPI channel (the WebSocket), the messages the
 * server sends (each a JSON text frame, told apart by `type`) and the ops a
 * client sends (told apart by `op`). tickwire's own channel names
 * (`trades:<exchange>:<symbol>`…) are the `channel` field of each message.
 * Payload schemas are the shared ones of api-schemas.ts; a test validates
 * real messages against them (test/server/api-reference.test.ts).
 */
import { DEFAULT_HOST, DEFAULT_PORT } from '../config/defaults.ts';
import { schemasUsedBy } from './api-schemas.ts';
import { packageVersion } from './package-root.ts';

type Json = Record<string, unknown>;

/** Server → client: message key → its payload schema and what it is for. The key is also the message's `type`. */
export const SERVER_MESSAGES: Readonly<Record<string, { schema: string; summary: string }>> = {
  trade: { schema: 'TradeMessage', summary: 'One trade on `trades:<exchange>:<symbol>`' },
  quote: { schema: 'QuoteMessage', summary: 'Best bid and offer on `quotes:<exchange>:<symbol>`' },
  bar: { schema: 'BarMessage', summary: 'A forming, closed or amended (revision + 1) bar on `bars:<exchange>:<symbol>:<tf>`' },
  snapshot: { schema: 'SnapshotMessage', summary: 'The last bars of a bars channel, before any live message of it' },
  gap: { schema: 'GapMessage', summary: 'Seqs fromSeq..toSeq of a channel will not arrive (slow consumer, or resume history exhausted)' },
  subscribed: { schema: 'SubscribedMessage', summary: 'Reply to subscribe: the concrete channels (wildcards expanded) and the server epoch' },
  unsubscribed: { schema: 'UnsubscribedMessage', summary: 'Reply to unsubscribe' },
  pong: { schema: 'PongMessage', summary: 'Reply to ping' },
  error: { schema: 'ErrorMessage', summary: 'A refused client message, with a stable code' },
  systemExchange: { schema: 'ExchangeSystemMessage', summary: 'Room `system`: an exchange’s connection state (every exchange’s first, on subscribe)' },
  systemConfig: { schema: 'ConfigSystemMessage', summary: 'Room `system`: a live change applied (admin route, reload, SIGHUP, a symbol on demand)' },
  closed: { schema: 'ClosedMessage', summary: 'A channel’s last message: its symbol was removed live, or went idle on demand' },
  systemStorage: { schema: 'StorageSystemMessage', summary: 'Room `system`: closed-bar storage went degraded or recovered' },
  systemCluster: { schema: 'ClusterSystemMessage', summary: 'Room `system` on an edge: a feed took or lost an exchange’s publisher lease' },
  alert: { schema: 'AlertMessage', summary: 'Room `alerts`: an alert raised by embedding code or rules' },
};

/** Client → server: op → payload schema. */
export const CLIENT_MESSAGES: Readonly<Record<string, { schema: string; summary: string }>> = {
  subscribe: { schema: 'SubscribeRequest', summary: 'Join channels (optionally with a bars snapshot, or resuming after seqs)' },
  unsubscribe: { schema: 'UnsubscribeRequest', summary: 'Leave channels' },
  ping: { schema: 'PingRequest', summary: 'Round trip; everything sent before the pong arrives before it' },
};

const messageRef = (key: string): Json => ({ $ref: `#/channels/stream/messages/${key}` });

function messages(list: Readonly<Record<string, { schema: string; summary: string }>>): Json {
  return Object.fromEntries(
    Object.entries(list).map(([key, m]) => [key, { name: key, title: m.schema, summary: m.summary, payload: { $ref: `#/components/schemas/${m.schema}` } }]),
  );
}

function document(): Json {
  const all = { ...SERVER_MESSAGES, ...CLIENT_MESSAGES };
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'tickwire stream',
      version: packageVersion(),
      license: { name: 'MIT' },
      description:
        'Live market data over one WebSocket. Send JSON ops (`subscribe`, `unsubscribe`, `ping`); receive JSON text frames told apart by `type`. ' +
        'Channels: `trades:<exchange>:<symbol>`, `quotes:<exchange>:<symbol>`, `bars:<exchange>:<symbol>:<tf>` (`*` as the symbol: every symbol), ' +
        'and the rooms `system` and `alerts`. Every market and room message carries a per-channel `seq` with no holes unless a `gap` says so; ' +
        'resume after a reconnect with `since` and `epoch`. `?format=fbs` or the `tickwire.fbs` subprotocol: the same messages as FlatBuffers ' +
        'binary frames (schema/stream.fbs). Credentials when the server has auth: `?token=`, `Authorization: Bearer`, or the `bearer.<token>` subprotocol.',
    },
    defaultContentType: 'application/json',
    servers: {
      local: { host: `${DEFAULT_HOST}:${DEFAULT_PORT}`, protocol: 'ws', pathname: '/v1/stream', description: 'A server with the default config' },
    },
    channels: {
      stream: {
        address: '/v1/stream',
        title: 'The stream WebSocket',
        messages: Object.fromEntries(Object.keys(all).map((key) => [key, { $ref: `#/components/messages/${key}` }])),
      },
    },
    operations: {
      receive: {
        action: 'receive',
        title: 'Server messages',
        channel: { $ref: '#/channels/stream' },
        messages: Object.keys(SERVER_MESSAGES).map(messageRef),
      },
      send: {
        action: 'send',
        title: 'Client ops',
        channel: { $ref: '#/channels/stream' },
        messages: Object.keys(CLIENT_MESSAGES).map(messageRef),
      },
    },
    components: { messages: messages(all), schemas: schemasUsedBy(messages(all)) },
  };
}

/** The document as JSON text (built once by the caller). */
export function asyncApiJson(): string {
  return JSON.stringify(document());
}
