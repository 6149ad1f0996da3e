/** `tickwire start --role`: what it refuses before anything runs (exit 2), and a NATS it cannot reach (exit 1). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/nats.ts';
import { BIN } from '../support/tickwire-process.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tickwire-roles-'));
const BASE = ['server: { host: 127.0.0.1, port: 0 }', 'storage: false', 'exchanges: { simulated: { symbols: [SIM-BTC] } }'];

function run(args: string[], yaml: string[]): { status: number | null; out: string } {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml.join('\n'));
  const r = spawnSync(process.execPath, [BIN, 'start', '--config', file, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('cli: --role', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses an unknown role and a cluster role without a cluster: section (exit 2)', () => {
    const bogus = run(['--role', 'primary'], BASE);
    expect(bogus.status).toBe(2);
    expect(bogus.out).toContain('expected all, feed or edge');
    const edge = run(['--role', 'edge'], BASE);
    expect(edge.status).toBe(2);
    expect(edge.out).toContain("--role edge needs the config's cluster: section");
  }, 90_000);

  it('exits 1 with CLUSTER_UNAVAILABLE when NATS cannot be reached', async () => {
    const port = await freePort(); // nothing listens there
    const r = run(['--role', 'feed'], [...BASE, `cluster: { servers: ["nats://127.0.0.1:${port}"] }`]);
    expect(r.status).toBe(1);
    expect(r.out).toContain(`cannot connect to NATS at nats://127.0.0.1:${port}`);
  }, 90_000);
});
