/**
 * Reloading the config file of a running `tickwire start` (issue 15, item 1):
 * SIGHUP and `POST /v1/admin/reload` apply its symbol changes live, and
 * refuse whole (logging or answering why) a file that no longer loads or
 * changes what only a restart applies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/server/auth.ts';
import { until } from '../support/until.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/tickwire.mjs');
const ADMIN = 'reload-test-admin-token-0123456789abcdef';

let child: ChildProcess | undefined;

afterEach(async () => {
  if (child !== undefined && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
  }
  child = undefined;
});

function yaml(symbols: string[], port = 0): string {
  return [
    `server: { host: 127.0.0.1, port: ${port} }`,
    'storage: false',
    'timeframes: [1m]',
    `exchanges: { simulated: { symbols: [${symbols.join(', ')}], rate: 20 } }`,
    `auth: { tokens: [{ name: ops, sha256: ${hashToken(ADMIN)}, scopes: [admin] }] }`,
  ].join('\n');
}

describe('reload', () => {
  it('SIGHUP and POST /v1/admin/reload apply symbol changes; a file needing a restart is refused whole', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tickwire-reload-'));
    const file = path.join(dir, 'tickwire.yaml');
    writeFileSync(file, yaml(['SIM-A']));
    const proc = spawn(process.execPath, [BIN, 'start', '--config', file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    // The log (JSON lines) is on stdout; errors before it starts on stderr: one text for both.
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    await until(() => /try: curl/.test(out) || proc.exitCode !== null, 30_000, 'start-up');
    const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const symbols = async () => Object.keys(((await (await fetch(`${base}/v1/symbols`, { headers: auth })).json()) as { exchanges: Record<string, object> }).exchanges['simulated']!);

    writeFileSync(file, yaml(['SIM-A', 'SIM-SOL']));
    proc.kill('SIGHUP');
    await until(() => /SIGHUP: 1 change\(s\) applied/.test(out), 15_000, 'the SIGHUP reload');
    expect(await symbols()).toEqual(['SIM-A', 'SIM-SOL']);
    expect(out).toContain('live change: symbol added: simulated SIM-SOL');

    writeFileSync(file, yaml(['SIM-SOL', 'SIM-XRP'], 1));
    proc.kill('SIGHUP');
    await until(() => /SIGHUP: change refused/.test(out), 15_000, 'the refusal');
    expect(out).toContain('server');
    const refused = await fetch(`${base}/v1/admin/reload`, { method: 'POST', headers: auth });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'CHANGE_REFUSED', message: expect.stringContaining('need a restart: server') });
    expect(await symbols()).toEqual(['SIM-A', 'SIM-SOL']);

    writeFileSync(file, 'exchanges: [not, a, map]');
    const broken = await fetch(`${base}/v1/admin/reload`, { method: 'POST', headers: auth });
    expect(broken.status).toBe(409);
    expect(((await broken.json()) as { error: { message: string } }).error.message).toContain('does not load');

    writeFileSync(file, yaml(['SIM-SOL', 'SIM-XRP']));
    const applied = await fetch(`${base}/v1/admin/reload`, { method: 'POST', headers: auth });
    expect(applied.status).toBe(200);
    const body = (await applied.json()) as { applied: { action: string; symbol: string }[] };
    expect(body.applied.map((c) => [c.action, c.symbol])).toEqual([['symbol_removed', 'SIM-A'], ['symbol_added', 'SIM-XRP']]);
    expect(await symbols()).toEqual(['SIM-SOL', 'SIM-XRP']);

    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }, 90_000);
});
