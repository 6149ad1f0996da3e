/**
 * Issue 18, "every JWT forgery tried refused", over the wire: a real server
 * on loopback with an HS256 secret gets each forgery the `--hostile` soak
 * floods it with (scripts/soak/hostile-jwt.ts: alg none, signed or not; alg
 * confusion, HS256 keyed with an RSA public key and an RS256 header over an
 * HMAC; an RS256 signature by an unknown key; a tampered payload; the wrong
 * secret; expired; no exp) on an HTTP route and on the WebSocket upgrade.
 * Each is refused 401 and counted under its reason; the genuine token passes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthConfig } from '../../src/config/types.ts';
import { forgedTokens, randomSecret, signHs256 } from '../../scripts/soak/hostile-jwt.ts';
import { attemptUpgrade, startServer, type Running } from '../server/helpers.ts';

const SECRET = randomSecret();
const AUTH: AuthConfig = {
  tokens: [],
  jwt: { secret: SECRET, issuer: undefined, audience: undefined },
  allowOpen: false,
  httpRate: { rate: 1000, burst: 1000 },
};
const GENUINE = signHs256({ sub: 'soak', exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET);

/** The reason each forgery is refused for. */
const REASON: Record<string, string> = {
  alg_none: 'unsupported_alg',
  alg_none_signed: 'unsupported_alg',
  alg_confusion_hs_with_public_key: 'bad_signature',
  alg_confusion_rs256_header_hmac: 'unsupported_alg',
  rs256_unknown_key: 'unsupported_alg',
  tampered_payload: 'bad_signature',
  wrong_secret: 'bad_signature',
  expired: 'expired',
  no_exp: 'missing_exp',
};

let r: Running;

async function counters(): Promise<Map<string, number>> {
  const text = await (await fetch(`${r.base}/metrics`, { headers: { authorization: `Bearer ${GENUINE}` } })).text();
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^tickwire_auth_failures_total\{transport="(\w+)",reason="(\w+)"\} (\d+)/.exec(line);
    if (m !== null) found.set(`${m[1]} ${m[2]}`, Number(m[3]));
  }
  return found;
}

beforeAll(async () => {
  r = await startServer({ auth: AUTH });
});

afterAll(async () => {
  await r.server.close();
});

describe('every JWT forgery is refused', () => {
  const forged = forgedTokens(SECRET);

  it('the list covers every kind the issue tried', () => {
    expect(forged.map((f) => f.kind).sort()).toEqual(Object.keys(REASON).sort());
  });

  it('the genuine token is accepted on HTTP and the upgrade (the control)', async () => {
    expect((await fetch(`${r.base}/v1/status`, { headers: { authorization: `Bearer ${GENUINE}` } })).status).toBe(200);
    const o = await attemptUpgrade(`${r.wsUrl}?token=${GENUINE}`);
    expect(o.open).toBe(true);
    if (o.open) o.ws.terminate();
  });

  it('on HTTP and on the upgrade: 401 UNAUTHORIZED, counted under its reason', async () => {
    const before = await counters();
    const expected = new Map<string, number>();
    for (const { kind, token } of forged) {
      const res = await fetch(`${r.base}/v1/status`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, kind).toBe(401);
      expect(await res.json(), kind).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      const o = await attemptUpgrade(`${r.wsUrl}?token=${token}`);
      expect(o.open, kind).toBe(false);
      if (!o.open) expect(o.status, kind).toBe(401);
      else o.ws.terminate();
      for (const transport of ['http', 'ws']) {
        const key = `${transport} ${REASON[kind]}`;
        expected.set(key, (expected.get(key) ?? before.get(key) ?? 0) + 1);
      }
    }
    const after = await counters();
    for (const [key, n] of expected) expect(after.get(key), key).toBe(n);
  });
});
