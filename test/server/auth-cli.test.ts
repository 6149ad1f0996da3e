/**
 * The CLI's security face, run as users run it (`node bin/tickwire.mjs`):
 * `tickwire start` refuses to serve open on a non-loopback host (from the
 * config or from --host) with exit code 2 and the `auth.allowOpen` key named;
 * `tickwire token` and `tickwire hash-token` print tokens and hashes.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/tickwire.mjs');

/** Run the CLI to completion (killed after 20 s), optionally feeding stdin. */
function run(args: string[], cwd: string, stdin?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
    proc.stdin.end(stdin ?? '');
  });
}

const cwd = mkdtempSync(path.join(tmpdir(), 'tickwire-auth-cli-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('tickwire start, open on a non-loopback host', () => {
  it('--host 0.0.0.0 without credentials exits 2 naming auth.allowOpen, before listening', async () => {
    const r = await run(['start', '--host', '0.0.0.0', '--port', '0'], cwd);
    expect(r.code).toBe(2);
    expect(r.err).toContain('auth.allowOpen');
    expect(r.err).toContain('"0.0.0.0"');
    expect(r.out).not.toContain('listening');
  });

  it('a config with server.host 0.0.0.0 and no auth exits 2 with the config error', async () => {
    const file = path.join(cwd, 'open.yaml');
    writeFileSync(file, 'server: { host: 0.0.0.0, port: 0 }\nexchanges:\n  simulated:\n    symbols: [SIM-BTC]\n');
    const r = await run(['start', '--config', file], cwd);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}: auth.allowOpen: got false while server.host "0.0.0.0" is not a loopback address`);
  });
});

describe('tickwire token / hash-token', () => {
  it('token prints a token and the entry with its hash; hash-token reads stdin', async () => {
    const made = await run(['token', 'grafana'], cwd);
    expect(made.code).toBe(0);
    const token = /tw_[A-Za-z0-9_-]{43}/.exec(made.out)![0];
    const sha = createHash('sha256').update(token).digest('hex');
    expect(made.out).toContain(`- { name: "grafana", sha256: ${sha}, channels: ["*"] }`);

    const hashed = await run(['hash-token'], cwd, token + '\n');
    expect(hashed.code).toBe(0);
    expect(hashed.out.trim()).toBe(sha);
    expect(hashed.err).toContain(sha);
    expect(hashed.out + hashed.err).not.toContain(token);
  });
});
