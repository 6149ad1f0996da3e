/**
 * Real `nats-server` processes for the cluster tests: one with JetStream on
 * a free loopback port (`nats-server -a 127.0.0.1 -p PORT -js -sd DIR`), or
 * three clustered with routes between them. Every server is killed by
 * `stopAll` (afterAll/afterEach); store directories are temporary.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { until } from './until.ts';

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** One running nats-server. */
export interface NatsServer {
  readonly port: number;
  readonly url: string;
  readonly proc: ChildProcess;
  /** Everything it logged. */
  log(): string;
  /** SIGKILL it and wait for the exit. */
  kill(): Promise<void>;
  /** Start it again with the same port, store and routes (after `kill`). */
  restart(): Promise<void>;
}

const running = new Set<ChildProcess>();
const dirs: string[] = [];

async function launch(args: string[], ready: RegExp): Promise<{ proc: ChildProcess; log: () => string }> {
  const proc = spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  proc.once('exit', () => running.delete(proc));
  await until(() => ready.test(out) || proc.exitCode !== null, 20_000, 'nats-server start-up');
  if (proc.exitCode !== null) throw new Error(`nats-server exited: ${out}`);
  return { proc, log: () => out };
}

function server(args: string[], port: number, ready: RegExp): Promise<NatsServer> {
  const make = async (): Promise<NatsServer> => {
    const { proc, log } = await launch(args, ready);
    const s: NatsServer = {
      port,
      url: `nats://127.0.0.1:${port}`,
      proc,
      log,
      async kill() {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await exited;
      },
      async restart() {
        const again = await make();
        Object.assign(s, { proc: again.proc, log: again.log, kill: again.kill });
      },
    };
    return s;
  };
  return make();
}

/** One JetStream server on a free port; `config`: a nats-server configuration file's text (users, permissions), else none. */
export async function startNats(config?: string): Promise<NatsServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'tickwire-nats-'));
  dirs.push(dir);
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir];
  if (config !== undefined) {
    const file = path.join(dir, 'nats.conf');
    writeFileSync(file, config);
    args.push('-c', file);
  }
  return server(args, port, /Server is ready/);
}

/** Three clustered JetStream servers (replicas up to 3), each on free client and route ports. */
export async function startNatsCluster(): Promise<NatsServer[]> {
  const ports = await Promise.all([0, 1, 2].map(() => freePort()));
  const routes = await Promise.all([0, 1, 2].map(() => freePort()));
  const routeUrls = routes.map((p) => `nats://127.0.0.1:${p}`).join(',');
  return Promise.all(
    [0, 1, 2].map((i) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'tickwire-nats-'));
      dirs.push(dir);
      const args = [
        '-a', '127.0.0.1', '-p', String(ports[i]), '-js', '-sd', dir, '-n', `n${i}`,
        '--cluster_name', 'tickwire-test', '--cluster', `nats://127.0.0.1:${routes[i]}`, '--routes', routeUrls,
      ];
      return server(args, ports[i]!, /Server is ready/);
    }),
  );
}

/** Kill every server started here and remove their stores. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
