/**
 * The connection to a cluster's NATS and the JetStream objects it uses
 * (subjects.ts names them): opened once per process by a feed or an edge.
 *
 * `openCluster` connects (reconnecting forever afterwards, 250 ms apart),
 * creates the two streams and the lease bucket when they are missing, and
 * brings their retention and replicas in line with the config when they
 * exist. Several processes may do this at once: a create that loses the race
 * reads what the winner made.
 *
 * The cluster's epoch (what `subscribed` carries, what `since` is relative
 * to) is derived from the live stream's creation time: every feed and edge
 * of the cluster computes the same one, and it changes exactly when the
 * seqs start over (the stream was deleted and made anew).
 */
import { createHash } from 'node:crypto';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { ClusterConfig } from '../config/types.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import { ClusterNames } from './subjects.ts';

/** How long a message id is remembered for de-duplication (JetStream's `duplicate_window`), ms. */
export const DEDUP_WINDOW_MS = 120_000;
/** How long the first connection may take before start-up fails, ms. */
const CONNECT_TIMEOUT_MS = 10_000;

/** An open cluster connection: the client, JetStream, the lease bucket, names and epoch. */
export interface ClusterConnection {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: ClusterNames;
  readonly config: ClusterConfig;
  /** Random-looking id of the cluster's data (see the module comment). */
  readonly epoch: string;
  /** True while connected to a server. */
  connected(): boolean;
  /** The server connected to now (host:port), or null while disconnected. */
  server(): string | null;
  /** Calls `fn` on every disconnect (false) and reconnect (true); returns the function that stops it. */
  onConnection(fn: (up: boolean) => void): () => void;
  /** Flush and close the connection. */
  close(): Promise<void>;
}

/** Connect to the cluster's NATS and make sure its streams and bucket exist; throws CLUSTER_UNAVAILABLE. */
export async function openCluster(config: ClusterConfig, clientName: string): Promise<ClusterConnection> {
  const nc = await dial(config, clientName);
  try {
    const names = new ClusterNames(config.name);
    const jsm = await retrying(() => jetstreamManager(nc));
    const replicas = config.replicas;
    const live = await retrying(() => ensureStream(jsm, {
      name: names.liveStream,
      subjects: names.liveSubjects(),
      max_age: nanos(config.history.trades),
      duplicate_window: nanos(DEDUP_WINDOW_MS),
      num_replicas: replicas,
    }));
    await retrying(() => ensureStream(jsm, {
      name: names.barsStream,
      subjects: names.barsSubjects(),
      max_age: nanos(config.history.bars),
      duplicate_window: nanos(DEDUP_WINDOW_MS),
      num_replicas: replicas,
    }));
    // Made here (once per cluster, like the streams); a feed's leases use it from their own thread and connection (openLeaseBucket).
    await retrying(() => leaseBucket(nc, config));
    const epoch = createHash('sha256').update(`${names.liveStream} ${live}`).digest('hex').slice(0, 16);
    let up = true;
    const listeners = new Set<(up: boolean) => void>();
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type !== 'disconnect' && s.type !== 'reconnect') continue;
        up = s.type === 'reconnect';
        for (const fn of listeners) fn(up);
      }
    })();
    return {
      nc,
      js: jetstream(nc),
      jsm,
      names,
      config,
      epoch,
      connected: () => up && !nc.isClosed(),
      server: () => (up && !nc.isClosed() ? nc.getServer() : null),
      onConnection(fn) {
        listeners.add(fn);
        return () => listeners.delete(fn);
      },
      async close() {
        if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
      },
    };
  } catch (err) {
    await nc.close().catch(() => undefined);
    if (err instanceof TickwireError) throw err;
    throw new TickwireError(ErrorCode.CLUSTER_UNAVAILABLE, `cannot set up JetStream on ${config.servers.join(', ')}: ${(err as Error).message}`, { cause: err });
  }
}

/** The lease bucket on a connection of its own (a feed's lease thread, lease-worker.ts): renewals never queue behind the data. */
export interface LeaseBucket {
  readonly kv: KV;
  readonly nc: NatsConnection;
}

/** Connect and open (or make) the cluster's lease bucket; throws CLUSTER_UNAVAILABLE. */
export async function openLeaseBucket(config: ClusterConfig, clientName: string): Promise<LeaseBucket> {
  const nc = await dial(config, clientName);
  try {
    return { kv: await retrying(() => leaseBucket(nc, config)), nc };
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw new TickwireError(ErrorCode.CLUSTER_UNAVAILABLE, `cannot open the lease bucket on ${config.servers.join(', ')}: ${(err as Error).message}`, { cause: err });
  }
}

/** The bucket whose TTL is the lease: an entry not renewed within it is gone, and a standby's create succeeds. */
function leaseBucket(nc: NatsConnection, config: ClusterConfig): Promise<KV> {
  return new Kvm(nc).create(new ClusterNames(config.name).leaseBucket, { ttl: config.leaseTtlMs, history: 1, replicas: config.replicas });
}

/**
 * `fn`, tried again every 250 ms for up to CONNECT_TIMEOUT_MS: a NATS cluster
 * that just started answers JetStream requests only once it has elected its
 * meta leader (a few seconds).
 */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + CONNECT_TIMEOUT_MS;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** One connection to the cluster's servers, reconnecting forever once up; throws CLUSTER_UNAVAILABLE. */
async function dial(config: ClusterConfig, name: string): Promise<NatsConnection> {
  try {
    return await connect({
      servers: config.servers,
      name,
      user: config.user,
      pass: config.pass,
      token: config.token,
      timeout: CONNECT_TIMEOUT_MS,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 2_000,
      maxPingOut: 2,
    });
  } catch (err) {
    throw new TickwireError(ErrorCode.CLUSTER_UNAVAILABLE, `cannot connect to NATS at ${config.servers.join(', ')}: ${(err as Error).message}`, { cause: err });
  }
}

/** Create `cfg`'s stream, or bring an existing one's retention and replicas in line. Returns its creation time. */
async function ensureStream(jsm: JetStreamManager, cfg: Partial<StreamConfig> & { name: string }): Promise<string> {
  const existing = await jsm.streams.info(cfg.name).catch(() => null);
  if (existing === null) {
    try {
      return (await jsm.streams.add(cfg)).created;
    } catch {
      // Another process created it first: read theirs below.
    }
  }
  const info = existing ?? (await jsm.streams.info(cfg.name));
  const c = info.config;
  if (c.max_age !== cfg.max_age || c.num_replicas !== cfg.num_replicas) {
    await jsm.streams.update(cfg.name, { ...c, max_age: cfg.max_age!, num_replicas: cfg.num_replicas! });
  }
  return info.created;
}
